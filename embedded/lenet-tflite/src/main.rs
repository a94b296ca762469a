//! A LeNet as TensorFlow Lite's converter quantized it (`tests/fixtures/int8/mnist_lenet.tflite`,
//! per-channel weights, made by `tests/oracle/int8_generate.py`), baked by `network!` from the
//! `.tflite` file itself: its NHWC weights reordered at compile time, TensorFlow Lite Micro's
//! arithmetic to the bit. `#![no_std]`, no allocator. (The `microflow` crate reads per-tensor
//! weights only, so it has no run of this file beside it.)
//!
//! ```text
//! embedded/run.sh                                   # every firmware, on QEMU and on the host
//! cargo run -p nn-embedded-lenet-tflite --target thumbv7em-none-eabihf --profile embedded
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

network! {
    /// The LeNet of the `.tflite` fixture: pixels in [0, 1], NHWC in TensorFlow Lite.
    #[weights = "../../tests/fixtures/int8/mnist_lenet.tflite"]
    #[baked_only]
    pub struct Lenet<
        input(1, 28, 28),
        conv1: conv2d(1 -> 6, kernel = 5), relu, max_pool(2),
        conv2: conv2d(6 -> 16, kernel = 5, padding = same), relu, max_pool(2),
        flatten,
        fc1: dense(576 -> 64), relu,
        fc2: dense(64 -> 10),
    >
}

board::firmware_int8!("lenet-tflite", LenetBaked, board::scaled);
