//! # What a CNN's conv layers learn: kernels and feature maps on MNIST
//!
//! ```text
//! cargo run --release --example feature_maps --features plots                       # 1 epoch, writes target/feature_maps-*.png
//! cargo run --release --example feature_maps --features plots -- --train-limit 10000 --min-accuracy 0.9   # what CI runs
//! cargo run --release --example feature_maps --features plots -- --readme-image docs/images/feature_maps.png
//! ```
//!
//! Trains a small CNN on MNIST for one epoch, then draws what its two conv layers do:
//!
//! ```text
//! (1, 28, 28) conv1 5x5, pad 2 -> (16, 28, 28) relu, max_pool(2) -> (16, 14, 14)
//!             conv2 3x3, pad 1 -> (16, 14, 14) relu, max_pool(2) -> (16, 7, 7)
//!             flatten -> (784) dense -> (10)
//! ```
//!
//! - `--kernels` (default `target/feature_maps-kernels.png`): conv1's 16 learned 5 x 5 kernels,
//!   read from `net.conv1.weight()` (a `Tensor4<16, 1, 5, 5>`, PyTorch's `(out, in, k, k)`
//!   layout), before and after training, in two rows;
//! - `--out` (default `target/feature_maps.png`): for four test digits, the digit, then its 16
//!   conv1 maps `(16, 28, 28)` and 16 conv2 maps `(16, 14, 14)`. The maps are read from the
//!   evaluation tape as named outputs, `tape.outputs().conv1` and `tape.outputs().conv2`, the
//!   conv layers' responses before their ReLU: nothing is recomputed by hand.
//!
//! Signed values are drawn blue (negative), white (0) and red (positive), each kernel or map
//! scaled by its own largest magnitude; digits are grey. The ReLU keeps only the red.
//!
//! Inputs are standardised with MNIST's mean and standard deviation; training is softmax
//! cross-entropy with Adam (lr 1e-3) on batches of 64. It prints the epoch's loss and the test
//! accuracy (last line `test_accuracy: X`), then for each conv layer its weight shape, the mean
//! of each kernel's absolute weights, and the fraction of its responses on the test digits that
//! the ReLU passes (above 0).
//!
//! ## Options
//! | flag | default | |
//! |---|---|---|
//! | `--epochs N` | 1 | passes over the training images |
//! | `--train-limit N` | all 60 000 | train on the first `N` training images only (smoke runs) |
//! | `--seed N` | 0 | init and shuffling |
//! | `--out PATH` | `target/feature_maps.png` | the feature maps |
//! | `--kernels PATH` | `target/feature_maps-kernels.png` | the kernels |
//! | `--readme-image PATH` | none | also write a smaller picture for the README there (two digits' maps and the trained kernels) |
//! | `--min-accuracy X` | none | exit with status 1 when the test accuracy is below `X` |
//! | `--data-dir DIR` | `data/mnist` (or `MNIST_DIR`) | where the MNIST files are (or are fetched to) |

use nn_examples::args;
use nn_examples::images;
use nn_examples::mnist_fetch;

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use args::parse_value;
use nn::data::mnist::{self, Mnist};
use nn::data::{Batch, Batches, Dataset, LastBatch, Standardize};
use nn::prelude::*;

network! {
    /// A small CNN; `conv1` and `conv2` are named, so their outputs can be read from a tape.
    pub struct Cnn<
        input(1, 28, 28),
        conv1: conv2d(1 -> 16, kernel = 5, padding = 2), relu, max_pool(2),
        conv2: conv2d(16 -> 16, kernel = 3, padding = 1), relu, max_pool(2),
        flatten,
        fc: dense(784 -> 10),
    >
}

const BATCH: usize = 64;
const EVAL_BATCH: usize = 500;
/// Test digits whose maps are drawn.
const DIGITS: usize = 4;
/// Test digits the activation figures are measured on.
const MEASURED: usize = 500;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

