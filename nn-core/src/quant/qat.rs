//! Quantization-aware training: [`Qat`] and the fake quantization it runs.

use alloc::string::String;
use alloc::vec::Vec;

use super::QuantParams;
use super::calibrate::{Calibration, Ranges, calibrate, float_tensors};
use super::model::{QuantModel, QuantizeError, fixed_output};
use super::plan::{Op, Plan, Quantize};
use crate::layers::Layer;
use crate::param::{
    BufferRefVisitor, BufferVisitor, HasParams, Param, ParamPath, ParamRefVisitor, ParamVisitor,
};

/// The nodes whose values the int8 model quantizes anew ([`Plan::quantized_node`]), in step
/// order: where quantization-aware training fake-quantizes.
pub fn fake_quant_points(plan: &Plan) -> Vec<usize> {
    let mut points = Vec::new();
    for step in plan.steps {
        if let Some(node) = plan.quantized_node(step)
            && !points.contains(&node)
        {
            points.push(node);
        }
    }
    points
}

/// One fake-quantized activation: its node, its range, and TensorFlow Lite's fixed
/// quantization where the op has one.
#[derive(Debug, Clone, PartialEq)]
struct Point {
    node: usize,
    range: (f32, f32),
    fixed: Option<QuantParams>,
}

/// The fake quantization of a network's activations: one range per [`fake_quant_points`]
/// node, updated by a moving average while training.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeQuant {
    points: Vec<Point>,
    momentum: f32,
    frozen: bool,
}

impl FakeQuant {
    /// The points of `plan` with the ranges calibration found.
    pub fn new(plan: &Plan, ranges: &Ranges) -> Self {
        let points = fake_quant_points(plan)
            .into_iter()
            .map(|node| Point {
                node,
                range: ranges.nodes[node],
                fixed: plan.producer(node).and_then(|step| fixed_output(&step.op)),
            })
            .collect();
        Self {
            points,
            momentum: 0.01,
            frozen: false,
        }
    }

    /// The quantization of point `k` now.
    fn params(&self, k: usize) -> QuantParams {
        let point = &self.points[k];
        point.fixed.unwrap_or_else(|| {
            let (lo, hi) = point.range;
            QuantParams::from_range(lo, hi).unwrap_or(QuantParams {
                scale: 1.0,
                zero_point: 0,
            })
        })
    }

    /// Moves point `k`'s range toward this batch's minimum and maximum (unless frozen or
    /// fixed), then fake-quantizes `values` in place. The training forward calls it.
    pub fn observe(&mut self, k: usize, values: &mut [f32]) {
        let momentum = self.momentum;
        let point = &mut self.points[k];
        if !self.frozen && point.fixed.is_none() && !values.is_empty() {
            let (lo, hi) = values
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            if lo.is_finite() && hi.is_finite() {
                let (old_lo, old_hi) = point.range;
                point.range = (
                    old_lo + momentum * (lo - old_lo),
                    old_hi + momentum * (hi - old_hi),
                );
            }
        }
        self.apply(k, values);
    }

    /// Fake-quantizes `values` in place with point `k`'s quantization: each becomes the real
    /// value of its int8 code, clamped to the int8 range.
    pub fn apply(&self, k: usize, values: &mut [f32]) {
        let params = self.params(k);
        for v in values {
            *v = params.dequantize(params.quantize(*v));
        }
    }

    /// The straight-through gradient of point `k`: `dy` is kept where the fake-quantized
    /// value `y` lies inside the range and zeroed where it sits on a clamp bound.
    pub fn mask(&self, k: usize, y: &[f32], dy: &mut [f32]) {
        let params = self.params(k);
        let (low, high) = (params.dequantize(i8::MIN), params.dequantize(i8::MAX));
        for (&y, dy) in y.iter().zip(dy) {
            if y <= low || y >= high {
                *dy = 0.0;
            }
        }
    }

    /// Stops or resumes the ranges' moving average (PyTorch's `disable_observer`).
    pub fn freeze(&mut self, frozen: bool) {
        self.frozen = frozen;
    }

    /// The weight of each batch in the ranges' moving average (default 0.01).
    pub fn set_momentum(&mut self, momentum: f32) {
        self.momentum = momentum;
    }

    /// `base` with every point's range replaced by its learned one.
    pub fn ranges(&self, base: &Ranges) -> Ranges {
        let mut ranges = base.clone();
        for point in &self.points {
            ranges.nodes[point.node] = point.range;
        }
        ranges
    }
}

