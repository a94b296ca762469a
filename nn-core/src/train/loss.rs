//! Losses as `fit` uses them: one sample at a time, against that sample's target, so that the
//! same loss serves every batch size and skips the padding rows of a last partial batch.

use crate::Error;
use crate::data::{Labels, StepLabels, Targets, Values};
use crate::layers::{Shape, softmax_row};

/// A loss over one sample's output and target, averaged over a batch by `fit`.
///
/// `fit` calls [`Loss::sample`] for every valid row of a batch and divides both the loss and
/// the gradient by the number of valid rows, as PyTorch's `reduction='mean'` does over the
/// batch. Implement it for a loss of your own.
pub trait Loss<T: Targets> {
    /// Writes `d loss / d output` of one sample into `grad` (as long as `output`) and returns
    /// the sample's loss.
    ///
    /// # Errors
    /// [`Error`] when the target does not fit the output (a label out of range, say).
    fn sample(&self, output: &[f32], target: T::Sample<'_>, grad: &mut [f32])
    -> Result<f32, Error>;
}

/// Softmax cross-entropy on logits against class labels: PyTorch's `CrossEntropyLoss()`,
/// Keras's `SparseCategoricalCrossentropy(from_logits=True)`. Stable for large logits
/// (log-sum-exp).
///
/// ```
/// use nn_core::train::{CrossEntropy, Loss};
/// let mut grad = [0.0; 3];
/// let loss = CrossEntropy.sample(&[0.0, 0.0, 0.0], 1, &mut grad)?;
/// assert!((loss - 3f32.ln()).abs() < 1e-6);
/// assert!((grad[1] + 2.0 / 3.0).abs() < 1e-6); // softmax − one-hot
/// assert!(CrossEntropy.sample(&[0.0; 3], 3, &mut grad).is_err()); // label 3 of 3 classes
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CrossEntropy;

impl CrossEntropy {
    /// [`Loss::sample`] with one class label: callable without naming the targets, which
    /// `CrossEntropy.sample(..)` alone would need (it is a loss of [`Labels`] and of per-step
    /// [`StepLabels`]).
    ///
    /// # Errors
    /// [`Error::LabelOutOfRange`] for a label not below the number of logits.
    pub fn sample(&self, logits: &[f32], label: usize, grad: &mut [f32]) -> Result<f32, Error> {
        <Self as Loss<Labels>>::sample(self, logits, label, grad)
    }
}

impl Loss<Labels> for CrossEntropy {
    fn sample(&self, logits: &[f32], label: usize, grad: &mut [f32]) -> Result<f32, Error> {
        if label >= logits.len() {
            return Err(Error::LabelOutOfRange {
                label,
                row: 0,
                classes: logits.len(),
            });
        }
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum_exp: f32 = logits.iter().map(|&z| crate::math::exp(z - max)).sum();
        let loss = max + crate::math::ln(sum_exp) - logits[label];
        softmax_row(logits, grad);
        grad[label] -= 1.0;
        Ok(loss)
    }
}

/// Per-step labels: the mean over the `T` steps of each step's cross-entropy, the output read as
/// `T` rows of class scores (`(T, C)` per sample). Over a batch it is the mean over every step
/// of every sample, as PyTorch's `CrossEntropyLoss()` on `(B·T, C)` logits.
///
/// ```
/// use nn_core::data::StepLabels;
/// use nn_core::train::{CrossEntropy, Loss};
/// // 2 steps of 2 classes: step 0 is sure of class 0 (right), step 1 undecided.
/// let mut grad = [0.0; 4];
/// let loss = <CrossEntropy as Loss<StepLabels<2>>>::sample(
///     &CrossEntropy, &[30.0, 0.0, /**/ 0.0, 0.0], &[0, 1], &mut grad)?;
/// assert!((loss - 2f32.ln() / 2.0).abs() < 1e-6);
/// assert!((grad[3] + 0.25).abs() < 1e-6); // (softmax − one-hot) / 2 steps
/// # Ok::<(), nn_core::Error>(())
/// ```
impl<const T: usize> Loss<StepLabels<T>> for CrossEntropy {
    fn sample(&self, logits: &[f32], labels: &[usize], grad: &mut [f32]) -> Result<f32, Error> {
        let classes = check_steps(logits, labels)?;
        let scale = 1.0 / T.max(1) as f32;
        let mut total = 0.0;
        for ((row, grad), &label) in logits
            .chunks_exact(classes)
            .zip(grad.chunks_exact_mut(classes))
            .zip(labels)
        {
            total += <Self as Loss<Labels>>::sample(self, row, label, grad)?;
            grad.iter_mut().for_each(|g| *g *= scale);
        }
        Ok(total * scale)
    }
}

/// The classes per step of an output of `labels.len()` steps, checking that the output cuts
/// into as many rows of at least one class.
pub(crate) fn check_steps(output: &[f32], labels: &[usize]) -> Result<usize, Error> {
    let steps = labels.len();
    if steps == 0 || output.is_empty() || !output.len().is_multiple_of(steps) {
        return Err(Error::LengthMismatch {
            expected: steps.max(1),
            found: output.len(),
        });
    }
    Ok(output.len() / steps)
}

/// Mean squared error over the values of a sample, `mean((output − target)²)`: PyTorch's
/// `MSELoss()`, Keras's `"mse"`. Averaged over the batch too, it is the mean over every
/// element, as PyTorch computes it.
///
/// ```
/// use nn_core::train::{Loss, MeanSquaredError};
/// use nn_core::data::Values;
/// use nn_core::layers::Features;
/// let mut grad = [0.0; 2];
/// let loss = <MeanSquaredError as Loss<Values<Features<2>>>>::sample(
///     &MeanSquaredError, &[1.0, 3.0], &[0.0, 3.0], &mut grad)?;
/// assert_eq!((loss, grad), (0.5, [1.0, 0.0]));
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MeanSquaredError;

/// Checks that a sample's output and target have as many values.
pub(crate) fn check_len(output: &[f32], target: &[f32]) -> Result<(), Error> {
    if output.len() == target.len() {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            expected: output.len(),
            found: target.len(),
        })
    }
}

