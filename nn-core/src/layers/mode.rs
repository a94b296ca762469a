//! The forward mode as a type: [`Train`] or [`Eval`].
//!
//! A network's tape is generic over its mode (`NetTape<B, M: Mode = Train>`) and holds one
//! [`Mode::State`] per layer: the layer's [`Cache`](Layer::Cache) in training, its
//! [`Scratch`](Layer::Scratch) at inference. So an eval tape cannot be handed to `backward`.

use crate::layers::Layer;
use crate::tensor::Zeroed;

/// Training mode: layers run [`Layer::forward_train`] and record a [`Layer::Cache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Train;

/// Inference mode: layers run [`Layer::forward`] in a [`Layer::Scratch`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Eval;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Train {}
    impl Sealed for super::Eval {}
}

/// A forward mode: what a tape in this mode keeps for each layer.
///
/// Sealed: a tape implements its forward once per mode, and a layer has exactly two forwards.
///
/// ```
/// use nn_core::layers::{Dense, Eval, Layer, Mode, Train};
///
/// // The state a tape keeps for one layer, by mode.
/// fn state<M: Mode, L: Layer, const B: usize>() -> M::State<L, B> {
///     nn_core::tensor::Zeroed::zeroed()
/// }
/// let _cache: <Dense<2, 3> as Layer>::Cache<4> = state::<Train, Dense<2, 3>, 4>();
/// let _scratch: <Dense<2, 3> as Layer>::Scratch<4> = state::<Eval, Dense<2, 3>, 4>();
/// ```
pub trait Mode: sealed::Sealed + Copy + Default + core::fmt::Debug + 'static {
    /// What a tape in this mode keeps for layer `L` at batch size `B`.
    type State<L: Layer, const B: usize>: Zeroed;
}

impl Mode for Train {
    type State<L: Layer, const B: usize> = L::Cache<B>;
}

impl Mode for Eval {
    type State<L: Layer, const B: usize> = L::Scratch<B>;
}
