// Rule: `dense` takes flat samples; a multi-axis sample needs `flatten` first.
use nn::prelude::*;

network! {
    pub struct Net< input(4, 7), relu, dense(28 -> 2) >
}

fn main() {}
