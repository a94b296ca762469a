//! The MNIST MLP as TensorFlow Lite's converter quantized it with one weight scale per tensor
//! (`tests/fixtures/int8/mnist_mlp_per_tensor.tflite`), baked by `network!` from that `.tflite`
//! file itself. `embedded/mnist-mlp-microflow` runs the same file through the `microflow`
//! crate; both time the same work: a float image in (quantized inside), float logits out
//! (dequantized inside).
//!
//! ```text
//! embedded/run.sh
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

network! {
    /// The per-tensor int8 MLP of the `.tflite` fixture.
    #[weights = "../../tests/fixtures/int8/mnist_mlp_per_tensor.tflite"]
    #[baked_only]
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

/// Every embedded test image through `infer_f32`, on the device or the host.
fn run() -> ! {
    let mut pixels = [0.0f32; board::PIXELS];
    let mut work = [0i8; MlpBaked::WORK_LEN];
    let mut logits = [0.0f32; 10];
    board::run(
        "mnist-mlp-tflite",
        &mut pixels,
        board::scaled,
        |pixels, _probe| {
            MlpBaked::infer_f32(pixels, &mut work, &mut logits);
            board::argmax(&logits)
        },
        || None,
    )
}

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    run()
}

#[cfg(not(target_os = "none"))]
fn main() {
    run()
}
