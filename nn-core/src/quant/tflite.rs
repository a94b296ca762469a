//! A TensorFlow Lite int8 model (`.tflite`) read as a [`QuantModel`] of a declaration's
//! [`Plan`]: [`QuantModel::from_tflite`], which `network!` runs at compile time for
//! `#[weights = "model.tflite"]`.
//!
//! The model's operators are matched to the plan's steps by data flow, not by position: from
//! the input tensor, each step looks for the operator of its kind that reads the tensor its
//! input maps to, checks the operator's shapes, windows, fused activation and quantization
//! against the declaration, and maps its output to the operator's output. A `batch_norm` (which
//! TensorFlow Lite folds), `dropout` and a `relu` its layer fuses have no operator; `flatten`
//! and `reshape` follow a `RESHAPE` when there is one. Every operator must be matched, except
//! the shape arithmetic that feeds a `RESHAPE` (`SHAPE`, `STRIDED_SLICE`, `PACK`) and a
//! `QUANTIZE` / `DEQUANTIZE` around a float input or output.
//!
//! TensorFlow Lite lays images out channels last (NHWC) and `nn` channels first, so weights are
//! reordered: a convolution's `OHWI` to `OIHW`, a depthwise one's `1HWO` to `O1HW`, and the
//! columns of a `dense` that reads a flattened image from height-width-channel order to
//! channel-height-width.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use nn_tflite::{Activation, DType, Model, OpCode, Operator, Options, Padding, Window};

use super::model::{QuantStep, fixed_output};
use super::plan::{Op, Plan, Step};
use super::{QuantModel, QuantParams, QuantizeError};
use crate::linalg::conv::ConvAxis;
use crate::linalg::pool::PoolShape;

/// An error at step `step` (or the whole file).
fn error(step: Option<(usize, &Step)>, why: impl Into<String>) -> QuantizeError {
    QuantizeError::Tflite {
        step: step.map(|(s, _)| s),
        path: step.map(|(_, st)| st.path.to_string()),
        why: why.into(),
    }
}

/// The int8 quantization of an activation tensor: one scale, one zero point in int8.
fn activation_params(model: &Model, tensor: usize) -> Result<QuantParams, String> {
    let t = &model.tensors[tensor];
    if t.dtype != DType::I8 {
        return Err(format!(
            "tensor `{}` is {:?}, not int8: `nn` reads full-integer int8 models (the converter's `inference_input_type = tf.int8`)",
            t.name, t.dtype
        ));
    }
    match &t.quantization {
        Some(q) if q.scale.len() == 1 => {
            let (scale, zero_point) = (q.scale[0], q.zero_point[0]);
            if !(scale > 0.0 && scale.is_finite()) {
                return Err(format!("tensor `{}` has a scale of {scale}", t.name));
            }
            let zero_point = i32::try_from(zero_point)
                .ok()
                .filter(|z| (-128..=127).contains(z))
                .ok_or_else(|| {
                    format!(
                        "tensor `{}` has a zero point of {zero_point}, outside int8",
                        t.name
                    )
                })?;
            Ok(QuantParams { scale, zero_point })
        }
        Some(q) => Err(format!(
            "activation tensor `{}` has {} scales; `nn` quantizes activations per tensor",
            t.name,
            q.scale.len()
        )),
        None => Err(format!("tensor `{}` is not quantized", t.name)),
    }
}

/// What the declaration's padding along one axis is in TensorFlow Lite's terms.
fn padding_of(axis: &ConvAxis) -> Option<Padding> {
    if axis.pad_before == 0 && axis.pad_after == 0 {
        // A window that fits without padding is `VALID`; TensorFlow's `SAME` pads it too when
        // the stride leaves a remainder, so zero padding is `SAME` only where that total is 0.
        return Some(Padding::Valid);
    }
    let out = axis.size.div_ceil(axis.stride);
    let span = (axis.kernel - 1) * axis.dilation + 1;
    let total = ((out - 1) * axis.stride + span).saturating_sub(axis.size);
    (axis.pad_before == total / 2 && axis.pad_after == total - total / 2 && axis.out == out)
        .then_some(Padding::Same)
}

