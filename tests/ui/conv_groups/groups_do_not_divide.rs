// Rule: `groups` divides both channel counts (PyTorch raises the same at construction).
use nn::prelude::*;

network! {
    pub struct Net< input(6, 8, 8), conv2d(6 -> 8, kernel = 3, groups = 4) >
}

fn main() {}