/// A network that runs its passes with fake quantization: `network!` implements it for every
/// network with a [`Quantize`] plan and no nested network. [`Qat`] calls these.
pub trait QuantizeAware: Quantize + Layer {
    /// [`Layer::forward`], each of [`fake_quant_points`]' nodes fake-quantized as it is
    /// written.
    fn forward_fake_quant<const B: usize>(
        &self,
        x: &Self::Input<B>,
        y: &mut Self::Output<B>,
        scratch: &mut Self::Scratch<B>,
        fake: &FakeQuant,
    );

    /// [`Layer::forward_train`], each point observed ([`FakeQuant::observe`]) and
    /// fake-quantized as it is written.
    fn forward_train_fake_quant<const B: usize>(
        &mut self,
        x: &Self::Input<B>,
        y: &mut Self::Output<B>,
        cache: &mut Self::Cache<B>,
        fake: &mut FakeQuant,
    );

    /// [`Layer::backward`], each inner point's gradient masked ([`FakeQuant::mask`]) before
    /// the step that wrote it takes it.
    fn backward_fake_quant<const B: usize>(
        &mut self,
        x: &Self::Input<B>,
        y: &Self::Output<B>,
        cache: &mut Self::Cache<B>,
        dy: &Self::Output<B>,
        dx: Option<&mut Self::Input<B>>,
        fake: &FakeQuant,
    );
}

/// Quantization-aware training: a network trained through the rounding its int8 form will do,
/// so that its weights learn to live with it.
///
/// [`Qat`] wraps a trained float network and is itself a [`Layer`], so [`Fit`](crate::train::Fit)
/// trains it as it trains any network. In each training step:
/// - **weights** are fake-quantized before the forward pass (symmetric int8 per output channel,
///   the int8 model's rule) and the float values are put back after the backward pass, so the
///   optimizer updates the float weights with the gradient taken at the quantized ones (the
///   straight-through estimator);
/// - **activations** are fake-quantized where the int8 model quantizes them
///   ([`fake_quant_points`]: the output of each `dense`, convolution, `add` and `concat`, after
///   the `batch_norm` and `relu` that fuse into it, and of `softmax`, `sigmoid` and `tanh`);
///   their ranges start from calibration and follow a moving average of each batch's
///   minimum and maximum, as PyTorch's default QAT observer does. The backward pass lets the
///   gradient through where a value was inside the range and stops it where it was clamped.
///
/// `batch_norm` keeps training as it is: symmetric per-channel quantization commutes with its
/// per-channel factor (`quant(k·w) = k·quant(w)` for each channel's `k`), so fake-quantizing
/// the unfolded weights is fake-quantizing the folded ones. [`Qat::model`] then folds and
/// quantizes with the learned ranges.
///
/// The hooks into the forward and backward passes are [`QuantizeAware`], which `network!`
/// implements for every network that has a [`Quantize`] plan and no nested network.
///
/// A [`Layer`] that [`Fit`](crate::train::Fit) trains, and [`Qat::model`] quantizes. The `nn`
/// crate's `examples/quantize` trains its networks this way:
///
/// ```text
/// let mut qat = Qat::new(cnn, &calibration_images, Calibration::MinMax)?;
/// Fit::new(&mut qat, &mut Adam::new(1e-4), CrossEntropy).epochs(1).run(batches)?;
/// let int8: QuantModel = qat.model()?;
/// ```
pub struct Qat<N: QuantizeAware> {
    net: N,
    fake: FakeQuant,
    calibrated: Ranges,
    /// The weights' float values while the quantized ones are in the network.
    masters: Vec<f32>,
    /// For each parameter in visiting order, the output channels of a weight that
    /// fake-quantizes (`None` for the others): found once, so a step formats no name.
    weights: Vec<Option<usize>>,
}

impl<N: QuantizeAware> Qat<N> {
    /// Starts quantization-aware training of the trained `net`: calibrates its activation
    /// ranges on `inputs` (whole samples) with `calibration`, as post-training quantization
    /// would.
    ///
    /// # Errors
    /// As [`calibrate`]: no whole sample, a value that is not finite, a bad rule.
    pub fn new(net: N, inputs: &[f32], calibration: Calibration) -> Result<Self, QuantizeError> {
        let tensors = float_tensors(&net);
        let calibrated = calibrate::<N>(&tensors, inputs, calibration)?;
        let plan = &N::PLAN;
        let named: Vec<(String, usize)> = plan
            .steps
            .iter()
            .filter_map(|step| {
                let channels = match step.op {
                    Op::Dense => plan.nodes[step.output],
                    Op::Conv(shape) => shape.c_out,
                    _ => return None,
                };
                Some((alloc::format!("{}.weight", step.path), channels))
            })
            .collect();
        let mut weights = Vec::new();
        net.visit_params_ref(
            &ParamPath::root(),
            &mut |path: &ParamPath<'_>, _: crate::param::ParamRef<'_>| {
                let name = alloc::format!("{path}");
                weights.push(named.iter().find(|(w, _)| *w == name).map(|&(_, c)| c));
            },
        );
        Ok(Self {
            fake: FakeQuant::new(plan, &calibrated),
            net,
            calibrated,
            masters: Vec::new(),
            weights,
        })
    }

