//! Post-training calibration: every activation's range, observed over a dataset by running
//! the float network step by step ([`Plan`]), and chosen by one of four rules
//! ([`Calibration`]).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::plan::{Op, Plan, Quantize};
use super::{QuantModel, QuantizeError};
use crate::baked;

/// How a range is chosen from the values a tensor took over the calibration set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Calibration {
    /// The smallest and largest value seen (TensorFlow Lite's converter, PyTorch's
    /// `MinMaxObserver`).
    MinMax,
    /// The smallest and largest value of each batch of [`Calibration::BATCH`] samples,
    /// averaged over the batches with this weight on the newest (PyTorch's
    /// `MovingAverageMinMaxObserver`, whose default is 0.01).
    MovingAverage {
        /// The weight of each new batch, in `(0, 1]`.
        momentum: f32,
    },
    /// The two tails cut at this percentile of the values (99.99 keeps all but the lowest
    /// and highest 0.01 %), read from a histogram of [`Calibration::BINS`] bins.
    Percentile(f32),
    /// The range that minimises the mean squared error of quantizing the values seen: the
    /// rounding error inside it plus the clipping error outside, over candidate ranges that
    /// shrink the full one in steps of 1 %.
    Mse,
}

impl Calibration {
    /// Samples per batch of [`Calibration::MovingAverage`].
    pub const BATCH: usize = 32;
    /// Bins of the histograms of [`Calibration::Percentile`] and [`Calibration::Mse`].
    pub const BINS: usize = 2048;
}

/// The observed range of each node of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranges {
    /// `(min, max)` per node.
    pub nodes: Vec<(f32, f32)>,
}

/// The float values of a network's parameters and buffers by name (`fc1.weight`,
/// `bn1.running_mean`): what quantization reads.
pub type FloatTensors = BTreeMap<String, Vec<f32>>;

/// Every parameter and buffer of `net` by its dotted name.
pub fn float_tensors<M: crate::param::HasParams + ?Sized>(net: &M) -> FloatTensors {
    use crate::param::{ParamPath, ParamRef};
    let mut tensors = FloatTensors::new();
    net.visit_params_ref(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, param: ParamRef<'_>| {
            tensors.insert(alloc::format!("{path}"), param.value.to_vec());
        },
    );
    net.visit_buffers_ref(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, values: &[f32]| {
            tensors.insert(alloc::format!("{path}"), values.to_vec());
        },
    );
    tensors
}

/// The float network of `plan` over `tensors`, one sample at a time, keeping every node.
pub(crate) struct FloatRun<'a> {
    plan: &'a Plan,
    steps: Vec<FloatStep<'a>>,
    pub(crate) nodes: Vec<Vec<f32>>,
    scratch: Vec<f32>,
}

/// A step's float parameters.
struct FloatStep<'a> {
    params: Vec<&'a [f32]>,
}

impl<'a> FloatRun<'a> {
    pub(crate) fn new(plan: &'a Plan, tensors: &'a FloatTensors) -> Result<Self, QuantizeError> {
        let mut steps = Vec::new();
        let mut scratch = 0;
        for step in plan.steps {
            let names: &[&str] = match step.op {
                Op::Dense | Op::Conv(_) => &["weight", "bias"],
                Op::BatchNorm { .. } => &["weight", "bias", "running_mean", "running_var"],
                _ => &[],
            };
            let mut params = Vec::new();
            for name in names {
                let full = alloc::format!("{}.{name}", step.path);
                let values = tensors
                    .get(&full)
                    .ok_or(QuantizeError::MissingTensor(full))?;
                params.push(values.as_slice());
            }
            if let Op::Conv(shape) = step.op {
                scratch = scratch.max(shape.forward_tiled_workspace_len());
            }
            steps.push(FloatStep { params });
        }
        Ok(Self {
            plan,
            steps,
            nodes: plan.nodes.iter().map(|&len| vec![0.0; len]).collect(),
            scratch: vec![0.0; scratch],
        })
    }

