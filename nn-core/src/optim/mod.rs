//! Optimizers: SGD (with optional momentum), Adam and AdamW; gradient clipping by global norm
//! ([`clip_grad_norm`]).
//!
//! An optimizer reaches a model's parameters through [`HasParams::visit_params`], in the
//! model's fixed order. Its per-parameter state is allocated on the first
//! [`step`](Optimizer::step) and reused by every later one.
//!
//! # An optimizer belongs to one model
//! On its first step an optimizer *binds* to the model it is given: it records the address and
//! length of every parameter buffer. Parameters live on the heap, so these addresses survive
//! moves of the network (into a `Vec`, a `Box`, another function) but differ between two
//! networks, and between a network and its clone. A later step with any other model returns
//! [`OptimError::ForeignModel`] and changes nothing, so two networks can never silently share
//! one set of moments, whatever their shapes.
//!
//! The one case this cannot see: a network dropped and a new one allocated at exactly the same
//! addresses. To reuse an optimizer's settings on a new model, make a new optimizer.
//!
//! ```
//! use nn_core::layers::Dense;
//! use nn_core::optim::{Adam, OptimError, Optimizer};
//!
//! let mut rng = nn_core::init::seeded(0);
//! let mut a = Dense::<3, 2>::new(&mut rng);
//! let mut b = Dense::<3, 2>::new(&mut rng);
//! let mut adam = Adam::new(1e-3);
//! adam.step(&mut a)?;
//! let err = adam.step(&mut b).unwrap_err();
//! assert_eq!(err, OptimError::ForeignModel { parameter: "weight".into() });
//! # Ok::<(), OptimError>(())
//! ```
//!
//! # Learning rates
//! A learning rate must be finite and above 0. Constructors such as [`Adam::new`] accept any
//! value so that user code stays short; every [`step`](Optimizer::step) checks the current rate
//! (schedules change it through [`Optimizer::set_learning_rate`]) and returns
//! [`OptimError::InvalidLearningRate`] before touching the model. `try_new` constructors check
//! up front.

mod adam;
mod clip;
mod sgd;
mod state;

pub use adam::{Adam, AdamW};
pub use clip::{clip_grad_norm, grad_norm};
pub use sgd::Sgd;
pub use state::{OptimizerState, StateError};

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use crate::param::{HasParams, Param, ParamPath};

/// Why an optimizer step was refused. The model is unchanged when a step returns one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OptimError {
    /// The learning rate is NaN, infinite, zero or negative.
    #[error("learning rate {lr} is not a finite number above 0")]
    InvalidLearningRate {
        /// The rejected rate.
        lr: f32,
    },
    /// The optimizer was bound to another model on its first step (see the
    /// [module docs](self#an-optimizer-belongs-to-one-model)).
    #[error(
        "this optimizer belongs to another model: parameter `{parameter}` is not the buffer it was bound to on its first step; use one optimizer per model"
    )]
    ForeignModel {
        /// The first parameter that differs from the bound model's (its dotted path).
        parameter: String,
    },
}

/// Updates a model's parameters from their accumulated gradients.
pub trait Optimizer {
    /// Applies one update to every parameter of `model`. Does not zero the gradients.
    ///
    /// # Errors
    /// [`OptimError::InvalidLearningRate`] when the current learning rate is not finite and
    /// above 0; [`OptimError::ForeignModel`] when `model` is not the model of this optimizer's
    /// first step. In both cases nothing is changed.
    fn step<M: HasParams>(&mut self, model: &mut M) -> Result<(), OptimError>;

    /// The current learning rate.
    fn learning_rate(&self) -> f32;

    /// Sets the learning rate used by the next steps (for schedules). An invalid rate is
    /// rejected by the next [`step`](Optimizer::step).
    fn set_learning_rate(&mut self, lr: f32);
}

/// `Ok` when `lr` is a usable learning rate.
pub(crate) fn check_learning_rate(lr: f32) -> Result<(), OptimError> {
    if lr.is_finite() && lr > 0.0 {
        Ok(())
    } else {
        Err(OptimError::InvalidLearningRate { lr })
    }
}

/// One parameter buffer of the bound model.
#[derive(Debug, Clone)]
struct BoundParam {
    address: usize,
    len: usize,
    name: String,
}

/// The parameter buffers of the model an optimizer was first stepped with.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModelBinding {
    params: Option<Vec<BoundParam>>,
}

