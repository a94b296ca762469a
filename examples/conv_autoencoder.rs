//! # A convolutional autoencoder on MNIST: denoising and inpainting
//!
//! ```text
//! cargo run --release --example conv_autoencoder --features plots                    # both modes, 2 epochs each
//! cargo run --release --example conv_autoencoder --features plots -- --mode denoise  # or --mode inpaint
//! cargo run --release --example conv_autoencoder --features plots -- --epochs 1 --train-limit 10000 \
//!     --max-ratio 0.75 --out target/conv_autoencoder-smoke.png     # what CI runs
//! cargo run --release --example conv_autoencoder --features plots -- --readme-image docs/images/conv_autoencoder.png
//! ```
//!
//! A convolutional encoder squeezes a corrupted digit down to an `(8, 7, 7)` code (392 values
//! for 784 pixels) with convs and max pools; a decoder of bilinear `upsample`s and convs brings
//! it back to `(1, 28, 28)`, and the loss compares that with the *clean* digit, so the network
//! learns to undo the corruption:
//!
//! - `--mode denoise`: Gaussian noise of standard deviation 0.5 on every pixel, clamped to
//!   `[0, 1]`;
//! - `--mode inpaint`: a random 12 x 12 square set to 0 (black).
//!
//! ```text
//! (1, 28, 28) conv 3x3 -> (16, 28, 28) relu, max_pool(2) -> (16, 14, 14)
//!             conv 3x3 -> (16, 14, 14) relu, max_pool(2) -> (16, 7, 7)
//!             conv 3x3 -> (8, 7, 7) relu = code
//!             upsample(2, bilinear) -> (8, 14, 14)  conv 3x3 -> (16, 14, 14) relu
//!             upsample(2, bilinear) -> (16, 28, 28) conv 3x3 -> (1, 28, 28) = pixel logits
//! ```
//!
//! Pixels are the raw brightness divided by 255, in `[0, 1]` (not standardised), input and
//! target alike. The last conv gives one logit per pixel; its sigmoid is the reconstructed
//! brightness, trained with binary cross-entropy against the clean pixels (Adam, lr 2e-3,
//! batches of 64). Every figure below is a mean squared error per pixel on that `[0, 1]` scale.
//!
//! ## Output
//! Each epoch prints the training loss and the test MSE. For each mode it then prints, over the
//! 10 000 test digits (the same corruption each time, from a fixed seed), the reconstruction's
//! MSE against the clean digit beside the corrupted input's MSE against it, and their ratio; for
//! inpainting also both inside the hole only, and the MSE of the *inpainted* digit: the known
//! pixels outside the hole kept, the network's output inside it (the inpainting answer; the
//! network's output outside the hole is a slightly blurred copy, worse than the known pixels).
//! The last line per mode is `<mode>_mse: X`, the reconstruction's MSE for denoising and the
//! inpainted digit's for inpainting; `--max-ratio X` fails the run when that is above `X` times
//! the corrupted input's MSE.
//!
//! The PNG (`--out`, default `target/conv_autoencoder.png`) has three rows per mode, one test
//! digit per class in each column: the corrupted input, the reconstruction, the clean digit
//! (denoising on top, then inpainting).
//!
//! ## Options
//! | flag | default | |
//! |---|---|---|
//! | `--mode denoise\|inpaint\|both` | `both` | which corruption(s) to train for, each its own network |
//! | `--epochs N` | 2 | passes over the training images, per mode |
//! | `--train-limit N` | all 60 000 | train on the first `N` training images only (smoke runs) |
//! | `--seed N` | 0 | init, shuffling and the corruptions |
//! | `--out PATH` | `target/conv_autoencoder.png` | the picture |
//! | `--readme-image PATH` | none | also write a smaller copy of the picture there |
//! | `--max-ratio X` | none | exit with status 1 when a mode's `<mode>_mse` is above `X` times its corrupted input's MSE |
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
use nn::data::{Batch, Batches, Dataset, LastBatch};
use nn::init::{standard_normal, uniform};
use nn::prelude::*;

