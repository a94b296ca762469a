// Every operator of the model must be a layer of the declaration: one left over is an error
// naming it.
use nn::prelude::*;

network! {
    #[weights = "tests/fixtures/int8/broken/tiny.tflite"]
    pub struct Tiny< fc1: dense(16 -> 8), relu >
}

fn main() {}