impl ModelBinding {
    /// Binds to `model` on the first call; on later calls, checks that `model` has the same
    /// parameter buffers. Allocates only when binding or failing.
    pub(crate) fn check<M: HasParams>(&mut self, model: &mut M) -> Result<(), OptimError> {
        let Some(bound) = &self.params else {
            let mut params = Vec::new();
            model.visit_params(
                &ParamPath::root(),
                &mut |path: &ParamPath<'_>, p: Param<'_>| {
                    params.push(BoundParam {
                        address: p.value.as_ptr() as usize,
                        len: p.value.len(),
                        name: path.to_string(),
                    });
                },
            );
            self.params = Some(params);
            return Ok(());
        };
        let mut index = 0;
        let mut foreign: Option<String> = None;
        model.visit_params(
            &ParamPath::root(),
            &mut |path: &ParamPath<'_>, p: Param<'_>| {
                let same = bound.get(index).is_some_and(|b| {
                    b.address == p.value.as_ptr() as usize && b.len == p.value.len()
                });
                if !same && foreign.is_none() {
                    foreign = Some(path.to_string());
                }
                index += 1;
            },
        );
        if foreign.is_none() && index < bound.len() {
            foreign = Some(bound[index].name.clone());
        }
        match foreign {
            Some(parameter) => Err(OptimError::ForeignModel { parameter }),
            None => Ok(()),
        }
    }

    /// Forgets the bound model: the next [`check`](Self::check) binds again.
    pub(crate) fn unbind(&mut self) {
        self.params = None;
    }
}

/// `per_param` state buffers per parameter tensor, made zeroed on the first step, and the
/// binding to the model they belong to.
#[derive(Debug, Clone, Default)]
pub(crate) struct SlotState {
    pub(crate) binding: ModelBinding,
    pub(crate) buffers: Vec<Box<[f32]>>,
    /// `per_param` once the buffers are known to fit the bound model, so later steps skip
    /// the check.
    fitted: Option<usize>,
}

impl SlotState {
    /// Binds to (or checks) `model`, then allocates `per_param` zeroed buffers per parameter
    /// if there are none yet. Buffers restored from a checkpoint are checked against the
    /// model's parameter lengths instead.
    pub(crate) fn prepare<M: HasParams>(
        &mut self,
        model: &mut M,
        per_param: usize,
    ) -> Result<(), OptimError> {
        self.binding.check(model)?;
        if per_param == 0 || self.fitted == Some(per_param) {
            return Ok(());
        }
        let buffers = &mut self.buffers;
        if buffers.is_empty() {
            self.fitted = Some(per_param);
            model.visit_params(
                &ParamPath::root(),
                &mut |_: &ParamPath<'_>, p: Param<'_>| {
                    for _ in 0..per_param {
                        buffers.push(vec![0.0; p.value.len()].into_boxed_slice());
                    }
                },
            );
            return Ok(());
        }
        let mut index = 0;
        let mut misfit: Option<String> = None;
        model.visit_params(
            &ParamPath::root(),
            &mut |path: &ParamPath<'_>, p: Param<'_>| {
                let fits = buffers
                    .get(index * per_param..(index + 1) * per_param)
                    .is_some_and(|slots| slots.iter().all(|s| s.len() == p.value.len()));
                if !fits && misfit.is_none() {
                    misfit = Some(path.to_string());
                }
                index += 1;
            },
        );
        if misfit.is_none() && buffers.len() != index * per_param {
            misfit = Some(String::from(
                "(state for more parameters than the model has)",
            ));
        }
        match misfit {
            Some(parameter) => {
                self.binding.unbind();
                Err(OptimError::ForeignModel { parameter })
            }
            None => {
                self.fitted = Some(per_param);
                Ok(())
            }
        }
    }

    /// Binds to `model` and, if there are buffers (restored from a checkpoint), checks that
    /// they fit its parameters; no buffers stay none until the first step.
    pub(crate) fn prepare_restored<M: HasParams>(
        &mut self,
        model: &mut M,
        per_param: usize,
    ) -> Result<(), OptimError> {
        self.binding.check(model)?;
        if self.buffers.is_empty() {
            return Ok(());
        }
        self.prepare(model, per_param)
    }