network! {
    /// Corrupted digit in, clean digit's pixel logits out; `code` is the `(8, 7, 7)` bottleneck.
    pub struct ConvAutoencoder<
        input(1, 28, 28),
        enc1: conv2d(1 -> 16, kernel = 3, padding = 1), relu, max_pool(2),
        enc2: conv2d(16 -> 16, kernel = 3, padding = 1), relu, max_pool(2),
        enc3: conv2d(16 -> 16, kernel = 3, padding = 1), code: relu,
        upsample(2, bilinear),
        dec1: conv2d(16 -> 16, kernel = 3, padding = 1), relu,
        upsample(2, bilinear),
        pixels: conv2d(16 -> 1, kernel = 3, padding = 1),
    >
}

const BATCH: usize = 64;
const EVAL_BATCH: usize = 500;
const LEARNING_RATE: f32 = 2e-3;
/// Standard deviation of `--mode denoise`'s noise.
const NOISE: f32 = 0.5;
/// Side of the square `--mode inpaint` blanks out.
const HOLE: usize = 12;

type Images<const B: usize> = Tensor4<B, 1, 28, 28>;
type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Denoise,
    Inpaint,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Denoise => "denoise",
            Mode::Inpaint => "inpaint",
        }
    }

    /// Writes the corrupted `clean` into `out`; with `holes`, also each image's hole mask
    /// (1 inside the hole) for inpainting.
    fn corrupt<const B: usize>(
        self,
        clean: &Images<B>,
        out: &mut Images<B>,
        mut holes: Option<&mut Images<B>>,
        rng: &mut Rng,
    ) {
        out.as_mut_slice().copy_from_slice(clean.as_slice());
        match self {
            Mode::Denoise => {
                for pixel in out.iter_mut() {
                    *pixel = (*pixel + NOISE * standard_normal(rng)).clamp(0.0, 1.0);
                }
            }
            Mode::Inpaint => {
                if let Some(holes) = holes.as_deref_mut() {
                    holes.iter_mut().for_each(|h| *h = 0.0);
                }
                let last = (mnist::SIDE - HOLE) as f32;
                for b in 0..B {
                    let top = uniform(rng, 0.0, last + 1.0).min(last) as usize;
                    let left = uniform(rng, 0.0, last + 1.0).min(last) as usize;
                    let image = b * mnist::FEATURES;
                    for y in top..top + HOLE {
                        let row = image + y * mnist::SIDE + left;
                        out.as_mut_slice()[row..row + HOLE].fill(0.0);
                        if let Some(holes) = holes.as_deref_mut() {
                            holes.as_mut_slice()[row..row + HOLE].fill(1.0);
                        }
                    }
                }
            }
        }
    }
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// Test-set squared errors per pixel against the clean digits.
#[derive(Default, Debug, Clone, Copy)]
struct TestMse {
    reconstruction: f64,
    corrupted: f64,
    /// Inpainting only: the same inside the holes.
    hole_reconstruction: f64,
    hole_corrupted: f64,
}

fn evaluate(
    net: &ConvAutoencoder,
    test: &Dataset<mnist::Image>,
    mode: Mode,
    seed: u64,
) -> Result<TestMse> {
    let mut batches = Batches::<EVAL_BATCH, _>::sequential(test, LastBatch::Drop)?;
    let mut batch = Batch::new();
    let mut corrupted = Images::<EVAL_BATCH>::zeros();
    let mut holes = Images::<EVAL_BATCH>::zeros();
    let mut tape = ConvAutoencoderTape::<EVAL_BATCH, Eval>::new();
    // The same corruption every time, so epochs are compared on the same inputs.
    let mut rng = nn::init::seeded(seed ^ 0x7e57);
    let mut sums = TestMse::default();
    let (mut pixels, mut hole_pixels) = (0usize, 0usize);
    while batches.fill_next(&mut batch).is_some() {
        let clean = batch.inputs();
        mode.corrupt(clean, &mut corrupted, Some(&mut holes), &mut rng);
        let logits = net.infer(&corrupted, &mut tape);
        for (((&c, &x), &z), &h) in clean
            .iter()
            .zip(corrupted.iter())
            .zip(logits.iter())
            .zip(holes.iter())
        {
            let (r, x) = (f64::from(sigmoid(z) - c).powi(2), f64::from(x - c).powi(2));
            sums.reconstruction += r;
            sums.corrupted += x;
            if mode == Mode::Inpaint && h > 0.5 {
                sums.hole_reconstruction += r;
                sums.hole_corrupted += x;
                hole_pixels += 1;
            }
        }
        pixels += Images::<EVAL_BATCH>::LEN;
    }
    let (n, holes) = (pixels.max(1) as f64, hole_pixels.max(1) as f64);
    Ok(TestMse {
        reconstruction: sums.reconstruction / n,
        corrupted: sums.corrupted / n,
        hole_reconstruction: sums.hole_reconstruction / holes,
        hole_corrupted: sums.hole_corrupted / holes,
    })
}

