//! `Gelu`: Gaussian error linear unit, in its tanh approximation.

use core::marker::PhantomData;

use crate::layers::Shape;
use crate::layers::activation::elementwise_activation;
use crate::math::{GELU_BETA as BETA, GELU_KAPPA as KAPPA, gelu, gelu_inner_tanh as inner_tanh};

/// Gaussian error linear unit, tanh approximation:
/// `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))`.
///
/// The same formula and constants as PyTorch's `GELU(approximate='tanh')`. Elementwise, so it
/// works on any per-sample [`Shape`]; it has no parameters.
///
/// ```
/// use nn_core::layers::{Features, Gelu, Layer};
/// use nn_core::tensor::Tensor2;
///
/// let layer = Gelu::<Features<3>>::default();
/// let x = Tensor2::<1, 3>::from_slice(&[-1.0, 0.0, 1.0])?;
/// let mut y = Tensor2::<1, 3>::zeros();
/// layer.forward(&x, &mut y, &mut ());
/// for (got, want) in y.iter().zip([-0.158_808_01, 0.0, 0.841_192]) {
///     assert!((got - want).abs() < 1e-6);
/// }
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Gelu<S: Shape> {
    shape: PhantomData<S>,
}

// d/dx of `gelu`: 0.5 · (1 + t) + 0.5 · x · (1 − t²) · √(2/π) · (1 + 3κx²). Recomputes `t` from
// `x`: recovering it from the output, `2y/x − 1`, is unstable near zero.
fn gelu_prime(x: f32) -> f32 {
    let t = inner_tanh(x);
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * BETA * (1.0 + 3.0 * KAPPA * x * x)
}

elementwise_activation!(Gelu, |_layer, x| gelu(x), |_layer, x, _y| gelu_prime(x));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Features, Layer, Shape2};
    use crate::tensor::Tensor2;
    use crate::testing::check_activation;

    // Expected values: the formula in double precision with Python's `math.tanh`, rounded to
    // `f32`.
    const X: [f32; 8] = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0];

    #[test]
    fn forward_and_gradients() {
        check_activation::<_, 4>(
            &mut Gelu::<Features<8>>::default(),
            &X,
            &[
                -0.003_637_392,
                -0.158_808_01,
                -0.154_286,
                0.0,
                0.345_714,
                0.841_192,
                1.954_597_7,
                2.996_362_6,
            ],
            31,
        );
        check_activation::<_, 8>(
            &mut Gelu::<Shape2<1, 2>>::default(),
            &[-0.5, 2.0],
            &[-0.154_286, 1.954_597_7],
            32,
        );
    }

    #[test]
    fn derivative_literal() {
        let mut layer = Gelu::<Features<8>>::default();
        let x = Tensor2::<1, 8>::from_slice(&X).unwrap();
        let mut y = Tensor2::<1, 8>::zeros();
        layer.forward_train(&x, &mut y, &mut ());
        let mut dx = Tensor2::<1, 8>::zeros();
        layer.backward(&x, &y, &mut (), &Tensor2::full(1.0), Some(&mut dx));
        let want = [
            -0.011_584_167,
            -0.082_964_08,
            0.132_630_1,
            0.5,
            0.867_369_9,
            1.082_964_1,
            1.086_099_3,
            1.011_584_2,
        ];
        for ((&got, want), x) in dx.as_slice().iter().zip(want).zip(X) {
            assert!(
                (got - want).abs() < 1e-6,
                "gelu'({x}) = {got}, expected {want}"
            );
        }
    }
}
