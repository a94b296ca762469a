// A named size no tensor of the weights file gives (a reshape after the last layer): the macro
// cannot size the baked buffer. That is the one error: code that calls the baked network with
// the declared sizes adds none.
use nn::prelude::*;

const N: usize = 2;

network! {
    #[weights = "tests/ui/baked_weights/fc1_100.safetensors"]
    pub struct Tiny< fc1: dense(4 -> 100), relu, fc2: dense(100 -> 2), reshape(1, N) >
}

fn main() {
    let mut work = [0.0; TinyBaked::WORK_LEN];
    let y: &[f32; 2] = TinyBaked::infer(&[0.0; 4], &mut work);
    println!("{y:?}");
}
