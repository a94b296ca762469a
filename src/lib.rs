//! # nn: neural networks whose shapes are checked at compile time
//!
//! Declare a network with [`network!`]; it becomes a plain struct with statically shape-checked
//! forward and backward code. There is no runtime graph and no runtime tape: the tape is a
//! generated struct of preallocated buffers.
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     /// MNIST classifier
//!     pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
//! }
//!
//! # fn main() -> Result<(), nn::Error> {
//! let mut net = Mlp::seeded(0);
//! let mut adam = Adam::new(1e-3);
//! let mut tape = MlpTape::<64>::new(); // every buffer of a batch of 64, made once
//! let mut dlogits = Tensor2::<64, 10>::zeros();
//! let x = Tensor2::<64, 784>::full(0.5);
//! let labels = [3usize; 64];
//!
//! // One training step; after the first, it allocates nothing of its own.
//! let logits = net.forward_train(&x, &mut tape);
//! let loss = softmax_cross_entropy(logits, &labels, &mut dlogits)?;
//! net.zero_grad();
//! net.backward_params(&mut tape, &dlogits);
//! adam.step(&mut net);
//!
//! let probabilities: Tensor2<1, 10> = net.forward(&Tensor2::<1, 784>::zeros());
//! assert_eq!(probabilities.shape(), [1, 10]);
//! assert!(loss > 0.0);
//! # Ok(())
//! # }
//! ```
//!
//! # The `network!` syntax
//!
//! ```text
//! network! {
//!     /// docs and attributes pass through
//!     pub struct Name< layer, name: layer, ... >
//!     // more declarations may follow in the same call
//! }
//! ```
//!
//! | layer | meaning | per-sample shape |
//! |---|---|---|
//! | `dense(IN -> OUT)` | fully connected, `y = x·Wᵀ + b`, Glorot-uniform init | `IN` → `OUT` |
//! | `relu` | `max(0, x)` | unchanged |
//! | `leaky_relu(ALPHA)`, `leaky_relu` | `x` or `ALPHA·x`; default `ALPHA` 0.01 | unchanged |
//! | `sigmoid`, `tanh` | elementwise | unchanged |
//! | `softmax` | probabilities over the features | unchanged |
//!
//! Sizes are integer literals, constants (`dense(IN -> HIDDEN)`, `sizes::OUT`) or const blocks
//! (`{ 2 * HIDDEN }`). Names are optional: an unnamed layer is the field `<keyword>_<position>`
//! (`relu_1`), and parameters are named `<layer>.weight` / `<layer>.bias`.
//!
//! # What it generates, for `struct Mlp< ... >`
//! - `struct Mlp` with one public field per layer, e.g. `mlp.fc1: Dense<784, 128>`;
//! - `struct MlpTape<const B: usize>`: activations, gradients and caches for batches of `B`;
//! - `Mlp::new(&mut rng)`, `Mlp::seeded(seed)`; consts `INPUTS`, `OUTPUTS`, `PARAM_COUNT`,
//!   `LAYER_NAMES`;
//! - `forward(&x) -> Tensor2<B, OUT>` (allocates; for convenience), `infer(&x, &mut tape)`,
//!   `forward_train(&x, &mut tape)`, `backward(&mut tape, &dy) -> &Tensor2<B, IN>`,
//!   `backward_params(&mut tape, &dy)` (skips the input gradient), `zero_grad()`;
//! - impls of [`param::HasParams`] (the named-parameter visitor optimizers use) and
//!   [`layers::Layer`], so a generated network is itself a layer.
//!
//! # Shape errors
//! A size mismatch is a compile error that names the layer and both sizes:
//!
//! ```text
//! error: `dense(64 -> 10)` expects 64 inputs but `fc1` gives 128; did you mean `dense(128 -> 10)`?
//!  --> src/main.rs:8:9
//!   |
//! 8 |         fc2: dense(64 -> 10),
//!   |         ^^^^^^^^^^^^^^^^^^^^
//! ```
//!
//! Literal sizes are checked by the macro. Sizes written as constants are checked by an
//! item-level `const` assert that `cargo check` evaluates. Passing a tensor of the wrong size to
//! `forward` is a type error (`expected `784`, found `100``). Every rule has a compile-fail case
//! under `tests/ui/<rule>/`, with the exact compiler output in its `.stderr`:
//!
//! ```compile_fail
//! use nn::prelude::*;
//! network! { struct Bad< fc1: dense(784 -> 128), relu, fc2: dense(64 -> 10) > }
//! ```
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use nn_core::{Error, init, layers, linalg, loss, metrics, ops, optim, param, tensor, testing};

#[cfg(feature = "std")]
pub use nn_core::data;

pub use nn_macros::network;

/// The seeded random number generator used for initialisation and shuffling.
pub use nn_core::init::Rng;

/// Everything a typical training program needs, in one import.
pub mod prelude {
    pub use crate::network;
    pub use nn_core::Error;
    pub use nn_core::init::{Init, Rng, seeded};
    pub use nn_core::layers::{
        Dense, Features, Layer, LeakyRelu, Relu, Shape, Sigmoid, Softmax, Tanh,
    };
    pub use nn_core::loss::{binary_cross_entropy_with_logits, mse, softmax_cross_entropy};
    pub use nn_core::metrics::{accuracy, argmax, correct};
    pub use nn_core::optim::{Adam, Optimizer, Sgd};
    pub use nn_core::param::{HasParams, Param, ParamPath, ParamVisitor};
    pub use nn_core::tensor::{Tensor, Tensor1, Tensor2, Tensor3, Tensor4, Zeroed};
}

/// Paths used by code that `network!` generates. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use nn_core::*;
}

/// The README's Rust examples, compiled and run as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
