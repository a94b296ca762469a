//! A quantized network: the int8 weights, int32 biases, scales and zero points of every step
//! of a [`Plan`], and its int8 inference on the kernels a baked network runs.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::calibrate::{FloatTensors, Ranges};
use super::ops::{
    AddInt8, PROBABILITY_OUTPUT, Requantize, SigmoidInt8, SoftmaxInt8, TANH_OUTPUT, avg_pool_int8,
    concat_part_int8, global_avg_pool_int8, relu_int8,
};
use super::plan::{Op, Plan, Step};
use super::widened::VnniScratch;
use super::{
    Conv2dInt8, DenseInt8, Multiplier, QuantError, QuantParams, max_pool_int8, quantize_bias,
};
use crate::linalg::{pairs, vnni};

/// Why a network could not be quantized, or a quantized one not read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantizeError {
    /// A scale or range that int8 cannot hold.
    #[error(transparent)]
    Quant(#[from] QuantError),
    /// A parameter the plan reads is not among the tensors.
    #[error("no tensor `{0}`")]
    MissingTensor(String),
    /// A tensor of the wrong length, type or shape.
    #[error("tensor `{name}`: {why}")]
    BadTensor {
        /// Its name.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// Calibration over no samples, or over values that are not whole samples.
    #[error(
        "calibration needs at least one whole sample of {per_sample} values; got {values} values"
    )]
    NoSamples {
        /// The values given.
        values: usize,
        /// Values per sample.
        per_sample: usize,
    },
    /// A NaN or an infinity in calibration.
    #[error("calibration sample {sample} gives a value that is not finite at node {node}")]
    NotFinite {
        /// The sample's index.
        sample: usize,
        /// The node (0 is the input).
        node: usize,
    },
    /// A calibration rule with a parameter out of its range.
    #[error("{0}")]
    BadCalibration(String),
    /// A file that could not be read or written.
    #[error("{path}: {why}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        why: String,
    },
    /// A TensorFlow Lite model that is not valid, or not the declaration's: at step `step`
    /// (the layer at `path`) when the mismatch is there.
    #[error("{}{why}", path.as_ref().map(|p| alloc::format!("`{p}`: ")).unwrap_or_default())]
    Tflite {
        /// The plan's step, when the mismatch is at one.
        step: Option<usize>,
        /// Its path.
        path: Option<String>,
        /// What is wrong.
        why: String,
    },
    /// A step with no int8 form where it stands.
    #[error("`{path}` cannot be quantized: {why}")]
    Unsupported {
        /// The step's path.
        path: String,
        /// Why.
        why: String,
    },
}

/// The int8 form of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantStep {
    /// The scale and zero point of its output. A step that passes them through (pools,
    /// `relu`, `flatten`, a folded `batch_norm`) has its input's.
    pub output: QuantParams,
    /// `dense` and convolutions: the int8 weights, in the float layer's layout (batch norm
    /// folded in), symmetric per output channel.
    pub weight: Vec<i8>,
    /// One scale per output channel of `weight`.
    pub weight_scale: Vec<f32>,
    /// One int32 per output channel, at `input_scale · weight_scale`.
    pub bias: Vec<i32>,
}

impl QuantStep {
    fn passing(output: QuantParams) -> Self {
        Self {
            output,
            weight: Vec::new(),
            weight_scale: Vec::new(),
            bias: Vec::new(),
        }
    }
}

/// A network in int8: the plan, the input's scale and zero point, and each step's
/// [`QuantStep`]. Made by [`QuantModel::quantize`] (or [`post_training`](super::post_training)),
/// saved and read as a quantized safetensors file (`save`, `load`), and baked by `network!`
/// from that file.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantModel {
    /// The network.
    pub plan: Plan,
    /// The input's scale and zero point.
    pub input: QuantParams,
    /// One per step of the plan, in its order.
    pub steps: Vec<QuantStep>,
}

/// The step a node's quantization comes from: following `relu` (fused) and a folded
/// `batch_norm` from a step that makes new values, its last node.
fn chain_end(plan: &Plan, node: usize) -> usize {
    let mut end = node;
    loop {
        let mut consumers = plan.consumers(end);
        let (Some(next), None) = (consumers.next(), consumers.next()) else {
            return end;
        };
        if end == plan.output || !matches!(next.op, Op::Relu | Op::BatchNorm { .. }) {
            return end;
        }
        end = next.output;
    }
}

