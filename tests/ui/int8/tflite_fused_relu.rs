// The model fuses a ReLU into its first FULLY_CONNECTED; a declaration without the `relu` is
// another network.
use nn::prelude::*;

network! {
    #[weights = "tests/fixtures/int8/broken/tiny.tflite"]
    pub struct Tiny< fc1: dense(16 -> 8), fc2: dense(8 -> 4) >
}

fn main() {}
