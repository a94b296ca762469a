// Rule: the macro computes what `flatten` gives, and the next layer must expect exactly that.
use nn::prelude::*;

network! {
    pub struct Lenet<
        input(16, 4, 4),
        flatten,
        fc1: dense(400 -> 120),
    >
}

fn main() {}