fn run(options: &Options) -> Result<f64> {
    mnist_fetch::ensure_mnist(&options.data_dir)?;
    let mut data = Mnist::load_images(&options.data_dir)?;
    let stats = Standardize::MNIST;
    stats.apply_dataset(&mut data.train);
    stats.apply_dataset(&mut data.test);
    let train = match options.train_limit {
        Some(n) if n < data.train.len() => Dataset::new(
            data.train.inputs()[..n * mnist::FEATURES].to_vec(),
            data.train.labels()[..n].to_vec(),
            mnist::CLASSES,
        )?,
        _ => data.train.clone(),
    };
    println!(
        "Cnn ({} parameters), Adam lr 1e-3, batch {BATCH}, {} epochs on {} training images, seed {}",
        Cnn::PARAM_COUNT,
        options.epochs,
        train.len(),
        options.seed,
    );

    let mut net = Cnn::seeded(options.seed);
    let initial_kernels = net.conv1.weight().clone();
    let mut adam = Adam::new(1e-3);
    let mut batches = Batches::<BATCH, _>::shuffled(&train, LastBatch::Drop, options.seed)?;
    let mut batch = Batch::new();
    let mut tape = CnnTape::<BATCH>::new();
    let mut dlogits = Tensor2::<BATCH, 10>::zeros();
    let mut accuracy = 0.0;
    for epoch in 1..=options.epochs {
        let start = Instant::now();
        let (mut loss_sum, mut steps) = (0.0f64, 0usize);
        while batches.fill_next(&mut batch).is_some() {
            net.zero_grad();
            let logits = net.forward_train(batch.inputs(), &mut tape);
            loss_sum += f64::from(softmax_cross_entropy(logits, batch.labels(), &mut dlogits)?);
            net.backward_params(&mut tape, &dlogits);
            adam.step(&mut net)?;
            steps += 1;
        }
        let seconds = start.elapsed().as_secs_f64();
        let mut test_batches = Batches::<EVAL_BATCH, _>::sequential(&data.test, LastBatch::Pad)?;
        let mut eval_batch = Batch::new();
        let mut eval_tape = CnnTape::<EVAL_BATCH, Eval>::new();
        let mut correct = 0;
        while test_batches.fill_next(&mut eval_batch).is_some() {
            correct += eval_batch.correct(net.infer(eval_batch.inputs(), &mut eval_tape));
        }
        accuracy = correct as f64 / data.test.len() as f64;
        println!(
            "epoch {epoch}/{}: train_loss {:.4}  test_accuracy {accuracy:.4}  {seconds:.1} s",
            options.epochs,
            loss_sum / steps.max(1) as f64,
        );
    }
    println!("test_accuracy: {accuracy:.4}");

    // Figures on the first MEASURED test digits, read from the named outputs.
    let x = Tensor4::<MEASURED, 1, 28, 28>::from_slice(
        &data.test.inputs()[..MEASURED * mnist::FEATURES],
    )?;
    let mut eval_tape = CnnTape::<MEASURED, Eval>::new();
    net.infer(&x, &mut eval_tape);
    let points = eval_tape.outputs();
    let active =
        |values: &[f32]| values.iter().filter(|&&v| v > 0.0).count() as f64 / values.len() as f64;
    let mean_abs = |w: &[f32], per: usize| -> Vec<String> {
        w.chunks_exact(per)
            .map(|k| format!("{:.3}", k.iter().map(|v| v.abs()).sum::<f32>() / per as f32))
            .collect()
    };
    println!(
        "conv1: weight {:?}, mean |w| per kernel [{}]; {:.1} % of its responses on {MEASURED} test digits pass the ReLU",
        net.conv1.weight().shape(),
        mean_abs(net.conv1.weight().as_slice(), 25).join(", "),
        100.0 * active(points.conv1.as_slice()),
    );
    println!(
        "conv2: weight {:?}, mean |w| per kernel [{}]; {:.1} % of its responses pass the ReLU",
        net.conv2.weight().shape(),
        mean_abs(net.conv2.weight().as_slice(), 16 * 9).join(", "),
        100.0 * active(points.conv2.as_slice()),
    );

    // The kernels: before training (top), after (bottom).
    let mut kernels = images::Grid::new(2, 16, 5, 1);
    for (row, weights) in [&initial_kernels, net.conv1.weight()]
        .into_iter()
        .enumerate()
    {
        for (col, kernel) in weights.as_slice().chunks_exact(25).enumerate() {
            kernels.put(row, col, &images::signed_tile(kernel, images::diverging));
        }
    }
    kernels.save(&options.kernels, 12)?;
    println!(
        "wrote {} (conv1's 16 kernels, 5x5: before training on top, after below)",
        options.kernels.display()
    );

    // One test digit each of four classes: the digit, its conv1 maps, its conv2 maps.
    let picks: Vec<usize> = [0usize, 2, 4, 7]
        .iter()
        .map(|&class| {
            (0..data.test.len())
                .find(|&i| data.test.labels()[i] == class)
                .ok_or("a class is missing from the test set")
        })
        .collect::<Result<_, _>>()?;
    let mut shown = Tensor4::<DIGITS, 1, 28, 28>::zeros();
    for (image, &i) in shown
        .as_mut_slice()
        .chunks_exact_mut(mnist::FEATURES)
        .zip(&picks)
    {
        image.copy_from_slice(data.test.sample(i).ok_or("test set too small")?.0);
    }
    let mut tape = CnnTape::<DIGITS, Eval>::new();
    net.infer(&shown, &mut tape);
    let conv1 = tape.outputs().conv1.as_slice();
    let conv2 = tape.outputs().conv2.as_slice();
    let maps = |digits: usize| {
        // Each digit: a row of 17 tiles (digit, 16 conv1 maps), then a row of 17 (blank, conv2).
        let gaps: Vec<usize> = (0..2 * digits)
            .map(|r| if r > 0 && r % 2 == 0 { 6 } else { 0 })
            .collect();
        let mut grid = images::Grid::with_row_gaps(2 * digits, 17, mnist::SIDE, 2, &gaps);
        for d in 0..digits {
            let digit: Vec<f32> = shown.as_slice()[d * mnist::FEATURES..(d + 1) * mnist::FEATURES]
                .iter()
                .map(|&v| v * stats.std + stats.mean)
                .collect();
            grid.put_grey(2 * d, 0, &digit);
            for c in 0..16 {
                let m1 = &conv1[(d * 16 + c) * 784..(d * 16 + c + 1) * 784];
                grid.put(2 * d, c + 1, &images::signed_tile(m1, images::diverging));
                let m2 = &conv2[(d * 16 + c) * 196..(d * 16 + c + 1) * 196];
                grid.put_scaled(
                    2 * d + 1,
                    c + 1,
                    &images::signed_tile(m2, images::diverging),
                    14,
                    14,
                );
            }
        }
        grid
    };
    maps(DIGITS).save(&options.out, 3)?;
    println!(
        "wrote {} (per digit: the digit and its 16 conv1 maps (28x28), below them its 16 conv2 maps (14x14))",
        options.out.display()
    );
    if let Some(path) = &options.readme_image {
        maps(2).save(path, 2)?;
        println!("wrote {} (the first two digits)", path.display());
    }
    Ok(accuracy)
}

