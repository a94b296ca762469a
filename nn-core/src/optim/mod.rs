//! Optimizers: SGD (with optional momentum) and Adam; gradient clipping by global norm
//! ([`clip_grad_norm`]).
//!
//! An optimizer reaches a model's parameters through [`HasParams::visit_params`], in the
//! model's fixed order. Its per-parameter state is allocated on the first `step` and reused by
//! every later one; a later step with a model of different parameter sizes panics, because it
//! means the optimizer was shared between two models.

mod adam;
mod clip;
mod sgd;

pub use adam::Adam;
pub use clip::{clip_grad_norm, grad_norm};
pub use sgd::Sgd;

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use crate::param::{HasParams, Param, ParamPath};

/// Updates a model's parameters from their accumulated gradients.
pub trait Optimizer {
    /// Applies one update to every parameter of `model`. Does not zero the gradients.
    fn step<M: HasParams>(&mut self, model: &mut M);
}

/// One zeroed state buffer per parameter tensor, made on first use.
#[derive(Debug, Clone, Default)]
pub(crate) struct SlotState {
    buffers: Vec<Box<[f32]>>,
}

impl SlotState {
    /// Allocates the buffers for `model` if this is the first call.
    pub(crate) fn ensure<M: HasParams>(&mut self, model: &mut M, per_param: usize) {
        if !self.buffers.is_empty() {
            return;
        }
        let buffers = &mut self.buffers;
        model.visit_params(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, p: Param<'_>| {
                for _ in 0..per_param {
                    buffers.push(vec![0.0; p.value.len()].into_boxed_slice());
                }
            },
        );
    }

    /// The `per_param` buffers of parameter `index`, checked against its length.
    pub(crate) fn slots(
        &mut self,
        index: usize,
        per_param: usize,
        len: usize,
        path: &ParamPath<'_>,
    ) -> &mut [Box<[f32]>] {
        let slots = self
            .buffers
            .get_mut(index * per_param..(index + 1) * per_param);
        match slots {
            Some(slots) if slots.iter().all(|s| s.len() == len) => slots,
            _ => panic!(
                "optimizer state does not fit parameter `{path}`: was this optimizer used with another model?"
            ),
        }
    }
}