    /// The `per_param` buffers of parameter `index`: empty if out of range, which
    /// [`prepare`](Self::prepare) rules out.
    pub(crate) fn slots(&mut self, index: usize, per_param: usize) -> &mut [Box<[f32]>] {
        self.buffers
            .get_mut(index * per_param..(index + 1) * per_param)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Dense;
    use alloc::boxed::Box;

    fn pair() -> (Dense<3, 2>, Dense<3, 2>) {
        let mut rng = crate::init::seeded(0);
        (Dense::new(&mut rng), Dense::new(&mut rng))
    }

    fn foreign(parameter: &str) -> Result<(), OptimError> {
        Err(OptimError::ForeignModel {
            parameter: parameter.into(),
        })
    }

    #[test]
    fn two_equal_shaped_models_cannot_share_one_optimizer() {
        let (mut a, mut b) = pair();
        let mut adam = Adam::new(0.1);
        assert_eq!(adam.step(&mut a), Ok(()));
        let before = b.clone();
        assert_eq!(adam.step(&mut b), foreign("weight"));
        assert_eq!(
            b.weight().as_slice(),
            before.weight().as_slice(),
            "b untouched"
        );
        assert_eq!(adam.step(&mut a), Ok(()), "still bound to a");

        let mut sgd = Sgd::with_momentum(0.1, 0.9);
        assert_eq!(sgd.step(&mut b), Ok(()));
        assert_eq!(sgd.step(&mut a), foreign("weight"));
        let mut plain = Sgd::new(0.1);
        assert_eq!(plain.step(&mut a), Ok(()));
        assert_eq!(plain.step(&mut b), foreign("weight"));
        let mut adamw = AdamW::new(0.1);
        assert_eq!(adamw.step(&mut a), Ok(()));
        assert_eq!(adamw.step(&mut b), foreign("weight"));
    }

    #[test]
    fn a_clone_is_another_model() {
        let (mut a, _) = pair();
        let mut adam = Adam::new(0.1);
        adam.step(&mut a).unwrap();
        let mut copy = a.clone();
        assert_eq!(adam.step(&mut copy), foreign("weight"));
    }

    #[test]
    fn a_moved_model_is_still_the_same_model() {
        let (a, _) = pair();
        let mut adam = Adam::new(0.1);
        let mut boxed = Box::new(a);
        adam.step(&mut *boxed).unwrap();
        let mut models = vec![*boxed];
        assert_eq!(adam.step(&mut models[0]), Ok(()));
        let moved = models.pop().unwrap();
        let mut again = moved;
        assert_eq!(adam.step(&mut again), Ok(()));
        assert_eq!(adam.steps(), 3);
    }

    #[test]
    fn a_model_of_other_shapes_is_rejected_without_panicking() {
        let mut rng = crate::init::seeded(0);
        let mut small = Dense::<2, 1>::new(&mut rng);
        let mut big = Dense::<3, 1>::new(&mut rng);
        let mut adam = Adam::new(0.1);
        adam.step(&mut small).unwrap();
        assert_eq!(adam.step(&mut big), foreign("weight"));
        // A model with fewer parameters names the first one it lacks.
        let mut sgd = Sgd::new(0.1);
        sgd.step(&mut small).unwrap();
        assert_eq!(sgd.step(&mut WeightOnly(&mut small)), foreign("bias"));
    }

    /// A view of a dense layer that shows only its weight.
    struct WeightOnly<'a>(&'a mut Dense<2, 1>);

    impl HasParams for WeightOnly<'_> {
        fn visit_params<V: crate::param::ParamVisitor>(
            &mut self,
            path: &ParamPath<'_>,
            visitor: &mut V,
        ) {
            let mut only_weight = |path: &ParamPath<'_>, p: Param<'_>| {
                if path.last() == "weight" {
                    visitor.visit(path, p);
                }
            };
            self.0.visit_params(path, &mut only_weight);
        }
    }

    #[test]
    fn bad_learning_rates_are_rejected_at_every_step() {
        let (mut a, _) = pair();
        let before = a.clone();
        for lr in [f32::NAN, f32::INFINITY, -1.0, 0.0] {
            let invalid = |e: Result<(), OptimError>| matches!(e, Err(OptimError::InvalidLearningRate { lr: got }) if got.to_bits() == lr.to_bits());
            assert!(invalid(Adam::new(lr).step(&mut a)), "{lr}");
            assert!(invalid(AdamW::new(lr).step(&mut a)), "{lr}");
            assert!(invalid(Sgd::new(lr).step(&mut a)), "{lr}");
            assert!(invalid(Sgd::with_momentum(lr, 0.9).step(&mut a)), "{lr}");
            assert!(Adam::try_new(lr).is_err() && AdamW::try_new(lr).is_err());
            assert!(Sgd::try_new(lr).is_err());
        }
        assert_eq!(a.weight().as_slice(), before.weight().as_slice());

        // A schedule that sets a bad rate mid-training is caught too.
        let mut adam = Adam::try_new(0.1).unwrap();
        adam.step(&mut a).unwrap();
        adam.set_learning_rate(f32::NAN);
        assert!(adam.step(&mut a).is_err());
        assert_eq!(adam.steps(), 1, "a refused step is not counted");
        adam.set_learning_rate(0.05);
        assert_eq!(adam.learning_rate(), 0.05);
        assert_eq!(adam.step(&mut a), Ok(()));
    }
}
