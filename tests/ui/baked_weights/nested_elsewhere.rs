// A nested network declared in another `network!` call cannot be baked: the macro cannot see
// its layers. The error is on the layer, and says to declare it in the same call.
use nn::prelude::*;

network! {
    pub struct Inner< dense(3 -> 4) >
}

network! {
    #[weights = "tests/ui/baked_weights/fc1_100.safetensors"]
    pub struct Outer< input(3), inner: Inner, fc1: dense(4 -> 2) >
}

fn main() {}
