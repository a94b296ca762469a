//! The state of an optimizer, as named tensors and scalars, for checkpoints.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::optim::{Adam, AdamW, OptimError, Sgd, SlotState};
use crate::param::HasParams;

/// An optimizer's state, exposed for checkpoints: per-parameter tensors (Adam's moments, SGD's
/// momentum buffer) and scalars (step count, learning rate, betas, ...).
///
/// State tensors are addressed by *slot* (PyTorch's state key, such as `exp_avg`) and by the
/// parameter's index in the model's [visiting order](crate::param::HasParams::visit_params);
/// a checkpoint names them `optimizer.SLOT.PARAMETER` (`optimizer.exp_avg.fc1.weight`).
/// Scalars are strings that parse back to the same bits (`f32`'s `Display` is exact).
///
/// ```
/// use nn_core::layers::Dense;
/// use nn_core::optim::{Adam, Optimizer, OptimizerState};
///
/// let mut fc = Dense::<2, 1>::new(&mut nn_core::init::seeded(0));
/// let mut adam = Adam::new(1e-3);
/// assert!(adam.state(0, 0).is_none(), "no state before the first step");
/// adam.step(&mut fc)?;
/// assert_eq!(adam.slot_names(), ["exp_avg", "exp_avg_sq"]);
/// assert_eq!(adam.state(1, 0).map(<[f32]>::len), Some(1)); // the bias's first moment
/// assert!(adam.scalars().contains(&("step", "1".to_string())));
/// # Ok::<(), nn_core::optim::OptimError>(())
/// ```
pub trait OptimizerState {
    /// The optimizer's name, stored in checkpoints and checked on load (`Adam`, `AdamW`,
    /// `Sgd`).
    fn kind(&self) -> &'static str;

    /// The names of the state tensors kept per parameter, PyTorch's keys (`exp_avg`,
    /// `exp_avg_sq` for Adam; `momentum_buffer` for SGD).
    fn slot_names(&self) -> &'static [&'static str];

    /// State tensor `slot` of parameter `param`, or `None` before the first step made it.
    fn state(&self, param: usize, slot: usize) -> Option<&[f32]>;

    /// The scalars (hyperparameters and counters) as key/value strings.
    fn scalars(&self) -> Vec<(&'static str, String)>;

    /// Restores the scalars from `scalar` (a lookup by key) and the state tensors (parameter
    /// major: parameter 0's slots, then parameter 1's; empty for "no state yet"), then binds
    /// the optimizer to `model`, whose parameters the tensors must fit.
    ///
    /// # Errors
    /// [`StateError`] naming the key or the parameter. On error the optimizer is unchanged.
    fn restore<M: HasParams>(
        &mut self,
        model: &mut M,
        scalar: &dyn Fn(&str) -> Option<String>,
        tensors: Vec<Box<[f32]>>,
    ) -> Result<(), StateError>;
}

/// Why [`OptimizerState::restore`] refused a state.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A scalar is missing or does not parse.
    #[error("optimizer scalar `{key}` is missing or does not parse")]
    Scalar {
        /// Its key.
        key: &'static str,
    },
    /// The state tensors do not fit the model.
    #[error(transparent)]
    Model(#[from] OptimError),
}

fn parse<T: core::str::FromStr>(
    scalar: &dyn Fn(&str) -> Option<String>,
    key: &'static str,
) -> Result<T, StateError> {
    scalar(key)
        .and_then(|v| v.parse().ok())
        .ok_or(StateError::Scalar { key })
}

/// Replaces `slots` with `tensors` and binds them to `model`, or leaves `slots` unchanged.
fn restore_slots<M: HasParams>(
    slots: &mut SlotState,
    model: &mut M,
    per_param: usize,
    tensors: Vec<Box<[f32]>>,
) -> Result<(), StateError> {
    let mut restored = SlotState {
        buffers: tensors,
        ..SlotState::default()
    };
    restored.prepare_restored(model, per_param)?;
    *slots = restored;
    Ok(())
}

fn slot(slots: &SlotState, per_param: usize, param: usize, slot: usize) -> Option<&[f32]> {
    if slot >= per_param {
        return None;
    }
    slots.buffers.get(param * per_param + slot).map(|b| &b[..])
}

macro_rules! adam_state {
    ($ty:ty, $kind:literal, $($extra:ident),*) => {
        impl OptimizerState for $ty {
            fn kind(&self) -> &'static str {
                $kind
            }

            fn slot_names(&self) -> &'static [&'static str] {
                &["exp_avg", "exp_avg_sq"]
            }

            fn state(&self, param: usize, s: usize) -> Option<&[f32]> {
                slot(&self.moments, 2, param, s)
            }

            fn scalars(&self) -> Vec<(&'static str, String)> {
                use alloc::string::ToString;
                alloc::vec![
                    ("step", self.steps.to_string()),
                    ("lr", self.lr.to_string()),
                    ("beta1", self.beta1.to_string()),
                    ("beta2", self.beta2.to_string()),
                    ("eps", self.eps.to_string()),
                    $((stringify!($extra), self.$extra.to_string()),)*
                ]
            }

            fn restore<M: HasParams>(
                &mut self,
                model: &mut M,
                scalar: &dyn Fn(&str) -> Option<String>,
                tensors: Vec<Box<[f32]>>,
            ) -> Result<(), StateError> {
                let steps: u32 = parse(scalar, "step")?;
                let lr: f32 = parse(scalar, "lr")?;
                let beta1: f32 = parse(scalar, "beta1")?;
                let beta2: f32 = parse(scalar, "beta2")?;
                let eps: f32 = parse(scalar, "eps")?;
                $(let $extra: f32 = parse(scalar, stringify!($extra))?;)*
                restore_slots(&mut self.moments, model, 2, tensors)?;
                (self.steps, self.lr, self.beta1, self.beta2, self.eps) = (steps, lr, beta1, beta2, eps);
                $(self.$extra = $extra;)*
                Ok(())
            }
        }
    };
}

adam_state!(Adam, "Adam",);
adam_state!(AdamW, "AdamW", weight_decay);

impl OptimizerState for Sgd {
    fn kind(&self) -> &'static str {
        "Sgd"
    }

    fn slot_names(&self) -> &'static [&'static str] {
        &["momentum_buffer"]
    }

    fn state(&self, param: usize, s: usize) -> Option<&[f32]> {
        slot(&self.velocity, 1, param, s)
    }

    fn scalars(&self) -> Vec<(&'static str, String)> {
        use alloc::string::ToString;
        alloc::vec![
            ("lr", self.lr.to_string()),
            ("momentum", self.momentum.to_string()),
        ]
    }

    fn restore<M: HasParams>(
        &mut self,
        model: &mut M,
        scalar: &dyn Fn(&str) -> Option<String>,
        tensors: Vec<Box<[f32]>>,
    ) -> Result<(), StateError> {
        let lr: f32 = parse(scalar, "lr")?;
        let momentum: f32 = parse(scalar, "momentum")?;
        restore_slots(&mut self.velocity, model, 1, tensors)?;
        (self.lr, self.momentum) = (lr, momentum);
        Ok(())
    }
}