impl<S: Shape> Loss<Values<S>> for MeanSquaredError {
    fn sample(&self, output: &[f32], target: &[f32], grad: &mut [f32]) -> Result<f32, Error> {
        check_len(output, target)?;
        let scale = 1.0 / output.len().max(1) as f32;
        let mut sum = 0.0;
        for ((g, &y), &t) in grad.iter_mut().zip(output).zip(target) {
            let d = y - t;
            sum += d * d;
            *g = 2.0 * d * scale;
        }
        Ok(sum * scale)
    }
}

/// Binary cross-entropy on logits against targets in `[0, 1]`, averaged over the values of a
/// sample: PyTorch's `BCEWithLogitsLoss()`, stable for large logits. The usual loss of an
/// autoencoder on pixels in `[0, 1]`.
///
/// ```
/// use nn_core::train::{BinaryCrossEntropyWithLogits, Loss};
/// use nn_core::data::Values;
/// use nn_core::layers::Features;
/// let mut grad = [0.0; 1];
/// let loss = <BinaryCrossEntropyWithLogits as Loss<Values<Features<1>>>>::sample(
///     &BinaryCrossEntropyWithLogits, &[0.0], &[1.0], &mut grad)?;
/// assert!((loss - 2f32.ln()).abs() < 1e-6 && (grad[0] + 0.5).abs() < 1e-6);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct BinaryCrossEntropyWithLogits;

impl<S: Shape> Loss<Values<S>> for BinaryCrossEntropyWithLogits {
    fn sample(&self, logits: &[f32], target: &[f32], grad: &mut [f32]) -> Result<f32, Error> {
        check_len(logits, target)?;
        let scale = 1.0 / logits.len().max(1) as f32;
        let mut sum = 0.0;
        for ((g, &z), &t) in grad.iter_mut().zip(logits).zip(target) {
            // max(z, 0) − z·t + ln(1 + e^−|z|): no overflow for any z.
            sum += z.max(0.0) - z * t + crate::math::ln_1p(crate::math::exp(-z.abs()));
            let sigmoid = 1.0 / (1.0 + crate::math::exp(-z));
            *g = (sigmoid - t) * scale;
        }
        Ok(sum * scale)
    }
}
