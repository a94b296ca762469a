// Only dense layers, elementwise activations, softmax, flatten, reshape and dropout can be
// baked so far.
use nn::prelude::*;

network! {
    #[weights = "tests/ui/baked_weights/fc1_100.safetensors"]
    #[baked_only]
    pub struct Conv< input(1, 4, 4), conv1: conv2d(1 -> 2, kernel = 3), flatten, fc1: dense(8 -> 2) >
}

fn main() {}
