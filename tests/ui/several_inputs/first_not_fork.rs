// Rule: the item after several inputs is a fork that reads them; a layer cannot tell which
// input it would read.
use nn::prelude::*;

network! {
    pub struct Net< input(a: 3), input(b: 4), dense(3 -> 2) >
}

fn main() {}
