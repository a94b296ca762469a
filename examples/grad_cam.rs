//! # Grad-CAM on an MNIST CNN: where the network looks, through a named conv output and an
//! injected gradient
//!
//! ```text
//! cargo run --release --example grad_cam --features plots                       # 2 epochs, writes target/grad_cam.png
//! cargo run --release --example grad_cam --features plots -- --epochs 1 --train-limit 10000 --min-accuracy 0.9 \
//!     --min-drop-ratio 1.5 --out target/grad_cam-smoke.png    # what CI runs
//! cargo run --release --example grad_cam --features plots -- --readme-image docs/images/grad_cam.png
//! ```
//!
//! Grad-CAM (Selvaraju et al., 2017) asks which part of an image made a CNN choose a class.
//! Take the last conv layer's maps `A` (here the named point `features`, `(32, 14, 14)` after
//! its ReLU) and the gradient `G` of the class's logit, before the softmax, with respect to
//! them. Each channel's weight is the global average pool of its gradient, `α_c = mean(G_c)`,
//! and the heatmap is `ReLU(Σ_c α_c A_c)`, upsampled bilinearly to 28 x 28 and divided by its
//! maximum (plus 1e-8).
//!
//! The gradient comes from the library's injected gradients: a training-mode forward pass
//! records the tape, a one-hot gradient is injected at the named `logits` layer with
//! `backward_params_with(&mut tape, &zeros, &CnnInject { logits: Some(&one_hot), .. })`, and
//! `tape.outputs().features` and `tape.gradients().features` are the maps and their gradient.
//! The network has no batch norm or dropout, so its training-mode pass is its inference. The
//! Grad-CAM arithmetic is `examples/support/grad_cam.rs`, which `tests/grad_cam.rs` also checks.
//!
//! ```text
//! (1, 28, 28) conv 5x5, pad 2 -> (16, 28, 28) relu, max_pool(2) -> (16, 14, 14)
//!             conv 3x3, pad 1 -> (32, 14, 14) relu = features    max_pool(2) -> (32, 7, 7)
//!             flatten -> (1568) dense -> (64) relu -> dense = logits (10)
//! ```
//!
//! ## Output
//! Each epoch prints the training loss and test accuracy. Then a deletion check of the heatmaps
//! on 500 correctly classified test digits: the mean drop of the class's log-probability (its
//! logit less the log-sum-exp of all ten) when the `--mask` (default 30) ink pixels (brightness
//! above 0.5) that Grad-CAM ranks highest are set to the background, against as many random ink
//! pixels (averaged over 5 draws), then the same for the raw class logit; the last line is
//! `drop_ratio: X`, the log-probability drops' ratio (above 1: Grad-CAM found the pixels that
//! matter). The log-probability is the fair score: thinning a digit's ink at random lowers every
//! logit at once, which the raw logit counts as if it were evidence against the class. Only ink
//! pixels are compared, as setting a background pixel to the background changes nothing, while
//! Grad-CAM rightly lights empty regions too (the open left side of a 7).
//!
//! The PNG (`--out`, default `target/grad_cam.png`) shows two test digits of each class, 0 to 9
//! from left to right: each digit (grey), above its Grad-CAM heatmap for the predicted class
//! over it (black-purple-red-yellow, brighter is more important), in four rows.
//!
//! ## Options
//! | flag | default | |
//! |---|---|---|
//! | `--epochs N` | 2 | passes over the training images |
//! | `--train-limit N` | all 60 000 | train on the first `N` training images only (smoke runs) |
//! | `--seed N` | 0 | init, shuffling and the random masks |
//! | `--mask N` | 30 | ink pixels masked per digit in the deletion check |
//! | `--out PATH` | `target/grad_cam.png` | the picture |
//! | `--readme-image PATH` | none | also write a smaller copy of the picture there |
//! | `--min-accuracy X` | none | exit with status 1 when the test accuracy is below `X` |
//! | `--min-drop-ratio X` | none | exit with status 1 when `drop_ratio` is below `X` |
//! | `--data-dir DIR` | `data/mnist` (or `MNIST_DIR`) | where the MNIST files are (or are fetched to) |

