//! Reads TensorFlow Lite model files (`.tflite`) into plain values: the tensors (shape, type,
//! quantization, constant data), the operators in order, with their options, of the model's
//! one subgraph. `nn-core`'s `quant::QuantModel::from_tflite` checks such a model against a
//! declaration and turns it into an int8 network; `network!` does that at compile time for
//! `#[weights = "model.tflite"]`.
//!
//! The file is a FlatBuffer. [`read`] runs the `flatbuffers` crate's verifier over it first,
//! so a truncated file or an offset out of range is an error ([`ReadError::Invalid`]), never
//! a read out of bounds; then it checks what the verifier cannot: that every tensor and buffer
//! index is in range and that each constant's bytes fit its shape. The accessors come from
//! flatc (`src/tflite_subset_generated.rs`, from `schema/tflite_subset.fbs`, a subset of
//! TensorFlow Lite's schema with its field numbers); they are this crate's only `unsafe`
//! code, and they run on verified bytes only.
//!
//! ```
//! let bytes = std::fs::read("../tests/fixtures/int8/mnist_mlp.tflite")?;
//! let model = nn_tflite::read(&bytes)?;
//! let names: Vec<String> = model.operators.iter().map(|op| op.code.name()).collect();
//! assert_eq!(names, ["FULLY_CONNECTED", "FULLY_CONNECTED"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

#[allow(
    unsafe_code,
    unused_imports,
    dead_code,
    non_camel_case_types,
    non_snake_case,
    clippy::all,
    clippy::pedantic,
    missing_docs,
    mismatched_lifetime_syntaxes,
    reason = "flatc's generated accessors, used on verified bytes only"
)]
#[rustfmt::skip]
mod tflite_subset_generated;

use tflite_subset_generated::tflite as fb;

/// Why a file is not a model this crate reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file does not carry TensorFlow Lite's identifier, `TFL3`.
    #[error("not a TensorFlow Lite model: its bytes 4..8 are not `TFL3`")]
    NotTflite,
    /// The verifier rejected the FlatBuffer: truncated, an offset out of range, a bad vector.
    #[error("a malformed TensorFlow Lite file: {0}")]
    Invalid(String),
    /// No subgraph, or more than one (control flow, which `nn` has no form for).
    #[error("the model has {0} subgraphs; `nn` reads models of exactly one")]
    Subgraphs(usize),
    /// An index that points past its list.
    #[error("{what} {index} is out of range (there are {len})")]
    Index {
        /// What the index is of, and where.
        what: String,
        /// The index.
        index: i64,
        /// The list's length.
        len: usize,
    },
    /// A tensor this crate cannot read the values of.
    #[error("tensor `{tensor}`: {why}")]
    Tensor {
        /// The tensor's name.
        tensor: String,
        /// Why.
        why: String,
    },
}

/// The model's one subgraph.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Every tensor, by index.
    pub tensors: Vec<Tensor>,
    /// The operators, in the order they run.
    pub operators: Vec<Operator>,
    /// The input tensors' indices.
    pub inputs: Vec<usize>,
    /// The output tensors' indices.
    pub outputs: Vec<usize>,
}

/// An element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// `float32`.
    F32,
    /// `int32`.
    I32,
    /// `int8`.
    I8,
    /// `uint8`.
    U8,
    /// `int16`.
    I16,
    /// `int64`.
    I64,
    /// Another (TensorFlow Lite's number).
    Other(i8),
}

impl DType {
    fn of(t: fb::TensorType) -> Self {
        match t {
            fb::TensorType::FLOAT32 => Self::F32,
            fb::TensorType::INT32 => Self::I32,
            fb::TensorType::INT8 => Self::I8,
            fb::TensorType::UINT8 => Self::U8,
            fb::TensorType::INT16 => Self::I16,
            fb::TensorType::INT64 => Self::I64,
            other => Self::Other(other.0),
        }
    }

    /// Bytes per element, where known.
    pub const fn size(self) -> Option<usize> {
        match self {
            Self::F32 | Self::I32 => Some(4),
            Self::I8 | Self::U8 => Some(1),
            Self::I16 => Some(2),
            Self::I64 => Some(8),
            Self::Other(_) => None,
        }
    }
}

/// A tensor's affine quantization: `real = scale · (q − zero_point)`, one pair per tensor or
/// one per index along `dimension`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantization {
    /// One scale, or one per index along `dimension`.
    pub scale: Vec<f32>,
    /// As many zero points as scales.
    pub zero_point: Vec<i64>,
    /// The axis the scales run along when there are several.
    pub dimension: usize,
}

