//! `Tanh`: Hyperbolic tangent.

use core::marker::PhantomData;

use crate::layers::Shape;
use crate::layers::activation::elementwise_activation;

/// Hyperbolic tangent.
///
/// Elementwise, so it works on any per-sample [`Shape`]; it has no parameters.
///
/// ```
/// use nn_core::layers::{Features, Layer, Tanh};
/// use nn_core::tensor::Tensor2;
///
/// let layer = Tanh::<Features<3>>::default();
/// let x = Tensor2::<1, 3>::from_slice(&[0.0, 1.0, -0.5])?;
/// let mut y = Tensor2::<1, 3>::zeros();
/// layer.forward(&x, &mut y, &mut ());
/// for (got, want) in y.iter().zip([0.0, 0.761_594_2, -0.462_117_15]) {
///     assert!((got - want).abs() < 1e-6);
/// }
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Tanh<S: Shape> {
    shape: PhantomData<S>,
}

elementwise_activation!(Tanh, |_layer, x| crate::math::tanh(x), |_layer, _x, y| 1.0
    - y * y);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Features;
    use crate::testing::check_activation;

    #[test]
    fn forward_and_gradients() {
        check_activation::<_, 8>(
            &mut Tanh::<Features<3>>::default(),
            &[0.0, 1.0, -0.5],
            &[0.0, 0.761_594_2, -0.462_117_15],
            5,
        );
    }
}
