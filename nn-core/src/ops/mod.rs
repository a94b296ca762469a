//! Typed tensor ops with backward: reshape and flatten, concat (of vectors, along the features
//! of a batch, and along any axis of a rank-3 or rank-4 tensor, e.g. [`concat4_axis1`] for
//! channels), stack, split and slicing (of vectors, of the features of a batch, and along any
//! axis of a rank-3 or rank-4 tensor, e.g. [`split3_axis1`]), and elementwise add and multiply.
//!
//! # How shapes are checked (DESIGN §1.1)
//! - **Equal sizes are type equalities.** The batch of every op, the shared widths of
//!   [`stack`], the operands of [`add`] and [`mul`]: a mismatch is a type error that
//!   `cargo check` reports ("expected `3`, found `4`").
//! - **Computed sizes are named by the caller.** Stable Rust cannot write a return type
//!   `Tensor1<{A + C}>`, so [`concat`](fn@concat) takes the output as `&mut Tensor1<N>` and checks
//!   `N == A + C` with an inline `const { assert!(..) }`. That assert is evaluated when the
//!   function is instantiated, which is **at build time (`cargo build`, `cargo test`), not under
//!   `cargo check`**. The error is `E0080` and quotes the assert's message:
//!
//! ```compile_fail,E0080
//! use nn_core::ops::concat;
//! use nn_core::tensor::Tensor1;
//! let (a, b) = (Tensor1::<3>::zeros(), Tensor1::<3>::zeros());
//! let mut out = Tensor1::<7>::zeros(); // 3 + 3 is 6, not 7
//! concat(&a, &b, &mut out);
//! ```
//!
//! Inside `network!` none of this is the user's business: the macro computes every merged,
//! flattened or reshaped size from the literal dims and reports a mismatch on the offending
//! tokens before any code is generated.
//!
//! # Allocation
//! Every op writes into an output the caller made once, so none allocates.
//!
//! # Flat helpers
//! [`concat_chunks`], [`split_chunks`], [`sum_into`] and [`accumulate`] work on slices. They
//! are what `network!` calls for its merges: stacking `K` equal per-sample shapes along a new
//! axis and concatenating along any axis are both "interleave per-sample chunks" in row-major
//! storage.

mod chunks;
mod concat;
mod concat_axis;
mod elementwise;
mod reshape;
mod split;
mod stack;

pub use chunks::{accumulate, concat_chunks, split_chunks, sum_into};
pub use concat::{concat, concat_backward, concat_features, concat_features_backward};
pub use concat_axis::{
    concat3_axis1, concat3_axis1_backward, concat3_axis2, concat3_axis2_backward, concat4_axis1,
    concat4_axis1_backward, concat4_axis2, concat4_axis2_backward, concat4_axis3,
    concat4_axis3_backward, split3_axis1, split3_axis1_backward, split3_axis2,
    split3_axis2_backward, split4_axis1, split4_axis1_backward, split4_axis2,
    split4_axis2_backward, split4_axis3, split4_axis3_backward,
};
pub use elementwise::{add, add_backward, mul, mul_backward};
pub use reshape::{flatten, flatten_backward, reshape, reshape_backward};
pub use split::{slice_features, slice_features_backward, split, split_backward};
pub use stack::{stack, stack_backward, stack_batch, stack_batch_backward};
