//! Core of the `nn` crate: const-generic tensors, layers, losses, optimizers and data loading.
//!
//! Most users reach this through the `nn` facade and its `network!` macro. Everything here is
//! `no_std` + `alloc`; file I/O and dataset loading need the default `std` feature.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[doc(hidden)]
pub mod check;
pub mod error;
pub mod init;
pub mod layers;
#[allow(
    unsafe_code,
    reason = "the SIMD kernels (matmul, conv data movement, pooling) on raw pointers, behind safe functions"
)]
pub mod linalg;
pub mod loss;
pub(crate) mod math;
pub mod metrics;
pub mod ops;
pub mod optim;
pub mod param;
pub mod tensor;
pub mod testing;

#[cfg(feature = "std")]
pub mod data;
#[cfg(feature = "std")]
pub mod train;
#[cfg(feature = "safetensors")]
pub mod weights;

pub use error::Error;
