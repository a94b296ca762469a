// Rule: vision layers read (C, H, W) images, not sequences.
use nn::prelude::*;

network! {
    pub struct Net< input(30, 8), max_pool(2) >
}

fn main() {}
