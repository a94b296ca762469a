//! # Fashion-MNIST: a CNN past 91 % test accuracy, and its confusion matrix
//!
//! ```text
//! cargo run --release --example fashion_mnist --features plots            # 5 epochs, about 50 s each on one core
//! cargo run --release --example fashion_mnist --features plots -- --out docs/images/fashion_mnist.png   # the README's copy
//! cargo run --release --example fashion_mnist --features plots -- --epochs 1 --train-limit 15000 --min-accuracy 0.8   # CI, ~20 s
//! ```
//!
//! Fashion-MNIST (Zalando, 2017) has MNIST's format — 60 000 training and 10 000 test 28 × 28
//! grey images in 10 classes — but of clothes, and is much harder: a linear model gets about
//! 84 % where it gets 92 % on MNIST, and shirts, T-shirts, pullovers and coats look alike at
//! this size. The network, checked by `network!` at compile time:
//!
//! ```text
//! (1, 28, 28) conv 3x3, same -> (32, 28, 28) batch_norm, relu, max_pool(2) -> (32, 14, 14)
//!             conv 3x3, same -> (64, 14, 14) batch_norm, relu, max_pool(2) -> (64, 7, 7)
//!             flatten -> (3136) dense -> (128) relu, dropout(0.3) -> dense -> (10)
//! ```
//!
//! Inputs are the pixels divided by 255 and standardised with the training set's mean and
//! standard deviation; training is softmax cross-entropy with Adam on batches of 64 reshuffled
//! every epoch from a fixed seed, its learning rate 1e-3 in the first epoch and multiplied by
//! 0.5 in each epoch after. No data augmentation.
//!
//! ## Output
//! It trains through `nn::train::Fit`. After each epoch it prints the training loss and
//! accuracy, the test loss and accuracy (`val_loss`, `val_accuracy`; batch norm and dropout in
//! inference mode, on the `Eval` tape), the epoch's time and throughput; then the per-class
//! test recall, and last `test_accuracy: 0.xxxx`. The default run reaches 91.2 % (91.24 % with
//! seed 0, 91.07 % with `--seed 1`, a thin margin; the test accuracy has about levelled off by
//! the fifth epoch, seed 0 gaining 0.01 points in it and seed 1 losing 0.12, yet `--epochs 6`
//! gave 91.36 % with seed 1). For scale: PyTorch's LeNet with batch norm reaches 88.9 % after
//! 5 epochs; the dataset's README lists 92.5 % for a small two-conv net trained longer. The
//! errors are where one expects: shirts (74.5 % recall) are taken for T-shirts, pullovers and
//! coats, and the rest is mostly right. It writes the test
//! set's confusion matrix as a PNG (`--out`, default `target/fashion_mnist.png`): rows are the
//! true class, columns the predicted one, each cell's count printed and shaded by its share of
//! the row, each row's recall at its right.
//!
//! ## Data
//! The dataset comes from the Debian package `dataset-fashion-mnist`
//! (`0.0~git20200523.55506a9-1`): on the first run `apt-get download` fetches the `.deb` into a
//! temporary folder (no root needed, but the package must be known to apt: run
//! `sudo apt-get update` on a fresh machine), its SHA-256 is checked, `dpkg-deb --fsys-tarfile`
//! and the `tar` crate read its four gzip IDX files, and `flate2` unpacks them. The raw IDX
//! files, each checked by SHA-256, are cached in `data/fashion-mnist/` under MNIST's file names,
//! so `Mnist::load_images` reads them unchanged. Without apt, download the four files from the
//! dataset's GitHub page (gzip or not) into a folder and pass it with `--data-dir`.
//!
//! ## Options
//! | flag | env var | default | |
//! |---|---|---|---|
//! | `--epochs N` | | 5 | passes over the training set |
//! | `--seed N` | | 0 | weight init, dropout and shuffling; the same seed gives the same run |
//! | `--lr X` | | 1e-3 | Adam's learning rate in the first epoch |
//! | `--lr-decay X` | | 0.5 | the learning rate's factor from one epoch to the next |
//! | `--train-limit N` | | all 60 000 | train on the first `N` training images only (quick runs) |
//! | `--min-accuracy X` | | none | exit with status 1 when the final test accuracy is below `X` |
//! | `--out PATH` | | `target/fashion_mnist.png` | where the confusion matrix goes |
//! | `--data-dir DIR` | `FASHION_MNIST_DIR` | `data/fashion-mnist` | where the IDX files are (or are fetched to) |

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use nn_examples::args;
use nn_examples::fashion_fetch;

use args::parse_value;

use nn::data::mnist::Mnist;
use nn::data::{LastBatch, Standardize};
use nn::prelude::*;
use nn::train::{Accuracy, ConfusionMatrix, CrossEntropy, Fit, LearningRateSchedule, predict};

network! {
    /// The Fashion-MNIST CNN: two conv blocks, then a dense head.
    pub struct FashionCnn<
        input(1, 28, 28),
        conv1: conv2d(1 -> 32, kernel = 3, padding = same), batch_norm, relu, max_pool(2),
        conv2: conv2d(32 -> 64, kernel = 3, padding = same), batch_norm, relu, max_pool(2),
        flatten,
        fc1: dense(3136 -> 128), relu, dropout(0.3),
        fc2: dense(128 -> 10),
    >
}

