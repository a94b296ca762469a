//! The residual CNN of `examples/mnist_residual` (a conv stem, a residual block of two convs,
//! a dense head) with its weights baked in, run on a Cortex-M4F (`thumbv7em-none-eabihf`):
//! `#![no_std]`, no allocator. The fork's two branches live in the work arena only until the
//! `add` that merges them.
//!
//! ```text
//! embedded/run.sh                                   # every firmware, on QEMU and on the host
//! cargo run -p nn-embedded-mnist-residual --target thumbv7em-none-eabihf --profile embedded
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

network! {
    /// `examples/mnist_residual`'s network, with the weights of its default run (2 epochs,
    /// seed 0, `--save models/mnist_residual.safetensors`; test accuracy 0.9831).
    #[weights = "../../models/mnist_residual.safetensors"]
    #[baked_only]
    pub struct Residual<
        input(1, 28, 28),
        stem: conv2d(1 -> 8, kernel = 3, padding = 1), batch_norm, relu, max_pool(2),
        block: fork {
            body: [
                conv2d(8 -> 8, kernel = 3, padding = 1), batch_norm, relu,
                conv2d(8 -> 8, kernel = 3, padding = 1), batch_norm,
            ],
            shortcut: skip,
        } => add,
        relu, max_pool(2),
        flatten,
        head: dense(392 -> 10),
    >
}

board::firmware!("mnist-residual", ResidualBaked, board::standardized);
