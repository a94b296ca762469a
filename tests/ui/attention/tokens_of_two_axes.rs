// Rule: token ids come as one sequence per sample.
use nn::prelude::*;

network! {
    pub struct Net< input(4, 8) tokens, embedding(65 -> 16) >
}

fn main() {}
