//! Weight files in the [safetensors](https://huggingface.co/docs/safetensors) format, PyTorch's
//! layouts and names, and checkpoints that resume training exactly.
//!
//! [`save`] writes every parameter and buffer of a network (anything [`HasParams`]: a
//! generated network, a layer, a nested network) as little-endian `f32` tensors named by their
//! dotted paths (`fc1.weight`, `encoder.fc1.bias`, `block.body.0.weight`, `bn1.running_mean`)
//! in PyTorch's shapes ([`Param::shape`]), so `safetensors.torch.load_file` and
//! `model.load_state_dict(..., strict=True)` read it into the PyTorch twin of the network.
//! [`load`] reads such a file, including one written by `safetensors.torch.save_file(
//! model.state_dict(), path)`, back into a network. [`to_bytes`] and [`from_bytes`] do the
//! same in memory.
//!
//! ```
//! use nn_core::layers::Dense;
//! use nn_core::weights::{self, Problem};
//!
//! let mut rng = nn_core::init::seeded(0);
//! let mut trained = Dense::<4, 3>::new(&mut rng);
//! let path = std::env::temp_dir().join(format!("nn-doc-{}.safetensors", std::process::id()));
//! weights::save(&trained, &path)?;
//!
//! let mut fresh = Dense::<4, 3>::new(&mut rng);
//! weights::load(&mut fresh, &path)?;
//! assert_eq!(fresh.weight(), trained.weight());
//!
//! // A file for another shape is refused, with every problem listed, and changes nothing.
//! let mut other = Dense::<5, 3>::new(&mut rng);
//! let before = other.clone();
//! let err = weights::load(&mut other, &path).unwrap_err();
//! assert!(matches!(&err.problems[..], [Problem::ShapeMismatch { tensor, .. }] if tensor == "weight"));
//! assert_eq!(other.weight(), before.weight());
//! println!("{err}");
//! // cannot load /tmp/nn-doc-1234.safetensors: 1 problem:
//! //   tensor `weight`: the file has shape (3, 4), the network needs (3, 5)
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is checked
//! [`load`] validates the whole file before it writes anything, so a failed load leaves the
//! network untouched, and it reports **every** problem in one [`LoadError`] that names the
//! file and each tensor:
//! - a file that is not safetensors at all ([`Problem::NotSafetensors`]: its header does not
//!   begin with `{` after the 8-byte length, as an image's or a pickle's does not);
//! - a file that is not well-formed safetensors ([`Problem::Malformed`]): shorter than its
//!   8-byte header length, a header length past the end (a truncated file) or over 100 MB, a
//!   header that is not UTF-8 or not the expected JSON, data offsets that leave gaps, overlap
//!   or run past the end, a byte range that does not match its shape and dtype (naming the
//!   tensor, [`Malformed::TensorByteRange`]). The header
//!   length is checked against the file's length before anything is allocated for it;
//! - tensors of the network that the file lacks ([`Problem::Missing`]), and tensors of the
//!   file that the network lacks ([`Problem::Unexpected`]);
//! - shapes that differ ([`Problem::ShapeMismatch`], with both shapes);
//! - dtypes: `F32` loads as is; **`F16` and `BF16` are converted to `f32`** (exactly: every
//!   half value is an `f32` value); any other dtype is a [`Problem::UnsupportedDtype`];
//! - values that are NaN or infinite ([`Problem::NonFinite`]): a trained network never holds
//!   one, so such a file is broken.
//!
//! Tensors of the file that are skipped rather than reported as unexpected:
//! - names ending in [`SKIPPED_SUFFIXES`], that is `num_batches_tracked` (the batch counter
//!   PyTorch's batch norm saves; our batch norm uses a fixed momentum and has no counter);
//! - names starting with [`OPTIMIZER_PREFIX`] (`optimizer.`), a [checkpoint](#checkpoints)'s
//!   optimizer state, so [`load`] reads the weights of a checkpoint.
//!
//! Buffers are saved 1-D, as PyTorch saves batch norm's `running_mean` and `running_var`
//! (every buffer of this crate's layers is 1-D).
//!
//! # Writes are atomic
//! [`save`] and [`save_checkpoint`] write a temporary file beside the target (`.NAME.tmp-PID-N`
//! in the same directory), flush it to disk (`fsync`), rename it over the target, then sync the
//! directory (on Unix). A crash or an error at any point leaves either the old file or the new
//! one, never a mix; after a crash, a stray temporary file may remain.
//!
//! # Loading speed
//! [`load`] reads the file into one buffer and copies each tensor straight from it into the
//! network's parameters: one read, one validating pass, one copy. `benches/weights.rs` measures
//! it on a 100 MB file.
//!
//! # Checkpoints
//! A checkpoint ([`save_checkpoint`], [`load_checkpoint`]) is a weights file that also holds
//! the optimizer's state ([`OptimizerState`]): its tensors under PyTorch's state names,
//! `optimizer.exp_avg.fc1.weight` and `optimizer.exp_avg_sq.fc1.weight` for Adam and AdamW,
//! `optimizer.momentum_buffer.fc1.weight` for SGD, and its scalars (step count, learning rate,
//! betas, ...) in the safetensors `__metadata__` map as `optimizer.step`, `optimizer.lr`, ...,
//! with the epoch (`epoch`) and your own key/values (`user.KEY`). Loading one into a fresh
//! network and optimizer resumes training bit for bit; see [`Checkpoint`].
//!
//! [`OptimizerState`]: crate::optim::OptimizerState