/// One tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Its name (for messages).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its element type.
    pub dtype: DType,
    /// Its quantization, if it has one.
    pub quantization: Option<Quantization>,
    /// Its constant bytes (little-endian), empty for an activation.
    pub data: Vec<u8>,
}

impl Tensor {
    /// Elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The constant as `i32`s (an `int32` tensor), or `None`.
    pub fn i32s(&self) -> Option<Vec<i32>> {
        (self.dtype == DType::I32 && !self.data.is_empty()).then(|| {
            self.data
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
    }

    /// The constant as `i8`s (an `int8` tensor), or `None`.
    pub fn i8s(&self) -> Option<Vec<i8>> {
        (self.dtype == DType::I8 && !self.data.is_empty())
            .then(|| self.data.iter().map(|&b| b as i8).collect())
    }
}

/// An operator's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpCode {
    /// `ADD`.
    Add,
    /// `AVERAGE_POOL_2D`.
    AveragePool2d,
    /// `CONCATENATION`.
    Concatenation,
    /// `CONV_2D`.
    Conv2d,
    /// `DEPTHWISE_CONV_2D`.
    DepthwiseConv2d,
    /// `DEQUANTIZE`.
    Dequantize,
    /// `FULLY_CONNECTED`.
    FullyConnected,
    /// `LOGISTIC`.
    Logistic,
    /// `MAX_POOL_2D`.
    MaxPool2d,
    /// `RELU`.
    Relu,
    /// `RESHAPE`.
    Reshape,
    /// `SOFTMAX`.
    Softmax,
    /// `TANH`.
    Tanh,
    /// `MEAN`.
    Mean,
    /// `STRIDED_SLICE`.
    StridedSlice,
    /// `SHAPE`.
    Shape,
    /// `PACK`.
    Pack,
    /// `QUANTIZE`.
    Quantize,
    /// Another builtin operator, by TensorFlow Lite's number.
    Other(i32),
    /// A custom operator, by name.
    Custom(String),
}

impl OpCode {
    fn of(code: i32) -> Self {
        match fb::BuiltinOperator(code) {
            fb::BuiltinOperator::ADD => Self::Add,
            fb::BuiltinOperator::AVERAGE_POOL_2D => Self::AveragePool2d,
            fb::BuiltinOperator::CONCATENATION => Self::Concatenation,
            fb::BuiltinOperator::CONV_2D => Self::Conv2d,
            fb::BuiltinOperator::DEPTHWISE_CONV_2D => Self::DepthwiseConv2d,
            fb::BuiltinOperator::DEQUANTIZE => Self::Dequantize,
            fb::BuiltinOperator::FULLY_CONNECTED => Self::FullyConnected,
            fb::BuiltinOperator::LOGISTIC => Self::Logistic,
            fb::BuiltinOperator::MAX_POOL_2D => Self::MaxPool2d,
            fb::BuiltinOperator::RELU => Self::Relu,
            fb::BuiltinOperator::RESHAPE => Self::Reshape,
            fb::BuiltinOperator::SOFTMAX => Self::Softmax,
            fb::BuiltinOperator::TANH => Self::Tanh,
            fb::BuiltinOperator::MEAN => Self::Mean,
            fb::BuiltinOperator::STRIDED_SLICE => Self::StridedSlice,
            fb::BuiltinOperator::SHAPE => Self::Shape,
            fb::BuiltinOperator::PACK => Self::Pack,
            fb::BuiltinOperator::QUANTIZE => Self::Quantize,
            _ => Self::Other(code),
        }
    }

