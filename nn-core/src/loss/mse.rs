//! Mean squared error.

use crate::tensor::Tensor;

/// Mean squared error over every element: `L = mean((pred − target)²)`, as Keras' `"mse"` and
/// PyTorch's `MSELoss()` compute it. Writes `dL/dpred = 2 (pred − target) / n` into `grad`.
///
/// ```
/// use nn_core::tensor::Tensor2;
/// let pred = Tensor2::<2, 1>::from_slice(&[1.0, 3.0])?;
/// let target = Tensor2::<2, 1>::from_slice(&[0.0, 1.0])?;
/// let mut grad = Tensor2::<2, 1>::zeros();
/// assert_eq!(nn_core::loss::mse(&pred, &target, &mut grad), 2.5);
/// assert_eq!(grad.as_slice(), &[1.0, 2.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn mse<T: Tensor>(pred: &T, target: &T, grad: &mut T) -> f32 {
    let n = T::LEN.max(1) as f32;
    let mut sum = 0.0f64;
    let scale = 2.0 / n;
    for ((g, &p), &t) in grad
        .as_mut_slice()
        .iter_mut()
        .zip(pred.as_slice())
        .zip(target.as_slice())
    {
        let d = p - t;
        sum += f64::from(d * d);
        *g = scale * d;
    }
    (sum / f64::from(n)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor2;

    #[test]
    fn gradient_matches_central_differences() {
        let target = Tensor2::<2, 3>::from_slice(&[0.5, -1.0, 2.0, 0.0, 1.0, 3.0]).unwrap();
        let mut pred = Tensor2::<2, 3>::from_slice(&[1.0, 0.0, 1.5, -0.5, 1.0, 2.0]).unwrap();
        let mut grad = Tensor2::<2, 3>::zeros();
        let mut scratch = Tensor2::<2, 3>::zeros();
        mse(&pred, &target, &mut grad);
        for i in 0..6 {
            let h = 1e-2;
            let v = pred.as_slice()[i];
            pred.as_mut_slice()[i] = v + h;
            let plus = mse(&pred, &target, &mut scratch);
            pred.as_mut_slice()[i] = v - h;
            let minus = mse(&pred, &target, &mut scratch);
            pred.as_mut_slice()[i] = v;
            let numeric = (plus - minus) / (2.0 * h);
            assert!((numeric - grad.as_slice()[i]).abs() < 1e-4);
        }
    }
}
