// Rule: `relu`, `sigmoid`, `tanh` and `softmax` take no arguments.
use nn::prelude::*;

network! {
    pub struct Mlp< dense(4 -> 2), relu(2) >
}

fn main() {}