/// The ten classes, in label order.
const CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Training batch size.
const BATCH: usize = 64;
/// Evaluation batch size; divides the 10 000 test images.
const EVAL_BATCH: usize = 500;

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

const USAGE: &str = "usage: cargo run --release --example fashion_mnist --features plots -- \
[--epochs N] [--seed N] [--lr X] [--lr-decay X] [--train-limit N] [--min-accuracy X] [--out PATH] \
[--data-dir DIR]
(or the env var FASHION_MNIST_DIR for the data folder)";

/// Command-line options.
struct Options {
    epochs: usize,
    seed: u64,
    lr: f32,
    lr_decay: f32,
    train_limit: Option<usize>,
    min_accuracy: Option<f64>,
    out: PathBuf,
    data_dir: PathBuf,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut options = Self {
            epochs: 5,
            seed: 0,
            lr: 1e-3,
            lr_decay: 0.5,
            train_limit: None,
            min_accuracy: None,
            out: PathBuf::from(env!("WORKSPACE_DIR"))
                .join("target")
                .join("fashion_mnist.png"),
            data_dir: std::env::var_os("FASHION_MNIST_DIR")
                .filter(|d| !d.is_empty())
                .map_or_else(fashion_fetch::default_dir, PathBuf::from),
        };
        for (flag, value) in args::flags(USAGE)? {
            match flag.as_str() {
                "--epochs" => options.epochs = parse_value(&flag, &value)?,
                "--seed" => options.seed = parse_value(&flag, &value)?,
                "--lr" => options.lr = parse_value(&flag, &value)?,
                "--lr-decay" => options.lr_decay = parse_value(&flag, &value)?,
                "--train-limit" => options.train_limit = Some(parse_value(&flag, &value)?),
                "--min-accuracy" => options.min_accuracy = Some(parse_value(&flag, &value)?),
                "--out" => options.out = PathBuf::from(value),
                "--data-dir" => options.data_dir = PathBuf::from(value),
                _ => return Err(format!("unknown argument `{flag}`")),
            }
        }
        Ok(options)
    }
}

/// Fetches the data if needed, trains, writes the confusion matrix, and returns the final test
/// accuracy.
fn run(options: &Options) -> Result<f64> {
    fashion_fetch::ensure_fashion_mnist(&options.data_dir)?;
    let mut data = Mnist::load_images(&options.data_dir)?;
    if let Some(limit) = options.train_limit {
        data.train = data.train.first(limit);
    }
    let stats = Standardize::fit_dataset(&data.train);
    stats.apply_dataset(&mut data.train);
    stats.apply_dataset(&mut data.test);
    println!(
        "Fashion-MNIST from {}: {} training and {} test images of (1, 28, 28), standardised (mean {:.4}, std {:.4})",
        options.data_dir.display(),
        data.train.len(),
        data.test.len(),
        stats.mean,
        stats.std,
    );

    let mut net = FashionCnn::seeded(options.seed);
    let mut adam = Adam::new(options.lr);
    println!(
        "FashionCnn ({} parameters), Adam lr {} (x{} per epoch), batch {BATCH}, {} epochs, seed {}",
        FashionCnn::PARAM_COUNT,
        options.lr,
        options.lr_decay,
        options.epochs,
        options.seed
    );

    let total_start = Instant::now();
    // `val_` is the test set: each epoch's line shows its loss and accuracy.
    Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(options.epochs)
        .metric(Accuracy::default())
        .callback(LearningRateSchedule::step(1, options.lr_decay))
        .validation(data.test.sequential_batches::<EVAL_BATCH>(LastBatch::Pad)?)
        .run(
            data.train
                .shuffled_batches::<BATCH>(LastBatch::Drop, options.seed)?,
        )?;
    let outputs = predict(
        &net,
        &mut data.test.sequential_batches::<EVAL_BATCH>(LastBatch::Pad)?,
    )?;
    let matrix = ConfusionMatrix::from_outputs(CLASSES.len(), &outputs, data.test.labels())?;
    let (confusion, accuracy) = (matrix.counts(), matrix.accuracy());
    println!(
        "trained in {:.1} s; test recall per class:",
        total_start.elapsed().as_secs_f64()
    );
    for (i, name) in CLASSES.iter().enumerate() {
        let total: usize = confusion[i].iter().sum();
        let (j, &worst) = confusion[i]
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .max_by_key(|&(_, &count)| count)
            .unwrap_or((i, &0));
        println!(
            "  {name:<12} {:5.1} %   most often mistaken for {} ({worst})",
            100.0 * confusion[i][i] as f64 / total.max(1) as f64,
            CLASSES[j],
        );
    }
    matrix.write_png(
        &options.out,
        &format!(
            "Fashion-MNIST test set: {:.2} % correct after {} epoch{}",
            100.0 * accuracy,
            options.epochs,
            if options.epochs == 1 { "" } else { "s" }
        ),
        &CLASSES,
    )?;
    println!("confusion matrix written to {}", options.out.display());
    println!("test_accuracy: {accuracy:.4}");
    Ok(accuracy)
}
