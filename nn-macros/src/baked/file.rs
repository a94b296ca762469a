//! Reading and checking the weights file: every tensor a layer needs is there with the shape,
//! dtype and values it can bake, and nothing else is. The macro never panics on a file.

use std::collections::BTreeMap;
#[cfg(feature = "baked")]
use std::path::PathBuf;

#[cfg(feature = "baked")]
use safetensors::{Dtype, SafeTensors};

use crate::ast::{Layer, Weights};
use crate::ctxt::Ctxt;

/// A tensor the declaration needs: `conv1.weight` of `(6, 1, 5, 5)`, taken by `layer`.
#[cfg_attr(
    not(feature = "baked"),
    allow(
        dead_code,
        reason = "without the reader, only the attribute's error is reported"
    )
)]
pub struct Wanted<'a> {
    pub name: String,
    pub layer: &'a Layer,
    pub shape: Vec<usize>,
}

/// What to add when a batch norm's running statistics are missing: they are buffers, which
/// some exports leave out.
#[cfg(feature = "baked")]
fn buffer_hint(name: &str) -> &'static str {
    if name.ends_with(".running_mean") || name.ends_with(".running_var") {
        " (a batch norm's running statistics are buffers: save the whole state dict, as `nn::weights::save` and PyTorch's `state_dict()` do)"
    } else {
        ""
    }
}

/// `(128, 784)`.
#[cfg(feature = "baked")]
pub fn shape_text(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("({})", parts.join(", "))
}

/// The weights file's bytes, and its absolute path.
pub struct Opened {
    pub full: String,
    #[cfg_attr(
        not(feature = "baked"),
        allow(dead_code, reason = "without the reader, nothing opens a file")
    )]
    bytes: Vec<u8>,
}

impl Opened {
    /// The file's bytes.
    #[cfg(feature = "baked")]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Without the `baked` feature there is no reader: the attribute is an error that says so.
#[cfg(not(feature = "baked"))]
pub fn open(weights: &Weights, ctxt: &Ctxt) -> Option<Opened> {
    ctxt.error(
        &weights.attr,
        "`#[weights = ..]` needs the `baked` feature of `nn` (on by default): turn it on, as in \
         `nn = { version = \"..\", features = [\"baked\"] }`",
    );
    None
}

/// Without the `baked` feature no file is opened.
#[cfg(not(feature = "baked"))]
pub fn shapes(_opened: &Opened) -> BTreeMap<String, Vec<usize>> {
    BTreeMap::new()
}

/// Without the `baked` feature no file is opened.
#[cfg(not(feature = "baked"))]
pub fn read_file(
    _weights: &Weights,
    _opened: &Opened,
    _wanted: &[Wanted],
    _ctxt: &Ctxt,
) -> Option<BTreeMap<String, Vec<f32>>> {
    None
}

/// Reads the file (relative to `CARGO_MANIFEST_DIR`).
#[cfg(feature = "baked")]
pub fn open(weights: &Weights, ctxt: &Ctxt) -> Option<Opened> {
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        ctxt.error(
            &weights.attr,
            "`#[weights = ..]` is relative to `CARGO_MANIFEST_DIR`, which is not set: build with cargo",
        );
        return None;
    };
    let full = PathBuf::from(manifest_dir).join(weights.path.value());
    // `../models/x.safetensors` reads better resolved; a path that does not resolve keeps its
    // form, and the read below reports it.
    let full = std::fs::canonicalize(&full).unwrap_or(full);
    let full_text = full.display().to_string();
    match std::fs::read(&full) {
        Ok(bytes) => Some(Opened {
            full: full_text,
            bytes,
        }),
        Err(e) => {
            ctxt.error(
                &weights.attr,
                format!("cannot read the weights file `{full_text}`: {e}"),
            );
            None
        }
    }
}

/// The file parsed; `catch_unwind` keeps a bug in the crate from becoming an ICE-like panic of
/// the macro.
#[cfg(feature = "baked")]
fn parse(bytes: &[u8]) -> Result<SafeTensors<'_>, Option<String>> {
    match std::panic::catch_unwind(|| SafeTensors::deserialize(bytes).map_err(|e| e.to_string())) {
        Ok(Ok(file)) => Ok(file),
        Ok(Err(e)) => Err(Some(e)),
        Err(_) => Err(None),
    }
}

