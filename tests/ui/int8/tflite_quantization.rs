// Weights quantized neither per tensor nor per output channel (three scales for eight
// channels) are an error on the layer.
use nn::prelude::*;

network! {
    #[weights = "tests/fixtures/int8/broken/mixed_quantization.tflite"]
    pub struct Tiny< fc1: dense(16 -> 8), relu, fc2: dense(8 -> 4) >
}

fn main() {}
