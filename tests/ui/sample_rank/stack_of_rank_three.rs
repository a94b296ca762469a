// Rule: stacking adds an axis, and a sample has at most 3.
use nn::prelude::*;

network! {
    pub struct Net< input(2, 2, 2), fork { a: [relu], b: [tanh] } => stack, flatten, dense(16 -> 1) >
}

fn main() {}
