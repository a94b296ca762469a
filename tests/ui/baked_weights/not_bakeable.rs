// A nested network cannot be baked yet: the error is on the layer and says why.
use nn::prelude::*;

network! {
    pub struct Inner< dense(3 -> 4) >

    #[weights = "tests/ui/baked_weights/fc1_100.safetensors"]
    pub struct Outer< input(3), inner: Inner, fc1: dense(4 -> 2) >
}

fn main() {}
