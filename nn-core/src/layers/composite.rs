//! What `network!` needs to compose layers it did not make: per-sample shapes read off a
//! layer type, a trait to build such a layer, and the entry points generated code calls layers
//! through.

use core::marker::PhantomData;

use crate::init::Rng;
use crate::layers::{Layer, Shape};
use crate::tensor::Tensor;

/// The per-sample shape of the input of layer `L`: its batches are `L::Input<B>`.
///
/// `network!` uses it when a layer type's shape is not visible to the macro, e.g. an
/// activation after a nested network: `Relu<OutputOf<Encoder>>`.
pub struct InputOf<L: Layer>(PhantomData<L>);

/// The per-sample shape of the output of layer `L`: its batches are `L::Output<B>`.
pub struct OutputOf<L: Layer>(PhantomData<L>);

// By hand rather than derived: a derive would ask `L` for the same traits, which a marker of
// its shape does not need.
macro_rules! marker_traits {
    ($marker:ident) => {
        impl<L: Layer> Clone for $marker<L> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<L: Layer> Copy for $marker<L> {}
        impl<L: Layer> Default for $marker<L> {
            fn default() -> Self {
                Self(PhantomData)
            }
        }
        impl<L: Layer> core::fmt::Debug for $marker<L> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(stringify!($marker))
            }
        }
    };
}
marker_traits!(InputOf);
marker_traits!(OutputOf);

impl<L: Layer> Shape for InputOf<L> {
    const SIZE: usize = <L::Input<1> as Tensor>::LEN;
    type Batch<const B: usize> = L::Input<B>;
}

impl<L: Layer> Shape for OutputOf<L> {
    const SIZE: usize = <L::Output<1> as Tensor>::LEN;
    type Batch<const B: usize> = L::Output<B>;
}

/// A layer type that `network!` can hold as a field: `encoder: Encoder`.
///
/// Every layer here and every network made by `network!` implements it, so generated code
/// builds each field the same way, `<T as Composable>::build(rng)`: `Dense` draws its weights,
/// parameter-free layers are their `Default`. A hand-written layer implements it to be
/// used in a declaration the same way; its parameters (and buffers) are then visited under
/// the field's name (`encoder.fc1.weight`).
///
/// ```
/// use nn_core::init::Rng;
/// use nn_core::layers::{Composable, Dense};
///
/// /// A dense layer that always starts He-initialised.
/// #[derive(Clone, Debug)]
/// pub struct HeDense(Dense<4, 4>);
/// # impl nn_core::param::HasParams for HeDense {
/// #     fn visit_params<V: nn_core::param::ParamVisitor>(&mut self, p: &nn_core::param::ParamPath<'_>, v: &mut V) { self.0.visit_params(p, v) }
/// #     fn visit_buffers<V: nn_core::param::BufferVisitor>(&mut self, p: &nn_core::param::ParamPath<'_>, v: &mut V) { self.0.visit_buffers(p, v) }
/// # }
/// # impl nn_core::layers::Layer for HeDense {
/// #     type Input<const B: usize> = nn_core::tensor::Tensor2<B, 4>;
/// #     type Output<const B: usize> = nn_core::tensor::Tensor2<B, 4>;
/// #     type Scratch<const B: usize> = ();
/// #     type Cache<const B: usize> = ();
/// #     fn forward<const B: usize>(&self, x: &Self::Input<B>, y: &mut Self::Output<B>, s: &mut ()) { self.0.forward(x, y, s) }
/// #     fn forward_train<const B: usize>(&mut self, x: &Self::Input<B>, y: &mut Self::Output<B>, c: &mut ()) { self.0.forward_train(x, y, c) }
/// #     fn backward<const B: usize>(&mut self, x: &Self::Input<B>, y: &Self::Output<B>, c: &mut (), dy: &Self::Output<B>, dx: Option<&mut Self::Input<B>>) { self.0.backward(x, y, c, dy, dx) }
/// # }
/// impl Composable for HeDense {
///     const PARAM_COUNT: usize = Dense::<4, 4>::PARAM_COUNT;
///     fn build(rng: &mut Rng) -> Self {
///         HeDense(Dense::with_init(nn_core::init::Init::HeUniform, rng))
///     }
/// }
/// let layer = HeDense::build(&mut nn_core::init::seeded(0));
/// assert_eq!(HeDense::PARAM_COUNT, 20);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a layer in `network!`",
    label = "not a layer `network!` can build",
    note = "a layer type in `network!` implements `nn::layers::Composable` (networks made by `network!` do, unless they have several inputs)"
)]
pub trait Composable: Layer {
    /// The number of scalar parameters.
    const PARAM_COUNT: usize;
    /// A freshly initialised layer.
    fn build(rng: &mut Rng) -> Self;
}

// Generated code calls layers only through the three functions below, with every buffer as a
// plain argument, so a shape mismatch at a layer boundary is one error about one call.

/// Runs `layer` forward in inference (eval) mode, in `scratch`.
#[doc(hidden)]
pub fn run_forward<L: Layer, const B: usize>(
    layer: &L,
    x: &L::Input<B>,
    y: &mut L::Output<B>,
    scratch: &mut L::Scratch<B>,
) {
    layer.forward(x, y, scratch);
}

/// Runs `layer` forward in training mode, filling `cache` for [`run_backward`].
#[doc(hidden)]
pub fn run_forward_train<L: Layer, const B: usize>(
    layer: &mut L,
    x: &L::Input<B>,
    y: &mut L::Output<B>,
    cache: &mut L::Cache<B>,
) {
    layer.forward_train(x, y, cache);
}

/// Runs `layer` backward from the `cache` of [`run_forward_train`] into the input-gradient
/// buffer `dx`.
#[doc(hidden)]
pub fn run_backward<L: Layer, const B: usize>(
    layer: &mut L,
    x: &L::Input<B>,
    y: &L::Output<B>,
    cache: &mut L::Cache<B>,
    dy: &L::Output<B>,
    dx: &mut L::Input<B>,
) {
    layer.backward(x, y, cache, dy, Some(dx));
}
