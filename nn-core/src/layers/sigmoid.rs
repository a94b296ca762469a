//! `Sigmoid`: The logistic function, `1 / (1 + e^-x)`.

use core::marker::PhantomData;

use crate::layers::Shape;
use crate::layers::activation::elementwise_activation;

/// The logistic function, `1 / (1 + e^-x)`.
///
/// Elementwise, so it works on any per-sample [`Shape`]; it has no parameters.
///
/// ```
/// use nn_core::layers::{Features, Layer, Sigmoid};
/// use nn_core::tensor::Tensor2;
///
/// let layer = Sigmoid::<Features<3>>::default();
/// let x = Tensor2::<1, 3>::from_slice(&[0.0, 2.0, -2.0])?;
/// let mut y = Tensor2::<1, 3>::zeros();
/// layer.forward(&x, &mut y, &mut ());
/// for (got, want) in y.iter().zip([0.5, 0.880_797_1, 0.119_202_92]) {
///     assert!((got - want).abs() < 1e-6);
/// }
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Sigmoid<S: Shape> {
    shape: PhantomData<S>,
}

elementwise_activation!(
    Sigmoid,
    |_layer, x| crate::math::sigmoid(x),
    |_layer, _x, y| y * (1.0 - y)
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Features;
    use crate::testing::check_activation;

    #[test]
    fn forward_and_gradients() {
        check_activation::<_, 8>(
            &mut Sigmoid::<Features<3>>::default(),
            &[0.0, 2.0, -2.0],
            &[0.5, 0.880_797_1, 0.119_202_92],
            5,
        );
    }
}
