// Rule: a flat sample is one channel once reshaped.
use nn::prelude::*;

network! {
    pub struct Net< input(784), conv1d(1 -> 16, kernel = 5) >
}

fn main() {}
