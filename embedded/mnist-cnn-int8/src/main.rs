//! The MNIST CNN of `examples/mnist_cnn` in int8: `examples/quantize` calibrated it after
//! training, trained it one epoch more through fake quantization, and wrote
//! `models/mnist_cnn.q.safetensors` (batch norms folded into the convolutions, weights per
//! output channel), which this firmware bakes: int8 weights, int32
//! biases, an `i8` work arena, TensorFlow Lite Micro's arithmetic. `#![no_std]`, no allocator.
//!
//! ```text
//! embedded/run.sh                                   # every firmware, on QEMU and on the host
//! cargo run -p nn-embedded-mnist-cnn-int8 --target thumbv7em-none-eabihf --profile embedded
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

network! {
    /// `examples/mnist_cnn`'s network in int8 (`examples/quantize`, after one epoch of
    /// quantization-aware training; test accuracy 0.9932, the float network's 0.9928).
    #[weights = "../../models/mnist_cnn.q.safetensors"]
    #[baked_only]
    pub struct Cnn<
        input(1, 28, 28),
        conv1: conv2d(1 -> 16, kernel = 5, padding = 2), batch_norm, relu, max_pool(2),
        conv2: conv2d(16 -> 32, kernel = 5, padding = 2), batch_norm, relu, max_pool(2),
        flatten,
        fc1: dense(1568 -> 128), relu, dropout(0.3),
        fc2: dense(128 -> 10),
    >
}

board::firmware_int8!("mnist-cnn-int8", CnnBaked, board::standardized);
