//! MLPerf Tiny's ResNet-8 (image classification) as `examples/resnet8` trains it on
//! Fashion-MNIST, a stand-in for CIFAR-10, with its weights baked in, run on a Cortex-M4F
//! (`thumbv7em-none-eabihf`): `#![no_std]`, no allocator. Every batch norm folds into the conv
//! before it at bake time; each stage's two branches live in the work arena only until the
//! `add` that merges them.
//!
//! The board embeds MNIST's test images, not Fashion-MNIST's (`embedded/board/build.rs`), so
//! this firmware classifies MNIST digits with a clothes classifier: its "predictions" are
//! clothing classes of digits and its "correct" count means nothing. What `embedded/run.sh`
//! checks still holds: the device gives the host's prediction on every image, and the
//! instructions per inference do not depend on the pixels. The images are standardised with
//! Fashion-MNIST's constants, as the example trains.
//!
//! ```text
//! embedded/run.sh                                   # every firmware, on QEMU and on the host
//! cargo run -p nn-embedded-resnet8 --target thumbv7em-none-eabihf --profile embedded
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

network! {
    /// `examples/resnet8`'s network, with the weights of its default run (5 epochs, seed 0,
    /// `--save models/resnet8.safetensors`; Fashion-MNIST test accuracy 0.9220).
    #[weights = "../../models/resnet8.safetensors"]
    #[baked_only]
    pub struct ResNet8<
        input(1, 28, 28),
        stem: conv2d(1 -> 16, kernel = 3, padding = same), batch_norm, relu,
        stage1: fork {
            body: [
                conv2d(16 -> 16, kernel = 3, padding = same), batch_norm, relu,
                conv2d(16 -> 16, kernel = 3, padding = same), batch_norm,
            ],
            shortcut: skip,
        } => add,
        relu,
        stage2: fork {
            body: [
                conv2d(16 -> 32, kernel = 3, stride = 2, padding = same), batch_norm, relu,
                conv2d(32 -> 32, kernel = 3, padding = same), batch_norm,
            ],
            shortcut: [conv2d(16 -> 32, kernel = 1, stride = 2, padding = same)],
        } => add,
        relu,
        stage3: fork {
            body: [
                conv2d(32 -> 64, kernel = 3, stride = 2, padding = same), batch_norm, relu,
                conv2d(64 -> 64, kernel = 3, padding = same), batch_norm,
            ],
            shortcut: [conv2d(32 -> 64, kernel = 1, stride = 2, padding = same)],
        } => add,
        relu,
        global_avg_pool,
        fc: dense(64 -> 10),
    >
}

/// Fashion-MNIST's training-set pixel mean and standard deviation after dividing by 255, the
/// constants `examples/resnet8` standardises with.
const FASHION_MEAN: f32 = 0.2860;
const FASHION_STD: f32 = 0.3530;

/// `image`'s pixels divided by 255 and standardised with Fashion-MNIST's constants.
fn fashion_standardized(image: &[u8; board::PIXELS], out: &mut [f32; board::PIXELS]) {
    for (value, &pixel) in out.iter_mut().zip(image) {
        *value = (f32::from(pixel) / 255.0 - FASHION_MEAN) / FASHION_STD;
    }
}

board::firmware!("resnet8", ResNet8Baked, fashion_standardized);