/// `batch_norm` right after `step` (its only reader), folded into it.
fn folded_norm<'p>(plan: &'p Plan, step: &Step) -> Option<&'p Step> {
    let mut consumers = plan.consumers(step.output);
    match (consumers.next(), consumers.next()) {
        (Some(next), None) if matches!(next.op, Op::BatchNorm { .. }) => Some(next),
        _ => None,
    }
}

fn tensor<'t>(
    tensors: &'t FloatTensors,
    path: &str,
    name: &str,
) -> Result<&'t [f32], QuantizeError> {
    let full = alloc::format!("{path}.{name}");
    tensors
        .get(&full)
        .map(Vec::as_slice)
        .ok_or(QuantizeError::MissingTensor(full))
}

/// The output quantization TensorFlow Lite fixes for `op`, if it does (softmax, sigmoid,
/// tanh).
pub(crate) fn fixed_output(op: &Op) -> Option<QuantParams> {
    match op {
        Op::Softmax { .. } | Op::Sigmoid => Some(PROBABILITY_OUTPUT),
        Op::Tanh => Some(TANH_OUTPUT),
        _ => None,
    }
}

/// The int8 clamp of a step whose output a fused `relu` reads.
fn activation(plan: &Plan, step: &Step, output: QuantParams) -> (i8, i8) {
    if plan.fuses_relu(step) {
        (output.zero_point.clamp(-128, 127) as i8, i8::MAX)
    } else {
        (i8::MIN, i8::MAX)
    }
}