/// Trains one autoencoder for `mode`; returns it and its final test MSEs.
fn train(
    mode: Mode,
    train: &Dataset<mnist::Image>,
    test: &Dataset<mnist::Image>,
    options: &Options,
) -> Result<(ConvAutoencoder, TestMse)> {
    let mut net = ConvAutoencoder::seeded(options.seed);
    let mut adam = Adam::new(LEARNING_RATE);
    let mut batches = Batches::<BATCH, _>::shuffled(train, LastBatch::Drop, options.seed)?;
    let mut batch = Batch::new();
    let mut tape = ConvAutoencoderTape::<BATCH>::new();
    let mut corrupted = Images::<BATCH>::zeros();
    let mut grad = Images::<BATCH>::zeros();
    let mut rng = nn::init::seeded(options.seed ^ 0xc0a);
    let mut result = TestMse::default();
    for epoch in 1..=options.epochs {
        let start = Instant::now();
        let (mut loss_sum, mut steps) = (0.0f64, 0usize);
        while batches.fill_next(&mut batch).is_some() {
            mode.corrupt(batch.inputs(), &mut corrupted, None, &mut rng);
            net.zero_grad();
            let logits = net.forward_train(&corrupted, &mut tape);
            loss_sum += f64::from(binary_cross_entropy_with_logits(
                logits,
                batch.inputs(),
                &mut grad,
            ));
            net.backward_params(&mut tape, &grad);
            adam.step(&mut net)?;
            steps += 1;
        }
        let seconds = start.elapsed().as_secs_f64();
        result = evaluate(&net, test, mode, options.seed)?;
        println!(
            "{} epoch {epoch}/{}: train BCE {:.4} per pixel  test MSE {:.4}  {seconds:.1} s",
            mode.name(),
            options.epochs,
            loss_sum / steps.max(1) as f64,
            result.reconstruction,
        );
    }
    Ok((net, result))
}

