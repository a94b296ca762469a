//! The quantized safetensors file (`model.q.safetensors`): what [`QuantModel::save`] writes,
//! [`QuantModel::load`] reads, and `network!` bakes with `#[weights = "model.q.safetensors"]`.
//! Its names are in [the module docs](crate::quant#the-quantized-file).

use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::plan::{Op, Plan};
use super::{QuantModel, QuantParams, QuantStep, QuantizeError};

/// The shape of a weighted step's `weight`.
fn weight_shape(plan: &Plan, s: usize) -> Vec<usize> {
    let step = &plan.steps[s];
    match step.op {
        Op::Conv(shape) => vec![
            shape.c_out,
            shape.c_in / shape.groups,
            shape.height.kernel,
            shape.width.kernel,
        ],
        _ => vec![plan.nodes[step.output], plan.nodes[step.inputs[0]]],
    }
}

/// Whether step `op` stores its output's quantization.
fn stores_output(op: &Op) -> bool {
    matches!(op, Op::Dense | Op::Conv(_) | Op::Add | Op::Concat { .. })
}

impl QuantModel {
    /// The file's bytes (the names are in [the module docs](crate::quant#the-quantized-file)).
    ///
    /// # Errors
    /// When safetensors cannot serialize (it does not fail on these tensors).
    pub fn to_bytes(&self) -> Result<Vec<u8>, QuantizeError> {
        let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        let mut pair = |scale: String, zero_point: String, params: QuantParams| {
            owned.push((
                scale,
                Dtype::F32,
                vec![1],
                params.scale.to_le_bytes().to_vec(),
            ));
            owned.push((
                zero_point,
                Dtype::I32,
                vec![1],
                params.zero_point.to_le_bytes().to_vec(),
            ));
        };
        pair("input.scale".into(), "input.zero_point".into(), self.input);
        for (step, quant) in self.plan.steps.iter().zip(&self.steps) {
            if stores_output(&step.op) {
                let path = step.path;
                pair(
                    format!("{path}.output_scale"),
                    format!("{path}.output_zero_point"),
                    quant.output,
                );
            }
        }
        for (s, (step, quant)) in self.plan.steps.iter().zip(&self.steps).enumerate() {
            if !step.op.has_weights() {
                continue;
            }
            let path = step.path;
            owned.push((
                format!("{path}.weight"),
                Dtype::I8,
                weight_shape(&self.plan, s),
                quant.weight.iter().map(|&w| w as u8).collect(),
            ));
            owned.push((
                format!("{path}.weight_scale"),
                Dtype::F32,
                vec![quant.weight_scale.len()],
                quant
                    .weight_scale
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            ));
            owned.push((
                format!("{path}.bias"),
                Dtype::I32,
                vec![quant.bias.len()],
                quant.bias.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ));
        }
        let mut views = Vec::new();
        for (name, dtype, shape, data) in &owned {
            let view = TensorView::new(*dtype, shape.clone(), data).map_err(|e| {
                QuantizeError::BadTensor {
                    name: name.clone(),
                    why: e.to_string(),
                }
            })?;
            views.push((name.clone(), view));
        }
        let mut metadata = std::collections::HashMap::new();
        metadata.insert("format".to_string(), "nn-int8".to_string());
        safetensors::serialize(views, Some(metadata)).map_err(|e| QuantizeError::BadTensor {
            name: "<file>".into(),
            why: e.to_string(),
        })
    }

