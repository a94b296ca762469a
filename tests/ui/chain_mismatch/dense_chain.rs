// Rule: a dense layer's input size must equal what the previous layer gives.
use nn::prelude::*;

network! {
    pub struct Mlp<
        fc1: dense(784 -> 128),
        relu,
        fc2: dense(64 -> 10),
    >
}

fn main() {}