use nn_examples::args;
use nn_examples::grad_cam;
use nn_examples::images;
use nn_examples::mnist_fetch;

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use args::parse_value;
use nn::data::mnist::{self, Mnist};
use nn::data::{Batch, Batches, Dataset, LastBatch, Standardize};
use nn::init::uniform;
use nn::prelude::*;

network! {
    /// The CNN: `features` is the last conv map (after its ReLU), `logits` the class scores.
    pub struct Cnn<
        input(1, 28, 28),
        conv1: conv2d(1 -> 16, kernel = 5, padding = 2), relu, max_pool(2),
        conv2: conv2d(16 -> 32, kernel = 3, padding = 1), features: relu, max_pool(2),
        flatten,
        fc1: dense(1568 -> 64), relu,
        logits: dense(64 -> 10),
    >
}

const BATCH: usize = 64;
const EVAL_BATCH: usize = 500;
/// Digits per Grad-CAM pass of the deletion check.
const CHECK: usize = 500;
/// Random masks per digit in the deletion check.
const DRAWS: usize = 5;
/// Columns of the picture, one per class; two digits each.
const SHOWN: usize = 20;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// Grad-CAM heatmaps (28 x 28, in `[0, 1)`) of `x` for `classes`, and the logits.
fn heatmaps<const B: usize>(
    net: &mut Cnn,
    tape: &mut CnnTape<B>,
    x: &Tensor4<B, 1, 28, 28>,
    classes: &[usize; B],
) -> Vec<Vec<f32>> {
    net.forward_train(x, tape);
    let one_hot = grad_cam::one_hot::<B, 10>(classes);
    let inject = CnnInject {
        logits: Some(&one_hot),
        ..Default::default()
    };
    net.backward_params_with(tape, &Tensor2::zeros(), &inject);
    grad_cam::grad_cam(
        tape.outputs().features,
        tape.gradients().features,
        mnist::SIDE,
    )
}

fn run(options: &Options) -> Result<(f64, f64)> {
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
        accuracy = evaluate(&net, &data.test)?;
        println!(
            "epoch {epoch}/{}: train_loss {:.4}  test_accuracy {accuracy:.4}  {seconds:.1} s",
            options.epochs,
            loss_sum / steps.max(1) as f64,
        );
    }
    println!("test_accuracy: {accuracy:.4}");

    let ratio = deletion_check(&mut net, &data.test, stats, options)?;
    write_png(&mut net, &data.test, stats, options)?;
    println!("drop_ratio: {ratio:.3}");
    Ok((accuracy, ratio))
}

/// `log softmax(logits)[class]`: the class logit less the log-sum-exp of all of them.
fn log_softmax(logits: &[f32], class: usize) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|&z| (z - max).exp()).sum();
    logits[class] - max - sum.ln()
}

fn evaluate(net: &Cnn, test: &Dataset<mnist::Image>) -> Result<f64> {
    let mut batches = Batches::<EVAL_BATCH, _>::sequential(test, LastBatch::Pad)?;
    let mut batch = Batch::new();
    let mut tape = CnnTape::<EVAL_BATCH, Eval>::new();
    let mut correct = 0;
    while batches.fill_next(&mut batch).is_some() {
        correct += batch.correct(net.infer(batch.inputs(), &mut tape));
    }
    Ok(correct as f64 / test.len().max(1) as f64)
}

