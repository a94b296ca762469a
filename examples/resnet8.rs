//! # ResNet-8: MLPerf Tiny's image classifier, trained on Fashion-MNIST as a stand-in
//!
//! ```text
//! cargo run --release --example resnet8                # 5 epochs
//! cargo run --release --example resnet8 --features weights -- --save models/resnet8.safetensors
//! ```
//!
//! MLPerf Tiny's image-classification reference is a ResNet-8 on CIFAR-10's 32 × 32 colour
//! images. CIFAR-10 is not available here, so this example keeps the topology and trains it on
//! **Fashion-MNIST instead** (28 × 28 grey images of clothes, 10 classes, `(1, 28, 28)`); the
//! figures below are Fashion-MNIST's, not comparable with MLPerf's CIFAR-10 accuracy. The
//! network, shape-checked by `network!`:
//!
//! ```text
//! (1, 28, 28) conv 3x3 -> (16, 28, 28) batch_norm, relu
//!   stage 1: [conv 3x3 16, bn, relu, conv 3x3 16, bn] + identity         -> (16, 28, 28) relu
//!   stage 2: [conv 3x3 32 stride 2, bn, relu, conv 3x3 32, bn]
//!            + conv 1x1 32 stride 2                                      -> (32, 14, 14) relu
//!   stage 3: [conv 3x3 64 stride 2, bn, relu, conv 3x3 64, bn]
//!            + conv 1x1 64 stride 2                                      -> (64, 7, 7) relu
//!   global_avg_pool -> (64) dense -> (10)
//! ```
//!
//! Every conv pads `same`, as the Keras reference does: TensorFlow's rule, which at stride 2
//! gives `ceil(28 / 2) = 14` and `ceil(14 / 2) = 7` and puts the odd padding row and column at
//! the bottom and right. (`padding = 1` at stride 2 does not tile 28 exactly; `network!` asks
//! for `floor`, PyTorch's rounding, which gives the same sizes but pads the top and left too.)
//! The shortcuts of stages 2 and 3 are a 1 × 1 conv at stride 2 without batch norm, as in the
//! reference. 77 898 trainable parameters (the reference's 78 666 counts the batch norms'
//! running statistics and 3 input channels); 9.35 million multiply-accumulates per inference
//! here, 12.5 million in the reference on 32 × 32 images. Its L2 weight decay and data
//! augmentation are left out.
//!
//! Inputs are the pixels divided by 255, standardised with Fashion-MNIST's training-set mean
//! 0.2860 and standard deviation 0.3530 (fixed constants, which `embedded/resnet8` uses too;
//! the example prints the training set's own, which agree to 4 digits). Softmax
//! cross-entropy, Adam at 2e-3 multiplied by 0.6 each epoch, batches of 64 reshuffled every
//! epoch from the seed. The last line is `test_accuracy: 0.xxxx`.
//!
//! ## Figures
//! The default run (seed 0, 5 epochs) on 2 cores of an AMD EPYC (Zen 3) shared with other
//! jobs (10 minutes in all), after the convolutions' bias gradients began to sum in another
//! order:
//!
//! | epoch | learning rate | train loss | train accuracy | test accuracy | time |
//! |---|---|---|---|---|---|
//! | 1 | 2e-3 | 0.4776 | 0.8299 | 0.8409 | 133 s |
//! | 2 | 1.2e-3 | 0.2826 | 0.8981 | 0.9003 | 122 s |
//! | 3 | 7.2e-4 | 0.2308 | 0.9159 | 0.8962 | 125 s |
//! | 4 | 4.3e-4 | 0.1981 | 0.9299 | 0.9178 | 113 s |
//! | 5 | 2.6e-4 | 0.1726 | 0.9381 | **0.9210** | 72 s |
//!
//! `models/resnet8.safetensors` (317 520 bytes), baked into `embedded/resnet8`, is the earlier
//! build's default run (0.8229, 0.8937, 0.9059, 0.9181, **0.9220**).
//!
//! `examples/fashion_mnist`'s two-conv CNN, 5 times the parameters, reaches 91.2 % in as many
//! epochs. On the emulated Cortex-M4F (`embedded/run.sh`, f32, batch norms folded) ResNet-8
//! takes 18 451 662 instructions per inference, 456 928 B of flash (with the 78 400 B of
//! embedded test images) and 173 688 B of RAM.
//!
//! ## Data
//! Fashion-MNIST comes from the Debian package `dataset-fashion-mnist` as in
//! `examples/fashion_mnist.rs` (`apt-get download`, SHA-256 checked, cached in
//! `data/fashion-mnist/`), or from `--data-dir` / `FASHION_MNIST_DIR`.
//!
//! ## Options
//! | flag | env var | default | |
//! |---|---|---|---|
//! | `--epochs N` | `MNIST_EPOCHS` | 5 | passes over the training set |
//! | `--seed N` | `MNIST_SEED` | 0 | weight init and shuffling |
//! | `--lr X` | | 2e-3 | Adam's learning rate in the first epoch |
//! | `--lr-decay X` | | 0.6 | the learning rate's factor from one epoch to the next |
//! | `--min-accuracy X` | `MNIST_MIN_ACCURACY` | none | exit with status 1 below `X` |
//! | `--data-dir DIR` | `FASHION_MNIST_DIR` | `data/fashion-mnist` | where the IDX files are (or are fetched to) |
//! | `--save PATH` | | none | write the trained weights as safetensors (feature `weights`) |