const USAGE: &str = "usage: cargo run --release --example feature_maps --features plots -- \
[--epochs N] [--train-limit N] [--seed N] [--out PATH] [--kernels PATH] [--readme-image PATH] \
[--min-accuracy X] [--data-dir DIR]";

struct Options {
    epochs: usize,
    train_limit: Option<usize>,
    seed: u64,
    out: PathBuf,
    kernels: PathBuf,
    readme_image: Option<PathBuf>,
    min_accuracy: Option<f64>,
    data_dir: PathBuf,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let target = PathBuf::from(env!("WORKSPACE_DIR")).join("target");
        let mut options = Options {
            epochs: 1,
            train_limit: None,
            seed: 0,
            out: target.join("feature_maps.png"),
            kernels: target.join("feature_maps-kernels.png"),
            readme_image: None,
            min_accuracy: None,
            data_dir: std::env::var_os("MNIST_DIR")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(mnist_fetch::default_dir),
        };
        for (flag, value) in args::flags(USAGE)? {
            match flag.as_str() {
                "--epochs" => options.epochs = parse_value(&flag, &value)?,
                "--train-limit" => options.train_limit = Some(parse_value(&flag, &value)?),
                "--seed" => options.seed = parse_value(&flag, &value)?,
                "--out" => options.out = PathBuf::from(value),
                "--kernels" => options.kernels = PathBuf::from(value),
                "--readme-image" => options.readme_image = Some(PathBuf::from(value)),
                "--min-accuracy" => options.min_accuracy = Some(parse_value(&flag, &value)?),
                "--data-dir" => options.data_dir = PathBuf::from(value),
                _ => return Err(format!("unknown argument `{flag}`")),
            }
        }
        Ok(options)
    }
}

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
            Some(min) if accuracy.is_nan() || accuracy < min => {
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
