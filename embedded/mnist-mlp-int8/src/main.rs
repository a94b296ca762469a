//! The MNIST MLP of `examples/mnist` in int8: `examples/quantize` calibrated it, trained it one
//! epoch more through fake quantization, and wrote `models/mnist_mlp.q.safetensors`, which this
//! firmware bakes: int8 weights, int32 biases,
//! an `i8` work arena, TensorFlow Lite Micro's arithmetic. `#![no_std]`, no allocator.
//!
//! ```text
//! embedded/run.sh                                   # every firmware, on QEMU and on the host
//! cargo run -p nn-embedded-mnist-mlp-int8 --target thumbv7em-none-eabihf --profile embedded
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

network! {
    /// `examples/mnist`'s MLP in int8 (`examples/quantize`, after one epoch of
    /// quantization-aware training; test accuracy 0.9806, the float network's 0.9776).
    #[weights = "../../models/mnist_mlp.q.safetensors"]
    #[baked_only]
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

board::firmware_int8!("mnist-mlp-int8", MlpBaked, board::scaled);