mod atomic;
mod checkpoint;
mod error;
#[cfg(test)]
mod tests;

pub use checkpoint::{
    Checkpoint, checkpoint_from_bytes, checkpoint_to_bytes, load_checkpoint, save_checkpoint,
};
pub use error::{LoadError, Malformed, Problem, SaveError, Shape};

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use safetensors::tensor::{Dtype, SafeTensors, TensorView, View};

use crate::data::Origin;
use crate::param::{HasParams, Param, ParamPath, ParamRef, ParamRefVisitor};

/// File tensors whose names end in one of these are skipped by [`load`]: PyTorch's batch-norm
/// counter, which this crate's batch norm has no use for.
pub const SKIPPED_SUFFIXES: &[&str] = &["num_batches_tracked"];

/// File tensors whose names start with this are a checkpoint's optimizer state: skipped by
/// [`load`], read by [`load_checkpoint`].
pub const OPTIMIZER_PREFIX: &str = "optimizer.";

/// Writes every parameter and buffer of `net` to the safetensors file `path`, atomically (see
/// the [module docs](self#writes-are-atomic)).
///
/// Takes `&M`: it reads through [`HasParams::visit_params_ref`] and
/// [`HasParams::visit_buffers_ref`], so a network shared behind an `Arc` (serving inference on
/// several threads) can be saved as it is: `weights::save(&*net, path)`.
///
/// ```
/// use std::sync::Arc;
/// use nn_core::layers::Dense;
/// use nn_core::weights;
///
/// let shared = Arc::new(Dense::<4, 3>::new(&mut nn_core::init::seeded(0)));
/// let bytes = weights::to_bytes(&*shared)?; // `save(&*shared, path)` writes the same bytes
/// let mut copy = Dense::<4, 3>::new(&mut nn_core::init::seeded(1));
/// weights::from_bytes(&mut copy, &bytes)?;
/// assert_eq!(copy.weight(), shared.weight());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`SaveError::Io`] naming the path; [`SaveError::DuplicateName`] or
/// [`SaveError::ShapeLength`] for a hand-written layer with a repeated name or a wrong shape;
/// [`SaveError::Unreadable`] for a hand-written layer without
/// [`HasParams::visit_params_ref`].
pub fn save<M: HasParams + ?Sized>(net: &M, path: impl AsRef<Path>) -> Result<(), SaveError> {
    let bytes = to_bytes(net)?;
    atomic::write(path.as_ref(), &bytes)
}

