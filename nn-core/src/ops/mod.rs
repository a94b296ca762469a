//! Typed tensor ops with backward. Each op is one function whatever the rank; an op along an
//! axis takes the axis as a value, [`Axis<K>`](Axis):
//!
//! | op | backward | shapes |
//! |---|---|---|
//! | [`concat(Axis::<K>, &a, &c, &mut out)`](fn@concat) | [`concat_backward`] | joins along axis `K` |
//! | [`split(Axis::<K>, &x, &mut a, &mut c)`](split) | [`split_backward`] | the inverse of `concat` |
//! | [`slice(Axis::<K>, Start::<S>, &x, &mut out)`](fn@slice) | [`slice_backward`] | entries `S..S + LEN` along `K` |
//! | [`stack(Axis::<K>, [&a, &b, ..], &mut out)`](stack) | [`stack_backward`] | a new axis `K` |
//! | [`reshape(&x, &mut y)`](reshape) | [`reshape_backward`] | same elements, any shape |
//! | [`flatten(&x, &mut y)`](flatten) | [`flatten_backward`] | a batch to `Tensor2<B, F>` |
//! | [`add`], [`mul`] | [`add_backward`], [`mul_backward`] | elementwise, one type |
//!
//! Axes count from 0, the outermost. `concat`, `split` and `slice` work along axis 0 of a
//! `Tensor1` and along any axis but the batch (axis 0) of a `Tensor2`, `Tensor3` or `Tensor4`
//! ([`HasAxis`]); `stack` inserts axis 0 or 1 into a `Tensor1` and any axis after the batch
//! into a `Tensor2` or `Tensor3` ([`InsertAxis`]). Any other axis does not type-check.
//!
//! # How shapes are checked
//! - **Equal sizes are type equalities.** The batch of every op, every axis but the one an op
//!   works along, the parts of [`stack`], the operands of [`add`] and [`mul`]: the other
//!   tensors' types are the first one's with one size changed (`T::Resized<C>`), so a mismatch
//!   is a type error that `cargo check` reports ("expected `3`, found `4`").
//! - **Computed sizes are named by the caller.** Stable Rust cannot write a return type
//!   `Tensor1<{A + C}>`, so [`concat`](fn@concat) takes the output as `&mut T::Resized<N>` and
//!   checks `N == A + C` with an inline `const` block. That check is evaluated when the
//!   function is instantiated, which is **at build time (`cargo build`, `cargo test`), not
//!   under `cargo check`**. The same holds for [`concat_backward`], [`split`],
//!   [`split_backward`], [`slice`](fn@slice) and [`slice_backward`].
//!
//!   A trait bound, which `cargo check` would report, cannot express these checks on stable
//!   Rust: `where [(); N - A - C]:` and `Size<{ A + C }>: ..` need `generic_const_exprs`
//!   (nightly), associated-const equality (`T: HasAxis<K, SIZE = 3>`) is unstable too, and a
//!   helper trait implemented for each valid `(A, C, N)` would need one impl per triple of
//!   sizes (a table that cannot cover every size, and whose error lists unrelated triples).
//!   So the check stays after monomorphization, and its error says as much as it can: the
//!   op, the axis, every size involved and the fix, with the tensor type to write. The error
//!   is `E0080`; rustc's note "the above error was encountered while instantiating" points at
//!   the call in your code (the primary location is inside `core`'s `panic!`, which no
//!   library can change):
//!
//! ```text
//! error[E0080]: evaluation panicked: `concat` along axis 1: `a` has 3 and `c` has 2 there, so `out` needs 5, not 4; make `out` a `Tensor2<2, 5>`
//! ...
//! note: the above error was encountered while instantiating `fn nn::ops::concat::<1, nn::prelude::Tensor2<2, 3>, 2, 4>`
//!   --> tests/ui/op_sizes/concat_out.rs:10:5
//!    |
//! 10 |     concat(Axis::<1>, &a, &c, &mut out);
//!    |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//! ```
//!
//!   `tests/ui/op_sizes/` holds one such case per function. A wrong sum in a doc test:
//!
//! ```compile_fail,E0080
//! use nn_core::ops::{Axis, concat};
//! use nn_core::tensor::Tensor1;
//! let (a, b) = (Tensor1::<3>::zeros(), Tensor1::<3>::zeros());
//! let mut out = Tensor1::<7>::zeros(); // 3 + 3 is 6, not 7
//! concat(Axis::<0>, &a, &b, &mut out);
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

mod axis;
mod concat;
mod elementwise;
mod reshape;
mod sizes;
mod split;
mod stack;

pub use crate::linalg::chunks::{accumulate, concat_chunks, split_chunks, sum_into};
pub use axis::{Axis, Batched, HasAxis, InsertAxis, Start};
pub use concat::{concat, concat_backward};
pub use elementwise::{add, add_backward, mul, mul_backward};
pub use reshape::{flatten, flatten_backward, reshape, reshape_backward};
pub use split::{slice, slice_backward, split, split_backward};
pub use stack::{stack, stack_backward};
