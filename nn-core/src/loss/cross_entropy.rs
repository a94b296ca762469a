//! Softmax cross-entropy on logits.

use crate::error::Error;
use crate::layers::softmax_row;
use crate::tensor::Tensor2;

/// Softmax cross-entropy of raw logits against class labels, averaged over the batch, as
/// PyTorch's `CrossEntropyLoss()` and Keras' `SparseCategoricalCrossentropy(from_logits=True)`.
///
/// Numerically stable: it uses log-sum-exp, `L = logsumexp(z) − z_label`, so logits of ±1e4
/// give a finite loss and gradient. Writes `dL/dz = (softmax(z) − onehot(label)) / B` into
/// `grad`.
///
/// # Errors
/// [`Error::LabelOutOfRange`] when a label is not below `N`; `grad` is then unspecified.
///
/// ```
/// use nn_core::tensor::Tensor2;
/// let logits = Tensor2::<1, 3>::from_slice(&[1e4, 0.0, -1e4])?;
/// let mut grad = Tensor2::<1, 3>::zeros();
/// let loss = nn_core::loss::softmax_cross_entropy(&logits, &[1], &mut grad)?;
/// assert_eq!(loss, 1e4);
/// assert!(grad.iter().all(|g| g.is_finite()));
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn softmax_cross_entropy<const B: usize, const N: usize>(
    logits: &Tensor2<B, N>,
    labels: &[usize; B],
    grad: &mut Tensor2<B, N>,
) -> Result<f32, Error> {
    let inv_batch = 1.0 / B.max(1) as f32;
    let mut total = 0.0f64;
    for (row, (&label, g)) in labels
        .iter()
        .zip(grad.as_mut_slice().chunks_exact_mut(N.max(1)))
        .enumerate()
    {
        if label >= N {
            return Err(Error::LabelOutOfRange {
                label,
                row,
                classes: N,
            });
        }
        let z = logits.row(row);
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum_exp: f32 = z.iter().map(|&v| crate::math::exp(v - max)).sum();
        let log_sum_exp = max + crate::math::ln(sum_exp);
        total += f64::from(log_sum_exp - z[label]);
        softmax_row(z, g);
        g[label] -= 1.0;
        g.iter_mut().for_each(|v| *v *= inv_batch);
    }
    Ok((total * f64::from(inv_batch)) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_value() {
        // -ln(softmax([1, 2, 3])[2]) = ln(e^1 + e^2 + e^3) - 3
        let logits = Tensor2::<1, 3>::from_slice(&[1.0, 2.0, 3.0]).unwrap();
        let mut grad = Tensor2::<1, 3>::zeros();
        let loss = softmax_cross_entropy(&logits, &[2], &mut grad).unwrap();
        assert!((loss - 0.407_605_97).abs() < 1e-6, "{loss}");
        assert!((grad.as_slice()[2] - (0.665_240_94 - 1.0)).abs() < 1e-6);
    }

    #[test]
    fn huge_logits_stay_finite() {
        let logits = Tensor2::<2, 2>::from_slice(&[1e4, -1e4, -1e4, 1e4]).unwrap();
        let mut grad = Tensor2::<2, 2>::zeros();
        let loss = softmax_cross_entropy(&logits, &[1, 1], &mut grad).unwrap();
        assert_eq!(loss, 1e4); // (2e4 + 0) / 2
        assert_eq!(grad.as_slice(), &[0.5, -0.5, 0.0, 0.0]);
    }

    #[test]
    fn gradient_matches_central_differences() {
        let mut logits =
            Tensor2::<2, 4>::from_slice(&[0.3, -1.2, 2.0, 0.1, 1.0, 1.5, -0.5, 0.0]).unwrap();
        let labels = [2, 0];
        let mut grad = Tensor2::<2, 4>::zeros();
        let mut scratch = Tensor2::<2, 4>::zeros();
        softmax_cross_entropy(&logits, &labels, &mut grad).unwrap();
        for i in 0..8 {
            let h = 1e-2;
            let v = logits.as_slice()[i];
            logits.as_mut_slice()[i] = v + h;
            let plus = softmax_cross_entropy(&logits, &labels, &mut scratch).unwrap();
            logits.as_mut_slice()[i] = v - h;
            let minus = softmax_cross_entropy(&logits, &labels, &mut scratch).unwrap();
            logits.as_mut_slice()[i] = v;
            assert!(((plus - minus) / (2.0 * h) - grad.as_slice()[i]).abs() < 1e-3);
        }
    }

    #[test]
    fn out_of_range_label_is_an_error() {
        let logits = Tensor2::<1, 3>::zeros();
        let mut grad = Tensor2::<1, 3>::zeros();
        assert_eq!(
            softmax_cross_entropy(&logits, &[3], &mut grad),
            Err(Error::LabelOutOfRange {
                label: 3,
                row: 0,
                classes: 3
            })
        );
    }
}
