//! Core of the `nn` crate: const-generic tensors, layers, losses, optimizers and data loading.
//!
//! Most users reach this through the `nn` facade and its `network!` macro. Everything here is
//! `no_std`. Heap tensors and everything built on them (layers, losses, optimizers, ops) need the
//! `alloc` feature; file I/O and dataset loading need `std` (the default, which implies `alloc`).
//! With neither, [`linalg`] and [`baked`] remain: enough to run a network whose weights
//! `network!` baked into the binary as `static` data, with no heap and no allocator.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod baked;
#[doc(hidden)]
pub mod check;
pub mod error;
#[cfg(feature = "alloc")]
pub mod init;
#[cfg(feature = "alloc")]
pub mod layers;
#[allow(
    unsafe_code,
    reason = "the SIMD kernels (matmul, conv data movement, pooling) on raw pointers, behind safe functions"
)]
pub mod linalg;
#[cfg(feature = "alloc")]
pub mod loss;
#[cfg_attr(
    not(feature = "alloc"),
    allow(
        dead_code,
        reason = "without `alloc` only the baked kernels call into it"
    )
)]
pub(crate) mod math;
#[cfg(feature = "alloc")]
pub mod metrics;
#[cfg(feature = "alloc")]
pub mod ops;
#[cfg(feature = "alloc")]
pub mod optim;
#[cfg(feature = "alloc")]
pub mod param;
pub mod quant;
#[cfg(feature = "alloc")]
pub mod tensor;
#[cfg(feature = "alloc")]
pub mod testing;

#[cfg(feature = "std")]
pub mod data;
#[cfg(feature = "std")]
pub mod train;
#[cfg(feature = "safetensors")]
pub mod weights;

pub use error::Error;
