// Rule: token ids are not features: only an embedding reads them.
use nn::prelude::*;

network! {
    pub struct Net< input(32) tokens, fc: dense(32 -> 10) >
}

fn main() {}
