//! `Relu`: Rectified linear unit, `max(0, x)`.

use core::marker::PhantomData;

use crate::layers::Shape;
use crate::layers::activation::elementwise_activation;

/// Rectified linear unit, `max(0, x)`.
///
/// Elementwise, so it works on any per-sample [`Shape`]; it has no parameters. NaN passes
/// through (`relu(NaN)` is NaN, as in PyTorch), so bad data reaches the loss instead of
/// vanishing.
///
/// ```
/// use nn_core::layers::{Features, Layer, Relu};
/// use nn_core::tensor::Tensor2;
///
/// let layer = Relu::<Features<3>>::default();
/// let x = Tensor2::<1, 3>::from_slice(&[-1.0, 0.0, 2.0])?;
/// let mut y = Tensor2::<1, 3>::zeros();
/// layer.forward(&x, &mut y, &mut ());
/// for (got, want) in y.iter().zip([0.0, 0.0, 2.0]) {
///     assert!((got - want).abs() < 1e-6);
/// }
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Relu<S: Shape> {
    shape: PhantomData<S>,
}

// Written so that NaN fails the comparison and passes through, as in PyTorch: `x.max(0.0)` or
// `if x > 0.0 { x } else { 0.0 }` would turn a NaN into a silent 0.
elementwise_activation!(
    Relu,
    |_layer, x| if x < 0.0 { 0.0 } else { x },
    |_layer, x, _y| if x <= 0.0 { 0.0 } else { 1.0 }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Features;
    use crate::testing::check_activation;

    #[test]
    fn forward_and_gradients() {
        check_activation::<_, 8>(
            &mut Relu::<Features<3>>::default(),
            &[-1.0, 0.0, 2.0],
            &[0.0, 0.0, 2.0],
            5,
        );
    }
}
