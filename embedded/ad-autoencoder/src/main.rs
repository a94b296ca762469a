//! MLPerf Tiny's anomaly-detection autoencoder as `examples/anomaly_autoencoder` trains it on
//! MNIST's digits 0 to 8 (a stand-in for ToyADMOS machine sounds; 784 values wide where the
//! reference is 640), with its weights baked in, run on a Cortex-M4F
//! (`thumbv7em-none-eabihf`): `#![no_std]`, no allocator. Every batch norm folds into the
//! dense layer before it at bake time.
//!
//! The network is not a classifier: it gives 784 values, the input rebuilt, and the anomaly
//! score is their mean squared error against the input. `board::firmware!` takes the `argmax`
//! of the output as a class, which means nothing here, so this firmware calls `board::run`
//! itself with a closure that runs the network, computes the score, and gives it as a digit:
//! the score in fifths of the example's threshold (the 95th percentile of the training digits'
//! scores), capped at 9, so that 5 and above is "anomalous" (the example's flag). That digit
//! is what `embedded/run.sh` compares with the host, and what the instruction count includes
//! (the score is 784 subtractions and multiply-adds beside the network's 304 000
//! multiply-accumulates). The harness's "correct" line compares that digit with the image's
//! label and means nothing here.
//!
//! ```text
//! embedded/run.sh                                   # every firmware, on QEMU and on the host
//! cargo run -p nn-embedded-ad-autoencoder --target thumbv7em-none-eabihf --profile embedded
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

network! {
    /// `examples/anomaly_autoencoder`'s network, with the weights of its default run
    /// (30 epochs, seed 0, `--save models/ad_autoencoder.safetensors`; test AUC 0.7583 at
    /// flagging the 9s).
    #[weights = "../../models/ad_autoencoder.safetensors"]
    #[baked_only]
    pub struct AdAutoencoder<
        input(784),
        enc1: dense(784 -> 128), batch_norm, relu,
        enc2: dense(128 -> 128), batch_norm, relu,
        enc3: dense(128 -> 128), batch_norm, relu,
        enc4: dense(128 -> 128), batch_norm, relu,
        code: dense(128 -> 8), batch_norm, relu,
        dec1: dense(8 -> 128), batch_norm, relu,
        dec2: dense(128 -> 128), batch_norm, relu,
        dec3: dense(128 -> 128), batch_norm, relu,
        dec4: dense(128 -> 128), batch_norm, relu,
        out: dense(128 -> 784),
    >
}

/// The example's threshold: the 95th percentile of the training digits' anomaly scores (its
/// default run prints it).
const THRESHOLD: f32 = 0.036271;

/// The anomaly score (the reconstruction's mean squared error) in fifths of [`THRESHOLD`],
/// capped at 9: 5 and above is flagged.
fn level(input: &[f32; board::PIXELS], reconstruction: &[f32; board::PIXELS]) -> u8 {
    let mut sum = 0.0f32;
    for (&x, &y) in input.iter().zip(reconstruction) {
        let d = y - x;
        sum += d * d;
    }
    let score = sum / board::PIXELS as f32;
    // `as` saturates, and a NaN becomes 0; `min` caps the rest.
    ((score * 5.0 / THRESHOLD) as u8).min(9)
}

/// Every embedded test image through the network, on the device or the host.
fn run() -> ! {
    let mut pixels = [0.0f32; board::PIXELS];
    let mut work = [0.0f32; AdAutoencoderBaked::WORK_LEN];
    board::run(
        "ad-autoencoder",
        &mut pixels,
        board::scaled,
        |pixels, probe| {
            let reconstruction = match probe {
                None => AdAutoencoderBaked::infer(pixels, &mut work),
                Some(probe) => {
                    AdAutoencoderBaked::infer_probed(pixels, &mut work, &mut |layer, macs| {
                        probe.mark(layer, macs)
                    })
                }
            };
            level(pixels, reconstruction)
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
