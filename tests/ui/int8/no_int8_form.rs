// A quantized file bakes an int8 network, and `gelu` has no int8 form yet: the error is on it.
use nn::prelude::*;

network! {
    #[weights = "tests/fixtures/int8/vision.q.safetensors"]
    pub struct Tiny< fc1: dense(4 -> 3), gelu, fc2: dense(3 -> 2) >
}

fn main() {}