use std::error::Error;
use std::process::ExitCode;

use nn_examples::cli::{self, Defaults, Options};
use nn_examples::fashion_fetch;

use nn::data::mnist::Mnist;
use nn::data::{LastBatch, Standardize};
use nn::prelude::*;
use nn::train::{Accuracy, CrossEntropy, Fit, LearningRateSchedule};

network! {
    /// MLPerf Tiny's ResNet-8 (image classification) on `(1, 28, 28)` inputs.
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

/// Fashion-MNIST's training-set pixel mean and standard deviation after dividing by 255
/// (`Standardize::fit_dataset` on the 60 000 training images gives 0.2860 and 0.3530).
const FASHION: Standardize = Standardize {
    mean: 0.2860,
    std: 0.3530,
};

/// Training batch size.
const BATCH: usize = 64;
/// Evaluation batch size; divides the 10 000 test images.
const EVAL_BATCH: usize = 500;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let defaults = Defaults {
        epochs: 5,
        lr: 2e-3,
        lr_decay: 0.6,
    };
    cli::main_with("resnet8", defaults, &cli::FASHION_MNIST, run)
}

/// Fetches the data if needed, trains, and returns the final test accuracy.
fn run(options: &Options) -> Result<f64> {
    fashion_fetch::ensure_fashion_mnist(&options.data_dir)?;
    let mut data = Mnist::load_images(&options.data_dir)?;
    let fitted = Standardize::fit_dataset(&data.train);
    for set in [&mut data.train, &mut data.test] {
        FASHION.apply_dataset(set);
    }
    println!(
        "Fashion-MNIST from {}: {} training and {} test images of (1, 28, 28), standardised with mean {} and std {} (the training set's: {:.4}, {:.4})",
        options.data_dir.display(),
        data.train.len(),
        data.test.len(),
        FASHION.mean,
        FASHION.std,
        fitted.mean,
        fitted.std,
    );
    let mut net = ResNet8::seeded(options.seed);
    let mut adam = Adam::new(options.lr);
    println!(
        "ResNet-8 ({} parameters), Adam lr {} (x{} per epoch), batch {BATCH}, {} epochs, seed {}",
        ResNet8::PARAM_COUNT,
        options.lr,
        options.lr_decay,
        options.epochs,
        options.seed
    );
    let history = Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(options.epochs)
        .metric(Accuracy::default())
        .callback(LearningRateSchedule::step(1, options.lr_decay))
        .validation(data.test.sequential_batches::<EVAL_BATCH>(LastBatch::Pad)?)
        .run(
            data.train
                .shuffled_batches::<BATCH>(LastBatch::Drop, options.seed)?,
        )?;
    let accuracy = history.last().and_then(|log| log.get("val_accuracy"));
    let accuracy = accuracy.unwrap_or(0.0);
    cli::save_weights(&net, options)?;
    println!("test_accuracy: {accuracy:.4}");
    Ok(accuracy)
}
