//! # MNIST residual CNN: a conv stem, one residual block, and a dense head
//!
//! ```text
//! cargo run --release --example mnist_residual                 # 2 epochs
//! cargo run --release --example mnist_residual --features weights -- --save models/mnist_residual.safetensors
//! ```
//!
//! A small network with a residual fork, as ResNet-8 (MLPerf Tiny's image classifier) is built
//! from, trained on MNIST. `embedded/mnist-residual` bakes its weights and runs it on an
//! emulated Cortex-M4F:
//!
//! ```text
//! (1, 28, 28) conv 3x3, pad 1 -> (8, 28, 28) batch_norm, relu, max_pool(2) -> (8, 14, 14)
//!   block: [conv 3x3 -> batch_norm, relu, conv 3x3 -> batch_norm] + the identity -> (8, 14, 14)
//!   relu, max_pool(2) -> (8, 7, 7) flatten -> (392) dense -> (10)
//! ```
//!
//! Inputs are the pixels divided by 255, standardised with MNIST's training mean 0.1307 and
//! standard deviation 0.3081 (the constants the firmware uses too). Adam at 2e-3, halved each
//! epoch, batches of 64. The last line is `test_accuracy: 0.xxxx`.
//!
//! ## Options
//! | flag | env var | default | |
//! |---|---|---|---|
//! | `--epochs N` | `MNIST_EPOCHS` | 2 | passes over the training set |
//! | `--seed N` | `MNIST_SEED` | 0 | weight init and shuffling |
//! | `--lr X` | | 2e-3 | Adam's learning rate in the first epoch |
//! | `--lr-decay X` | | 0.5 | the learning rate's factor from one epoch to the next |
//! | `--min-accuracy X` | `MNIST_MIN_ACCURACY` | none | exit with status 1 below `X` |
//! | `--data-dir DIR` | `MNIST_DIR` | `data/mnist` | where the IDX files are (or are fetched to) |
//! | `--save PATH` | | none | write the trained weights as safetensors (feature `weights`) |

use std::error::Error;
use std::process::ExitCode;

use nn_examples::cli;
use nn_examples::mnist_fetch;

use cli::{Defaults, Options};
use nn::data::mnist::Mnist;
use nn::data::{LastBatch, Standardize};
use nn::prelude::*;
use nn::train::{Accuracy, CrossEntropy, Fit, LearningRateSchedule};

network! {
    /// A conv stem, one residual block of two convs, and a dense head.
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

/// Training batch size.
const BATCH: usize = 64;
/// Evaluation batch size; divides the 10 000 test images.
const EVAL_BATCH: usize = 500;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let defaults = Defaults {
        epochs: 2,
        lr: 2e-3,
        lr_decay: 0.5,
    };
    cli::main("mnist_residual", defaults, run)
}

/// Fetches the data if needed, trains, and returns the final test accuracy.
fn run(options: &Options) -> Result<f64> {
    mnist_fetch::ensure_mnist(&options.data_dir)?;
    let mut data = Mnist::load_images(&options.data_dir)?;
    for set in [&mut data.train, &mut data.test] {
        Standardize::MNIST.apply_dataset(set);
    }
    let mut net = Residual::seeded(options.seed);
    let mut adam = Adam::new(options.lr);
    println!(
        "Residual ({} parameters), Adam lr {} (x{} per epoch), batch {BATCH}, {} epochs, seed {}",
        Residual::PARAM_COUNT,
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
