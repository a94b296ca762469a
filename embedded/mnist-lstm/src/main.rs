//! The sequential-MNIST LSTM of `examples/mnist_lstm` (an LSTM over the 28 rows of a digit, then
//! a dense head on its final state) with its weights baked in, run on a Cortex-M4F
//! (`thumbv7em-none-eabihf`): `#![no_std]`, no allocator. The LSTM runs the heap layer's
//! batch-1 kernel (`nn::linalg::recurrent`), its every step's gates and two steps' cell state
//! in the work arena.
//!
//! ```text
//! embedded/run.sh                                   # every firmware, on QEMU and on the host
//! cargo run -p nn-embedded-mnist-lstm --target thumbv7em-none-eabihf --profile embedded
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

network! {
    /// `examples/mnist_lstm`'s network, with the weights of its default run (3 epochs, seed 0,
    /// `--save models/mnist_lstm.safetensors`; test accuracy 0.9859): 28 steps (the rows) of
    /// 28 pixels.
    #[weights = "../../models/mnist_lstm.safetensors"]
    #[baked_only]
    pub struct Sequential<
        input(28, 28),
        lstm: lstm(28 -> 128),
        last,
        head: dense(128 -> 10),
    >
}

// The example standardises the pixels (`/ 255`, then the training set's mean and standard
// deviation), as the firmware must.
board::firmware!("mnist-lstm", SequentialBaked, board::standardized);
