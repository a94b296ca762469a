//! The errors of saving and loading weight files.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::string::{String, ToString};
use std::vec::Vec;

use crate::data::Origin;

/// Why a weights file or checkpoint could not be written. The previous file at the path, if
/// any, is left as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// Writing, syncing or renaming failed.
    #[error("cannot write `{}`: {source}", path.display())]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Two tensors of the network have the same dotted name (two layers of one name in a
    /// hand-written [`HasParams`](crate::param::HasParams)).
    #[error("two tensors are named `{name}`; every parameter and buffer needs its own name")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },
    /// A tensor's declared shape does not match its length (a layer of your own whose
    /// [`Param::shape`](crate::param::Param::shape) is wrong).
    #[error("tensor `{name}` has {len} values, but its shape {shape:?} holds {expected}")]
    ShapeLength {
        /// The tensor's dotted name.
        name: String,
        /// The shape it declared.
        shape: Vec<usize>,
        /// The product of that shape.
        expected: usize,
        /// Its number of values.
        len: usize,
    },
    /// A layer of the network implements [`HasParams::visit_params`] but not
    /// [`HasParams::visit_params_ref`], so its parameters cannot be read through `&self`
    /// (a hand-written layer; see [`HasParams`]'s docs).
    ///
    /// [`HasParams`]: crate::param::HasParams
    /// [`HasParams::visit_params`]: crate::param::HasParams::visit_params
    /// [`HasParams::visit_params_ref`]: crate::param::HasParams::visit_params_ref
    #[error(
        "cannot read the parameters of `{type_name}` (at `{path}`): it implements `HasParams::visit_params` but not `visit_params_ref`; implement `visit_params_ref` as `visit_params` with shared borrows"
    )]
    Unreadable {
        /// The layer's dotted path (empty for the network itself).
        path: String,
        /// The layer's type.
        type_name: &'static str,
    },
    /// The safetensors serializer refused the tensors (a header over 100 MB).
    #[error("cannot serialize the tensors: {message}")]
    Serialize {
        /// The serializer's message.
        message: String,
    },
}

/// Why a weights file or checkpoint was not loaded: every problem found, naming the file
/// (its [`Origin`]) and each tensor. The network (and the optimizer) are left untouched.
///
/// ```
/// use nn_core::layers::Dense;
/// use nn_core::weights::{self, Problem};
///
/// let mut rng = nn_core::init::seeded(0);
/// let bytes = weights::to_bytes(&Dense::<3, 2>::new(&mut rng))?;
/// let err = weights::from_bytes(&mut Dense::<4, 2>::new(&mut rng), &bytes).unwrap_err();
/// assert!(matches!(&err.problems[..], [Problem::ShapeMismatch { tensor, .. }] if tensor == "weight"));
/// assert_eq!(
///     err.to_string(),
///     "cannot load <memory>: 1 problem:\n  tensor `weight`: the file has shape (2, 3), the network needs (2, 4)"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct LoadError {
    /// The file (or in-memory bytes) being loaded.
    pub origin: Origin,
    /// Every problem found, in the network's order, then the file's unexpected tensors.
    pub problems: Vec<Problem>,
}

impl LoadError {
    pub(crate) fn one(origin: Origin, problem: Problem) -> Self {
        Self {
            origin,
            problems: Vec::from([problem]),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "cannot load {}: {n} problem{}:",
            self.origin,
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.problems.as_slice() {
            [Problem::Io { source }] => Some(source),
            _ => None,
        }
    }
}

/// A shape, printed as PyTorch prints one: `(2, 3)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape(pub Vec<usize>);

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() == 1 {
            f.write_str(",")?;
        }
        f.write_str(")")
    }
}

