// Rule: a dropout probability is at least 0 and below 1.
use nn::prelude::*;

network! {
    pub struct Net< input(8), dense(8 -> 8), dropout(1.5) >
}

fn main() {}
