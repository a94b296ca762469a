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
    pub const DEFAULT_ALPHA: f32 = 0.01;

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
    |layer, x| if x > 0.0 { x } else { layer.alpha * x },
    |layer, x, _y| if x > 0.0 { 1.0 } else { layer.alpha }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Features, Layer};
    use crate::tensor::Tensor2;
    use crate::testing::{check_gradients, random_tensor};

    #[test]
    fn forward_literal() {
        let layer = LeakyRelu::<Features<3>>::new(0.2);
        let x = Tensor2::<1, 3>::from_slice(&[-1.0, 0.0, 2.0]).unwrap();
        let mut y = Tensor2::<1, 3>::zeros();
        layer.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice(), &[-0.2, 0.0, 2.0]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(6);
        let mut layer = LeakyRelu::<Features<6>>::new(0.3);
        let x = random_tensor::<Tensor2<4, 6>>(&mut rng);
        check_gradients::<_, 4>(&mut layer, &x, 13).unwrap();
    }
}
