// Rule: a padded `last` reads one token id per step, so the sequence it reads keeps the
// input's number of steps.
use nn::prelude::*;

network! {
    pub struct Net<
        input(16) tokens,
        embedding(100 -> 8),
        reshape(8, 16),
        last(key_padding = 0),
        dense(16 -> 2),
    >
}

fn main() {}
