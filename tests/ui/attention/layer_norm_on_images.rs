// Rule: `layer_norm` normalizes the features of a vector or of each step; images take batch norm.
use nn::prelude::*;

network! {
    pub struct Net< input(1, 28, 28), conv: conv2d(1 -> 8, kernel = 3), layer_norm >
}

fn main() {}
