// Rule: an input shape alone is not a network.
use nn::prelude::*;

network! {
    pub struct Nothing< input(4) >
}

fn main() {}
