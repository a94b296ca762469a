// Rule: a recurrent layer's features per step equal what the previous layer gives per step.
use nn::prelude::*;

network! {
    pub struct Net< input(30, 1), lstm(8 -> 32), last, dense(32 -> 1) >
}

fn main() {}
