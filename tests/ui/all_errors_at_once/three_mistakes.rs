// Rule: one build reports every mistake, not just the first.
use nn::prelude::*;

network! {
    pub struct Mlp<
        fc1: dense(784 -> 128),
        sigmod,
        fc2: dense(64 -> 10),
        fc2: dense(10 -> 0),
    >
}

fn main() {}
