// Rule: `gelu` takes no arguments (it is always the tanh approximation).
use nn::prelude::*;

network! {
    pub struct Smooth< dense(4 -> 2), gelu(tanh) >
}

fn main() {}