/// Masks the top-Grad-CAM ink pixels and random ink pixels of correctly classified test digits;
/// prints the mean class-logit drops and returns their ratio.
fn deletion_check(
    net: &mut Cnn,
    test: &Dataset<mnist::Image>,
    stats: Standardize,
    options: &Options,
) -> Result<f64> {
    // The first CHECK test digits the network gets right.
    let mut eval_tape = CnnTape::<EVAL_BATCH, Eval>::new();
    let mut chosen = Vec::with_capacity(CHECK);
    let mut start = 0;
    while chosen.len() < CHECK && start + EVAL_BATCH <= test.len() {
        let x = Tensor4::<EVAL_BATCH, 1, 28, 28>::from_slice(
            &test.inputs()[start * mnist::FEATURES..(start + EVAL_BATCH) * mnist::FEATURES],
        )?;
        let logits = net.infer(&x, &mut eval_tape);
        for b in 0..EVAL_BATCH {
            if argmax(logits.row(b)) == test.labels()[start + b] && chosen.len() < CHECK {
                chosen.push(start + b);
            }
        }
        start += EVAL_BATCH;
    }
    let mut x = Tensor4::<CHECK, 1, 28, 28>::zeros();
    for (image, &i) in x
        .as_mut_slice()
        .chunks_exact_mut(mnist::FEATURES)
        .zip(&chosen)
    {
        image.copy_from_slice(test.sample(i).ok_or("test set too small")?.0);
    }
    let classes: [usize; CHECK] = std::array::from_fn(|b| test.labels()[chosen[b]]);

    let mut tape = CnnTape::<CHECK>::new();
    let cams = heatmaps(net, &mut tape, &x, &classes);
    let mut eval = CnnTape::<CHECK, Eval>::new();
    // Per digit: (class logit, class log-probability).
    let scores = |logits: &Tensor2<CHECK, 10>| -> Vec<(f32, f32)> {
        (0..CHECK)
            .map(|b| {
                let row = logits.row(b);
                (row[classes[b]], log_softmax(row, classes[b]))
            })
            .collect()
    };
    let clean = scores(net.infer(&x, &mut eval));
    let background = stats.one(0.0);
    let ink_level = stats.one(0.5);
    let ink: Vec<Vec<usize>> = x
        .as_slice()
        .chunks_exact(mnist::FEATURES)
        .map(|image| {
            (0..mnist::FEATURES)
                .filter(|&p| image[p] > ink_level)
                .collect()
        })
        .collect();

    let mut top = x.clone();
    for ((image, cam), ink) in top
        .as_mut_slice()
        .chunks_exact_mut(mnist::FEATURES)
        .zip(&cams)
        .zip(&ink)
    {
        let on_ink: Vec<f32> = ink.iter().map(|&p| cam[p]).collect();
        for i in grad_cam::top_k(&on_ink, options.mask.min(ink.len())) {
            image[ink[i]] = background;
        }
    }
    // The mean drops of (the class logit, the class log-probability).
    let mean_drop = |after: &[(f32, f32)]| -> (f64, f64) {
        let (mut logit, mut log_p) = (0.0, 0.0);
        for (c, a) in clean.iter().zip(after) {
            logit += f64::from(c.0 - a.0) / CHECK as f64;
            log_p += f64::from(c.1 - a.1) / CHECK as f64;
        }
        (logit, log_p)
    };
    let top_drop = mean_drop(&scores(net.infer(&top, &mut eval)));
    let mut rng = nn::init::seeded(options.seed ^ 0x3a5c);
    let mut random_drop = (0.0, 0.0);
    for _ in 0..DRAWS {
        let mut random = x.clone();
        for (image, ink) in random
            .as_mut_slice()
            .chunks_exact_mut(mnist::FEATURES)
            .zip(&ink)
        {
            let mut order = ink.clone();
            // A partial Fisher-Yates shuffle: the first `mask` entries are a uniform sample.
            for i in 0..options.mask.min(order.len()) {
                let left = order.len() - i;
                let j = i + (uniform(&mut rng, 0.0, left as f32) as usize).min(left - 1);
                order.swap(i, j);
                image[order[i]] = background;
            }
        }
        let drop = mean_drop(&scores(net.infer(&random, &mut eval)));
        random_drop.0 += drop.0 / DRAWS as f64;
        random_drop.1 += drop.1 / DRAWS as f64;
    }
    let mean_ink = ink.iter().map(Vec::len).sum::<usize>() as f64 / CHECK as f64;
    println!(
        "deletion check: {CHECK} correctly classified test digits ({mean_ink:.0} ink pixels each on average), {} ink pixels masked",
        options.mask
    );
    println!(
        "  class log-probability drop: {:.3} top Grad-CAM vs {:.3} random",
        top_drop.1, random_drop.1
    );
    println!(
        "  class logit drop:           {:.3} top Grad-CAM vs {:.3} random",
        top_drop.0, random_drop.0
    );
    Ok(top_drop.1 / random_drop.1.max(1e-9))
}