    /// Runs one sample; every node then holds its values.
    pub(crate) fn run(&mut self, x: &[f32]) {
        self.nodes[self.plan.input].copy_from_slice(x);
        for (step, params) in self.plan.steps.iter().zip(&self.steps) {
            let mut y = core::mem::take(&mut self.nodes[step.output]);
            let x = &self.nodes[step.inputs[0]];
            let p = &params.params;
            match step.op {
                Op::Dense => baked::dense(p[0], p[1], x, &mut y, x.len()),
                Op::Conv(shape) => {
                    let scratch = &mut self.scratch[..shape.forward_tiled_workspace_len()];
                    baked::conv2d(&shape, p[0], p[1], x, &mut y, scratch);
                }
                Op::BatchNorm { channels } => {
                    baked::batch_norm(p[0], p[1], p[2], p[3], x.len() / channels, x, &mut y);
                }
                Op::Relu => {
                    y.copy_from_slice(x);
                    baked::relu(&mut y);
                }
                Op::MaxPool(shape) => baked::max_pool(&shape, x, &mut y),
                Op::AvgPool(shape) => baked::avg_pool(&shape, x, &mut y),
                Op::GlobalAvgPool { plane } => baked::global_avg_pool(plane, x, &mut y),
                Op::Identity => y.copy_from_slice(x),
                Op::Softmax { depth } => baked::softmax(x, &mut y, depth),
                Op::Sigmoid => {
                    y.copy_from_slice(x);
                    baked::sigmoid(&mut y);
                }
                Op::Tanh => {
                    y.copy_from_slice(x);
                    baked::tanh(&mut y);
                }
                Op::Add | Op::Concat { .. } => {
                    let parts: Vec<&[f32]> = step
                        .inputs
                        .iter()
                        .map(|&n| self.nodes[n].as_slice())
                        .collect();
                    match step.op {
                        Op::Concat { outer } => baked::concat(outer, &parts, &mut y),
                        _ => baked::add(&parts, &mut y),
                    }
                }
            }
            self.nodes[step.output] = y;
        }
    }
}

/// The float network of `plan` on one sample `x`, as calibration runs it (on `nn::baked`'s
/// kernels, one step at a time): its output.
///
/// # Errors
/// [`QuantizeError::MissingTensor`] when a parameter is not in `tensors`.
///
/// # Panics
/// When `x` is not one sample.
pub fn float_outputs(
    plan: &Plan,
    tensors: &FloatTensors,
    x: &[f32],
) -> Result<Vec<f32>, QuantizeError> {
    assert_eq!(x.len(), plan.inputs(), "one input sample");
    let mut run = FloatRun::new(plan, tensors)?;
    run.run(x);
    Ok(core::mem::take(&mut run.nodes[plan.output]))
}

/// A histogram of one node's values over `[min, max]`.
struct Histogram {
    min: f32,
    max: f32,
    bins: Vec<u64>,
}

impl Histogram {
    fn new(min: f32, max: f32) -> Self {
        Self {
            min,
            max,
            bins: vec![0; Calibration::BINS],
        }
    }

    fn width(&self) -> f64 {
        (f64::from(self.max) - f64::from(self.min)) / Calibration::BINS as f64
    }

    fn add(&mut self, values: &[f32]) {
        let width = self.width();
        for &v in values {
            let bin = if width > 0.0 {
                ((f64::from(v) - f64::from(self.min)) / width) as usize
            } else {
                0
            };
            self.bins[bin.min(Calibration::BINS - 1)] += 1;
        }
    }

    /// The value below which `fraction` of the values lie.
    fn quantile(&self, fraction: f64) -> f32 {
        let total: u64 = self.bins.iter().sum();
        let wanted = fraction * total as f64;
        let mut seen = 0.0;
        for (i, &count) in self.bins.iter().enumerate() {
            if seen + count as f64 >= wanted && count > 0 {
                let within = (wanted - seen) / count as f64;
                return (f64::from(self.min) + (i as f64 + within) * self.width()) as f32;
            }
            seen += count as f64;
        }
        self.max
    }

    /// The expected squared error of quantizing the values into `[lo, hi]`.
    fn error(&self, lo: f64, hi: f64) -> f64 {
        let step = (hi.max(0.0) - lo.min(0.0)) / 255.0;
        let rounding = step * step / 12.0;
        let width = self.width();
        self.bins
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, &count)| {
                let centre = f64::from(self.min) + (i as f64 + 0.5) * width;
                let clipped = if centre < lo {
                    (lo - centre) * (lo - centre)
                } else if centre > hi {
                    (centre - hi) * (centre - hi)
                } else {
                    rounding
                };
                clipped * count as f64
            })
            .sum()
    }

    /// The candidate range with the least error: `[min, max]` shrunk toward 0 by 0 to 99 %.
    fn least_error(&self) -> (f32, f32) {
        let (min, max) = (f64::from(self.min), f64::from(self.max));
        let mut best = (f64::INFINITY, (self.min, self.max));
        for k in 0..100 {
            let keep = 1.0 - f64::from(k) / 100.0;
            let (lo, hi) = (min * keep, max * keep);
            let error = self.error(lo, hi);
            if error < best.0 {
                best = (error, (lo as f32, hi as f32));
            }
        }
        best.1
    }
}

