//! `Elu`: exponential linear unit, `x` for positive inputs, `alpha · (eˣ − 1)` otherwise.

use core::marker::PhantomData;

use crate::layers::Shape;
use crate::layers::activation::elementwise_activation;

/// Exponential linear unit: `x` when `x > 0`, else `alpha · (eˣ − 1)`.
///
/// Elementwise, so it works on any per-sample [`Shape`]. Unlike [`Relu`](super::Relu) it is
/// smooth for `alpha = 1` and its negative outputs saturate at `−alpha`. `alpha` is a
/// hyperparameter, not a trained parameter; [`Elu::DEFAULT_ALPHA`] is PyTorch's default, `1.0`.
///
/// ```
/// use nn_core::layers::{Elu, Features, Layer};
/// use nn_core::tensor::Tensor2;
///
/// let layer = Elu::<Features<3>>::default();
/// let x = Tensor2::<1, 3>::from_slice(&[-1.0, 0.0, 2.0])?;
/// let mut y = Tensor2::<1, 3>::zeros();
/// layer.forward(&x, &mut y, &mut ());
/// for (got, want) in y.iter().zip([-0.632_120_56, 0.0, 2.0]) {
///     assert!((got - want).abs() < 1e-6);
/// }
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Elu<S: Shape> {
    alpha: f32,
    shape: PhantomData<S>,
}

impl<S: Shape> Elu<S> {
    /// PyTorch's default `alpha`.
    pub const DEFAULT_ALPHA: f32 = crate::baked::ELU_ALPHA;

    /// An ELU whose negative side saturates at `−alpha`.
    pub const fn new(alpha: f32) -> Self {
        Self {
            alpha,
            shape: PhantomData,
        }
    }

    /// The scale of the negative side.
    pub const fn alpha(&self) -> f32 {
        self.alpha
    }
}

impl<S: Shape> Default for Elu<S> {
    fn default() -> Self {
        Self::new(Self::DEFAULT_ALPHA)
    }
}

// `exp_m1` keeps the digits of small negative inputs that `exp(x) − 1` cancels away. For
// `x ≤ 0` the derivative `alpha · eˣ` is `y + alpha`, so backward needs no exponential.
elementwise_activation!(
    Elu,
    |layer, x| crate::math::elu(x, layer.alpha),
    |layer, x, y| if x > 0.0 { 1.0 } else { y + layer.alpha }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Composable, Features, Shape2};
    use crate::testing::check_activation;

    // Expected values: Python's `math.expm1` in double precision, rounded to `f32`.
    #[test]
    fn forward_and_gradients() {
        check_activation::<_, 4>(
            &mut Elu::<Features<7>>::default(),
            &[-3.0, -1.0, -0.5, -1e-3, 0.0, 0.25, 2.0],
            &[
                -0.950_212_93,
                -0.632_120_56,
                -0.393_469_34,
                -0.000_999_500_2,
                0.0,
                0.25,
                2.0,
            ],
            21,
        );
    }

    #[test]
    fn alpha_scales_the_negative_side() {
        check_activation::<_, 8>(
            &mut Elu::<Shape2<1, 3>>::new(0.5),
            &[-2.0, -0.1, 1.5],
            &[-0.432_332_36, -0.047_581_291, 1.5],
            22,
        );
    }

    #[test]
    fn builds_with_the_default_alpha() {
        let layer = <Elu<Features<2>> as Composable>::build(&mut crate::init::seeded(0));
        assert_eq!(layer.alpha(), 1.0);
        assert_eq!(<Elu<Features<2>> as Composable>::PARAM_COUNT, 0);
    }
}
