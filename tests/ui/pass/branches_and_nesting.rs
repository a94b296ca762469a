// Branched, stacked, residual and nested declarations compile in a strict user crate.
#![deny(warnings, missing_docs)]
#![forbid(unsafe_code)]
//! A user crate.

use nn::prelude::*;

const WIDTH: usize = 3;

network! {
    /// Two towers joined along the features.
    pub struct TwoTower<
        input(WIDTH),
        fork {
            left: [dense(WIDTH -> 3), relu],
            right: [dense(3 -> 3), tanh],
        } => concat,
        head: dense(6 -> 1),
    >

    /// The towers stacked: (2, 3) per sample.
    pub struct Stacked<
        input(3),
        fork { left: [dense(3 -> 3)], right: [dense(3 -> 3)] } => stack,
        flatten,
        dense(6 -> 1),
    >

    /// A residual block.
    pub struct Residual<
        fc: dense(4 -> 8),
        block: fork { body: [dense(8 -> 8), relu, dense(8 -> 8)], shortcut: skip } => add,
        reshape(2, 4),
        flatten,
        out: dense(8 -> 2),
    >

    /// No layers: the input twice.
    struct Twice< input(3), fork { a: skip, b: skip } => concat >

    /// Networks inside a network.
    struct Nested< first: TwoTower, sigmoid, dense(1 -> 4), second: Residual >
}

fn main() {
    let net = Nested::seeded(0);
    let y = net.forward(&Tensor2::<2, 3>::zeros());
    assert_eq!(y.shape(), [2, 2]);
    let stacked = Stacked::seeded(1).forward(&Tensor2::<1, 3>::zeros());
    assert_eq!(stacked.shape(), [1, 1]);
    named::check();
    assert_eq!(Twice::seeded(0).forward(&Tensor2::<1, 3>::zeros()).shape(), [1, 6]);
}

mod named {
    use nn::prelude::*;

    const ROWS: usize = 2;
    const COLS: usize = 3;

    network! {
        /// Named dims through concat, stack, reshape and flatten.
        pub struct Named<
            input(ROWS, COLS),
            flatten,
            fork { l: [dense({ ROWS * COLS } -> COLS)], r: [dense(6 -> COLS)] } => concat,
            reshape(ROWS, COLS),
            fork { p: [relu], q: [tanh] } => stack,
            flatten,
            dense(12 -> 1),
        >
    }

    /// Checks the named network's sizes.
    pub fn check() {
        assert_eq!(Named::INPUTS, 6);
        let y = Named::seeded(0).forward(&Tensor3::<1, ROWS, COLS>::zeros());
        assert_eq!(y.shape(), [1, 1]);
    }
}
