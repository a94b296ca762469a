//! Gradient clipping by global norm.

use crate::param::{HasParams, Param, ParamPath};

/// Scales every gradient of `model` so that their global L2 norm is at most `max_norm`, and
/// returns the norm before clipping: PyTorch's `torch.nn.utils.clip_grad_norm_(params,
/// max_norm)`.
///
/// The norm is taken over all gradients of the model as one vector,
/// `‖g‖ = √(Σ g²)`. When it exceeds `max_norm`, every gradient is multiplied by
/// `max_norm / (‖g‖ + 1e-6)` (PyTorch's formula, epsilon included), so the direction of the
/// update is kept and only its length is capped; otherwise nothing changes. Call it between
/// `backward` and the optimizer's `step`.
///
/// # Why
/// Backpropagation through time multiplies the gradient by the recurrent Jacobian once per
/// step, so over a long sequence it can grow exponentially: one batch then produces a huge
/// update that throws the weights far from where training was ("exploding gradients",
/// Pascanu, Mikolov and Bengio, 2013). Capping the global norm bounds every step for
/// [`Rnn`](crate::layers::Rnn), [`Gru`](crate::layers::Gru) and
/// [`Lstm`](crate::layers::Lstm) layers over long sequences (values between 0.25 and 5 are
/// usual) and leaves ordinary steps untouched.
///
/// Unlike PyTorch, a non-finite norm (a gradient that is `inf` or NaN) leaves the gradients as
/// they are; it is returned, so the caller can skip the step.
///
/// The sum of squares is accumulated in `f64`. Allocates nothing.
///
/// ```
/// use nn_core::layers::{Dense, Layer};
/// use nn_core::optim::clip_grad_norm;
/// use nn_core::tensor::Tensor2;
///
/// let mut fc = Dense::<1, 1>::new(&mut nn_core::init::seeded(0));
/// fc.weight_mut().as_mut_slice()[0] = 0.0;
/// let x = Tensor2::<1, 1>::full(3.0);
/// let (y, dy) = (Tensor2::<1, 1>::zeros(), Tensor2::<1, 1>::full(1.0));
/// fc.backward(&x, &y, &mut (), &dy, None); // weight gradient 3, bias gradient 1
///
/// let norm = clip_grad_norm(&mut fc, 1.0);
/// assert!((norm - 10f32.sqrt()).abs() < 1e-6);
/// let scale = 1.0 / (10f32.sqrt() + 1e-6);
/// assert!((fc.weight_grad().as_slice()[0] - 3.0 * scale).abs() < 1e-6);
/// assert!((fc.bias_grad().as_slice()[0] - scale).abs() < 1e-6);
/// ```
pub fn clip_grad_norm<M: HasParams>(model: &mut M, max_norm: f32) -> f32 {
    let norm = grad_norm(model);
    if !norm.is_finite() {
        return norm;
    }
    let scale = max_norm / (norm + 1e-6);
    if scale < 1.0 {
        model.visit_params(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, p: Param<'_>| p.grad.iter_mut().for_each(|g| *g *= scale),
        );
    }
    norm
}

