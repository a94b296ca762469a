// Rule: a rectangular window's strides tile each padded axis exactly.
use nn::prelude::*;

network! {
    pub struct Kws< input(1, 49, 10), conv2d(1 -> 64, kernel = (10, 4), stride = 2) >
}

fn main() {}
