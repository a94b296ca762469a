// `fc1.weight` is F64 (a baked network takes F32, or F16/BF16 converted), and the file holds a
// tensor no layer takes.
use nn::prelude::*;

network! {
    #[weights = "tests/ui/baked_weights/fc1_f64.safetensors"]
    pub struct Tiny< fc1: dense(4 -> 3), relu, fc2: dense(3 -> 2) >
}

fn main() {}