/// Whether `padding` along `axis` is the declaration's.
fn same_padding(padding: Padding, axis: &ConvAxis) -> bool {
    match padding {
        Padding::Valid => axis.pad_before == 0 && axis.pad_after == 0,
        // TensorFlow's `SAME` with no padding needed is also no padding.
        Padding::Same => {
            padding_of(axis) == Some(Padding::Same)
                || (axis.pad_before == 0
                    && axis.pad_after == 0
                    && axis.out == axis.size.div_ceil(axis.stride))
        }
    }
}

fn padding_text(axis: &ConvAxis) -> String {
    match padding_of(axis) {
        Some(Padding::Valid) => "no padding (`VALID`)".into(),
        Some(Padding::Same) => "TensorFlow's `SAME` padding".into(),
        None => format!(
            "padding {} before and {} after, which is neither `SAME` nor `VALID`",
            axis.pad_before, axis.pad_after
        ),
    }
}

/// Checks a window's geometry against the declaration's axes.
fn check_window(
    window: &Window,
    height: &ConvAxis,
    width: &ConvAxis,
    filter: Option<(usize, usize)>,
) -> Result<(), String> {
    if let Some(filter) = filter
        && filter != (height.kernel, width.kernel)
    {
        return Err(format!(
            "its window is {}×{}, the declaration's {}×{}",
            filter.0, filter.1, height.kernel, width.kernel
        ));
    }
    if window.stride != (height.stride, width.stride) {
        return Err(format!(
            "its stride is {:?}, the declaration's ({}, {})",
            window.stride, height.stride, width.stride
        ));
    }
    if window.dilation != (height.dilation, width.dilation) {
        return Err(format!(
            "its dilation is {:?}, the declaration's ({}, {})",
            window.dilation, height.dilation, width.dilation
        ));
    }
    for (name, axis) in [("rows", height), ("columns", width)] {
        if !same_padding(window.padding, axis) {
            return Err(format!(
                "it pads with `{:?}`, the declaration's {name} have {}",
                window.padding,
                padding_text(axis)
            ));
        }
    }
    Ok(())
}

/// The symmetric int8 weights of `tensor`: their values and one scale per output channel
/// (`channels`, along `axis` of the tensor).
fn weights(
    model: &Model,
    tensor: usize,
    channels: usize,
    axis: usize,
) -> Result<(Vec<i8>, Vec<f32>), String> {
    let t = &model.tensors[tensor];
    let values = t.i8s().ok_or_else(|| {
        format!(
            "weight `{}` is not a constant int8 tensor (it is {:?}{})",
            t.name,
            t.dtype,
            if t.data.is_empty() {
                ", with no data"
            } else {
                ""
            }
        )
    })?;
    let Some(q) = &t.quantization else {
        return Err(format!("weight `{}` is not quantized", t.name));
    };
    if q.zero_point.iter().any(|&z| z != 0) {
        return Err(format!(
            "weight `{}` has a nonzero zero point; int8 weights are symmetric",
            t.name
        ));
    }
    let scales = match q.scale.len() {
        1 => vec![q.scale[0]; channels],
        n if n == channels && q.dimension == axis => q.scale.clone(),
        n => {
            return Err(format!(
                "weight `{}` has {n} scales along axis {}; `nn` reads one per tensor or one per output channel ({channels} along axis {axis})",
                t.name, q.dimension
            ));
        }
    };
    if let Some(&bad) = scales.iter().find(|s| !(**s > 0.0 && s.is_finite())) {
        return Err(format!("weight `{}` has a scale of {bad}", t.name));
    }
    Ok((values, scales))
}

/// The int32 bias of `op` (input 2), zeros when it has none.
fn bias(model: &Model, op: &Operator, channels: usize) -> Result<Vec<i32>, String> {
    match op.inputs.get(2).copied().flatten() {
        None => Ok(vec![0; channels]),
        Some(b) => {
            let t = &model.tensors[b];
            let values = t
                .i32s()
                .ok_or_else(|| format!("bias `{}` is not a constant int32 tensor", t.name))?;
            if values.len() != channels {
                return Err(format!(
                    "bias `{}` has {} values for {channels} output channels",
                    t.name,
                    values.len()
                ));
            }
            Ok(values)
        }
    }
}

