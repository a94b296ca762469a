// Rule: after `last` a sample is the hidden state (H), not the step count.
use nn::prelude::*;

network! {
    pub struct Net< input(30, 1), rnn(1 -> 3), last, dense(30 -> 10) >
}

fn main() {}