/// The safetensors bytes [`save`] writes.
///
/// # Errors
/// As [`save`], without the I/O.
pub fn to_bytes<M: HasParams + ?Sized>(net: &M) -> Result<Vec<u8>, SaveError> {
    let mut tensors = Tensors::default();
    tensors.add_network(net)?;
    tensors.serialize(BTreeMap::new())
}

/// Loads the safetensors file `path` into `net`: its parameters and buffers, by name, after
/// checking everything (see the [module docs](self#what-is-checked)).
///
/// # Errors
/// A [`LoadError`] listing every problem, naming the file and each tensor. `net` is then
/// untouched.
pub fn load<M: HasParams>(net: &mut M, path: impl AsRef<Path>) -> Result<(), LoadError> {
    let path = path.as_ref();
    let bytes = read(path)?;
    load_bytes(net, &bytes, Origin::File(path.to_path_buf()))
}

/// [`load`] from bytes in memory (errors name the origin `<memory>`).
///
/// # Errors
/// As [`load`].
pub fn from_bytes<M: HasParams>(net: &mut M, bytes: &[u8]) -> Result<(), LoadError> {
    load_bytes(net, bytes, Origin::Memory)
}

fn load_bytes<M: HasParams>(net: &mut M, bytes: &[u8], origin: Origin) -> Result<(), LoadError> {
    let file = parse(bytes, &origin)?;
    let mut problems = Vec::new();
    let plan = NetworkPlan::check(net, &file, &mut problems);
    report_unexpected(
        &file,
        &plan.names,
        |name| name.starts_with(OPTIMIZER_PREFIX),
        &mut problems,
    );
    if !problems.is_empty() {
        return Err(LoadError { origin, problems });
    }
    plan.write(net);
    Ok(())
}

/// Reads the whole file into one buffer.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path)
        .map_err(|source| LoadError::one(Origin::File(path.to_path_buf()), Problem::Io { source }))
}

/// Parses the header and checks the offsets; tensor data stays in `bytes`.
pub(crate) fn parse<'d>(bytes: &'d [u8], origin: &Origin) -> Result<SafeTensors<'d>, LoadError> {
    // The format requires the header to begin with `{` right after its 8-byte length; a file
    // that does not is another kind of file, whose first 8 bytes mean nothing as a length.
    if bytes.len() >= 8 && bytes.get(8) != Some(&b'{') {
        let first_bytes = bytes[..bytes.len().min(9)].to_vec();
        return Err(LoadError::one(
            origin.clone(),
            Problem::NotSafetensors { first_bytes },
        ));
    }
    SafeTensors::deserialize(bytes).map_err(|e| {
        let malformed = match Malformed::from(e) {
            Malformed::TooShort { .. } => Malformed::TooShort { len: bytes.len() },
            Malformed::BadTensorInfo => bad_byte_range(bytes).unwrap_or(Malformed::BadTensorInfo),
            other => other,
        };
        LoadError::one(origin.clone(), Problem::Malformed(malformed))
    })
}

/// The first tensor, in data order, whose byte range does not hold its shape and dtype: what
/// the safetensors crate found without naming it. Rereads the header, which it parsed.
fn bad_byte_range(bytes: &[u8]) -> Option<Malformed> {
    let len = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let header = std::str::from_utf8(bytes.get(8..8usize.checked_add(len)?)?).ok()?;
    let header: BTreeMap<String, serde_json::Value> = serde_json::from_str(header).ok()?;
    let mut tensors: Vec<(String, safetensors::tensor::TensorInfo)> = header
        .into_iter()
        .filter(|(name, _)| name != "__metadata__")
        .map(|(name, info)| Some((name, serde_json::from_value(info).ok()?)))
        .collect::<Option<_>>()?;
    tensors.sort_by_key(|(_, info)| info.data_offsets);
    tensors.into_iter().find_map(|(tensor, info)| {
        let (start, end) = info.data_offsets;
        let needed = element_count(&info.shape)
            .and_then(|n| n.checked_mul(info.dtype.bitsize()))
            .map(|bits| bits.div_ceil(8));
        (needed != end.checked_sub(start)).then(|| Malformed::TensorByteRange {
            tensor,
            dtype: info.dtype.to_string(),
            shape: Shape(info.shape),
            start,
            end,
            needed,
        })
    })
}

