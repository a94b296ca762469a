//! # DS-CNN: MLPerf Tiny's keyword-spotting network, trained on MNIST as a stand-in
//!
//! ```text
//! cargo run --release --example ds_cnn                 # 3 epochs
//! cargo run --release --example ds_cnn --features weights -- --save models/ds_cnn.safetensors
//! ```
//!
//! MLPerf Tiny's keyword-spotting reference (the DS-CNN of Zhang et al., "Hello Edge", 2017)
//! reads a 49 × 10 MFCC "spectrogram" of one second of audio from Google Speech Commands and
//! gives 12 classes. Speech Commands is not available here, so this example keeps the
//! topology and trains it on **MNIST instead**, each 28 × 28 digit read as a one-channel 2-D
//! "spectrogram" `(1, 28, 28)`, with 10 classes; the figures below are MNIST's, not comparable
//! with MLPerf's keyword-spotting accuracy. The network, shape-checked by `network!`:
//!
//! ```text
//! (1, 28, 28) conv 10x4, stride 2, same -> (64, 14, 14) batch_norm, relu
//!   4 x [ depthwise 3x3, same -> (64, 14, 14) batch_norm, relu
//!         pointwise conv 1x1  -> (64, 14, 14) batch_norm, relu ]
//!   global_avg_pool -> (64) dense -> (10)
//! ```
//!
//! `padding = same` is TensorFlow's rule, as in the Keras reference: at stride 2 the output is
//! `ceil(28 / 2) = 14` and the odd padding row and column go to the bottom and right. The
//! reference's two dropouts (0.2 after the first conv, 0.4 before the pooling) are left out;
//! they do nothing at inference. 23 626 trainable parameters (the reference's 12 classes make
//! it 23 756, 24 908 with the batch norms' running statistics, as Keras counts them); 4.17
//! million multiply-accumulates per inference here, 2.66 million in the reference, whose
//! first conv gives 25 × 5 positions where this one gives 14 × 14.
//!
//! Inputs are the pixels divided by 255, standardised with MNIST's training mean 0.1307 and
//! standard deviation 0.3081 (`board::standardized` in `embedded/ds-cnn` does the same).
//! Softmax cross-entropy, Adam at 2e-3 halved each epoch, batches of 64 reshuffled every epoch
//! from the seed. The last line is `test_accuracy: 0.xxxx`.
//!
//! ## Figures
//! The default run (seed 0, 3 epochs) on 2 cores of an AMD EPYC (Zen 3), after the depthwise
//! kernels moved to the row layout (their sums now run in another order, so the bits differ
//! from the earlier build's):
//!
//! | epoch | learning rate | train loss | train accuracy | test accuracy | time |
//! |---|---|---|---|---|---|
//! | 1 | 2e-3 | 0.2252 | 0.9426 | 0.9686 | 63 s |
//! | 2 | 1e-3 | 0.0435 | 0.9878 | 0.9892 | 60 s |
//! | 3 | 5e-4 | 0.0280 | 0.9919 | **0.9908** | 62 s |
//!
//! `models/ds_cnn.safetensors` (103 520 bytes), baked into `embedded/ds-cnn`, is the earlier
//! build's default run (0.9798, 0.9895, **0.9919**; 95 to 149 s an epoch on a machine shared
//! with another training job).
//!
//! On the emulated Cortex-M4F (`embedded/run.sh`, f32, batch norms folded) it takes
//! 10 625 714 instructions per inference, 234 384 B of flash (with the 78 400 B of embedded
//! test images) and 111 568 B of RAM.
//!
//! ## Options
//! | flag | env var | default | |
//! |---|---|---|---|
//! | `--epochs N` | `MNIST_EPOCHS` | 3 | passes over the training set |
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
    /// MLPerf Tiny's DS-CNN (keyword spotting) on `(1, 28, 28)` inputs and 10 classes.
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

/// Training batch size.
const BATCH: usize = 64;
/// Evaluation batch size; divides the 10 000 test images.
const EVAL_BATCH: usize = 500;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let defaults = Defaults {
        epochs: 3,
        lr: 2e-3,
        lr_decay: 0.5,
    };
    cli::main("ds_cnn", defaults, run)
}

/// Fetches the data if needed, trains, and returns the final test accuracy.
fn run(options: &Options) -> Result<f64> {
    mnist_fetch::ensure_mnist(&options.data_dir)?;
    let mut data = Mnist::load_images(&options.data_dir)?;
    for set in [&mut data.train, &mut data.test] {
        Standardize::MNIST.apply_dataset(set);
    }
    let mut net = DsCnn::seeded(options.seed);
    let mut adam = Adam::new(options.lr);
    println!(
        "DS-CNN on MNIST as (1, 28, 28) spectrograms ({} parameters), Adam lr {} (x{} per epoch), batch {BATCH}, {} epochs, seed {}",
        DsCnn::PARAM_COUNT,
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