/// The shape of tensor `t` as the declaration would write it.
fn shape_text(model: &Model, t: usize) -> String {
    format!("{:?}", model.tensors[t].shape)
}

/// Matching state: which operators are taken, what tensor each plan node is.
struct Matcher<'m> {
    model: &'m Model,
    used: Vec<bool>,
}

impl Matcher<'_> {
    /// The untaken operator of `code` whose inputs start with `inputs` (any order for `ADD`).
    fn find(&self, code: &OpCode, inputs: &[usize]) -> Option<usize> {
        self.model.operators.iter().enumerate().position(|(o, op)| {
            if self.used[o] || &op.code != code || op.outputs.is_empty() {
                return false;
            }
            let read: Vec<usize> = op.inputs.iter().flatten().copied().collect();
            if *code == OpCode::Add {
                let mut a = read.clone();
                let mut b = inputs.to_vec();
                a.sort_unstable();
                b.sort_unstable();
                a == b
            } else if *code == OpCode::Concatenation {
                read == inputs
            } else {
                read.first() == inputs.first()
            }
        })
    }

    /// The operators that read tensor `t`, by name, for a message.
    fn readers(&self, t: usize) -> String {
        let names: Vec<String> = self
            .model
            .operators
            .iter()
            .filter(|op| op.inputs.contains(&Some(t)))
            .map(|op| op.code.name())
            .collect();
        if names.is_empty() {
            "nothing reads it".into()
        } else {
            format!("what reads it: {}", names.join(", "))
        }
    }
}

/// The fused activation `activation` against whether the declaration fuses a `relu`.
fn check_activation(activation: Activation, relu: bool) -> Result<(), String> {
    match (activation, relu) {
        (Activation::None, false) | (Activation::Relu, true) => Ok(()),
        (Activation::Relu, false) => {
            Err("it fuses a RELU, and the declaration has no `relu` after the layer".into())
        }
        (Activation::None, true) => {
            Err("the declaration has a `relu` after the layer, and the operator fuses none".into())
        }
        (other, _) => Err(format!(
            "it fuses {other:?}, which `nn` has no int8 form for (only RELU)"
        )),
    }
}

/// Whether the `relu` step `relu` is fused into the layer before it.
fn relu_fused(plan: &Plan, relu: &Step) -> bool {
    let mut node = relu.inputs[0];
    loop {
        let Some(producer) = plan.producer(node) else {
            return false;
        };
        match producer.op {
            Op::BatchNorm { .. } => node = producer.inputs[0],
            Op::Dense | Op::Conv(_) | Op::Add | Op::Concat { .. } => {
                return plan.fuses_relu(producer);
            }
            _ => return false,
        }
    }
}

/// `OHWI` (TensorFlow Lite's convolution weight) to `OIHW`.
fn ohwi_to_oihw(w: &[i8], o: usize, h: usize, wd: usize, i: usize) -> Vec<i8> {
    let mut out = vec![0; w.len()];
    for a in 0..o {
        for b in 0..h {
            for c in 0..wd {
                for d in 0..i {
                    out[((a * i + d) * h + b) * wd + c] = w[((a * h + b) * wd + c) * i + d];
                }
            }
        }
    }
    out
}