/// The global L2 norm of every gradient of `model`, as one vector: what [`clip_grad_norm`]
/// compares with its limit. The sum of squares is accumulated in `f64`.
pub fn grad_norm<M: HasParams>(model: &mut M) -> f32 {
    let mut sum = 0.0f64;
    model.visit_params(
        &ParamPath::root(),
        &mut |_: &ParamPath<'_>, p: Param<'_>| {
            sum += p
                .grad
                .iter()
                .map(|&g| f64::from(g) * f64::from(g))
                .sum::<f64>();
        },
    );
    libm::sqrt(sum) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Dense, Layer, Lstm};
    use crate::tensor::{Tensor3, Zeroed};
    use crate::testing::random_tensor;

    fn with_grads(values: &[f32]) -> Dense<2, 1> {
        let mut fc = Dense::<2, 1>::new(&mut crate::init::seeded(0));
        let mut i = 0;
        fc.visit_params(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, p: Param<'_>| {
                for g in p.grad.iter_mut() {
                    *g = values[i];
                    i += 1;
                }
            },
        );
        fc
    }

    fn grads(fc: &Dense<2, 1>) -> [f32; 3] {
        let w = fc.weight_grad().as_slice();
        [w[0], w[1], fc.bias_grad().as_slice()[0]]
    }

    #[test]
    fn a_norm_above_the_limit_is_scaled_to_it() {
        // ‖(3, 0, 4)‖ = 5, over the parameter tensors together.
        let mut fc = with_grads(&[3.0, 0.0, 4.0]);
        assert_eq!(clip_grad_norm(&mut fc, 2.0), 5.0);
        let scale = 2.0 / (5.0 + 1e-6);
        for (got, want) in grads(&fc).into_iter().zip([3.0 * scale, 0.0, 4.0 * scale]) {
            assert!((got - want).abs() < 1e-7, "{got} vs {want}");
        }
        assert!((grad_norm(&mut fc) - 2.0).abs() < 1e-5);
    }

    #[test]
    fn a_norm_within_the_limit_changes_nothing() {
        let mut fc = with_grads(&[3.0, 0.0, 4.0]);
        assert_eq!(clip_grad_norm(&mut fc, 10.0), 5.0);
        assert_eq!(grads(&fc), [3.0, 0.0, 4.0]);
        // At the limit itself the epsilon still scales, by 5 / (5 + 1e-6), as in PyTorch.
        assert_eq!(clip_grad_norm(&mut fc, 5.0), 5.0);
        assert!(grads(&fc)[2] < 4.0 && grads(&fc)[2] > 4.0 - 1e-5);
    }

    #[test]
    fn zero_gradients_stay_zero() {
        let mut fc = with_grads(&[0.0, 0.0, 0.0]);
        assert_eq!(clip_grad_norm(&mut fc, 1.0), 0.0);
        assert_eq!(grads(&fc), [0.0; 3]);
    }

    #[test]
    fn a_non_finite_norm_is_returned_and_nothing_scaled() {
        let mut fc = with_grads(&[f32::INFINITY, 1.0, 0.0]);
        assert_eq!(clip_grad_norm(&mut fc, 1.0), f32::INFINITY);
        assert_eq!(grads(&fc), [f32::INFINITY, 1.0, 0.0]);
        let mut fc = with_grads(&[f32::NAN, 1.0, 0.0]);
        assert!(clip_grad_norm(&mut fc, 1.0).is_nan());
        assert_eq!(grads(&fc)[1], 1.0);
    }

    /// Through a long sequence: the clipped gradient of an LSTM has the limit as its norm and
    /// points the same way.
    #[test]
    fn clips_an_lstm_trained_over_a_long_sequence() {
        let mut rng = crate::init::seeded(41);
        let mut lstm = Lstm::<40, 2, 3>::new(&mut rng);
        let x = random_tensor::<Tensor3<2, 40, 2>>(&mut rng);
        let mut y = Tensor3::<2, 40, 3>::zeros();
        let mut cache = Zeroed::zeroed();
        lstm.forward_train(&x, &mut y, &mut cache);
        let dy = Tensor3::<2, 40, 3>::full(10.0);
        lstm.backward(&x, &y, &mut cache, &dy, None);
        let before = lstm.weight_hh_grad().clone();
        let norm = clip_grad_norm(&mut lstm, 0.5);
        assert!(norm > 0.5, "{norm}");
        assert!((grad_norm(&mut lstm) - 0.5).abs() < 1e-5);
        let ratio = 0.5 / (norm + 1e-6);
        for (&a, &b) in lstm.weight_hh_grad().iter().zip(before.iter()) {
            assert!((a - b * ratio).abs() <= 1e-6 * b.abs().max(1.0));
        }
    }
}