    /// TensorFlow Lite's name of it (`CONV_2D`), for messages.
    pub fn name(&self) -> String {
        match self {
            Self::Other(code) => fb::BuiltinOperator(*code)
                .variant_name()
                .map_or_else(|| format!("builtin operator {code}"), ToString::to_string),
            Self::Custom(name) => format!("custom operator `{name}`"),
            known => {
                let code = match known {
                    Self::Add => fb::BuiltinOperator::ADD,
                    Self::AveragePool2d => fb::BuiltinOperator::AVERAGE_POOL_2D,
                    Self::Concatenation => fb::BuiltinOperator::CONCATENATION,
                    Self::Conv2d => fb::BuiltinOperator::CONV_2D,
                    Self::DepthwiseConv2d => fb::BuiltinOperator::DEPTHWISE_CONV_2D,
                    Self::Dequantize => fb::BuiltinOperator::DEQUANTIZE,
                    Self::FullyConnected => fb::BuiltinOperator::FULLY_CONNECTED,
                    Self::Logistic => fb::BuiltinOperator::LOGISTIC,
                    Self::MaxPool2d => fb::BuiltinOperator::MAX_POOL_2D,
                    Self::Relu => fb::BuiltinOperator::RELU,
                    Self::Reshape => fb::BuiltinOperator::RESHAPE,
                    Self::Softmax => fb::BuiltinOperator::SOFTMAX,
                    Self::Tanh => fb::BuiltinOperator::TANH,
                    Self::Mean => fb::BuiltinOperator::MEAN,
                    Self::StridedSlice => fb::BuiltinOperator::STRIDED_SLICE,
                    Self::Shape => fb::BuiltinOperator::SHAPE,
                    Self::Pack => fb::BuiltinOperator::PACK,
                    _ => fb::BuiltinOperator::QUANTIZE,
                };
                code.variant_name().unwrap_or("?").to_string()
            }
        }
    }
}

/// A window's padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// TensorFlow's `same`: the output is `ceil(size / stride)`, the padding split with the
    /// odd one after.
    Same,
    /// No padding.
    Valid,
}

/// A fused activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// None.
    None,
    /// `max(0, x)`.
    Relu,
    /// `clamp(x, 0, 6)`.
    Relu6,
    /// Another (TensorFlow Lite's number).
    Other(i8),
}

impl Activation {
    fn of(a: fb::ActivationFunctionType) -> Self {
        match a {
            fb::ActivationFunctionType::NONE => Self::None,
            fb::ActivationFunctionType::RELU => Self::Relu,
            fb::ActivationFunctionType::RELU6 => Self::Relu6,
            other => Self::Other(other.0),
        }
    }
}

/// A window's geometry: TensorFlow Lite's `(height, width)` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The padding rule.
    pub padding: Padding,
    /// Steps between windows, `(h, w)`.
    pub stride: (usize, usize),
    /// Steps between taps, `(h, w)`.
    pub dilation: (usize, usize),
}

/// An operator's options.
#[derive(Debug, Clone, PartialEq)]
pub enum Options {
    /// None, or none this crate reads.
    None,
    /// `CONV_2D`.
    Conv2d {
        /// The window.
        window: Window,
        /// The fused activation.
        activation: Activation,
    },
    /// `DEPTHWISE_CONV_2D`.
    DepthwiseConv2d {
        /// The window.
        window: Window,
        /// Output channels per input channel.
        depth_multiplier: usize,
        /// The fused activation.
        activation: Activation,
    },
    /// `MAX_POOL_2D`, `AVERAGE_POOL_2D`.
    Pool {
        /// The window (no dilation).
        window: Window,
        /// The window's `(h, w)`.
        filter: (usize, usize),
        /// The fused activation.
        activation: Activation,
    },
    /// `FULLY_CONNECTED`.
    FullyConnected {
        /// The fused activation.
        activation: Activation,
        /// Whether the weights are in the default layout (`(out, in)`), not shuffled.
        default_weights: bool,
    },
    /// `SOFTMAX`.
    Softmax {
        /// The inverse temperature.
        beta: f32,
    },
    /// `CONCATENATION`.
    Concatenation {
        /// The joined axis (negative: from the end).
        axis: i32,
        /// The fused activation.
        activation: Activation,
    },
    /// `ADD`.
    Add {
        /// The fused activation.
        activation: Activation,
    },
    /// `MEAN` and the other reductions.
    Reducer {
        /// Whether the reduced axes stay, as 1.
        keep_dims: bool,
    },
    /// A kind of options this crate does not read (TensorFlow Lite's union number).
    Other(u8),
}

/// One operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    /// What it computes.
    pub code: OpCode,
    /// The tensors it reads (`None`: an optional input left out, TensorFlow Lite's −1).
    pub inputs: Vec<Option<usize>>,
    /// The tensors it writes.
    pub outputs: Vec<usize>,
    /// Its options.
    pub options: Options,
}

fn count(n: i32) -> usize {
    usize::try_from(n).unwrap_or(0)
}

fn window(padding: fb::Padding, stride: (i32, i32), dilation: (i32, i32)) -> Window {
    Window {
        padding: if padding == fb::Padding::VALID {
            Padding::Valid
        } else {
            Padding::Same
        },
        stride: (count(stride.0), count(stride.1)),
        dilation: (count(dilation.0), count(dilation.1)),
    }
}

