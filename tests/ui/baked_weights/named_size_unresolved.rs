// A named size no tensor of the weights file gives (a reshape after the last layer): the macro
// cannot size the baked buffer.
use nn::prelude::*;

const N: usize = 2;

network! {
    #[weights = "tests/ui/baked_weights/fc1_100.safetensors"]
    pub struct Tiny< fc1: dense(4 -> 100), relu, fc2: dense(100 -> 2), reshape(1, N) >
}

fn main() {}