/// The `__metadata__` map of a file that [`parse`] accepted (empty if it has none).
pub(crate) fn metadata(bytes: &[u8]) -> HashMap<String, String> {
    SafeTensors::read_metadata(bytes)
        .ok()
        .and_then(|(_, metadata)| metadata.metadata().clone())
        .unwrap_or_default()
}

/// Adds a [`Problem::Unexpected`] for every tensor of `file` not in `known`, unless skipped
/// by [`SKIPPED_SUFFIXES`] or by `also_skip`; sorted by name, so the report is stable.
pub(crate) fn report_unexpected(
    file: &SafeTensors<'_>,
    known: &HashSet<String>,
    also_skip: impl Fn(&str) -> bool,
    problems: &mut Vec<Problem>,
) {
    let mut unexpected: Vec<(&str, TensorView<'_>)> = file
        .iter()
        .filter(|(name, _)| {
            !known.contains(*name)
                && !SKIPPED_SUFFIXES.iter().any(|s| name.ends_with(s))
                && !also_skip(name)
        })
        .collect();
    unexpected.sort_by(|a, b| a.0.cmp(b.0));
    problems.extend(
        unexpected
            .into_iter()
            .map(|(name, view)| Problem::Unexpected {
                tensor: name.to_string(),
                shape: Shape(view.shape().to_vec()),
            }),
    );
}

/// What the network needs from a file, checked: the tensor views to copy from, in the
/// network's visiting order (parameters, then buffers).
pub(crate) struct NetworkPlan<'d> {
    params: Vec<Option<TensorView<'d>>>,
    buffers: Vec<Option<TensorView<'d>>>,
    /// Every name the network has.
    pub(crate) names: HashSet<String>,
    /// The parameters' names and shapes, in visiting order.
    pub(crate) param_entries: Vec<(String, Vec<usize>)>,
}

impl<'d> NetworkPlan<'d> {
    /// Looks up and checks every parameter and buffer of `net` in `file`, adding a problem for
    /// each that is missing or unusable, and for repeated names.
    pub(crate) fn check<M: HasParams>(
        net: &mut M,
        file: &SafeTensors<'d>,
        problems: &mut Vec<Problem>,
    ) -> Self {
        let mut names = HashSet::new();
        let mut param_entries = Vec::new();
        let mut params = Vec::new();
        net.visit_params(
            &ParamPath::root(),
            &mut |path: &ParamPath<'_>, p: Param<'_>| {
                let name = path.to_string();
                params.push(checked(file, &name, p.shape, p.value.len(), problems));
                if !names.insert(name.clone()) {
                    problems.push(Problem::DuplicateName {
                        tensor: name.clone(),
                    });
                }
                param_entries.push((name, p.shape.to_vec()));
            },
        );
        let mut buffers = Vec::new();
        net.visit_buffers(
            &ParamPath::root(),
            &mut |path: &ParamPath<'_>, buffer: &mut [f32]| {
                let name = path.to_string();
                buffers.push(checked(
                    file,
                    &name,
                    &[buffer.len()],
                    buffer.len(),
                    problems,
                ));
                if !names.insert(name.clone()) {
                    problems.push(Problem::DuplicateName { tensor: name });
                }
            },
        );
        Self {
            params,
            buffers,
            names,
            param_entries,
        }
    }

    /// Copies every checked tensor into `net`. Call only when checking found no problem.
    pub(crate) fn write<M: HasParams>(&self, net: &mut M) {
        let mut index = 0;
        net.visit_params(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, p: Param<'_>| {
                if let Some(Some(view)) = self.params.get(index) {
                    copy_into(view, p.value);
                }
                index += 1;
            },
        );
        let mut index = 0;
        net.visit_buffers(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, buffer: &mut [f32]| {
                if let Some(Some(view)) = self.buffers.get(index) {
                    copy_into(view, buffer);
                }
                index += 1;
            },
        );
    }
}