impl QuantModel {
    /// Reads a TensorFlow Lite int8 model (a `.tflite` file's bytes) as the int8 network of
    /// `plan`, checking every operator against the declaration: weights symmetric int8, per
    /// tensor or per output channel; activations int8 with one scale and zero point; the
    /// converter's `inference_input_type = tf.int8` (a float input or output behind
    /// `QUANTIZE` / `DEQUANTIZE` is read too). `network!` calls it at compile time for
    /// `#[weights = "model.tflite"]` (feature `tflite`).
    ///
    /// The model's operators are matched to the plan's steps by data flow, not by position:
    /// from the input tensor, each step looks for the operator of its kind that reads the
    /// tensor its input maps to, checks the operator's shapes, windows, fused activation and
    /// quantization against the declaration, and maps its output to the operator's output. A
    /// `batch_norm` (which TensorFlow Lite folds), `dropout` and a `relu` its layer fuses have
    /// no operator; `flatten` and `reshape` follow a `RESHAPE` when there is one. Every
    /// operator must be matched, except the shape arithmetic that feeds a `RESHAPE` (`SHAPE`,
    /// `STRIDED_SLICE`, `PACK`) and a `QUANTIZE` / `DEQUANTIZE` around a float input or
    /// output.
    ///
    /// TensorFlow Lite lays images out channels last (NHWC) and `nn` channels first, so
    /// weights are reordered: a convolution's `OHWI` to `OIHW`, a depthwise one's `1HWO` to
    /// `O1HW`, and the columns of a `dense` that reads a flattened image from
    /// height-width-channel order to channel-height-width.
    ///
    /// # Errors
    /// [`QuantizeError::Tflite`], naming the step when the mismatch is at one: a file that is
    /// not a valid model (truncated, offsets out of range); an operator the declaration does not
    /// have, or has elsewhere; a wrong shape, window or fused activation; a quantization `nn`
    /// does not read.
    pub fn from_tflite(plan: &Plan, bytes: &[u8]) -> Result<Self, QuantizeError> {
        let model = nn_tflite::read(bytes).map_err(|e| error(None, e.to_string()))?;
        let mut m = Matcher {
            used: vec![false; model.operators.len()],
            model: &model,
        };
        if model.inputs.len() != 1 || model.outputs.len() != 1 {
            return Err(error(
                None,
                format!(
                    "the model has {} inputs and {} outputs; the declaration one of each",
                    model.inputs.len(),
                    model.outputs.len()
                ),
            ));
        }
        let mut input = model.inputs[0];
        if model.tensors[input].dtype == DType::F32 {
            let o = m.find(&OpCode::Quantize, &[input]).ok_or_else(|| {
                error(None, "the model's input is float and no QUANTIZE reads it")
            })?;
            m.used[o] = true;
            input = model.operators[o].outputs[0];
        }
        if model.tensors[input].len() != plan.inputs() {
            return Err(error(
                None,
                format!(
                    "the model's input is {} ({} values); the declaration's takes {}",
                    shape_text(&model, input),
                    model.tensors[input].len(),
                    plan.inputs()
                ),
            ));
        }
        let input_params = activation_params(&model, input).map_err(|why| error(None, why))?;
        let mut tensor_of: Vec<Option<usize>> = vec![None; plan.nodes.len()];
        tensor_of[plan.input] = Some(input);
        let mut params_of: Vec<QuantParams> = vec![input_params; plan.nodes.len()];
        let mut steps = Vec::with_capacity(plan.steps.len());
        for (s, step) in plan.steps.iter().enumerate() {
            let at = Some((s, step));
            let x =
                tensor_of[step.inputs[0]].ok_or_else(|| error(at, "its input has no tensor"))?;
            let x_params = params_of[step.inputs[0]];
            let mut quant = QuantStep {
                output: x_params,
                weight: Vec::new(),
                weight_scale: Vec::new(),
                bias: Vec::new(),
            };
            let take = |m: &mut Matcher<'_>, code: OpCode, inputs: &[usize]| {
                let o = m.find(&code, inputs).ok_or_else(|| {
                    error(
                        at,
                        format!(
                            "the model has no {} reading `{}`: {}",
                            code.name(),
                            model.tensors[inputs[0]].name,
                            m.readers(inputs[0])
                        ),
                    )
                })?;
                m.used[o] = true;
                Ok::<usize, QuantizeError>(o)
            };
            let output = match step.op {
                Op::BatchNorm { .. } => x,
                Op::Relu if relu_fused(plan, step) => x,
                Op::Identity => match m.find(&OpCode::Reshape, &[x]) {
                    Some(o) => {
                        m.used[o] = true;
                        model.operators[o].outputs[0]
                    }
                    None => x,
                },
                Op::Relu => {
                    let o = take(&mut m, OpCode::Relu, &[x])?;
                    let y = model.operators[o].outputs[0];
                    let params = activation_params(&model, y).map_err(|why| error(at, why))?;
                    if params != x_params {
                        return Err(error(
                            at,
                            "its RELU requantizes (the output's scale or zero point is not the input's), which `nn`'s `relu` does not",
                        ));
                    }
                    y
                }
                Op::Dense => {
                    let o = take(&mut m, OpCode::FullyConnected, &[x])?;
                    let op = &model.operators[o];
                    let (outputs, inputs) = (plan.nodes[step.output], plan.nodes[step.inputs[0]]);
                    let Options::FullyConnected {
                        activation,
                        default_weights,
                    } = op.options
                    else {
                        return Err(error(at, "its FULLY_CONNECTED has no options"));
                    };
                    if !default_weights {
                        return Err(error(
                            at,
                            "its weights are shuffled; `nn` reads the default layout",
                        ));
                    }
                    check_activation(activation, plan.fuses_relu(step))
                        .map_err(|why| error(at, why))?;
                    let w = op
                        .inputs
                        .get(1)
                        .copied()
                        .flatten()
                        .ok_or_else(|| error(at, "its FULLY_CONNECTED has no weight"))?;
                    if model.tensors[w].shape != [outputs, inputs] {
                        return Err(error(
                            at,
                            format!(
                                "its weight is {}; `dense({inputs} -> {outputs})` needs [{outputs}, {inputs}]",
                                shape_text(&model, w)
                            ),
                        ));
                    }
                    let (mut weight, weight_scale) =
                        weights(&model, w, outputs, 0).map_err(|why| error(at, why))?;
                    // A flattened image: TensorFlow Lite's columns run height, width,
                    // channel; ours channel, height, width.
                    if let Some((c, h, wd)) = flattened_image(plan, &model, &tensor_of, step) {
                        let mut ours = vec![0; weight.len()];
                        for (row, out) in weight
                            .chunks_exact(inputs)
                            .zip(ours.chunks_exact_mut(inputs))
                        {
                            for ch in 0..c {
                                for p in 0..h * wd {
                                    out[ch * h * wd + p] = row[p * c + ch];
                                }
                            }
                        }
                        weight = ours;
                    }
                    quant.bias = bias(&model, op, outputs).map_err(|why| error(at, why))?;
                    quant.weight = weight;
                    quant.weight_scale = weight_scale;
                    op.outputs[0]
                }
                Op::Conv(shape) => {
                    let depthwise = shape.groups > 1;
                    let code = if depthwise {
                        if shape.groups != shape.c_in || shape.c_out != shape.c_in {
                            return Err(error(
                                at,
                                "a grouped convolution other than depthwise (one filter per channel) has no TensorFlow Lite operator",
                            ));
                        }
                        OpCode::DepthwiseConv2d
                    } else {
                        OpCode::Conv2d
                    };
                    let o = take(&mut m, code, &[x])?;
                    let op = &model.operators[o];
                    let (window, activation) = match op.options {
                        Options::Conv2d { window, activation } if !depthwise => {
                            (window, activation)
                        }
                        Options::DepthwiseConv2d {
                            window,
                            depth_multiplier,
                            activation,
                        } if depthwise => {
                            if depth_multiplier != 1 {
                                return Err(error(
                                    at,
                                    format!(
                                        "its depth multiplier is {depth_multiplier}; `depthwise` has 1"
                                    ),
                                ));
                            }
                            (window, activation)
                        }
                        _ => return Err(error(at, "its convolution has no options")),
                    };
                    check_window(&window, &shape.height, &shape.width, None)
                        .map_err(|why| error(at, why))?;
                    check_activation(activation, plan.fuses_relu(step))
                        .map_err(|why| error(at, why))?;
                    let w = op
                        .inputs
                        .get(1)
                        .copied()
                        .flatten()
                        .ok_or_else(|| error(at, "its convolution has no weight"))?;
                    let (kh, kw) = (shape.height.kernel, shape.width.kernel);
                    let expected = if depthwise {
                        vec![1, kh, kw, shape.c_out]
                    } else {
                        vec![shape.c_out, kh, kw, shape.c_in]
                    };
                    if model.tensors[w].shape != expected {
                        return Err(error(
                            at,
                            format!(
                                "its weight is {}; the declaration's needs {expected:?} ({})",
                                shape_text(&model, w),
                                if depthwise {
                                    "1, height, width, channels"
                                } else {
                                    "out, height, width, in"
                                }
                            ),
                        ));
                    }
                    let axis = if depthwise { 3 } else { 0 };
                    let (weight, weight_scale) =
                        weights(&model, w, shape.c_out, axis).map_err(|why| error(at, why))?;
                    quant.weight = if depthwise {
                        ohwi_to_oihw(&weight, 1, kh, kw, shape.c_out)
                    } else {
                        ohwi_to_oihw(&weight, shape.c_out, kh, kw, shape.c_in)
                    };
                    quant.weight_scale = weight_scale;
                    quant.bias = bias(&model, op, shape.c_out).map_err(|why| error(at, why))?;
                    op.outputs[0]
                }
                Op::MaxPool(shape) | Op::AvgPool(shape) => {
                    let code = if matches!(step.op, Op::MaxPool(_)) {
                        OpCode::MaxPool2d
                    } else {
                        OpCode::AveragePool2d
                    };
                    let o = take(&mut m, code, &[x])?;
                    let op = &model.operators[o];
                    let Options::Pool {
                        window,
                        filter,
                        activation,
                    } = op.options
                    else {
                        return Err(error(at, "its pool has no options"));
                    };
                    check_window(&window, &shape.height, &shape.width, Some(filter))
                        .map_err(|why| error(at, why))?;
                    check_pool(&shape, window.padding, activation).map_err(|why| error(at, why))?;
                    pass_through(&model, op.outputs[0], x_params).map_err(|why| error(at, why))?;
                    op.outputs[0]
                }
                Op::GlobalAvgPool { .. } => {
                    let o = take(&mut m, OpCode::Mean, &[x])?;
                    let op = &model.operators[o];
                    let axes = op
                        .inputs
                        .get(1)
                        .copied()
                        .flatten()
                        .and_then(|a| model.tensors[a].i32s());
                    if axes.as_deref() != Some(&[1, 2]) {
                        return Err(error(
                            at,
                            format!(
                                "its MEAN is over axes {axes:?}; `global_avg_pool` averages height and width ([1, 2])"
                            ),
                        ));
                    }
                    pass_through(&model, op.outputs[0], x_params).map_err(|why| error(at, why))?;
                    op.outputs[0]
                }
                Op::Add | Op::Concat { .. } => {
                    let parts: Vec<usize> = step
                        .inputs
                        .iter()
                        .map(|&n| tensor_of[n].ok_or_else(|| error(at, "a part has no tensor")))
                        .collect::<Result<_, _>>()?;
                    let code = if step.op == Op::Add {
                        OpCode::Add
                    } else {
                        OpCode::Concatenation
                    };
                    let o = take(&mut m, code, &parts)?;
                    let op = &model.operators[o];
                    let activation = match op.options {
                        Options::Add { activation } => activation,
                        Options::Concatenation { axis, activation } => {
                            let rank = model.tensors[op.outputs[0]].shape.len() as i32;
                            if axis != rank - 1 && axis != -1 {
                                return Err(error(
                                    at,
                                    format!(
                                        "its CONCATENATION joins axis {axis} of {rank}; `nn` joins channels (the last axis in TensorFlow Lite)"
                                    ),
                                ));
                            }
                            activation
                        }
                        _ => Activation::None,
                    };
                    check_activation(activation, plan.fuses_relu(step))
                        .map_err(|why| error(at, why))?;
                    op.outputs[0]
                }
                Op::Softmax { .. } | Op::Sigmoid | Op::Tanh => {
                    let code = match step.op {
                        Op::Softmax { .. } => OpCode::Softmax,
                        Op::Sigmoid => OpCode::Logistic,
                        _ => OpCode::Tanh,
                    };
                    let o = take(&mut m, code, &[x])?;
                    let op = &model.operators[o];
                    if let Options::Softmax { beta } = op.options
                        && beta != 1.0
                    {
                        return Err(error(
                            at,
                            format!("its SOFTMAX has β = {beta}; `softmax` has 1"),
                        ));
                    }
                    op.outputs[0]
                }
            };
            if model.tensors[output].len() != plan.nodes[step.output] {
                return Err(error(
                    at,
                    format!(
                        "its output in the model is {} ({} values); the declaration's has {}",
                        shape_text(&model, output),
                        model.tensors[output].len(),
                        plan.nodes[step.output]
                    ),
                ));
            }
            if output != x {
                quant.output = activation_params(&model, output).map_err(|why| error(at, why))?;
            }
            if let Some(fixed) = fixed_output(&step.op)
                && quant.output != fixed
            {
                return Err(error(
                    at,
                    format!(
                        "its output is quantized with scale {} and zero point {}; TensorFlow Lite's int8 kernel needs {} and {}",
                        quant.output.scale, quant.output.zero_point, fixed.scale, fixed.zero_point
                    ),
                ));
            }
            tensor_of[step.output] = Some(output);
            params_of[step.output] = quant.output;
            steps.push(quant);
        }
        let mut last =
            tensor_of[plan.output].ok_or_else(|| error(None, "the output has no tensor"))?;
        if last != model.outputs[0]
            && let Some(o) = m.find(&OpCode::Dequantize, &[last])
            && model.operators[o].outputs[0] == model.outputs[0]
        {
            m.used[o] = true;
            last = model.outputs[0];
        }
        let shape_arithmetic = [OpCode::Shape, OpCode::StridedSlice, OpCode::Pack];
        let left: Vec<String> = model
            .operators
            .iter()
            .enumerate()
            .filter(|(o, op)| !m.used[*o] && !shape_arithmetic.contains(&op.code))
            .map(|(o, op)| format!("{} (operator {o})", op.code.name()))
            .collect();
        if !left.is_empty() {
            return Err(error(
                None,
                format!(
                    "the model has operators the declaration does not: {}",
                    left.join(", ")
                ),
            ));
        }
        if last != model.outputs[0] {
            return Err(error(
                None,
                format!(
                    "the declaration ends at tensor `{}`, the model at `{}`",
                    model.tensors[last].name, model.tensors[model.outputs[0]].name
                ),
            ));
        }
        let model = Self {
            plan: *plan,
            input: input_params,
            steps,
        };
        model.check_factors()?;
        Ok(model)
    }
}

