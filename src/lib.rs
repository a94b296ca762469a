//! # nn: neural networks whose shapes are checked at compile time
//!
//! Declare a network with [`network!`]; it becomes a plain struct with statically shape-checked
//! forward and backward code. There is no runtime graph and no runtime tape.
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     /// MNIST classifier
//!     pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
//! }
//!
//! let net = Mlp::seeded(0);
//! let x = Tensor2::<1, 784>::zeros();
//! let logits: Tensor2<1, 10> = net.forward(&x);
//! assert_eq!(logits.shape(), [1, 10]);
//! ```
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use nn_core::{Error, init, layers, linalg, loss, metrics, optim, param, tensor, testing};

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
