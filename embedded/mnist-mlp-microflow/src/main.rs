//! The MNIST MLP of `tests/fixtures/int8/mnist_mlp_per_tensor.tflite` through the `microflow`
//! crate (0.1.3): the peer `embedded/mnist-mlp-tflite` is measured against, on the same
//! `.tflite`, the same images and the same harness. MicroFlow's `predict` takes the float
//! image and gives float logits, quantizing and dequantizing inside, as `infer_f32` does.
//!
//! ```text
//! embedded/run.sh
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use microflow::model;
use nalgebra::SMatrix;
use nn_embedded_board as board;

// MicroFlow reads the path from the compiler's working directory: the workspace root.
#[model("tests/fixtures/int8/mnist_mlp_per_tensor.tflite")]
struct Mlp;

/// Every embedded test image through MicroFlow's `predict`, on the device or the host.
fn run() -> ! {
    let mut pixels = [0.0f32; board::PIXELS];
    board::run(
        "mnist-mlp-microflow",
        &mut pixels,
        board::scaled,
        |pixels, _probe| {
            let logits = Mlp::predict(SMatrix::<f32, 1, 784>::from_row_slice(pixels));
            board::argmax(logits.as_slice())
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
