// A name used inside a branch and again by a later top-level layer: one error, on the branch's.
use nn::prelude::*;

network! {
    pub struct Clash<
        input(3),
        fork { a: [h: dense(3 -> 3)], b: skip } => add,
        h: dense(3 -> 3),
    >
}

fn main() {}
