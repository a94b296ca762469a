// The file holds tensors no layer reads (this fixture carries TFLM's test data beside the
// quantized MLP): the error names them, on the attribute.
use nn::prelude::*;

network! {
    #[weights = "tests/fixtures/int8/mnist_mlp_per_tensor_tflm.safetensors"]
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

fn main() {}
