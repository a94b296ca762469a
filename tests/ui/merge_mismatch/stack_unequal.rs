// Rule: `stack` needs every branch to give the same shape.
use nn::prelude::*;

network! {
    pub struct Net<
        input(3),
        fork {
            left: [dense(3 -> 3)],
            right: [dense(3 -> 4)],
        } => stack,
        flatten,
        dense(6 -> 1),
    >
}

fn main() {}