impl QuantModel {
    /// Quantizes the float network of `plan` (its parameters in `tensors`) with the
    /// activation `ranges` calibration found:
    /// - a `dense` or convolution, a fork's `add` or `concat` gets the scale and zero point of
    ///   the range after the `batch_norm` and `relu` that follow it (they fuse into it:
    ///   TensorFlow Lite's fused activation);
    /// - a `batch_norm` right after a `dense` or convolution is folded into its weights and
    ///   bias (`w · γ / √(var + eps)`, in `f64`, rounded once);
    /// - weights are symmetric per output channel, biases int32 at
    ///   `input_scale · weight_scale`;
    /// - the pools, `relu`, `flatten`, `reshape` and `dropout` keep their input's scale.
    ///
    /// # Errors
    /// - [`QuantizeError::Quant`] for a range that is not finite;
    /// - [`QuantizeError::MissingTensor`] for a parameter not in `tensors`;
    /// - [`QuantizeError::Unsupported`] for a `batch_norm` that nothing folds into.
    pub fn quantize(
        plan: &Plan,
        tensors: &FloatTensors,
        ranges: &Ranges,
    ) -> Result<Self, QuantizeError> {
        let params_of = |node: usize| -> Result<QuantParams, QuantizeError> {
            let (lo, hi) = ranges.nodes[chain_end(plan, node)];
            Ok(QuantParams::from_range(lo, hi)?)
        };
        let input = params_of(plan.input)?;
        let mut node_params = vec![input; plan.nodes.len()];
        let mut steps = Vec::with_capacity(plan.steps.len());
        for step in plan.steps {
            let input_params = node_params[step.inputs[0]];
            let quant = match step.op {
                Op::Dense | Op::Conv(_) => {
                    let output = params_of(step.output)?;
                    weighted(plan, step, tensors, input_params, output)?
                }
                Op::Add | Op::Concat { .. } => QuantStep::passing(params_of(step.output)?),
                Op::BatchNorm { .. } => {
                    let folded = plan
                        .producer(step.inputs[0])
                        .is_some_and(|p| p.op.has_weights() && folded_norm(plan, p).is_some());
                    if !folded {
                        return Err(QuantizeError::Unsupported {
                            path: step.path.into(),
                            why: "int8 folds a batch_norm into the dense or convolution right before it, and this one has none (or that layer's output has other readers)".into(),
                        });
                    }
                    QuantStep::passing(input_params)
                }
                Op::Relu
                | Op::MaxPool(_)
                | Op::AvgPool(_)
                | Op::GlobalAvgPool { .. }
                | Op::Identity => QuantStep::passing(input_params),
                Op::Softmax { .. } | Op::Sigmoid | Op::Tanh => {
                    QuantStep::passing(fixed_output(&step.op).unwrap_or(input_params))
                }
            };
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

    /// Every requantization factor the kernels will form from the scales is finite: two
    /// positive finite scales can still multiply or divide past `f32`'s range.
    ///
    /// # Errors
    /// [`QuantizeError::BadTensor`] naming the step's output scale.
    pub(crate) fn check_factors(&self) -> Result<(), QuantizeError> {
        for (s, step) in self.plan.steps.iter().enumerate() {
            let output = f64::from(self.steps[s].output.scale);
            let input = self.input_params(s).scale;
            let mut factors: Vec<f64> = self.steps[s]
                .weight_scale
                .iter()
                .map(|&w| requantization(input, w, self.steps[s].output.scale))
                .collect();
            if matches!(step.op, Op::Add | Op::Concat { .. }) {
                for &part in step.inputs {
                    let scale = f64::from(self.node_params(part).scale);
                    factors.push(scale / output);
                    factors.push(
                        2.0 * scale / (f64::from(1u32 << super::ops::ADD_LEFT_SHIFT) * output),
                    );
                }
            }
            let input_params = self.input_params(s);
            let kernel = match step.op {
                Op::Softmax { .. } => SoftmaxInt8::new(input_params.scale).map(drop),
                Op::Sigmoid | Op::Tanh => {
                    SigmoidInt8::new(input_params, step.op == Op::Tanh).map(drop)
                }
                _ => Ok(()),
            };
            if kernel.is_err() {
                return Err(QuantizeError::Unsupported {
                    path: step.path.into(),
                    why: alloc::format!(
                        "TensorFlow Lite's int8 kernel has no form for an input scale of {}",
                        input_params.scale
                    ),
                });
            }
            if let Some(bad) = factors.iter().find(|f| !f.is_finite()) {
                return Err(QuantizeError::BadTensor {
                    name: alloc::format!("{}.output_scale", step.path),
                    why: alloc::format!(
                        "its scales give a requantization factor of {bad}: a scale is too large or too small for int8"
                    ),
                });
            }
        }
        Ok(())
    }

    /// The scale and zero point of `node`.
    pub fn node_params(&self, node: usize) -> QuantParams {
        match self.plan.steps.iter().position(|s| s.output == node) {
            Some(s) => self.steps[s].output,
            None => self.input,
        }
    }

    /// The output's scale and zero point.
    pub fn output_params(&self) -> QuantParams {
        self.node_params(self.plan.output)
    }

    /// Activations for [`QuantModel::infer`]: one buffer per node, for one sample.
    pub fn activations(&self) -> Activations {
        self.batch_activations(1)
    }

    /// Activations for [`QuantModel::infer_batch`] on `batch` samples at once.
    ///
    /// # Panics
    /// When `batch` is 0.
    pub fn batch_activations(&self, batch: usize) -> Activations {
        assert!(batch > 0, "a batch of at least one sample");
        // The scratch of the widest step, so that no call allocates.
        let (mut widened, mut pairs, mut sums) = (0, 0, 0);
        let mut flat = VnniScratch::default();
        for (step, quant) in self.plan.steps.iter().zip(&self.steps) {
            match step.op {
                Op::Dense => {
                    let inputs = self.plan.nodes[step.inputs[0]];
                    widened = widened.max(inputs);
                    if flat_path() == FlatPath::Pairs {
                        let outputs = quant.bias.len();
                        widened = widened.max(pairs::dense_widened_len(batch, inputs, outputs));
                    }
                    sums = sums.max(batch * quant.bias.len());
                }
                Op::Conv(shape) => {
                    let (p, s) = conv_gemm_scratch(&shape);
                    (pairs, sums) = (pairs.max(p), sums.max(s));
                    match flat_path() {
                        FlatPath::Vnni => {
                            if let Some(lens) = Conv2dInt8::vnni_scratch_len_of(&shape) {
                                flat.planes = flat.planes.max(lens.planes);
                                flat.weights = flat.weights.max(lens.weights);
                                sums = sums.max(lens.sums);
                            }
                        }
                        FlatPath::Pairs => {
                            if let Some(lens) = Conv2dInt8::pairs_scratch_len_of(&shape) {
                                flat.planes = flat.planes.max(lens.planes);
                                sums = sums.max(lens.words);
                            }
                        }
                        FlatPath::None => {}
                    }
                }
                _ => {}
            }
        }
        Activations {
            batch,
            nodes: self
                .plan
                .nodes
                .iter()
                .map(|&len| vec![0; batch * len])
                .collect(),
            widened: vec![0; widened],
            pairs: vec![0; pairs],
            sums: vec![0; sums],
            planes: vec![0; flat.planes],
            weights: vec![0; flat.weights],
            factors: self
                .steps
                .iter()
                .map(|quant| Factors {
                    scales: None,
                    weight_scale: Vec::with_capacity(quant.weight_scale.len()),
                    multipliers: Vec::with_capacity(quant.weight_scale.len()),
                })
                .collect(),
            input: vec![0; self.plan.inputs()],
            output: vec![0.0; self.plan.outputs()],
        }
    }

    /// The 2 × 2 max pool at stride 2 that convolution step `s`'s output reaches through
    /// steps that change no value but clamp it from below (a `relu`, a folded `batch_norm`),
    /// each the only reader of the step before it and run right after it: the pool's step
    /// and the highest `relu` floor on the way. [`QuantModel::infer`] runs such a chain as
    /// one pass on AVX-512 VNNI, and a baked network everywhere
    /// ([`Conv2dInt8::forward_with_pooled`]): the pool of the requantized values is the
    /// requantized pool of the sums, as requantization keeps their order.
    pub fn pool_after(&self, s: usize) -> Option<(usize, i8)> {
        let steps = &self.plan.steps;
        let Op::Conv(conv) = steps[s].op else {
            return None;
        };
        let mut floor = i8::MIN;
        let mut at = s;
        loop {
            let node = steps[at].output;
            let mut readers = self.plan.consumers(node);
            let (Some(reader), None) = (readers.next(), readers.next()) else {
                return None;
            };
            if node == self.plan.output || steps.get(at + 1) != Some(reader) {
                return None;
            }
            at += 1;
            match reader.op {
                Op::Relu => {
                    let zero_point = self.steps[at].output.zero_point.clamp(-128, 127) as i8;
                    floor = floor.max(zero_point);
                }
                Op::BatchNorm { .. } | Op::Identity => {}
                Op::MaxPool(pool) => {
                    let halves = |axis: &crate::linalg::conv::ConvAxis, size: usize| {
                        (axis.kernel, axis.stride, axis.dilation, axis.size) == (2, 2, 1, size)
                            && axis.pad_before + axis.pad_after == 0
                    };
                    let fits = halves(&pool.height, conv.height.out)
                        && halves(&pool.width, conv.width.out)
                        && pool.is_valid();
                    return fits.then_some((at, floor));
                }
                _ => return None,
            }
        }
    }

    /// Whether step `s` is a `relu` whose input is already clamped at its zero point: the
    /// output of a layer it fuses into (through a folded `batch_norm`), which clamps itself.
    /// Such a `relu` changes nothing, and a baked network runs no code for it.
    pub fn relu_is_fused(&self, s: usize) -> bool {
        if self.plan.steps[s].op != Op::Relu {
            return false;
        }
        let mut node = self.plan.steps[s].inputs[0];
        loop {
            let Some(p) = self.plan.steps.iter().position(|step| step.output == node) else {
                return false;
            };
            match self.plan.steps[p].op {
                Op::BatchNorm { .. } => node = self.plan.steps[p].inputs[0],
                Op::Dense | Op::Conv(_) | Op::Add | Op::Concat { .. } => {
                    let zero_point = self.steps[s].output.zero_point.clamp(-128, 127);
                    return i32::from(self.activation(p).0) == zero_point;
                }
                _ => return false,
            }
        }
    }

    /// The scale and zero point of step `s`'s first input.
    pub fn input_params(&self, s: usize) -> QuantParams {
        self.node_params(self.plan.steps[s].inputs[0])
    }

    /// The int8 clamp of step `s`'s output: from its zero point up when a `relu` (after a
    /// folded `batch_norm`, if any) is its only reader, as TensorFlow Lite fuses it; the whole
    /// int8 range otherwise.
    pub fn activation(&self, s: usize) -> (i8, i8) {
        activation(&self.plan, &self.plan.steps[s], self.steps[s].output)
    }

    /// The requantization multipliers of weighted step `s`, one per output channel (none for
    /// a step without weights).
    pub fn multipliers(&self, s: usize) -> Vec<Multiplier> {
        let mut multipliers = Vec::new();
        self.fill_multipliers(s, &mut multipliers);
        multipliers
    }

    /// [`QuantModel::multipliers`] of step `s`, from `memo` when its scales are those it was
    /// made from (deriving a multiplier costs more than the step's requantization).
    fn memo_multipliers<'m>(&self, s: usize, memo: &'m mut Factors) -> &'m [Multiplier] {
        let scales = (
            self.input_params(s).scale.to_bits(),
            self.steps[s].output.scale.to_bits(),
        );
        let weight_scale = &self.steps[s].weight_scale;
        let same = memo.scales == Some(scales)
            && memo.weight_scale.len() == weight_scale.len()
            && memo
                .weight_scale
                .iter()
                .zip(weight_scale)
                .all(|(&a, b)| a == b.to_bits());
        if !same {
            self.fill_multipliers(s, &mut memo.multipliers);
            memo.weight_scale.clear();
            memo.weight_scale
                .extend(weight_scale.iter().map(|w| w.to_bits()));
            memo.scales = Some(scales);
        }
        &memo.multipliers
    }

