//! The MNIST MLP with its weights baked in, run on a Cortex-M4F (`thumbv7em-none-eabihf`):
//! `#![no_std]`, no global allocator, `panic = "abort"` (the `embedded` profile).
//!
//! ```text
//! embedded/run.sh                                   # every firmware, on QEMU and on the host
//! cargo run -p nn-embedded-mnist-mlp --target thumbv7em-none-eabihf --profile embedded
//! cargo run -p nn-embedded-mnist-mlp                # the host's predictions
//! ```
//!
//! It classifies the first MNIST test images embedded by `nn-embedded-board` and reports the
//! predictions, the accuracy and, on the device, the instructions per inference and the
//! stack's peak. `classify` is the entry point a firmware would call; `.ci/run` checks that the
//! ELF neither defines nor calls an allocator symbol.
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

network! {
    /// The `mnist` example's MLP, with the weights it trained (`models/mnist_mlp.safetensors`).
    #[weights = "../../models/mnist_mlp.safetensors"]
    #[baked_only]
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

/// The digit (0 to 9) of a 28 × 28 image of pixels / 255, row by row.
// SAFETY: `no_mangle` exports the function under its own name for C callers; no other symbol
// of the program is called `classify`.
#[unsafe(no_mangle)]
pub extern "C" fn classify(pixels: &[f32; MlpBaked::INPUTS]) -> u32 {
    let mut work = [0.0f32; MlpBaked::WORK_LEN];
    u32::from(board::argmax(MlpBaked::infer(pixels, &mut work)))
}

/// Every embedded test image through [`classify`], on the device or the host.
/// Every embedded test image through [`classify`] (through `infer_probed` for the per-layer
/// pass), on the device or the host. Calling `classify` keeps it in the linked ELF, where
/// `.ci/run` looks for it.
fn run() -> ! {
    let mut pixels = [0.0f32; board::PIXELS];
    let mut work = [0.0f32; MlpBaked::WORK_LEN];
    board::run(
        "mnist-mlp",
        &mut pixels,
        board::scaled,
        |pixels, probe| match probe {
            None => classify(pixels) as u8,
            probe => board::classify!(MlpBaked, pixels, &mut work, probe),
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
