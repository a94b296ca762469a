//! Stack versus concat, the shape lesson of the notes this library grew from: concatenating two
//! (3,) tensors gives (6,); stacking them gives (2, 3).
//!
//! Run it with `cargo run --example stack_vs_concat`.
//!
//! # The compile errors for each mismatch
//!
//! The errors below are the compiler's own output for the UI cases in `tests/ui/op_shapes/`.
//! `cargo test --test ui` checks those cases' `.stderr` files, and `tests/rules_catalogue.rs`
//! checks that every error line quoted here is a line of one of them.
//!
//! Stacking needs parts of one shape. That is a type equality, so a (3,) and a (4,) fail under
//! `cargo check`:
//!
//! ```text
//! error[E0308]: mismatched types
//!  --> tests/ui/op_shapes/stack_unequal.rs:9:27
//!   |
//! 9 |     stack(Axis::<0>, [&a, &c], &mut stacked);
//!   |                           ^^ expected `3`, found `4`
//!   |
//!   = note: expected reference `&nn::prelude::Tensor1<3>`
//!              found reference `&nn::prelude::Tensor1<4>`
//! ```
//!
//! Concatenating computes a size, `3 + 3`. Stable Rust cannot put that sum in a return type, so
//! the caller names the output size and an inline const assert checks it. That assert runs when
//! the call is built (`cargo build`, `cargo run`, `cargo test`), **not** under `cargo check`:
//!
//! ```text
//! error[E0080]: evaluation panicked: `concat` along axis 0: `a` has 3 and `c` has 3 there, so `out` needs 6, not 5; make `out` a `Tensor1<6>`
//!   |
//!   = note: evaluation of `nn::ops::concat::<0, nn::prelude::Tensor1<3>, 3, 5>::{constant#0}` failed here
//! ...
//! note: the above error was encountered while instantiating `fn nn::ops::concat::<0, nn::prelude::Tensor1<3>, 3, 5>`
//!   --> tests/ui/op_shapes/concat_wrong_sum.rs:10:5
//!    |
//! 10 |     concat(Axis::<0>, &a, &b, &mut joined);
//!    |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//! ```
//!
//! The instantiation `concat::<0, Tensor1<3>, 3, 5>` reads as "along axis 0, a `Tensor1<3>`
//! and 3 into 5".
//!
//! # The same in a network
//!
//! In `network!` the macro computes every merged shape itself, so a mismatch is reported on the
//! merge, with both branches' shapes, under `cargo check`. This is the real output of
//! `tests/ui/merge_mismatch/stack_unequal.rs`:
//!
//! ```text
//! error: `stack` needs equal shapes but `left` gives (3) and `right` gives (4)
//!   --> tests/ui/merge_mismatch/stack_unequal.rs:10:14
//!    |
//! 10 |         } => stack,
//!    |              ^^^^^
//! ```
//!
//! And of `tests/ui/merge_mismatch/concat_other_axis.rs`, where two (2, 3) and (3, 2) samples
//! are joined along axis 0:
//!
//! ```text
//! error: `concat(0)` joins axis 0, so the other axes must be equal, but `rows` gives (2, 3) and `turned` gives (3, 2)
//!   --> tests/ui/merge_mismatch/concat_other_axis.rs:10:14
//!    |
//! 10 |         } => concat(0),
//!    |              ^^^^^^^^^
//! ```

use nn::ops::{Axis, concat, stack};
use nn::prelude::*;

network! {
    /// Two branches over one (3) input, joined: (6) per sample.
    pub struct Joined< input(3), fork { a: [dense(3 -> 3)], b: [dense(3 -> 3)] } => concat >

    /// The same branches stacked: (2, 3) per sample.
    pub struct Stacked< input(3), fork { a: [dense(3 -> 3)], b: [dense(3 -> 3)] } => stack >
}

fn main() -> Result<(), Error> {
    let a = Tensor1::<3>::from_slice(&[1.0, 2.0, 3.0])?;
    let b = Tensor1::<3>::from_slice(&[4.0, 5.0, 6.0])?;

    let mut joined = Tensor1::<6>::zeros();
    concat(Axis::<0>, &a, &b, &mut joined);
    println!(
        "concat: {} {:?}",
        shape_text(&joined.shape()),
        joined.as_slice()
    );

    let mut stacked = Tensor2::<2, 3>::zeros();
    stack(Axis::<0>, [&a, &b], &mut stacked);
    println!(
        "stack:  {} {:?}",
        shape_text(&stacked.shape()),
        stacked.as_slice()
    );

    // The networks, on a batch of one sample; the shapes printed are per sample.
    let x = Tensor2::<1, 3>::from_slice(&[1.0, 2.0, 3.0])?;
    let joined: Tensor2<1, 6> = Joined::seeded(0).forward(&x);
    let stacked: Tensor3<1, 2, 3> = Stacked::seeded(0).forward(&x);
    println!("network concat: {}", shape_text(&joined.shape()[1..]));
    println!("network stack:  {}", shape_text(&stacked.shape()[1..]));
    Ok(())
}

/// A shape as the notes write it: `(6)`, `(2, 3)`.
fn shape_text(dims: &[usize]) -> String {
    let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
    format!("({})", dims.join(", "))
}