    /// [`QuantModel::multipliers`] into `out`, which keeps its allocation.
    fn fill_multipliers(&self, s: usize, out: &mut Vec<Multiplier>) {
        let (input, quant) = (self.input_params(s), &self.steps[s]);
        out.clear();
        out.extend(
            quant.weight_scale.iter().map(|&w| {
                Multiplier::from_real(requantization(input.scale, w, quant.output.scale))
            }),
        );
    }

    /// The `add` of merge step `s`.
    ///
    /// # Panics
    /// When step `s` does not have two inputs.
    pub fn add(&self, s: usize) -> AddInt8<2> {
        let [a, b] = self.plan.steps[s].inputs else {
            panic!("step {s}: int8 `add` takes two parts");
        };
        AddInt8::new(
            [self.node_params(*a), self.node_params(*b)],
            self.steps[s].output,
        )
    }

    /// The requantization of each part of concat step `s`.
    pub fn concat_parts(&self, s: usize) -> Vec<Requantize> {
        let output = self.steps[s].output;
        self.plan.steps[s]
            .inputs
            .iter()
            .map(|&part| Requantize::new(self.node_params(part), output))
            .collect()
    }

    /// Runs one int8 sample (`plan.inputs()` values, quantized with [`QuantModel::input`]) and
    /// returns the output, which lives in `activations`.
    ///
    /// # Panics
    /// When `x` is not one sample, or `activations` are another model's or for a batch of
    /// another size.
    pub fn infer<'a>(&self, x: &[i8], activations: &'a mut Activations) -> &'a [i8] {
        assert_eq!(x.len(), self.plan.inputs(), "one input sample");
        self.infer_batch(x, activations)
    }

    /// Runs the batch of int8 samples `x` (the `batch` that made `activations` with
    /// [`QuantModel::batch_activations`], one after another), each step on all of them before
    /// the next: the same bytes as [`QuantModel::infer`] on each, faster where the kernels
    /// share work between samples (a dense layer's correction on AVX-512 VNNI) and per step.
    /// Returns the outputs, one sample after another, which live in `activations`.
    ///
    /// # Panics
    /// When `x` is not `batch` samples, or `activations` are another model's.
    pub fn infer_batch<'a>(&self, x: &[i8], activations: &'a mut Activations) -> &'a [i8] {
        let batch = activations.batch;
        assert_eq!(
            x.len(),
            batch * self.plan.inputs(),
            "{batch} input samples of {} values",
            self.plan.inputs()
        );
        let Activations {
            nodes,
            widened,
            pairs,
            sums,
            planes,
            weights,
            factors,
            ..
        } = activations;
        // AVX-512 VNNI where the CPU has it: the same bits, four times the products per
        // instruction; else AVX2's pairs of 16-bit products (stride-1 convolutions, dense
        // layers).
        let path = flat_path();
        let vnni = path == FlatPath::Vnni;
        nodes[self.plan.input].copy_from_slice(x);
        // Steps before this one have run (a convolution ran the pool after it too).
        let mut next = 0;
        for (s, (step, quant)) in self.plan.steps.iter().zip(&self.steps).enumerate() {
            if s < next {
                continue;
            }
            next = s + 1;
            let mut y = core::mem::take(&mut nodes[step.output]);
            let x = &nodes[step.inputs[0]];
            let input = self.input_params(s);
            let clamp = self.activation(s);
            let multipliers = self.memo_multipliers(s, &mut factors[s]);
            match step.op {
                Op::Dense => {
                    let dense = DenseInt8 {
                        weight: &quant.weight,
                        bias: &quant.bias,
                        multipliers,
                        input_zero_point: input.zero_point,
                        output_zero_point: quant.output.zero_point,
                        activation: clamp,
                    };
                    let (inputs, outputs) = (x.len() / batch, quant.bias.len());
                    let sums = &mut sums[..batch * outputs];
                    match path {
                        FlatPath::Vnni => dense.forward_vnni(x, &mut y, sums),
                        FlatPath::Pairs => {
                            let len = pairs::dense_widened_len(batch, inputs, outputs);
                            dense.forward_pairs(x, &mut y, &mut widened[..len], sums);
                        }
                        FlatPath::None => dense.forward_with(x, &mut y, &mut widened[..inputs]),
                    }
                }
                Op::Conv(shape) => {
                    let conv = Conv2dInt8 {
                        shape: &shape,
                        weight: &quant.weight,
                        bias: &quant.bias,
                        multipliers,
                        input_zero_point: input.zero_point,
                        output_zero_point: quant.output.zero_point,
                        activation: clamp,
                    };
                    // Every position at once: the same bits as the baked network's
                    // window-at-a-time kernel, faster with wide vectors.
                    let pool = self.pool_after(s).filter(|_| {
                        path != FlatPath::None
                            && conv.multipliers.iter().all(Multiplier::is_monotone)
                    });
                    let flat = match path {
                        FlatPath::Vnni => Conv2dInt8::vnni_scratch_len_of(&shape)
                            .map(|lens| (lens.planes, lens.weights, lens.sums)),
                        FlatPath::Pairs => Conv2dInt8::pairs_scratch_len_of(&shape)
                            .map(|lens| (lens.planes, 0, lens.words)),
                        FlatPath::None => None,
                    };
                    let Some((planes_len, weights_len, sums_len)) = flat else {
                        let (p, q) = conv.gemm_scratch_len();
                        conv.forward_gemm(x, &mut y, &mut pairs[..p], &mut sums[..q]);
                        nodes[step.output] = y;
                        continue;
                    };
                    let (planes, weights, sums) = (
                        &mut planes[..planes_len],
                        &mut weights[..weights_len],
                        &mut sums[..sums_len],
                    );
                    if let Some((p, floor)) = pool {
                        // The pool's output, straight from the sums; the steps up to it pass
                        // values on unchanged (a `relu` only raises the floor).
                        let pooled = self.plan.steps[p].output;
                        let mut out = core::mem::take(&mut nodes[pooled]);
                        let conv = Conv2dInt8 {
                            activation: (clamp.0.max(floor), clamp.1),
                            ..conv
                        };
                        let x = &nodes[step.inputs[0]];
                        if vnni {
                            conv.forward_vnni_pooled(x, &mut out, planes, weights, sums);
                        } else {
                            conv.forward_pairs_pooled(x, &mut out, planes, sums);
                        }
                        nodes[pooled] = out;
                        next = p + 1;
                    } else if vnni {
                        conv.forward_vnni(x, &mut y, planes, weights, sums);
                    } else {
                        conv.forward_pairs(x, &mut y, planes, sums);
                    }
                }
                Op::Relu => {
                    y.copy_from_slice(x);
                    if !self.relu_is_fused(s) {
                        relu_int8(quant.output.zero_point, &mut y);
                    }
                }
                Op::MaxPool(shape) => max_pool_int8(&shape, (i8::MIN, i8::MAX), x, &mut y),
                Op::AvgPool(shape) => avg_pool_int8(&shape, input.zero_point, x, &mut y),
                Op::GlobalAvgPool { plane } => global_avg_pool_int8(plane, x, &mut y),
                Op::BatchNorm { .. } | Op::Identity => y.copy_from_slice(x),
                Op::Add => {
                    let [a, b] = step.inputs else {
                        panic!("step {s}: int8 `add` takes two parts");
                    };
                    self.add(s).forward([&nodes[*a], &nodes[*b]], clamp, &mut y);
                }
                Op::Concat { outer } => {
                    // `concat_int8` part by part, with no list of the parts to allocate.
                    let mut before = 0;
                    for &part in step.inputs {
                        let requantize = Requantize::new(self.node_params(part), quant.output);
                        let outer = batch * outer;
                        concat_part_int8(outer, &nodes[part], &requantize, before, &mut y);
                        before += nodes[part].len() / outer;
                    }
                    relu_int8(i32::from(clamp.0), &mut y);
                }
                // The constants are checked when the model is made (`check_factors`).
                Op::Softmax { depth } => SoftmaxInt8::new(input.scale)
                    .expect("a checked softmax")
                    .forward(depth, x, &mut y),
                Op::Sigmoid | Op::Tanh => SigmoidInt8::new(input, step.op == Op::Tanh)
                    .expect("a checked sigmoid")
                    .forward(x, &mut y),
            }
            nodes[step.output] = y;
        }
        &nodes[self.plan.output]
    }

    /// The float input quantized with [`QuantModel::input`]: values outside the int8 range
    /// saturate at −128 and 127.
    pub fn quantize_input(&self, x: &[f32]) -> Vec<i8> {
        x.iter().map(|&v| self.input.quantize(v)).collect()
    }

    /// One float sample through the int8 network: quantized in, dequantized out, the output
    /// living in `activations` (nothing is allocated). Inputs outside the range calibration
    /// saw saturate.
    ///
    /// # Panics
    /// When `x` is not one sample.
    pub fn predict<'a>(&self, x: &[f32], activations: &'a mut Activations) -> &'a [f32] {
        assert_eq!(x.len(), self.plan.inputs(), "one input sample");
        let mut q = core::mem::take(&mut activations.input);
        for (q, &v) in q.iter_mut().zip(x) {
            *q = self.input.quantize(v);
        }
        let mut output = core::mem::take(&mut activations.output);
        let params = self.output_params();
        for (o, &v) in output.iter_mut().zip(self.infer(&q, activations)) {
            *o = params.dequantize(v);
        }
        activations.input = q;
        activations.output = output;
        &activations.output
    }
}

