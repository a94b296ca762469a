// Rule: `last` keeps the final step of a sequence, so it needs one.
use nn::prelude::*;

network! {
    pub struct Net< fc: dense(4 -> 8), last >
}

fn main() {}
