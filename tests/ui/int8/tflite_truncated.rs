// A truncated `.tflite` is an error on the attribute that says where the file breaks off.
use nn::prelude::*;

network! {
    #[weights = "tests/fixtures/int8/broken/truncated.tflite"]
    pub struct Tiny< fc1: dense(16 -> 8), relu, fc2: dense(8 -> 4) >
}

fn main() {}
