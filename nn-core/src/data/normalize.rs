//! Input normalization.
//!
//! Networks train faster and more reliably when inputs sit in a small range around zero: raw
//! pixels in `0..=255` make the first layer's pre-activations and gradients hundreds of times
//! larger than the initialisation assumes. Two standard steps, usable together:
//!
//! - [`pixels_to_unit`]: divide by 255, giving `[0, 1]` (what the PyTorch and Keras MNIST
//!   tutorials do, and what the `mnist` example trains on);
//! - [`Standardize`]: subtract the mean and divide by the standard deviation, giving inputs of
//!   mean 0 and standard deviation 1 (torchvision's `Normalize((0.1307,), (0.3081,))`).
//!
//! Fit the statistics on the training set only, and apply the same ones to the test set.

use std::vec::Vec;

use super::Dataset;
use crate::layers::Shape;

/// The mean of MNIST's 60 000 training images, after dividing the pixels by 255.
pub const MNIST_MEAN: f32 = 0.1307;
/// The standard deviation of MNIST's 60 000 training images, after dividing the pixels by 255.
pub const MNIST_STD: f32 = 0.3081;

/// Unsigned-byte pixels scaled to `[0, 1]` by dividing by 255.
///
/// ```
/// let unit = nn_core::data::normalize::pixels_to_unit(&[0, 51, 255]);
/// assert_eq!(unit, vec![0.0, 0.2, 1.0]);
/// ```
pub fn pixels_to_unit(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&p| f32::from(p) / 255.0).collect()
}

/// Standardization `x ↦ (x − mean) / std`, with its statistics.
///
/// ```
/// use nn_core::data::normalize::Standardize;
/// let mut values = vec![1.0, 2.0, 3.0, 4.0];
/// let stats = Standardize::fit(&values);
/// assert_eq!(stats.mean, 2.5);
/// assert!((stats.std - 1.118_034).abs() < 1e-6); // population standard deviation
/// stats.apply(&mut values);
/// assert!((Standardize::fit(&values).mean).abs() < 1e-6);
/// assert!((Standardize::fit(&values).std - 1.0).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standardize {
    /// The value subtracted.
    pub mean: f32,
    /// The value divided by; never zero when made by [`Standardize::fit`].
    pub std: f32,
}

impl Standardize {
    /// MNIST's training-set statistics ([`MNIST_MEAN`], [`MNIST_STD`]), for pixels already
    /// divided by 255.
    pub const MNIST: Self = Self {
        mean: MNIST_MEAN,
        std: MNIST_STD,
    };

    /// The mean and the population standard deviation of `values` (two passes, summed in
    /// `f64`).
    ///
    /// When the standard deviation is zero or not finite (constant or empty input), `std` is 1,
    /// so that [`Standardize::apply`] only centres the values instead of dividing by zero, as
    /// scikit-learn's `StandardScaler` does. An empty slice gives mean 0.
    pub fn fit(values: &[f32]) -> Self {
        if values.is_empty() {
            return Self {
                mean: 0.0,
                std: 1.0,
            };
        }
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let variance = values
            .iter()
            .map(|&v| {
                let d = f64::from(v) - mean;
                d * d
            })
            .sum::<f64>()
            / n;
        let std = variance.sqrt() as f32;
        let std = if std > 0.0 && std.is_finite() {
            std
        } else {
            1.0
        };
        Self {
            mean: mean as f32,
            std,
        }
    }

    /// The statistics of every input value of `data`.
    pub fn fit_dataset<S: Shape>(data: &Dataset<S>) -> Self {
        Self::fit(data.inputs())
    }

    /// One value standardized.
    pub fn one(&self, x: f32) -> f32 {
        (x - self.mean) / self.std
    }

    /// Standardizes `values` in place.
    pub fn apply(&self, values: &mut [f32]) {
        let inv_std = 1.0 / self.std;
        values
            .iter_mut()
            .for_each(|v| *v = (*v - self.mean) * inv_std);
    }

    /// Standardizes every input value of `data` in place.
    pub fn apply_dataset<S: Shape>(&self, data: &mut Dataset<S>) {
        self.apply(data.inputs_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn unit_scaling() {
        let unit = pixels_to_unit(&[0, 1, 128, 254, 255]);
        assert_eq!(unit[0], 0.0);
        assert_eq!(unit[4], 1.0);
        assert!((unit[2] - 128.0 / 255.0).abs() < 1e-7);
        assert!(unit.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn mnist_constants() {
        let s = Standardize::MNIST;
        assert_eq!((s.mean, s.std), (0.1307, 0.3081));
        assert!((s.one(0.0) - (-0.424_212_9)).abs() < 1e-6);
        assert!((s.one(1.0) - 2.821_486_5).abs() < 1e-5);
    }

    #[test]
    fn fit_and_apply() {
        let mut values = vec![0.0, 0.0, 1.0, 1.0];
        let s = Standardize::fit(&values);
        assert_eq!((s.mean, s.std), (0.5, 0.5));
        s.apply(&mut values);
        assert_eq!(values, vec![-1.0, -1.0, 1.0, 1.0]);
    }

    #[test]
    fn constant_and_empty_inputs_do_not_divide_by_zero() {
        let s = Standardize::fit(&[3.0; 5]);
        assert_eq!((s.mean, s.std), (3.0, 1.0));
        assert_eq!(
            Standardize::fit(&[]),
            Standardize {
                mean: 0.0,
                std: 1.0
            }
        );
    }

    #[test]
    fn dataset_helpers() {
        let mut data =
            Dataset::<crate::layers::Features<2>>::from_u8(&[0, 255, 0, 255], &[0, 1], 2).unwrap();
        let s = Standardize::fit_dataset(&data);
        assert_eq!((s.mean, s.std), (0.5, 0.5));
        s.apply_dataset(&mut data);
        assert_eq!(data.inputs(), &[-1.0, 1.0, -1.0, 1.0]);
    }
}
