// Rule: `conv1d` reads (C, L) sequences, not (C, H, W) images.
use nn::prelude::*;

network! {
    pub struct Net< input(1, 28, 28), conv1d(28 -> 32, kernel = 3) >
}

fn main() {}
