// Rule: a depthwise convolution's channels are the ones that come.
use nn::prelude::*;

network! {
    pub struct Net< input(1, 28, 28), conv2d(1 -> 16, kernel = 3), depthwise(32, kernel = 3) >
}

fn main() {}