/// The real factor from an accumulator at `input_scale · weight_scale` to the output's scale,
/// as TensorFlow Lite Micro forms it: the product in single precision, widened, then divided
/// in double precision.
pub fn requantization(input_scale: f32, weight_scale: f32, output_scale: f32) -> f64 {
    f64::from(input_scale * weight_scale) / f64::from(output_scale)
}

/// The int8 buffers of every node and the kernels' scratch, for [`QuantModel::infer`] and
/// [`QuantModel::predict`], sized by [`QuantModel::activations`] so that no call allocates.
#[derive(Debug, Clone)]
pub struct Activations {
    /// The samples each call runs.
    batch: usize,
    nodes: Vec<Vec<i8>>,
    /// A dense layer's input row, off its zero point; with AVX2, every sample's and the
    /// weights ([`DenseInt8::forward_pairs`]).
    widened: Vec<i16>,
    /// A convolution's windows ([`Conv2dInt8::forward_gemm`]); its sums, or a dense
    /// layer's, on AVX-512 VNNI ([`Conv2dInt8::forward_vnni`], [`DenseInt8::forward_vnni`]),
    /// or its pairs, packed weights and sums with AVX2 ([`Conv2dInt8::forward_pairs`]).
    pairs: Vec<i16>,
    sums: Vec<i32>,
    /// A stride-1 convolution's padded input on AVX-512 VNNI or AVX2, and its weights on
    /// VNNI (empty without them).
    planes: Vec<u8>,
    weights: Vec<i8>,
    /// Each step's requantization multipliers, and the scales they come from.
    factors: Vec<Factors>,
    /// [`QuantModel::predict`]'s quantized input and dequantized output.
    input: Vec<i8>,
    output: Vec<f32>,
}