fn options(op: &fb::Operator<'_>) -> Options {
    use fb::BuiltinOptions as O;
    match op.builtin_options_type() {
        O::NONE => Options::None,
        O::Conv2DOptions => op
            .builtin_options_as_conv_2_doptions()
            .map_or(Options::None, |o| Options::Conv2d {
                window: window(
                    o.padding(),
                    (o.stride_h(), o.stride_w()),
                    (o.dilation_h_factor(), o.dilation_w_factor()),
                ),
                activation: Activation::of(o.fused_activation_function()),
            }),
        O::DepthwiseConv2DOptions => {
            op.builtin_options_as_depthwise_conv_2_doptions()
                .map_or(Options::None, |o| Options::DepthwiseConv2d {
                    window: window(
                        o.padding(),
                        (o.stride_h(), o.stride_w()),
                        (o.dilation_h_factor(), o.dilation_w_factor()),
                    ),
                    depth_multiplier: count(o.depth_multiplier()),
                    activation: Activation::of(o.fused_activation_function()),
                })
        }
        O::Pool2DOptions => op
            .builtin_options_as_pool_2_doptions()
            .map_or(Options::None, |o| Options::Pool {
                window: window(o.padding(), (o.stride_h(), o.stride_w()), (1, 1)),
                filter: (count(o.filter_height()), count(o.filter_width())),
                activation: Activation::of(o.fused_activation_function()),
            }),
        O::FullyConnectedOptions => {
            op.builtin_options_as_fully_connected_options()
                .map_or(Options::None, |o| Options::FullyConnected {
                    activation: Activation::of(o.fused_activation_function()),
                    default_weights: o.weights_format() == 0,
                })
        }
        O::SoftmaxOptions => op
            .builtin_options_as_softmax_options()
            .map_or(Options::None, |o| Options::Softmax { beta: o.beta() }),
        O::ConcatenationOptions => {
            op.builtin_options_as_concatenation_options()
                .map_or(Options::None, |o| Options::Concatenation {
                    axis: o.axis(),
                    activation: Activation::of(o.fused_activation_function()),
                })
        }
        O::AddOptions => op
            .builtin_options_as_add_options()
            .map_or(Options::None, |o| Options::Add {
                activation: Activation::of(o.fused_activation_function()),
            }),
        O::ReshapeOptions => Options::None,
        O::ReducerOptions => op
            .builtin_options_as_reducer_options()
            .map_or(Options::None, |o| Options::Reducer {
                keep_dims: o.keep_dims(),
            }),
        other => Options::Other(other.0),
    }
}

/// An index into a list of `len`, or the error naming it.
fn index(what: impl FnOnce() -> String, i: i64, len: usize) -> Result<usize, ReadError> {
    usize::try_from(i)
        .ok()
        .filter(|&i| i < len)
        .ok_or_else(|| ReadError::Index {
            what: what(),
            index: i,
            len,
        })
}

