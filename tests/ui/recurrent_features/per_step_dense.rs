// Rule: `dense` on a sequence acts on every step, so it expects the features of one step.
use nn::prelude::*;

network! {
    pub struct Net< input(30, 4), rnn1: rnn(4 -> 16), dense(30 -> 1) >
}

fn main() {}