/// Tensor `name` of `file`, if it exists with `shape`, a loadable dtype and finite values;
/// otherwise `None` and the problem added to `problems`.
pub(crate) fn checked<'d>(
    file: &SafeTensors<'d>,
    name: &str,
    shape: &[usize],
    len: usize,
    problems: &mut Vec<Problem>,
) -> Option<TensorView<'d>> {
    let Ok(view) = file.tensor(name) else {
        problems.push(Problem::Missing {
            tensor: name.to_string(),
            shape: Shape(shape.to_vec()),
        });
        return None;
    };
    if !matches!(view.dtype(), Dtype::F32 | Dtype::F16 | Dtype::BF16) {
        problems.push(Problem::UnsupportedDtype {
            tensor: name.to_string(),
            dtype: view.dtype().to_string(),
        });
        return None;
    }
    if view.shape() != shape || element_count(shape) != Some(len) {
        problems.push(Problem::ShapeMismatch {
            tensor: name.to_string(),
            file: Shape(view.shape().to_vec()),
            expected: Shape(shape.to_vec()),
        });
        return None;
    }
    if let Some((index, value)) = first_non_finite(&view) {
        problems.push(Problem::NonFinite {
            tensor: name.to_string(),
            index,
            value,
        });
        return None;
    }
    Some(view)
}

/// The product of `shape`, or `None` if it overflows.
pub(crate) fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// The first NaN or infinity of a float tensor, with its index.
fn first_non_finite(view: &TensorView<'_>) -> Option<(usize, f32)> {
    let data = view.data();
    match view.dtype() {
        Dtype::F32 => first_non_finite_f32(data),
        Dtype::F16 => halves(data)
            .map(f16_to_f32)
            .enumerate()
            .find(|(_, v)| !v.is_finite()),
        Dtype::BF16 => halves(data)
            .map(bf16_to_f32)
            .enumerate()
            .find(|(_, v)| !v.is_finite()),
        _ => None,
    }
}

/// [`first_non_finite`] for little-endian `f32` data: a branch-free test of each block (all
/// exponent bits set means NaN or infinity), which the compiler vectorizes, then a search in
/// the rare block that has one.
fn first_non_finite_f32(data: &[u8]) -> Option<(usize, f32)> {
    const EXPONENT: u32 = 0x7f80_0000;
    const BLOCK: usize = 4096;
    let value = |b: &[u8]| f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    for (block_index, block) in data.chunks(BLOCK).enumerate() {
        let any = block.chunks_exact(4).fold(false, |any, b| {
            any | (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) & EXPONENT == EXPONENT)
        });
        if any {
            return block
                .chunks_exact(4)
                .map(value)
                .enumerate()
                .find(|(_, v)| !v.is_finite())
                .map(|(i, v)| (block_index * BLOCK / 4 + i, v));
        }
    }
    None
}

fn halves(data: &[u8]) -> impl Iterator<Item = u16> + '_ {
    data.chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

/// Copies a checked F32, F16 or BF16 tensor into `dst` (of its element count).
pub(crate) fn copy_into(view: &TensorView<'_>, dst: &mut [f32]) {
    let data = view.data();
    match view.dtype() {
        Dtype::F32 => {
            for (d, b) in dst.iter_mut().zip(data.chunks_exact(4)) {
                *d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        Dtype::F16 => dst
            .iter_mut()
            .zip(halves(data))
            .for_each(|(d, h)| *d = f16_to_f32(h)),
        Dtype::BF16 => dst
            .iter_mut()
            .zip(halves(data))
            .for_each(|(d, h)| *d = bf16_to_f32(h)),
        _ => {}
    }
}

/// An IEEE 754 half to `f32`, exactly.
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x3ff);
    let magnitude = match exponent {
        // Zero and subnormals: mantissa · 2⁻²⁴, exact in f32.
        0 => (mantissa as f32 * (1.0 / 16_777_216.0)).to_bits(),
        0x1f => 0x7f80_0000 | (mantissa << 13),
        _ => ((exponent + 112) << 23) | (mantissa << 13),
    };
    f32::from_bits(sign | magnitude)
}

