// Rule: a merge checks its branches' shapes, so a branch must not end in a network declared in
// another `network!` call, whose shape only the compiler knows.
use nn::prelude::*;

network! {
    pub struct Inner< dense(4 -> 4) >
}

network! {
    pub struct Outer< input(4), fork { a: [inner: Inner], b: skip } => add, dense(4 -> 1) >
}

fn main() {}
