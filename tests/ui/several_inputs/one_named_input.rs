// Rule: a single input is not named; names are for a network with several.
use nn::prelude::*;

network! {
    pub struct Net< input(image: 784), dense(784 -> 10) >
}

fn main() {}
