//! The MNIST MLP with its weights baked in, built for a Cortex-M4F (`thumbv7em-none-eabihf`):
//! `#![no_std]`, no global allocator, `panic = "abort"` (the `embedded` profile).
//!
//! ```text
//! cargo build -p nn-embedded-mnist-mlp --target thumbv7em-none-eabihf --profile embedded
//! ```
//!
//! `classify` is the entry point a firmware would call; `_start` calls it once on a blank
//! image so that the linker keeps it and everything it reaches, which makes the linked ELF's
//! `.text` and `.rodata` the real cost of the classifier. `.ci/run` checks that the ELF neither
//! defines nor calls an allocator symbol. On the host (where `cargo clippy --workspace` checks
//! it) the same code is an ordinary program that classifies that blank image.
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;

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
    let logits = MlpBaked::infer(pixels, &mut work);
    let mut best = 0;
    for (digit, &logit) in logits.iter().enumerate() {
        if logit > logits[best] {
            best = digit;
        }
    }
    best as u32
}

/// A blank image, the input of the one call `_start` makes.
static BLANK: [f32; MlpBaked::INPUTS] = [0.0; MlpBaked::INPUTS];

/// The program's entry: one classification, then an idle loop.
#[cfg(target_os = "none")]
// SAFETY: `_start` is the entry symbol the linker looks for; nothing else defines it.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let digit = classify(core::hint::black_box(&BLANK));
    core::hint::black_box(digit);
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    println!("a blank image is classified as {}", classify(&BLANK));
}
