//! Stochastic gradient descent, with optional momentum.

use crate::optim::{OptimError, Optimizer, SlotState, check_learning_rate};
use crate::param::{HasParams, Param, ParamPath};

/// Stochastic gradient descent: `v = μ·v + g; θ −= lr·v` (PyTorch's form of momentum). With
/// `momentum = 0` this is plain `θ −= lr·g` and keeps no state, but the first step still binds
/// it to its model (see the [module docs](crate::optim#an-optimizer-belongs-to-one-model)).
///
/// ```
/// use nn_core::optim::{Optimizer, Sgd};
/// use nn_core::layers::Dense;
/// use nn_core::param::HasParams;
///
/// let mut fc = Dense::<1, 1>::new(&mut nn_core::init::seeded(0));
/// let mut sgd = Sgd::new(0.1);
/// sgd.step(&mut fc)?; // gradients are zero, so nothing moves
/// fc.zero_grad();
/// # Ok::<(), nn_core::optim::OptimError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Sgd {
    /// The learning rate.
    pub lr: f32,
    /// The momentum factor `μ` (0 for none).
    pub momentum: f32,
    pub(crate) velocity: SlotState,
}

impl Sgd {
    /// Plain SGD with learning rate `lr`.
    ///
    /// Any `lr` is accepted here; a rate that is not finite and above 0 is rejected by every
    /// [`step`](Optimizer::step) with [`OptimError::InvalidLearningRate`]. [`Sgd::try_new`]
    /// checks it now.
    pub fn new(lr: f32) -> Self {
        Self::with_momentum(lr, 0.0)
    }

    /// [`Sgd::new`], or [`OptimError::InvalidLearningRate`] when `lr` is not finite and
    /// above 0.
    pub fn try_new(lr: f32) -> Result<Self, OptimError> {
        check_learning_rate(lr)?;
        Ok(Self::new(lr))
    }

    /// SGD with momentum `momentum` (0.9 is usual).
    pub fn with_momentum(lr: f32, momentum: f32) -> Self {
        Self {
            lr,
            momentum,
            velocity: SlotState::default(),
        }
    }
}

impl Optimizer for Sgd {
    fn step<M: HasParams>(&mut self, model: &mut M) -> Result<(), OptimError> {
        check_learning_rate(self.lr)?;
        let (lr, momentum) = (self.lr, self.momentum);
        if momentum == 0.0 {
            self.velocity.prepare(model, 0)?;
            model.visit_params(
                &ParamPath::root(),
                &mut |_: &ParamPath<'_>, p: Param<'_>| {
                    for (w, &g) in p.value.iter_mut().zip(p.grad.iter()) {
                        *w -= lr * g;
                    }
                },
            );
            return Ok(());
        }
        self.velocity.prepare(model, 1)?;
        let velocity = &mut self.velocity;
        let mut index = 0;
        model.visit_params(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, p: Param<'_>| {
                if let [v] = velocity.slots(index, 1) {
                    for ((w, &g), v) in p.value.iter_mut().zip(p.grad.iter()).zip(v.iter_mut()) {
                        *v = momentum * *v + g;
                        *w -= lr * *v;
                    }
                }
                index += 1;
            },
        );
        Ok(())
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Dense, Layer};
    use crate::tensor::Tensor2;

    #[test]
    fn momentum_matches_hand_computed_steps() {
        let mut fc = Dense::<1, 1>::with_init(
            crate::init::Init::Constant(1.0),
            &mut crate::init::seeded(0),
        );
        let x = Tensor2::<1, 1>::full(1.0);
        let y = Tensor2::<1, 1>::zeros();
        let dy = Tensor2::<1, 1>::full(1.0);
        let mut sgd = Sgd::with_momentum(0.1, 0.9);
        for _ in 0..2 {
            fc.zero_grad();
            fc.backward(&x, &y, &mut (), &dy, None); // grad = 1 for weight and bias
            sgd.step(&mut fc).unwrap();
        }
        // v1 = 1, w = 0.9; v2 = 1.9, w = 0.9 - 0.19 = 0.71
        assert!((fc.weight().as_slice()[0] - 0.71).abs() < 1e-6);
        assert!((fc.bias().as_slice()[0] + 0.29).abs() < 1e-6);
    }
}
