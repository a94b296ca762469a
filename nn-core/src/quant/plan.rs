//! What a network is, step by step, for quantization: the plan `network!` emits as
//! [`Quantize::PLAN`] for every network whose layers all have an int8 form. Calibration runs
//! it in float to observe each activation's range ([`calibrate`](super::calibrate)), and the
//! int8 model runs it on the int8 kernels ([`QuantModel`](super::QuantModel)); a baked int8
//! network (`#[weights = "model.q.safetensors"]`) runs the same steps, unrolled by the macro.

use crate::linalg::conv::ConvShape;
use crate::linalg::pool::PoolShape;

/// One step of a network as its int8 form sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// `dense`: `path.weight` (`out × in`) and `path.bias`.
    Dense,
    /// `conv2d`, `depthwise` and `conv1d` (a convolution of one row): `path.weight`
    /// (`c_out × c_in / groups × kh × kw`) and `path.bias`.
    Conv(ConvShape),
    /// `batch_norm` over `channels` (per feature when each channel is one value). Its int8 form
    /// is folded into the `dense` or convolution right before it.
    BatchNorm {
        /// Channels (or features).
        channels: usize,
    },
    /// `relu`: int8 values below the zero point become the zero point.
    Relu,
    /// `max_pool`, `max_pool1d`: the scale and zero point pass through.
    MaxPool(PoolShape),
    /// `avg_pool`, `avg_pool1d`: the scale and zero point pass through.
    AvgPool(PoolShape),
    /// `global_avg_pool` over planes of `plane` values: the scale and zero point pass through.
    GlobalAvgPool {
        /// Values per channel.
        plane: usize,
    },
    /// `flatten`, `reshape` and `dropout` (at inference): the same values.
    Identity,
    /// A fork's `add`: each part rescaled to a common scale, summed, requantized.
    Add,
    /// A fork's `concat` or `stack`: `outer` blocks of each part in turn, each part requantized
    /// to the output's scale and zero point.
    Concat {
        /// The number of blocks each part is cut into (the product of the axes before the
        /// joined one).
        outer: usize,
    },
    /// `softmax` over rows of `depth` values (TensorFlow Lite's `SOFTMAX`, β = 1): its output
    /// is quantized as TensorFlow Lite fixes it, scale 1/256 and zero point −128.
    Softmax {
        /// Values per row.
        depth: usize,
    },
    /// `sigmoid` (TensorFlow Lite's `LOGISTIC`): output scale 1/256, zero point −128.
    Sigmoid,
    /// `tanh` (TensorFlow Lite's `TANH`): output scale 1/128, zero point 0.
    Tanh,
}

impl Op {
    /// Whether the step reads parameters (`path.weight`, `path.bias`).
    pub const fn has_weights(&self) -> bool {
        matches!(self, Op::Dense | Op::Conv(_))
    }
}

/// One step: an operation from `inputs` (node indices) into `output`, its parameters under
/// `path` (`conv1` reads `conv1.weight`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// What it computes.
    pub op: Op,
    /// The nodes it reads: one, or a merge's parts in order.
    pub inputs: &'static [usize],
    /// The node it writes.
    pub output: usize,
    /// The dotted path of its parameters and of its quantization: the layer's name (`fc1`,
    /// `encoder.fc1`, `relu_1`), or the fork's for a merge.
    pub path: &'static str,
}

/// A network as steps over nodes, each node one activation tensor of `nodes[i]` values per
/// sample. Node `input` is the input; steps come in an order that computes every node before
/// a step reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Values per sample of each node.
    pub nodes: &'static [usize],
    /// The input's node.
    pub input: usize,
    /// The output's node.
    pub output: usize,
    /// The steps, in order.
    pub steps: &'static [Step],
}

impl Plan {
    /// Values per input sample.
    pub const fn inputs(&self) -> usize {
        self.nodes[self.input]
    }

    /// Values per output sample.
    pub const fn outputs(&self) -> usize {
        self.nodes[self.output]
    }

    /// The steps that read `node`.
    pub fn consumers(&self, node: usize) -> impl Iterator<Item = &Step> + '_ {
        self.steps
            .iter()
            .filter(move |step| step.inputs.contains(&node))
    }

    /// The step that writes `node`, if a step does (the input has none).
    pub fn producer(&self, node: usize) -> Option<&Step> {
        self.steps.iter().find(|step| step.output == node)
    }

    /// Whether a `relu` fuses into `step`: its output's only reader (through a `batch_norm`
    /// that folds into it) is a `relu`, which TensorFlow Lite fuses as the step's activation.
    pub fn fuses_relu(&self, step: &Step) -> bool {
        let mut node = step.output;
        loop {
            let mut readers = self.consumers(node);
            match (readers.next(), readers.next()) {
                (Some(next), None) if matches!(next.op, Op::BatchNorm { .. }) => {
                    node = next.output;
                }
                (Some(next), None) => return next.op == Op::Relu,
                _ => return false,
            }
        }
    }

    /// The node where the int8 model quantizes `step`'s result anew, if it does: the output
    /// of a `dense`, convolution, `add` or `concat` after the `batch_norm` and `relu` that fuse
    /// into it, and the output of `softmax`, `sigmoid` and `tanh`. Pools, a `relu` elsewhere
    /// and reshapes keep their input's quantization. Quantization-aware training
    /// fake-quantizes these nodes.
    pub fn quantized_node(&self, step: &Step) -> Option<usize> {
        match step.op {
            Op::Dense | Op::Conv(_) | Op::Add | Op::Concat { .. } => {
                let mut end = step.output;
                loop {
                    let mut readers = self.consumers(end);
                    match (readers.next(), readers.next()) {
                        (Some(next), None)
                            if end != self.output
                                && matches!(next.op, Op::Relu | Op::BatchNorm { .. }) =>
                        {
                            end = next.output;
                        }
                        _ => return Some(end),
                    }
                }
            }
            Op::Softmax { .. } | Op::Sigmoid | Op::Tanh => Some(step.output),
            _ => None,
        }
    }
}

/// A network whose every layer has an int8 form: `network!` implements it, with the plan.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no int8 form",
    label = "not quantizable",
    note = "`network!` implements `Quantize` for a network of one input whose layers all have an int8 form: dense, conv2d, depthwise, conv1d, batch_norm (after one of those), relu, sigmoid, tanh, softmax, the pools, global_avg_pool, flatten, reshape, dropout, and forks that add, concat or stack; the other kinds (the recurrent ones, gelu, elu, leaky_relu, upsample, ...) have none yet"
)]
pub trait Quantize {
    /// The network, step by step.
    const PLAN: Plan;
}
