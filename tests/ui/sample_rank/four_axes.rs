// Rule: a sample has at most 3 axes (a batch is at most a `Tensor4`).
use nn::prelude::*;

network! {
    pub struct Net< input(2, 3, 4, 5), flatten, dense(120 -> 1) >
}

fn main() {}
