// Rule: a learned position table has one row per step of the sequence it is added to.
use nn::prelude::*;

network! {
    pub struct Net< input(1, 28, 28), patches(7), embed: dense(49 -> 64), pos: positional(15, 64) >
}

fn main() {}