/// Two test digits per class, each above its Grad-CAM overlay for the predicted class.
fn write_png(
    net: &mut Cnn,
    test: &Dataset<mnist::Image>,
    stats: Standardize,
    options: &Options,
) -> Result<()> {
    let mut picks = Vec::with_capacity(SHOWN);
    for round in 0..SHOWN / 10 {
        for class in 0..10 {
            let index = (0..test.len())
                .filter(|&i| test.labels()[i] == class)
                .nth(round)
                .ok_or("too few test digits")?;
            picks.push(index);
        }
    }
    let mut x = Tensor4::<SHOWN, 1, 28, 28>::zeros();
    for (image, &i) in x
        .as_mut_slice()
        .chunks_exact_mut(mnist::FEATURES)
        .zip(&picks)
    {
        image.copy_from_slice(test.sample(i).ok_or("test set too small")?.0);
    }
    let mut eval = CnnTape::<SHOWN, Eval>::new();
    let logits = net.infer(&x, &mut eval);
    let predicted: [usize; SHOWN] = std::array::from_fn(|b| argmax(logits.row(b)));
    let wrong = (0..SHOWN)
        .filter(|&b| predicted[b] != test.labels()[picks[b]])
        .count();
    let mut tape = CnnTape::<SHOWN>::new();
    let cams = heatmaps(net, &mut tape, &x, &predicted);

    let unit = |v: &f32| v * stats.std + stats.mean;
    let mut grid = images::Grid::with_row_gaps(4, 10, mnist::SIDE, 2, &[0, 0, 6, 0]);
    for (b, (image, cam)) in x
        .as_slice()
        .chunks_exact(mnist::FEATURES)
        .zip(&cams)
        .enumerate()
    {
        let pixels: Vec<f32> = image.iter().map(unit).collect();
        let (row, col) = (2 * (b / 10), b % 10);
        grid.put_grey(row, col, &pixels);
        let over: Vec<images::Colour> = pixels
            .iter()
            .zip(cam)
            .map(|(&g, &h)| images::overlay(g, h, 0.6))
            .collect();
        grid.put(row + 1, col, &over);
    }
    grid.save(&options.out, 4)?;
    println!(
        "wrote {} (digits 0-9, two of each, above their Grad-CAM for the predicted class; {wrong} of {SHOWN} misclassified)",
        options.out.display()
    );
    if let Some(path) = &options.readme_image {
        grid.save(path, 2)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

const USAGE: &str = "usage: cargo run --release --example grad_cam --features plots -- \
[--epochs N] [--train-limit N] [--seed N] [--mask N] [--out PATH] [--readme-image PATH] \
[--min-accuracy X] [--min-drop-ratio X] [--data-dir DIR]";

struct Options {
    epochs: usize,
    train_limit: Option<usize>,
    seed: u64,
    mask: usize,
    out: PathBuf,
    readme_image: Option<PathBuf>,
    min_accuracy: Option<f64>,
    min_drop_ratio: Option<f64>,
    data_dir: PathBuf,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut options = Options {
            epochs: 2,
            train_limit: None,
            seed: 0,
            mask: 30,
            out: PathBuf::from(env!("WORKSPACE_DIR")).join("target/grad_cam.png"),
            readme_image: None,
            min_accuracy: None,
            min_drop_ratio: None,
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
                "--mask" => options.mask = parse_value(&flag, &value)?,
                "--out" => options.out = PathBuf::from(value),
                "--readme-image" => options.readme_image = Some(PathBuf::from(value)),
                "--min-accuracy" => options.min_accuracy = Some(parse_value(&flag, &value)?),
                "--min-drop-ratio" => options.min_drop_ratio = Some(parse_value(&flag, &value)?),
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
        Ok((accuracy, ratio)) => {
            let mut ok = true;
            if let Some(min) = options
                .min_accuracy
                .filter(|&min| accuracy.is_nan() || accuracy < min)
            {
                eprintln!("error: test accuracy {accuracy:.4} is below the required {min}");
                ok = false;
            }
            if let Some(min) = options
                .min_drop_ratio
                .filter(|&min| ratio.is_nan() || ratio < min)
            {
                eprintln!("error: drop ratio {ratio:.3} is below the required {min}");
                ok = false;
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
