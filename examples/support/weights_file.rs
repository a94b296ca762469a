//! Dense layers to and from a safetensors file, in PyTorch's names and layouts (`fc1.weight` of
//! `(OUT, IN)`, `fc1.bias` of `(OUT)`), through the `safetensors` crate. Included by
//! `examples/mnist.rs` (`--save`) and `examples/embedded_mlp.rs` with `#[path]`; a generic
//! `save`/`load` for every network would replace it.

#![allow(
    dead_code,
    reason = "each example that includes this file uses part of it"
)]
use std::path::Path;

use nn::layers::Dense;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

/// One tensor to write: its name, shape and little-endian `f32` bytes.
pub struct Entry {
    name: String,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

/// The two tensors of a dense layer named `name`.
pub fn dense_entries<const IN: usize, const OUT: usize>(
    name: &str,
    layer: &Dense<IN, OUT>,
) -> [Entry; 2] {
    let bytes = |values: &[f32]| values.iter().flat_map(|v| v.to_le_bytes()).collect();
    [
        Entry {
            name: format!("{name}.weight"),
            shape: vec![OUT, IN],
            bytes: bytes(layer.weight().as_slice()),
        },
        Entry {
            name: format!("{name}.bias"),
            shape: vec![OUT],
            bytes: bytes(layer.bias().as_slice()),
        },
    ]
}

/// Writes `entries` to `path` as one safetensors file.
pub fn save(path: &Path, entries: &[Entry]) -> Result<(), String> {
    let views = entries
        .iter()
        .map(|e| {
            TensorView::new(Dtype::F32, e.shape.clone(), &e.bytes)
                .map(|view| (e.name.clone(), view))
                .map_err(|err| format!("{}: {err}", e.name))
        })
        .collect::<Result<Vec<_>, String>>()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    safetensors::serialize_to_file(views, None, path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads `name.weight` and `name.bias` (F32, PyTorch's shapes) of `file` into `layer`.
pub fn load_dense<const IN: usize, const OUT: usize>(
    file: &SafeTensors<'_>,
    name: &str,
    layer: &mut Dense<IN, OUT>,
) -> Result<(), String> {
    let read = |tensor: &str, shape: &[usize], out: &mut [f32]| -> Result<(), String> {
        let view = file
            .tensor(tensor)
            .map_err(|e| format!("`{tensor}`: {e}"))?;
        if view.dtype() != Dtype::F32 || view.shape() != shape {
            return Err(format!(
                "`{tensor}` is {:?} of shape {:?}; expected F32 of {shape:?}",
                view.dtype(),
                view.shape()
            ));
        }
        for (value, bytes) in out.iter_mut().zip(view.data().chunks_exact(4)) {
            *value = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        Ok(())
    };
    read(
        &format!("{name}.weight"),
        &[OUT, IN],
        layer.weight_mut().as_mut_slice(),
    )?;
    read(
        &format!("{name}.bias"),
        &[OUT],
        layer.bias_mut().as_mut_slice(),
    )
}