    /// The float network.
    pub fn net(&self) -> &N {
        &self.net
    }

    /// The float network, the training over.
    pub fn into_net(self) -> N {
        self.net
    }

    /// The activations' fake quantization (to freeze its ranges, say).
    pub fn fake_quant(&mut self) -> &mut FakeQuant {
        &mut self.fake
    }

    /// The int8 model: the float network folded and quantized with the ranges training
    /// learned ([`QuantModel::quantize`]).
    ///
    /// # Errors
    /// As [`QuantModel::quantize`].
    pub fn model(&self) -> Result<QuantModel, QuantizeError> {
        let tensors = float_tensors(&self.net);
        let ranges = self.fake.ranges(&self.calibrated);
        QuantModel::quantize(&N::PLAN, &tensors, &ranges)
    }

    /// Swaps each fake-quantized weight for its int8 value, keeping the float one (in
    /// `masters`, whose allocation the steps reuse).
    fn quantize_weights(&mut self) {
        if !self.masters.is_empty() {
            return;
        }
        let (weights, masters) = (&self.weights, &mut self.masters);
        let mut index = 0;
        self.net.visit_params(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, param: Param<'_>| {
                let channels = weights.get(index).copied().flatten();
                index += 1;
                let Some(channels) = channels else { return };
                masters.extend_from_slice(param.value);
                let row = param.value.len() / channels.max(1);
                for w in param.value.chunks_exact_mut(row.max(1)) {
                    let max = w.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
                    let Ok(params) = QuantParams::symmetric(max) else {
                        continue;
                    };
                    for v in w {
                        *v = params.dequantize(params.quantize(*v));
                    }
                }
            },
        );
    }

    /// Puts the float weights back.
    fn restore_weights(&mut self) {
        if self.masters.is_empty() {
            return;
        }
        let (weights, masters) = (&self.weights, &self.masters);
        let (mut index, mut at) = (0, 0);
        self.net.visit_params(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, param: Param<'_>| {
                let quantized = weights.get(index).is_some_and(Option::is_some);
                index += 1;
                if quantized {
                    let len = param.value.len();
                    param.value.copy_from_slice(&masters[at..at + len]);
                    at += len;
                }
            },
        );
        self.masters.clear();
    }
}

impl<N: QuantizeAware> HasParams for Qat<N> {
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        self.net.visit_params(path, visitor);
    }

    fn visit_buffers<V: BufferVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        self.net.visit_buffers(path, visitor);
    }

    fn visit_params_ref<V: ParamRefVisitor>(&self, path: &ParamPath<'_>, visitor: &mut V) {
        self.net.visit_params_ref(path, visitor);
    }

    fn visit_buffers_ref<V: BufferRefVisitor>(&self, path: &ParamPath<'_>, visitor: &mut V) {
        self.net.visit_buffers_ref(path, visitor);
    }
}

impl<N: QuantizeAware> Layer for Qat<N> {
    type Input<const B: usize> = N::Input<B>;
    type Output<const B: usize> = N::Output<B>;
    type Scratch<const B: usize> = N::Scratch<B>;
    type Cache<const B: usize> = N::Cache<B>;

    /// Inference with the activations fake-quantized; the weights are the float ones (an
    /// `&self` pass cannot swap them), so this is close to the int8 model, and
    /// [`Qat::model`] is it.
    fn forward<const B: usize>(
        &self,
        x: &Self::Input<B>,
        y: &mut Self::Output<B>,
        scratch: &mut Self::Scratch<B>,
    ) {
        self.net.forward_fake_quant(x, y, scratch, &self.fake);
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Self::Input<B>,
        y: &mut Self::Output<B>,
        cache: &mut Self::Cache<B>,
    ) {
        self.quantize_weights();
        self.net
            .forward_train_fake_quant(x, y, cache, &mut self.fake);
    }

    fn backward<const B: usize>(
        &mut self,
        x: &Self::Input<B>,
        y: &Self::Output<B>,
        cache: &mut Self::Cache<B>,
        dy: &Self::Output<B>,
        dx: Option<&mut Self::Input<B>>,
    ) {
        self.net
            .backward_fake_quant(x, y, cache, dy, dx, &self.fake);
        // The gradient was taken at the quantized weights; the optimizer applies it to the
        // float ones.
        self.restore_weights();
    }
}
