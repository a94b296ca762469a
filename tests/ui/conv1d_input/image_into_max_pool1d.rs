// Rule: the 1-D pools read (C, L) sequences, not (C, H, W) images.
use nn::prelude::*;

network! {
    pub struct Net< input(3, 32, 32), max_pool1d(2) >
}

fn main() {}
