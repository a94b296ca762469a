//! Binary cross-entropy on logits.

use crate::tensor::Tensor;

/// Binary cross-entropy of raw logits `z` against targets `t ∈ [0, 1]`, averaged over every
/// element, as PyTorch's `BCEWithLogitsLoss()` and Keras' `BinaryCrossentropy(from_logits=True)`.
///
/// Computed as `max(z, 0) − z·t + ln(1 + e^{−|z|})`, which never overflows. Writes
/// `dL/dz = (σ(z) − t) / n` into `grad`.
///
/// ```
/// use nn_core::tensor::Tensor2;
/// let z = Tensor2::<1, 2>::from_slice(&[0.0, 100.0])?;
/// let t = Tensor2::<1, 2>::from_slice(&[1.0, 1.0])?;
/// let mut grad = Tensor2::<1, 2>::zeros();
/// let loss = nn_core::loss::binary_cross_entropy_with_logits(&z, &t, &mut grad);
/// assert!((loss - std::f32::consts::LN_2 / 2.0).abs() < 1e-6);
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn binary_cross_entropy_with_logits<T: Tensor>(logits: &T, targets: &T, grad: &mut T) -> f32 {
    let n = T::LEN.max(1) as f32;
    let mut total = 0.0f64;
    let pairs = logits.as_slice().iter().zip(targets.as_slice());
    for (g, (&z, &t)) in grad.as_mut_slice().iter_mut().zip(pairs) {
        total += f64::from(z.max(0.0) - z * t + crate::math::ln_1p(crate::math::exp(-z.abs())));
        *g = (crate::math::sigmoid(z) - t) / n;
    }
    (total / f64::from(n)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor2;

    #[test]
    fn matches_the_naive_formula_and_its_gradient() {
        let mut z = Tensor2::<2, 2>::from_slice(&[0.5, -1.5, 2.0, -0.2]).unwrap();
        let t = Tensor2::<2, 2>::from_slice(&[1.0, 0.0, 0.3, 1.0]).unwrap();
        let mut grad = Tensor2::<2, 2>::zeros();
        let mut scratch = Tensor2::<2, 2>::zeros();
        let loss = binary_cross_entropy_with_logits(&z, &t, &mut grad);
        let naive: f32 = z
            .iter()
            .zip(t.iter())
            .map(|(&z, &t)| {
                let p = 1.0 / (1.0 + (-z).exp());
                -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
            })
            .sum::<f32>()
            / 4.0;
        assert!((loss - naive).abs() < 1e-6);
        for i in 0..4 {
            let h = 1e-2;
            let v = z.as_slice()[i];
            z.as_mut_slice()[i] = v + h;
            let plus = binary_cross_entropy_with_logits(&z, &t, &mut scratch);
            z.as_mut_slice()[i] = v - h;
            let minus = binary_cross_entropy_with_logits(&z, &t, &mut scratch);
            z.as_mut_slice()[i] = v;
            assert!(((plus - minus) / (2.0 * h) - grad.as_slice()[i]).abs() < 1e-4);
        }
    }

    #[test]
    fn extreme_logits_stay_finite() {
        let z = Tensor2::<1, 2>::from_slice(&[1e4, -1e4]).unwrap();
        let t = Tensor2::<1, 2>::from_slice(&[0.0, 1.0]).unwrap();
        let mut grad = Tensor2::<1, 2>::zeros();
        assert_eq!(binary_cross_entropy_with_logits(&z, &t, &mut grad), 1e4);
        assert_eq!(grad.as_slice(), &[0.5, -0.5]);
    }
}
