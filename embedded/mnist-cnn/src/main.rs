//! The MNIST CNN of `examples/mnist_cnn` (two conv blocks with batch norm, then a dense head)
//! with its weights baked in, run on a Cortex-M4F (`thumbv7em-none-eabihf`): `#![no_std]`, no
//! allocator. The batch norms fold into the convolutions before them at bake time.
//!
//! ```text
//! embedded/run.sh                                   # every firmware, on QEMU and on the host
//! cargo run -p nn-embedded-mnist-cnn --target thumbv7em-none-eabihf --profile embedded
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

network! {
    /// `examples/mnist_cnn`'s network, with the weights of its default run (4 epochs, seed 0,
    /// `--save models/mnist_cnn.safetensors`; test accuracy 0.9928).
    #[weights = "../../models/mnist_cnn.safetensors"]
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

board::firmware!("mnist-cnn", CnnBaked, board::standardized);
