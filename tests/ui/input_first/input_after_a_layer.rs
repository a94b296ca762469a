// Rule: `input(..)` declares the network's input shape, so it comes first.
use nn::prelude::*;

network! {
    pub struct Net< dense(4 -> 4), input(4), relu >
}

fn main() {}
