// Rule: recurrent layers read (T, F) sequences; a flat sample is told to reshape.
use nn::prelude::*;

network! {
    pub struct Net< fc: dense(4 -> 8), rnn(8 -> 3) >
}

fn main() {}
