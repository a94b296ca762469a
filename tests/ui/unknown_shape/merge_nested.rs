// Rule: a merge checks its branches' shapes, so a branch must not end in a nested network.
use nn::prelude::*;

network! {
    pub struct Inner< dense(4 -> 4) >
    pub struct Outer< input(4), fork { a: [inner: Inner], b: skip } => add, dense(4 -> 1) >
}

fn main() {}
