//! `LeakyRelu`: `x` for positive inputs, `alpha · x` otherwise.

use core::marker::PhantomData;

use crate::layers::Shape;
use crate::layers::activation::elementwise_activation;

/// Leaky rectified linear unit: `x` when `x > 0`, else `alpha · x`.
///
/// Elementwise, so it works on any per-sample [`Shape`]. `alpha` is a hyperparameter, not a
/// trained parameter; [`LeakyRelu::DEFAULT_ALPHA`] is PyTorch's default, `0.01`.
///
/// ```
/// use nn_core::layers::{Features, Layer, LeakyRelu};
/// use nn_core::tensor::Tensor2;
///
/// let layer = LeakyRelu::<Features<2>>::new(0.1);
/// let x = Tensor2::<1, 2>::from_slice(&[-2.0, 3.0])?;
/// let mut y = Tensor2::<1, 2>::zeros();
/// layer.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[-0.2, 3.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LeakyRelu<S: Shape> {
    alpha: f32,
    shape: PhantomData<S>,
}

impl<S: Shape> LeakyRelu<S> {
    /// PyTorch's default negative slope.
    pub const DEFAULT_ALPHA: f32 = crate::baked::LEAKY_RELU_ALPHA;

    /// A leaky ReLU with negative slope `alpha`.
    pub const fn new(alpha: f32) -> Self {
        Self {
            alpha,
            shape: PhantomData,
        }
    }

    /// The negative slope.
    pub const fn alpha(&self) -> f32 {
        self.alpha
    }
}

impl<S: Shape> Default for LeakyRelu<S> {
    fn default() -> Self {
        Self::new(Self::DEFAULT_ALPHA)
    }
}

elementwise_activation!(
    LeakyRelu,
    |layer, x| crate::math::leaky_relu(x, layer.alpha),
    |layer, x, _y| if x > 0.0 { 1.0 } else { layer.alpha }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Features, Shape2};
    use crate::testing::check_activation;

    #[test]
    fn forward_and_gradients() {
        check_activation::<_, 8>(
            &mut LeakyRelu::<Features<3>>::new(0.2),
            &[-1.0, 0.0, 2.0],
            &[-0.2, 0.0, 2.0],
            6,
        );
    }

    #[test]
    fn the_slope_reaches_the_gradient() {
        // Another slope, on a 2-D sample shape.
        check_activation::<_, 4>(
            &mut LeakyRelu::<Shape2<2, 3>>::new(0.3),
            &[-1.0, 0.5, 2.0, -0.1, 0.0, 3.0],
            &[-0.3, 0.5, 2.0, -0.03, 0.0, 3.0],
            13,
        );
    }
}
