//! Metrics that `fit` and `evaluate` report beside the loss, one sample at a time.

use std::boxed::Box;
use std::string::String;

use crate::Error;
use crate::data::{Labels, StepLabels, Targets, Values};
use crate::layers::Shape;
use crate::metrics::argmax;

/// A running metric over samples: `fit` resets it, feeds it every valid sample of an epoch
/// (or of a validation pass) and reads its value.
///
/// Implement it for a metric of your own, or wrap a function with [`metric_fn`].
pub trait Metric<T: Targets> {
    /// The name in logs and the [`History`](super::History) (`accuracy`, `mae`, ...); the
    /// validation value is logged as `val_<name>`.
    fn name(&self) -> &str;
    /// Forgets every sample seen.
    fn reset(&mut self);
    /// Adds one sample's output and target.
    ///
    /// # Errors
    /// When the target does not fit the output (a label out of range, say).
    fn update(&mut self, output: &[f32], target: T::Sample<'_>) -> Result<(), Error>;
    /// The value over the samples seen since the last reset (0 when none).
    fn value(&self) -> f64;
    /// Whether larger is better (accuracy) rather than smaller (an error). Early stopping and
    /// "best" checkpoints read it.
    fn higher_is_better(&self) -> bool {
        false
    }
}

/// A running mean of per-sample values.
#[derive(Debug, Clone, Copy, Default)]
struct Mean {
    sum: f64,
    count: usize,
}

impl Mean {
    fn add(&mut self, value: f64) {
        self.sum += value;
        self.count += 1;
    }
    fn value(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }
}

fn label_in_range(label: usize, classes: usize) -> Result<(), Error> {
    if label < classes {
        Ok(())
    } else {
        Err(Error::LabelOutOfRange {
            label,
            row: 0,
            classes,
        })
    }
}

/// The fraction of samples whose largest output is at their label (logits or probabilities).
#[derive(Debug, Clone, Copy, Default)]
pub struct Accuracy {
    mean: Mean,
}

/// The [`Metric`] methods callable without naming the targets: `Accuracy` is a metric of class
/// labels per sample and of per-step labels, so `metric.value()` alone would be ambiguous.
impl Accuracy {
    /// The name in logs (as [`Metric::name`]).
    pub fn name(&self) -> &str {
        <Self as Metric<Labels>>::name(self)
    }
    /// Adds one sample's output and class label (as [`Metric::update`] with [`Labels`]).
    ///
    /// # Errors
    /// [`Error::LabelOutOfRange`] for a label not below the output's length.
    pub fn update(&mut self, output: &[f32], label: usize) -> Result<(), Error> {
        <Self as Metric<Labels>>::update(self, output, label)
    }
    /// The value over the samples (or steps) seen since the last reset (0 when none).
    pub fn value(&self) -> f64 {
        self.mean.value()
    }
}

impl Metric<Labels> for Accuracy {
    fn name(&self) -> &str {
        "accuracy"
    }
    fn reset(&mut self) {
        self.mean = Mean::default();
    }
    fn update(&mut self, output: &[f32], label: usize) -> Result<(), Error> {
        label_in_range(label, output.len())?;
        self.mean.add(f64::from(u8::from(argmax(output) == label)));
        Ok(())
    }
    fn value(&self) -> f64 {
        self.mean.value()
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

/// Per-step labels: the fraction of steps, over every sample, whose largest score is at the
/// step's label.
///
/// ```
/// use nn_core::data::StepLabels;
/// use nn_core::train::{Accuracy, Metric};
/// let mut accuracy = Accuracy::default();
/// // 2 steps of 2 classes: the first right, the second wrong.
/// Metric::<StepLabels<2>>::update(&mut accuracy, &[1.0, 0.0, /**/ 1.0, 0.0], &[0, 1])?;
/// assert_eq!(Metric::<StepLabels<2>>::value(&accuracy), 0.5);
/// # Ok::<(), nn_core::Error>(())
/// ```
impl<const T: usize> Metric<StepLabels<T>> for Accuracy {
    fn name(&self) -> &str {
        "accuracy"
    }
    fn reset(&mut self) {
        self.mean = Mean::default();
    }
    fn update(&mut self, output: &[f32], labels: &[usize]) -> Result<(), Error> {
        let classes = super::loss::check_steps(output, labels)?;
        for (row, &label) in output.chunks_exact(classes).zip(labels) {
            <Self as Metric<Labels>>::update(self, row, label)?;
        }
        Ok(())
    }
    fn value(&self) -> f64 {
        self.mean.value()
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

/// The fraction of samples whose label is among the `k` largest outputs (Keras's
/// `top_k_categorical_accuracy`). A score tied with the label's counts against it.
///
/// ```
/// use nn_core::train::{Metric, TopK};
/// let mut top2 = TopK::new(2);
/// top2.update(&[0.1, 0.7, 0.2], 2)?; // second best: in
/// top2.update(&[0.9, 0.05, 0.06], 1)?; // last: out
/// assert_eq!((top2.name(), top2.value()), ("top_2_accuracy", 0.5));
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TopK {
    k: usize,
    name: String,
    mean: Mean,
}

impl TopK {
    /// Top-`k` accuracy, named `top_<k>_accuracy`.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            name: std::format!("top_{k}_accuracy"),
            mean: Mean::default(),
        }
    }
}

/// The [`Metric`] methods callable without naming the targets: `TopK` is a metric of class
/// labels per sample and of per-step labels, so `metric.value()` alone would be ambiguous.
impl TopK {
    /// The name in logs (as [`Metric::name`]).
    pub fn name(&self) -> &str {
        <Self as Metric<Labels>>::name(self)
    }
    /// Adds one sample's output and class label (as [`Metric::update`] with [`Labels`]).
    ///
    /// # Errors
    /// [`Error::LabelOutOfRange`] for a label not below the output's length.
    pub fn update(&mut self, output: &[f32], label: usize) -> Result<(), Error> {
        <Self as Metric<Labels>>::update(self, output, label)
    }
    /// The value over the samples (or steps) seen since the last reset (0 when none).
    pub fn value(&self) -> f64 {
        self.mean.value()
    }
}

impl Metric<Labels> for TopK {
    fn name(&self) -> &str {
        &self.name
    }
    fn reset(&mut self) {
        self.mean = Mean::default();
    }
    fn update(&mut self, output: &[f32], label: usize) -> Result<(), Error> {
        label_in_range(label, output.len())?;
        let own = output[label];
        let reaching = output.iter().filter(|&&v| v >= own || v.is_nan()).count();
        self.mean
            .add(f64::from(u8::from(!own.is_nan() && reaching <= self.k)));
        Ok(())
    }
    fn value(&self) -> f64 {
        self.mean.value()
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

/// Per-step labels: the fraction of steps, over every sample, whose label is among the step's
/// `k` largest scores.
impl<const T: usize> Metric<StepLabels<T>> for TopK {
    fn name(&self) -> &str {
        &self.name
    }
    fn reset(&mut self) {
        self.mean = Mean::default();
    }
    fn update(&mut self, output: &[f32], labels: &[usize]) -> Result<(), Error> {
        let classes = super::loss::check_steps(output, labels)?;
        for (row, &label) in output.chunks_exact(classes).zip(labels) {
            <Self as Metric<Labels>>::update(self, row, label)?;
        }
        Ok(())
    }
    fn value(&self) -> f64 {
        self.mean.value()
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

/// The mean over a sample's values of `error(output − target)`.
fn mean_error(output: &[f32], target: &[f32], error: impl Fn(f64) -> f64) -> Result<f64, Error> {
    super::loss::check_len(output, target)?;
    let sum: f64 = output
        .iter()
        .zip(target)
        .map(|(&y, &t)| error(f64::from(y - t)))
        .sum();
    Ok(sum / output.len().max(1) as f64)
}

/// Mean squared error over every value (`mse`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Mse {
    mean: Mean,
}

impl<S: Shape> Metric<Values<S>> for Mse {
    fn name(&self) -> &str {
        "mse"
    }
    fn reset(&mut self) {
        self.mean = Mean::default();
    }
    fn update(&mut self, output: &[f32], target: &[f32]) -> Result<(), Error> {
        self.mean.add(mean_error(output, target, |d| d * d)?);
        Ok(())
    }
    fn value(&self) -> f64 {
        self.mean.value()
    }
}

/// Mean absolute error over every value (`mae`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Mae {
    mean: Mean,
}

impl<S: Shape> Metric<Values<S>> for Mae {
    fn name(&self) -> &str {
        "mae"
    }
    fn reset(&mut self) {
        self.mean = Mean::default();
    }
    fn update(&mut self, output: &[f32], target: &[f32]) -> Result<(), Error> {
        self.mean.add(mean_error(output, target, f64::abs)?);
        Ok(())
    }
    fn value(&self) -> f64 {
        self.mean.value()
    }
}

/// A metric from a function of one sample's output and target, averaged over samples.
///
/// ```
/// use nn_core::train::{Metric, metric_fn};
/// use nn_core::data::Labels;
/// // The mean largest logit, to watch the network's confidence grow.
/// let mut confidence = metric_fn::<Labels, _>("max_logit", |output, _label| {
///     output.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64
/// });
/// confidence.update(&[1.0, 3.0], 0)?;
/// confidence.update(&[2.0, 0.0], 1)?;
/// assert_eq!(confidence.value(), 2.5);
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn metric_fn<T: Targets, F>(name: &str, function: F) -> FnMetric<T, F>
where
    F: FnMut(&[f32], T::Sample<'_>) -> f64,
{
    FnMetric {
        name: name.into(),
        function,
        mean: Mean::default(),
        targets: core::marker::PhantomData,
    }
}

/// A metric made by [`metric_fn`].
pub struct FnMetric<T, F> {
    name: String,
    function: F,
    mean: Mean,
    targets: core::marker::PhantomData<fn() -> T>,
}

impl<T: Targets, F> Metric<T> for FnMetric<T, F>
where
    F: FnMut(&[f32], T::Sample<'_>) -> f64,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn reset(&mut self) {
        self.mean = Mean::default();
    }
    fn update(&mut self, output: &[f32], target: T::Sample<'_>) -> Result<(), Error> {
        self.mean.add((self.function)(output, target));
        Ok(())
    }
    fn value(&self) -> f64 {
        self.mean.value()
    }
}

/// A boxed metric, as [`Fit::metric`](super::Fit::metric) stores them.
pub type BoxedMetric<'a, T> = Box<dyn Metric<T> + 'a>;
