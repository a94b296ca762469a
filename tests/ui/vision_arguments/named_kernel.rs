// Rule: kernel sizes are written out, since the macro computes the output size from them.
use nn::prelude::*;

const K: usize = 3;

network! {
    pub struct Net< input(1, 8, 8), conv2d(1 -> 4, kernel = K) >
}

fn main() {}
