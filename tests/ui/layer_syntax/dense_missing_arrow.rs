// Rule: `dense` takes its sizes as `(IN -> OUT)`.
use nn::prelude::*;

network! {
    pub struct Mlp< dense(784, 128) >
}

fn main() {}
