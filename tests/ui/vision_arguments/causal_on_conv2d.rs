// Rule: causal padding pads the start of a sequence, so only `conv1d` takes it.
use nn::prelude::*;

network! {
    pub struct Net< input(1, 28, 28), conv2d(1 -> 8, kernel = 3, padding = causal) >
}

fn main() {}
