// Rule: `softmax` works on flat samples.
use nn::prelude::*;

network! {
    pub struct Net< input(2, 5), softmax >
}

fn main() {}
