// Rule: `conv2d` needs its kernel size.
use nn::prelude::*;

network! {
    pub struct Net< input(1, 8, 8), conv2d(1 -> 4) >
}

fn main() {}