    /// Writes the quantized file to `path`.
    ///
    /// # Errors
    /// [`QuantizeError::Io`] naming the path.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), QuantizeError> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        std::fs::write(path, bytes).map_err(|e| QuantizeError::Io {
            path: path.display().to_string(),
            why: e.to_string(),
        })
    }

    /// Reads the quantized file at `path` for `plan`.
    ///
    /// # Errors
    /// As [`QuantModel::from_bytes`], and [`QuantizeError::Io`].
    pub fn load(plan: &Plan, path: impl AsRef<Path>) -> Result<Self, QuantizeError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| QuantizeError::Io {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        Self::from_bytes(plan, &bytes)
    }

    /// The model `bytes` hold for `plan`, after checking every tensor's dtype and shape, and
    /// that each scale is positive and finite and each zero point an int8.
    ///
    /// # Errors
    /// [`QuantizeError::BadTensor`] for a malformed file or a wrong tensor,
    /// [`QuantizeError::MissingTensor`] for a missing one, [`QuantizeError::Quant`] for a bad
    /// scale.
    pub fn from_bytes(plan: &Plan, bytes: &[u8]) -> Result<Self, QuantizeError> {
        let file = SafeTensors::deserialize(bytes).map_err(|e| QuantizeError::BadTensor {
            name: "<file>".into(),
            why: e.to_string(),
        })?;
        let reader = Reader { file: &file };
        let input = reader.params("input.scale", "input.zero_point")?;
        let mut node_params = vec![input; plan.nodes.len()];
        let mut steps = Vec::new();
        for (s, step) in plan.steps.iter().enumerate() {
            let mut quant = QuantStep {
                output: super::model::fixed_output(&step.op).unwrap_or(node_params[step.inputs[0]]),
                weight: Vec::new(),
                weight_scale: Vec::new(),
                bias: Vec::new(),
            };
            if stores_output(&step.op) {
                let path = step.path;
                quant.output = reader.params(
                    &format!("{path}.output_scale"),
                    &format!("{path}.output_zero_point"),
                )?;
            }
            if step.op.has_weights() {
                let path = step.path;
                let shape = weight_shape(plan, s);
                let channels = shape[0];
                quant.weight = reader
                    .bytes(&format!("{path}.weight"), Dtype::I8, &shape)?
                    .iter()
                    .map(|&b| b as i8)
                    .collect();
                quant.weight_scale = reader.f32s(&format!("{path}.weight_scale"), channels)?;
                for &scale in &quant.weight_scale {
                    if !(scale > 0.0 && scale.is_finite()) {
                        return Err(super::QuantError::BadScale(scale).into());
                    }
                }
                quant.bias = reader.i32s(&format!("{path}.bias"), channels)?;
            }
            node_params[step.output] = quant.output;
            steps.push(quant);
        }
        let model = Self {
            plan: *plan,
            input,
            steps,
        };
        model.check_factors()?;
        Ok(model)
    }
}

struct Reader<'a> {
    file: &'a SafeTensors<'a>,
}

impl<'a> Reader<'a> {
    fn bytes(&self, name: &str, dtype: Dtype, shape: &[usize]) -> Result<&'a [u8], QuantizeError> {
        let tensor = self
            .file
            .tensor(name)
            .map_err(|_| QuantizeError::MissingTensor(name.into()))?;
        if tensor.dtype() != dtype || tensor.shape() != shape {
            return Err(QuantizeError::BadTensor {
                name: name.into(),
                why: format!(
                    "expected {dtype:?} of shape {shape:?}, found {:?} of shape {:?}",
                    tensor.dtype(),
                    tensor.shape()
                ),
            });
        }
        Ok(tensor.data())
    }

    fn f32s(&self, name: &str, len: usize) -> Result<Vec<f32>, QuantizeError> {
        let raw = self.bytes(name, Dtype::F32, &[len])?;
        Ok(raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    fn i32s(&self, name: &str, len: usize) -> Result<Vec<i32>, QuantizeError> {
        let raw = self.bytes(name, Dtype::I32, &[len])?;
        Ok(raw
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// A scale and a zero point, checked.
    fn params(&self, scale: &str, zero_point: &str) -> Result<QuantParams, QuantizeError> {
        let zero_point_name = zero_point;
        let scale = self.f32s(scale, 1)?[0];
        let zero_point = self.i32s(zero_point_name, 1)?[0];
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(super::QuantError::BadScale(scale).into());
        }
        if !(-128..=127).contains(&zero_point) {
            return Err(QuantizeError::BadTensor {
                name: zero_point_name.into(),
                why: format!("{zero_point} is not an int8"),
            });
        }
        Ok(QuantParams { scale, zero_point })
    }
}