/// A pool's padding and fused activation: an average over a padded window counts only its
/// part inside the input in TensorFlow Lite.
fn check_pool(shape: &PoolShape, padding: Padding, activation: Activation) -> Result<(), String> {
    if activation != Activation::None {
        return Err(format!(
            "its pool fuses {activation:?}; `nn`'s pools fuse nothing"
        ));
    }
    let padded = shape.height.pad_before
        + shape.height.pad_after
        + shape.width.pad_before
        + shape.width.pad_after
        > 0;
    if padding == Padding::Same && padded && shape.count_include_pad {
        return Err(
            "TensorFlow Lite averages a padded window over its part inside the input; declare the pool with `padding = same`".into(),
        );
    }
    Ok(())
}

/// A pool's or mean's output must keep its input's quantization, as `nn`'s do.
fn pass_through(model: &Model, output: usize, input: QuantParams) -> Result<(), String> {
    let params = activation_params(model, output)?;
    if params != input {
        return Err(format!(
            "it requantizes (output scale {} and zero point {}, input {} and {}), which `nn`'s form of it does not",
            params.scale, params.zero_point, input.scale, input.zero_point
        ));
    }
    Ok(())
}

/// When dense `step` reads a flattened image (through `flatten` or `reshape`), its channels,
/// height and width: TensorFlow Lite's tensor before the flatten is `[1, height, width,
/// channels]`.
fn flattened_image(
    plan: &Plan,
    model: &Model,
    tensor_of: &[Option<usize>],
    step: &Step,
) -> Option<(usize, usize, usize)> {
    let mut node = step.inputs[0];
    while let Some(producer) = plan.producer(node) {
        if producer.op != Op::Identity {
            break;
        }
        node = producer.inputs[0];
    }
    let shape = &model.tensors[tensor_of[node]?].shape;
    match shape.as_slice() {
        &[1, h, w, c] if c > 1 && h * w > 1 => Some((c, h, w)),
        _ => None,
    }
}
