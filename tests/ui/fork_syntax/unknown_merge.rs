// Rule: a fork merges with `concat`, `concat(AXIS)`, `stack` or `add`.
use nn::prelude::*;

network! {
    pub struct Net< input(3), fork { a: [relu], b: skip } => multiply, dense(3 -> 1) >
}

fn main() {}
