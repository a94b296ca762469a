// The weights file holds a 4-100-2 MLP; the declaration says 4-3-2. Each wrong tensor is an
// error on the layer that takes it, naming both shapes.
use nn::prelude::*;

network! {
    #[weights = "tests/ui/baked_weights/fc1_100.safetensors"]
    pub struct Tiny< fc1: dense(4 -> 3), relu, fc2: dense(3 -> 2) >
}

fn main() {
    let mut work = [0.0; TinyBaked::WORK_LEN];
    let _ = TinyBaked::infer(&[0.0; 4], &mut work);
}
