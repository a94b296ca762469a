// Rule: `concat(AXIS)` names an axis the branches have (from 0, the batch not counted).
use nn::prelude::*;

network! {
    pub struct Net<
        input(3),
        fork { a: [relu], b: [tanh] } => concat(1),
        dense(6 -> 1),
    >
}

fn main() {}
