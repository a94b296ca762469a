//! MLPerf Tiny's DS-CNN (keyword spotting) as `examples/ds_cnn` trains it on MNIST, a stand-in
//! for Speech Commands (each digit a `(1, 28, 28)` "spectrogram"), with its weights baked in,
//! run on a Cortex-M4F (`thumbv7em-none-eabihf`): `#![no_std]`, no allocator. Every batch norm
//! folds into the conv or depthwise conv before it at bake time.
//!
//! ```text
//! embedded/run.sh                                   # every firmware, on QEMU and on the host
//! cargo run -p nn-embedded-ds-cnn --target thumbv7em-none-eabihf --profile embedded
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

network! {
    /// `examples/ds_cnn`'s network, with the weights of its default run (3 epochs, seed 0,
    /// `--save models/ds_cnn.safetensors`; MNIST test accuracy 0.9919).
    #[weights = "../../models/ds_cnn.safetensors"]
    #[baked_only]
    pub struct DsCnn<
        input(1, 28, 28),
        conv1: conv2d(1 -> 64, kernel = (10, 4), stride = 2, padding = same), batch_norm, relu,
        dw1: depthwise(64, kernel = 3, padding = same), batch_norm, relu,
        pw1: conv2d(64 -> 64, kernel = 1), batch_norm, relu,
        dw2: depthwise(64, kernel = 3, padding = same), batch_norm, relu,
        pw2: conv2d(64 -> 64, kernel = 1), batch_norm, relu,
        dw3: depthwise(64, kernel = 3, padding = same), batch_norm, relu,
        pw3: conv2d(64 -> 64, kernel = 1), batch_norm, relu,
        dw4: depthwise(64, kernel = 3, padding = same), batch_norm, relu,
        pw4: conv2d(64 -> 64, kernel = 1), batch_norm, relu,
        global_avg_pool,
        fc: dense(64 -> 10),
    >
}

// The example standardises the pixels with MNIST's mean and standard deviation, as this does.
board::firmware!("ds-cnn", DsCnnBaked, board::standardized);