/// The range of every node of `N`'s plan over the samples of `inputs` (`n × N::PLAN.inputs()`
/// values), the float network's parameters in `tensors` ([`float_tensors`]).
///
/// # Errors
/// - [`QuantizeError::NoSamples`] when `inputs` is empty or not whole samples;
/// - [`QuantizeError::NotFinite`] for a NaN or an infinity in an input or an activation;
/// - [`QuantizeError::MissingTensor`] when a parameter is not in `tensors`;
/// - [`QuantizeError::BadCalibration`] for a momentum outside `(0, 1]` or a percentile
///   outside `(50, 100]`.
pub fn calibrate<N: Quantize + ?Sized>(
    tensors: &FloatTensors,
    inputs: &[f32],
    calibration: Calibration,
) -> Result<Ranges, QuantizeError> {
    calibrate_plan(&N::PLAN, tensors, inputs, calibration)
}

/// [`calibrate`] on a plan given as a value.
///
/// # Errors
/// As [`calibrate`].
pub fn calibrate_plan(
    plan: &Plan,
    tensors: &FloatTensors,
    inputs: &[f32],
    calibration: Calibration,
) -> Result<Ranges, QuantizeError> {
    match calibration {
        Calibration::MovingAverage { momentum } if !(momentum > 0.0 && momentum <= 1.0) => {
            return Err(QuantizeError::BadCalibration(alloc::format!(
                "a moving average's momentum must be in (0, 1], not {momentum}"
            )));
        }
        Calibration::Percentile(p) if !(p > 50.0 && p <= 100.0) => {
            return Err(QuantizeError::BadCalibration(alloc::format!(
                "a percentile must be in (50, 100], not {p}"
            )));
        }
        _ => {}
    }
    let per_sample = plan.inputs();
    if inputs.is_empty() || !inputs.len().is_multiple_of(per_sample) {
        return Err(QuantizeError::NoSamples {
            values: inputs.len(),
            per_sample,
        });
    }
    let mut run = FloatRun::new(plan, tensors)?;
    let nodes = plan.nodes.len();
    let mut ranges = vec![(f32::INFINITY, f32::NEG_INFINITY); nodes];
    let mut batch = ranges.clone();
    let mut averaged: Option<Vec<(f32, f32)>> = None;
    let samples = inputs.chunks_exact(per_sample);
    let count = samples.len();
    for (i, x) in samples.enumerate() {
        run.run(x);
        for (node, values) in run.nodes.iter().enumerate() {
            for &v in values {
                if !v.is_finite() {
                    return Err(QuantizeError::NotFinite { sample: i, node });
                }
                let (lo, hi) = &mut batch[node];
                *lo = lo.min(v);
                *hi = hi.max(v);
            }
        }
        let batch_done = (i + 1) % Calibration::BATCH == 0 || i + 1 == count;
        if let (Calibration::MovingAverage { momentum }, true) = (calibration, batch_done) {
            averaged = Some(match averaged {
                None => batch.clone(),
                Some(old) => old
                    .iter()
                    .zip(&batch)
                    .map(|(&(a, b), &(lo, hi))| (a + momentum * (lo - a), b + momentum * (hi - b)))
                    .collect(),
            });
        }
        if batch_done {
            for (all, b) in ranges.iter_mut().zip(&mut batch) {
                *all = (all.0.min(b.0), all.1.max(b.1));
                *b = (f32::INFINITY, f32::NEG_INFINITY);
            }
        }
    }
    let nodes = match calibration {
        Calibration::MinMax => ranges,
        Calibration::MovingAverage { .. } => averaged.unwrap_or(ranges),
        Calibration::Percentile(_) | Calibration::Mse => {
            let mut histograms: Vec<Histogram> = ranges
                .iter()
                .map(|&(lo, hi)| Histogram::new(lo, hi))
                .collect();
            for x in inputs.chunks_exact(per_sample) {
                run.run(x);
                for (h, values) in histograms.iter_mut().zip(&run.nodes) {
                    h.add(values);
                }
            }
            histograms
                .iter()
                .map(|h| match calibration {
                    Calibration::Percentile(p) => {
                        let tail = (100.0 - f64::from(p)) / 100.0;
                        (
                            h.quantile(tail).min(h.max),
                            h.quantile(1.0 - tail).max(h.min),
                        )
                    }
                    _ => h.least_error(),
                })
                .collect()
        }
    };
    Ok(Ranges { nodes })
}

/// Post-training quantization in one call: [`calibrate`] `net` over `inputs`, then
/// [`QuantModel::quantize`].
///
/// # Errors
/// As [`calibrate`] and [`QuantModel::quantize`].
pub fn post_training<N: Quantize + crate::param::HasParams>(
    net: &N,
    inputs: &[f32],
    calibration: Calibration,
) -> Result<QuantModel, QuantizeError> {
    let tensors = float_tensors(net);
    let ranges = calibrate::<N>(&tensors, inputs, calibration)?;
    QuantModel::quantize(&N::PLAN, &tensors, &ranges)
}