/// A bfloat16 to `f32`: its bits are the top half of the `f32`'s.
pub(crate) fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

/// One tensor to write: its shape and little-endian `f32` bytes.
pub(crate) struct Tensor {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Tensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// The named tensors of a file being written.
#[derive(Default)]
pub(crate) struct Tensors {
    tensors: BTreeMap<String, Tensor>,
}

impl Tensors {
    /// Adds tensor `name`, refusing a repeated name or a shape that does not hold `values`.
    pub(crate) fn add(
        &mut self,
        name: String,
        shape: &[usize],
        values: &[f32],
    ) -> Result<(), SaveError> {
        let expected = element_count(shape).unwrap_or(usize::MAX);
        if expected != values.len() {
            return Err(SaveError::ShapeLength {
                name,
                shape: shape.to_vec(),
                expected,
                len: values.len(),
            });
        }
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let tensor = Tensor {
            shape: shape.to_vec(),
            bytes,
        };
        match self.tensors.entry(name) {
            std::collections::btree_map::Entry::Occupied(e) => Err(SaveError::DuplicateName {
                name: e.key().clone(),
            }),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(tensor);
                Ok(())
            }
        }
    }

    /// Adds every parameter and buffer of `net`, read through `&self`; returns the
    /// parameters' names and shapes in visiting order.
    pub(crate) fn add_network<M: HasParams + ?Sized>(
        &mut self,
        net: &M,
    ) -> Result<Vec<(String, Vec<usize>)>, SaveError> {
        /// Adds each parameter, keeping the first error (a layer that cannot be read among
        /// them).
        struct Adder<'t> {
            tensors: &'t mut Tensors,
            names: Vec<(String, Vec<usize>)>,
            result: Result<(), SaveError>,
        }
        impl ParamRefVisitor for Adder<'_> {
            fn visit(&mut self, path: &ParamPath<'_>, p: ParamRef<'_>) {
                if self.result.is_ok() {
                    let name = path.to_string();
                    self.names.push((name.clone(), p.shape.to_vec()));
                    self.result = self.tensors.add(name, p.shape, p.value);
                }
            }
            fn unreadable(&mut self, path: &ParamPath<'_>, type_name: &'static str) {
                if self.result.is_ok() {
                    self.result = Err(SaveError::Unreadable {
                        path: path.to_string(),
                        type_name,
                    });
                }
            }
        }
        let mut adder = Adder {
            tensors: self,
            names: Vec::new(),
            result: Ok(()),
        };
        net.visit_params_ref(&ParamPath::root(), &mut adder);
        let Adder {
            names, mut result, ..
        } = adder;
        net.visit_buffers_ref(
            &ParamPath::root(),
            &mut |path: &ParamPath<'_>, buffer: &[f32]| {
                if result.is_ok() {
                    result = self.add(path.to_string(), &[buffer.len()], buffer);
                }
            },
        );
        result.map(|()| names)
    }

    /// The safetensors bytes, with `metadata` (plus `format: pt`, as PyTorch writes) in the
    /// header.
    pub(crate) fn serialize(
        &self,
        mut metadata: BTreeMap<String, String>,
    ) -> Result<Vec<u8>, SaveError> {
        metadata.insert("format".to_string(), "pt".to_string());
        let metadata: HashMap<String, String> = metadata.into_iter().collect();
        safetensors::serialize(self.tensors.iter(), Some(metadata)).map_err(|e| {
            SaveError::Serialize {
                message: e.to_string(),
            }
        })
    }
}
