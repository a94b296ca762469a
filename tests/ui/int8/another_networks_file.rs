// The quantized file is another network's: the first tensor this one reads is missing, and
// the error is on the layer that reads it.
use nn::prelude::*;

network! {
    #[weights = "tests/fixtures/int8/vision.q.safetensors"]
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

fn main() {}