/// Every tensor's shape, by name (none when the file is not valid: [`read_file`] reports
/// that).
#[cfg(feature = "baked")]
pub fn shapes(opened: &Opened) -> BTreeMap<String, Vec<usize>> {
    let Ok(file) = parse(&opened.bytes) else {
        return BTreeMap::new();
    };
    file.names()
        .into_iter()
        .filter_map(|name| Some((name.to_string(), file.tensor(name).ok()?.shape().to_vec())))
        .collect()
}

/// Checks the file against `wanted`; returns every parameter's values, by name.
#[cfg(feature = "baked")]
pub fn read_file(
    weights: &Weights,
    opened: &Opened,
    wanted: &[Wanted],
    ctxt: &Ctxt,
) -> Option<BTreeMap<String, Vec<f32>>> {
    let file = match parse(&opened.bytes) {
        Ok(file) => file,
        Err(e) => {
            let why = e.map(|e| format!(": {e}")).unwrap_or_default();
            ctxt.error(
                &weights.attr,
                format!(
                    "`{}` is not a valid safetensors file{why}",
                    weights.path.value()
                ),
            );
            return None;
        }
    };
    let mut tensors = BTreeMap::new();
    let mut ok = true;
    for Wanted { name, layer, shape } in wanted {
        let reference = layer.reference();
        let view = match file.tensor(name) {
            Ok(view) => view,
            Err(_) => {
                ctxt.error(
                    &layer.tokens,
                    format!(
                        "{reference}: the weights file has no `{name}`; the declaration needs it, of shape {}{}",
                        shape_text(shape),
                        buffer_hint(name)
                    ),
                );
                ok = false;
                continue;
            }
        };
        if view.shape() != shape.as_slice() {
            ctxt.error(
                &layer.tokens,
                format!(
                    "{reference}: the weights file has `{name}` of shape {}, the declaration needs {}",
                    shape_text(view.shape()),
                    shape_text(shape)
                ),
            );
            ok = false;
            continue;
        }
        let values = match decode(view.dtype(), view.data()) {
            Some(values) => values,
            None => {
                ctxt.error(
                    &layer.tokens,
                    format!(
                        "{reference}: `{name}` is {:?}; a baked network takes F32, or F16/BF16 converted to f32: save it as F32",
                        view.dtype()
                    ),
                );
                ok = false;
                continue;
            }
        };
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            ctxt.error(
                &layer.tokens,
                format!(
                    "{reference}: `{name}` holds {} at index {index}; a baked network needs finite weights",
                    values[index]
                ),
            );
            ok = false;
            continue;
        }
        tensors.insert(name.clone(), values);
    }
    let mut unexpected: Vec<&str> = file
        .names()
        .into_iter()
        .filter(|name| !wanted.iter().any(|wanted| wanted.name == *name))
        .collect();
    unexpected.sort_unstable();
    if !unexpected.is_empty() {
        let list: Vec<String> = unexpected.iter().map(|n| format!("`{n}`")).collect();
        ctxt.error(
            &weights.attr,
            format!(
                "the weights file `{}` has {}, which no layer of the declaration takes",
                weights.path.value(),
                list.join(", ")
            ),
        );
        ok = false;
    }
    ok.then_some(tensors)
}

/// Little-endian F32 as it is, F16 and BF16 widened (exactly); `None` for other dtypes.
#[cfg(feature = "baked")]
pub fn decode(dtype: Dtype, data: &[u8]) -> Option<Vec<f32>> {
    match dtype {
        Dtype::F32 => Some(
            data.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        Dtype::BF16 => Some(
            data.chunks_exact(2)
                .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
                .collect(),
        ),
        Dtype::F16 => Some(
            data.chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
        ),
        _ => None,
    }
}

/// IEEE half to single precision; every half is exactly a single.
#[cfg(feature = "baked")]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x3ff);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        // Subnormal: the value is mantissa · 2^-24.
        (0, m) => {
            let value = m as f32 / 16_777_216.0;
            return if sign == 0 { value } else { -value };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}