/// A step's requantization multipliers, and the bits of the scales they were derived from.
#[derive(Debug, Clone)]
struct Factors {
    /// The input's and the output's scale.
    scales: Option<(u32, u32)>,
    weight_scale: Vec<u32>,
    multipliers: Vec<Multiplier>,
}

/// The flat convolution kernels this CPU runs, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlatPath {
    /// AVX-512 VNNI: four taps per `vpdpbusd` ([`vnni::conv_sums`]).
    Vnni,
    /// AVX2: two taps per `vpmaddwd` ([`pairs::conv_sums`]).
    Pairs,
    /// Neither: the window-at-a-time kernels.
    None,
}

/// The [`FlatPath`] of this CPU.
fn flat_path() -> FlatPath {
    if vnni::available() {
        FlatPath::Vnni
    } else if pairs::available() {
        FlatPath::Pairs
    } else {
        FlatPath::None
    }
}

/// [`Conv2dInt8::gemm_scratch_len`] of a shape, before its parameters exist.
fn conv_gemm_scratch(shape: &crate::linalg::conv::ConvShape) -> (usize, usize) {
    Conv2dInt8::gemm_scratch_len_of(shape)
}

/// The weighted step's int8 weights and bias, batch norm folded in.
fn weighted(
    plan: &Plan,
    step: &Step,
    tensors: &FloatTensors,
    input: QuantParams,
    output: QuantParams,
) -> Result<QuantStep, QuantizeError> {
    let weight = tensor(tensors, step.path, "weight")?;
    let mut bias = tensor(tensors, step.path, "bias")?.to_vec();
    let channels = bias.len();
    if channels == 0 || weight.len() % channels != 0 {
        return Err(QuantizeError::BadTensor {
            name: alloc::format!("{}.weight", step.path),
            why: alloc::format!("{} values are not {channels} channels", weight.len()),
        });
    }
    let run = weight.len() / channels;
    let mut scale = vec![1.0f64; channels];
    if let Some(norm) = folded_norm(plan, step) {
        let [gamma, beta, mean, var] = ["weight", "bias", "running_mean", "running_var"]
            .map(|n| tensor(tensors, norm.path, n));
        let (gamma, beta, mean, var) = (gamma?, beta?, mean?, var?);
        for c in 0..channels {
            scale[c] = f64::from(gamma[c])
                / libm::sqrt(f64::from(var[c]) + f64::from(crate::baked::BATCH_NORM_EPS));
            bias[c] =
                ((f64::from(bias[c]) - f64::from(mean[c])) * scale[c] + f64::from(beta[c])) as f32;
        }
    }
    let mut q = Vec::with_capacity(weight.len());
    let mut weight_scale = Vec::with_capacity(channels);
    let mut q_bias = Vec::with_capacity(channels);
    for (c, row) in weight.chunks_exact(run).enumerate() {
        let folded: Vec<f32> = row
            .iter()
            .map(|&w| (f64::from(w) * scale[c]) as f32)
            .collect();
        let max_abs = folded.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let params = QuantParams::symmetric(max_abs)?;
        q.extend(folded.iter().map(|&w| params.quantize(w)));
        weight_scale.push(params.scale);
        q_bias.push(quantize_bias(bias[c], input.scale, params.scale)?);
    }
    Ok(QuantStep {
        output,
        weight: q,
        weight_scale,
        bias: q_bias,
    })
}
