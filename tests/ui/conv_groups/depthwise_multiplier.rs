// Rule: a depthwise convolution gives every input channel the same number of filters.
use nn::prelude::*;

network! {
    pub struct Net< input(8, 6, 6), dw: depthwise(8 -> 12, kernel = 3) >
}

fn main() {}
