// Rule: `mean_pool` averages the steps of a sequence, so it needs one.
use nn::prelude::*;

network! {
    pub struct Net< fc: dense(64 -> 32), mean_pool >
}

fn main() {}
