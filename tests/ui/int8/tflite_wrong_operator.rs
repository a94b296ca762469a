// `#[weights = "model.tflite"]` reads TensorFlow Lite's file and checks it against the
// declaration: a layer the model does not have is an error on that layer.
use nn::prelude::*;

network! {
    #[weights = "tests/fixtures/int8/broken/tiny.tflite"]
    pub struct Tiny< fc1: dense(16 -> 8), relu, fc2: dense(8 -> 4), softmax >
}

fn main() {}
