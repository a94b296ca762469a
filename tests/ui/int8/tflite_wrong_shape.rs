// A `.tflite` layer of another size than the declaration's is an error on the layer, with both
// shapes.
use nn::prelude::*;

network! {
    #[weights = "tests/fixtures/int8/broken/tiny.tflite"]
    pub struct Tiny< fc1: dense(16 -> 6), relu, fc2: dense(6 -> 4) >
}

fn main() {}
