// A size written as a named constant: the macro cannot size the baked buffers and weights.
use nn::prelude::*;

const OUT: usize = 2;

network! {
    #[weights = "tests/ui/baked_weights/fc1_100.safetensors"]
    pub struct Tiny< fc1: dense(4 -> 100), relu, fc2: dense(100 -> OUT) >
}

fn main() {}