/// One problem found while loading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The file could not be read.
    #[error("cannot read the file: {source}")]
    Io {
        /// The underlying error.
        source: io::Error,
    },
    /// The file is not a safetensors file at all (an image, an archive, a PyTorch `.pt`
    /// pickle, ...): its header does not begin with `{` right after the 8-byte header length,
    /// as the format requires. Usually a wrong path.
    #[error(
        "not a safetensors file: a safetensors file starts with an 8-byte header length and a JSON header beginning with `{{`, but this one starts with {}; check the path",
        hex(first_bytes)
    )]
    NotSafetensors {
        /// The file's first bytes (up to 9).
        first_bytes: Vec<u8>,
    },
    /// The file is not a well-formed safetensors file.
    #[error("not a valid safetensors file: {0}")]
    Malformed(Malformed),
    /// The network has a tensor the file lacks.
    #[error("tensor `{tensor}` of shape {shape} is missing from the file")]
    Missing {
        /// The tensor's dotted name.
        tensor: String,
        /// The shape the network needs.
        shape: Shape,
    },
    /// The file has a tensor the network does not (and the skip rule of the
    /// [module docs](super#what-is-checked) does not cover).
    #[error("the file has tensor `{tensor}` of shape {shape}, which the network does not have")]
    Unexpected {
        /// The tensor's name in the file.
        tensor: String,
        /// Its shape in the file.
        shape: Shape,
    },
    /// A tensor's shape differs from the network's.
    #[error("tensor `{tensor}`: the file has shape {file}, the network needs {expected}")]
    ShapeMismatch {
        /// The tensor's dotted name.
        tensor: String,
        /// Its shape in the file.
        file: Shape,
        /// The shape the network needs.
        expected: Shape,
    },
    /// A tensor's element type is not F32, F16 or BF16.
    #[error("tensor `{tensor}` has dtype {dtype}; only F32, F16 and BF16 can be loaded")]
    UnsupportedDtype {
        /// The tensor's dotted name.
        tensor: String,
        /// The file's dtype, as safetensors names it (`F64`, `I64`, ...).
        dtype: String,
    },
    /// A tensor holds a NaN or an infinity.
    #[error("tensor `{tensor}` holds a non-finite value ({value}) at index {index}")]
    NonFinite {
        /// The tensor's dotted name.
        tensor: String,
        /// The flat index of the first such value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// The network has two tensors of one name, so the file cannot tell them apart.
    #[error("the network has two tensors named `{tensor}`")]
    DuplicateName {
        /// The repeated name.
        tensor: String,
    },
    /// A checkpoint's metadata lacks a key, or its value does not parse.
    #[error("checkpoint metadata `{key}`: {reason}")]
    Metadata {
        /// The `__metadata__` key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The checkpoint was written by another optimizer type.
    #[error("the checkpoint holds the state of {file}, not of {expected}")]
    OptimizerKind {
        /// The optimizer named in the file.
        file: String,
        /// The optimizer it is being loaded into.
        expected: String,
    },
}

/// How a file fails to be a safetensors file (its 8-byte header length, JSON header and data
/// offsets are checked before anything else).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// Fewer than the 8 bytes of the header length.
    #[error("the file is {len} bytes long, shorter than the 8-byte header length")]
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// The header length points past the end of the file (a truncated file).
    #[error("the header length runs past the end of the file (a truncated file?)")]
    HeaderPastEnd,
    /// The header length is over safetensors' limit of 100 MB.
    #[error("the header length is over the 100 MB limit")]
    HeaderTooLarge,
    /// The header is not UTF-8.
    #[error("the header is not UTF-8")]
    HeaderNotUtf8,
    /// The header is not the JSON safetensors expects.
    #[error("the header is not valid safetensors JSON: {message}")]
    BadHeader {
        /// The JSON parser's message.
        message: String,
    },
    /// A tensor's data offsets do not follow the previous tensor's (gaps, overlaps, or an end
    /// before the start).
    #[error("tensor `{tensor}`: its data offsets do not start where the previous tensor ends")]
    BadOffsets {
        /// The tensor's name.
        tensor: String,
    },
    /// A tensor's byte range (its `data_offsets`) does not hold its shape's elements of its
    /// dtype.
    #[error(
        "tensor `{tensor}`: its data offsets [{start}, {end}) hold {} bytes, but shape {shape} of {dtype} needs {}; the header's shape, dtype or offsets are wrong",
        end.saturating_sub(*start),
        match needed { Some(n) => n.to_string(), None => "more bytes than a usize counts".to_string() }
    )]
    TensorByteRange {
        /// The tensor's name.
        tensor: String,
        /// Its dtype, as safetensors names it.
        dtype: String,
        /// Its shape.
        shape: Shape,
        /// Its data offsets' start.
        start: usize,
        /// Its data offsets' end.
        end: usize,
        /// The bytes its shape and dtype need (`None` if that overflows).
        needed: Option<usize>,
    },
    /// A tensor's byte range does not match its shape and dtype, or the shape overflows, and
    /// the header could not be reread to say which tensor (see
    /// [`Malformed::TensorByteRange`], which names it).
    #[error("a tensor's byte range does not match its shape and dtype")]
    BadTensorInfo,
    /// The data does not end where the last tensor ends (a truncated file, or trailing bytes).
    #[error("the tensor data does not end at the end of the file (a truncated file?)")]
    DataLength,
}

/// `bytes` as hex pairs: `89 50 4e 47`.
fn hex(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|b| std::format!("{b:02x}")).collect();
    pairs.join(" ")
}

impl From<safetensors::SafeTensorError> for Malformed {
    fn from(e: safetensors::SafeTensorError) -> Self {
        use safetensors::SafeTensorError as E;
        match e {
            E::HeaderTooSmall => Malformed::TooShort { len: 0 },
            E::InvalidHeaderLength => Malformed::HeaderPastEnd,
            E::HeaderTooLarge => Malformed::HeaderTooLarge,
            E::InvalidHeader(_) => Malformed::HeaderNotUtf8,
            E::InvalidHeaderDeserialization(e) | E::JsonError(e) => Malformed::BadHeader {
                message: e.to_string(),
            },
            E::InvalidOffset(tensor) => Malformed::BadOffsets { tensor },
            E::MetadataIncompleteBuffer => Malformed::DataLength,
            _ => Malformed::BadTensorInfo,
        }
    }
}
