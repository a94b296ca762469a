// A size written as a named constant takes its value from the weights file; a constant that
// disagrees with the file is an error on the layer whose tensor gave the size, naming both.
use nn::prelude::*;

const HIDDEN: usize = 64;

network! {
    #[weights = "tests/ui/baked_weights/fc1_100.safetensors"]
    pub struct Tiny< fc1: dense(4 -> HIDDEN), relu, fc2: dense(HIDDEN -> 2) >
}

fn main() {}