/// Reads a `.tflite` file's model.
///
/// # Errors
/// [`ReadError`]: not TensorFlow Lite's identifier; a FlatBuffer the verifier rejects
/// (truncated, offsets out of range); not exactly one subgraph; an index out of range; a
/// tensor that is sparse, custom-quantized, in an external buffer, or whose bytes do not fit
/// its shape.
pub fn read(bytes: &[u8]) -> Result<Model, ReadError> {
    if bytes.get(4..8) != Some(b"TFL3".as_slice()) {
        return Err(ReadError::NotTflite);
    }
    let model = fb::root_as_model(bytes).map_err(|e| {
        // The verifier's message spans lines (the error, then its trace); one line reads better
        // in a compile error.
        let lines: Vec<String> = e
            .to_string()
            .lines()
            .map(|l| l.trim().trim_end_matches('.').to_string())
            .filter(|l| !l.is_empty())
            .collect();
        ReadError::Invalid(lines.join(", "))
    })?;
    let subgraphs = model.subgraphs().map_or(0, |s| s.len());
    let graph = match model.subgraphs() {
        Some(s) if s.len() == 1 => s.get(0),
        _ => return Err(ReadError::Subgraphs(subgraphs)),
    };
    let buffers = model.buffers();
    let buffer_count = buffers.map_or(0, |b| b.len());
    let codes = model.operator_codes();
    let code_count = codes.map_or(0, |c| c.len());

    let mut tensors = Vec::new();
    for (t, tensor) in graph.tensors().into_iter().flatten().enumerate() {
        let name = tensor
            .name()
            .map_or_else(|| format!("#{t}"), ToString::to_string);
        let bad = |why: &str| ReadError::Tensor {
            tensor: name.clone(),
            why: why.to_string(),
        };
        if tensor.sparsity().is_some() {
            return Err(bad("sparse tensors are not supported"));
        }
        let mut shape = Vec::new();
        for d in tensor.shape().into_iter().flatten() {
            shape.push(usize::try_from(d).map_err(|_| bad("a negative dimension"))?);
        }
        let dtype = DType::of(tensor.type_());
        let quantization = match tensor.quantization() {
            Some(q) if q.details_type() != fb::QuantizationDetails::NONE => {
                return Err(bad("custom quantization is not supported"));
            }
            Some(q) if q.scale().is_some_and(|s| !s.is_empty()) => {
                let scale: Vec<f32> = q.scale().into_iter().flatten().collect();
                let zero_point: Vec<i64> = q.zero_point().into_iter().flatten().collect();
                if zero_point.len() != scale.len() {
                    return Err(bad("its quantization has not one zero point per scale"));
                }
                let dimension = usize::try_from(q.quantized_dimension())
                    .map_err(|_| bad("a negative quantized dimension"))?;
                Some(Quantization {
                    scale,
                    zero_point,
                    dimension,
                })
            }
            _ => None,
        };
        let buffer = index(
            || format!("tensor `{name}`'s buffer"),
            i64::from(tensor.buffer()),
            buffer_count.max(1),
        )?;
        let mut data = Vec::new();
        if let Some(b) = buffers.filter(|b| buffer < b.len()).map(|b| b.get(buffer)) {
            if b.offset() > 1 || b.size() > 0 {
                return Err(bad(
                    "its data is outside the flatbuffer (a model over 2 GB); not supported",
                ));
            }
            if let Some(bytes) = b.data() {
                data = bytes.bytes().to_vec();
            }
        }
        if !data.is_empty() {
            let expected = dtype.size().and_then(|size| {
                shape
                    .iter()
                    .try_fold(size, |acc: usize, &d| acc.checked_mul(d))
            });
            if expected != Some(data.len()) {
                return Err(bad(&format!(
                    "{} bytes of data for a shape of {shape:?}",
                    data.len()
                )));
            }
        }
        tensors.push(Tensor {
            name,
            shape,
            dtype,
            quantization,
            data,
        });
    }

    let tensor_index = |what: &dyn Fn() -> String, i: i32| index(what, i64::from(i), tensors.len());
    let mut operators = Vec::new();
    for (o, op) in graph.operators().into_iter().flatten().enumerate() {
        let code = index(
            || format!("operator {o}'s opcode"),
            i64::from(op.opcode_index()),
            code_count,
        )?;
        let code = codes.map(|c| c.get(code)).map_or(OpCode::Other(-1), |c| {
            if let Some(custom) = c.custom_code() {
                OpCode::Custom(custom.to_string())
            } else {
                // Codes past 127 live in `builtin_code`, older files use the deprecated byte.
                OpCode::of(
                    c.builtin_code()
                        .0
                        .max(i32::from(c.deprecated_builtin_code())),
                )
            }
        });
        let mut inputs = Vec::new();
        for i in op.inputs().into_iter().flatten() {
            inputs.push(if i < 0 {
                None
            } else {
                Some(tensor_index(&|| format!("operator {o}'s input"), i)?)
            });
        }
        let mut outputs = Vec::new();
        for i in op.outputs().into_iter().flatten() {
            outputs.push(tensor_index(&|| format!("operator {o}'s output"), i)?);
        }
        operators.push(Operator {
            code,
            inputs,
            outputs,
            options: options(&op),
        });
    }
    let mut ends = [Vec::new(), Vec::new()];
    for (k, list) in [graph.inputs(), graph.outputs()].into_iter().enumerate() {
        for i in list.into_iter().flatten() {
            ends[k].push(tensor_index(
                &|| "the subgraph's input or output".into(),
                i,
            )?);
        }
    }
    let [inputs, outputs] = ends;
    Ok(Model {
        tensors,
        operators,
        inputs,
        outputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_model() {
        assert_eq!(read(b""), Err(ReadError::NotTflite));
        // An empty table where the model should be: no subgraph.
        assert_eq!(read(b"\0\0\0\0TFL3"), Err(ReadError::Subgraphs(0)));
        assert!(matches!(
            read(b"\x10\0\0\0TFL3"),
            Err(ReadError::Invalid(_))
        ));
    }
}
