// Rule: an embedding reads token ids, so its input is declared `input(T) tokens`.
use nn::prelude::*;

network! {
    pub struct Net< input(32), embed: embedding(65 -> 16) >
}

fn main() {}