fn run(options: &Options) -> Result<bool> {
    mnist_fetch::ensure_mnist(&options.data_dir)?;
    let data = Mnist::load_images(&options.data_dir)?;
    let train_set = match options.train_limit {
        Some(n) if n < data.train.len() => Dataset::new(
            data.train.inputs()[..n * mnist::FEATURES].to_vec(),
            data.train.labels()[..n].to_vec(),
            mnist::CLASSES,
        )?,
        _ => data.train.clone(),
    };
    println!(
        "ConvAutoencoder ({} parameters), Adam lr {LEARNING_RATE}, batch {BATCH}, {} epochs on {} training images per mode, seed {}",
        ConvAutoencoder::PARAM_COUNT,
        options.epochs,
        train_set.len(),
        options.seed,
    );

    // One test digit per class, for the picture.
    let mut shown = Images::<10>::zeros();
    for (class, image) in shown
        .as_mut_slice()
        .chunks_exact_mut(mnist::FEATURES)
        .enumerate()
    {
        let index = (0..data.test.len())
            .find(|&i| data.test.labels()[i] == class)
            .ok_or("a class is missing from the test set")?;
        image.copy_from_slice(data.test.sample(index).ok_or("test set too small")?.0);
    }
    let mut rows: Vec<Vec<f32>> = Vec::new();
    let mut ok = true;
    for &mode in &options.modes {
        let (net, mse) = train(mode, &train_set, &data.test, options)?;
        let ratio = mse.reconstruction / mse.corrupted.max(1e-12);
        println!(
            "{}: test MSE {:.4} reconstructed vs {:.4} corrupted input (ratio {ratio:.3})",
            mode.name(),
            mse.reconstruction,
            mse.corrupted,
        );
        // What is checked: for inpainting the pixels outside the hole are known, so the
        // inpainted digit keeps them and takes the network's output inside the hole only.
        let (checked, checked_ratio) = match mode {
            Mode::Denoise => (mse.reconstruction, ratio),
            Mode::Inpaint => {
                let hole_fraction = (HOLE * HOLE) as f64 / mnist::FEATURES as f64;
                let inpainted = mse.hole_reconstruction * hole_fraction;
                println!(
                    "{}: inside the {HOLE}x{HOLE} hole: MSE {:.4} reconstructed vs {:.4} corrupted input (ratio {:.3}); \
                     inpainted (known pixels kept): test MSE {inpainted:.4} vs {:.4}",
                    mode.name(),
                    mse.hole_reconstruction,
                    mse.hole_corrupted,
                    mse.hole_reconstruction / mse.hole_corrupted.max(1e-12),
                    mse.corrupted,
                );
                (inpainted, inpainted / mse.corrupted.max(1e-12))
            }
        };
        println!("{}_mse: {checked:.4}", mode.name());
        let ratio = checked_ratio;
        if let Some(max) = options
            .max_ratio
            .filter(|&max| ratio.is_nan() || ratio > max)
        {
            eprintln!(
                "error: {}_mse is {ratio:.3} times the corrupted input's MSE, above the allowed {max}",
                mode.name()
            );
            ok = false;
        }

        let mut corrupted = Images::<10>::zeros();
        let mut rng = nn::init::seeded(options.seed ^ 0x9a1);
        mode.corrupt(&shown, &mut corrupted, None, &mut rng);
        let mut tape = ConvAutoencoderTape::<10, Eval>::new();
        let reconstructed: Vec<f32> = net
            .infer(&corrupted, &mut tape)
            .iter()
            .map(|&z| sigmoid(z))
            .collect();
        rows.push(corrupted.as_slice().to_vec());
        rows.push(reconstructed);
        rows.push(shown.as_slice().to_vec());
    }

    // Three rows per mode, a wider gap between modes.
    let gaps: Vec<usize> = (0..rows.len())
        .map(|r| if r > 0 && r % 3 == 0 { 6 } else { 0 })
        .collect();
    let mut grid = images::Grid::with_row_gaps(rows.len(), 10, mnist::SIDE, 2, &gaps);
    for (r, row) in rows.iter().enumerate() {
        for (c, image) in row.chunks_exact(mnist::FEATURES).enumerate() {
            grid.put_grey(r, c, image);
        }
    }
    grid.save(&options.out, 4)?;
    println!(
        "wrote {} (per mode: corrupted, reconstructed, clean; {})",
        options.out.display(),
        options
            .modes
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", then ")
    );
    if let Some(path) = &options.readme_image {
        grid.save(path, 2)?;
        println!("wrote {}", path.display());
    }
    Ok(ok)
}

const USAGE: &str = "usage: cargo run --release --example conv_autoencoder --features plots -- \
[--mode denoise|inpaint|both] [--epochs N] [--train-limit N] [--seed N] [--out PATH] \
[--readme-image PATH] [--max-ratio X] [--data-dir DIR]";

struct Options {
    modes: Vec<Mode>,
    epochs: usize,
    train_limit: Option<usize>,
    seed: u64,
    out: PathBuf,
    readme_image: Option<PathBuf>,
    max_ratio: Option<f64>,
    data_dir: PathBuf,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut options = Options {
            modes: vec![Mode::Denoise, Mode::Inpaint],
            epochs: 2,
            train_limit: None,
            seed: 0,
            out: PathBuf::from(env!("WORKSPACE_DIR")).join("target/conv_autoencoder.png"),
            readme_image: None,
            max_ratio: None,
            data_dir: std::env::var_os("MNIST_DIR")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(mnist_fetch::default_dir),
        };
        for (flag, value) in args::flags(USAGE)? {
            match flag.as_str() {
                "--mode" => {
                    options.modes = match value.as_str() {
                        "denoise" => vec![Mode::Denoise],
                        "inpaint" => vec![Mode::Inpaint],
                        "both" => vec![Mode::Denoise, Mode::Inpaint],
                        other => {
                            return Err(format!(
                                "`--mode` is `denoise`, `inpaint` or `both`, not `{other}`"
                            ));
                        }
                    }
                }
                "--epochs" => options.epochs = parse_value(&flag, &value)?,
                "--train-limit" => options.train_limit = Some(parse_value(&flag, &value)?),
                "--seed" => options.seed = parse_value(&flag, &value)?,
                "--out" => options.out = PathBuf::from(value),
                "--readme-image" => options.readme_image = Some(PathBuf::from(value)),
                "--max-ratio" => options.max_ratio = Some(parse_value(&flag, &value)?),
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
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
