//! # Embedded CNNs: the MNIST CNN and the residual CNN with their weights baked in, against
//! the heap networks, on all 10 000 test images
//!
//! ```text
//! cargo run --release --example embedded_cnn --features baked      # what CI runs
//! ```
//!
//! `network!` reads `models/mnist_cnn.safetensors` (`examples/mnist_cnn`'s default run, saved
//! with `--save`) and `models/mnist_residual.safetensors` (`examples/mnist_residual`'s) while
//! it compiles this file and emits `CnnBaked` and `ResidualBaked`: the same networks over
//! `static` weights, with every batch norm folded into the convolution before it. This example
//! loads the same files into the heap networks at run time, classifies every test image with
//! both, one at a time, and prints both test accuracies, how many predictions differ and the
//! largest difference of a logit, relative to the largest logit. Folding rounds differently
//! from running the batch norm (see the README's "What bakes, and how"), so the logits are not
//! bit-identical; the example exits with status 1 when a baked network's accuracy is below its
//! heap network's or a logit is off by more than 1e-5 of the largest.
//!
//! `MNIST_DIR` (or `--data-dir`) points at the IDX files, as for `mnist`; they are fetched on
//! the first run.

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use nn_examples::args;
use nn_examples::mnist_fetch;

use nn::data::Standardize;
use nn::data::mnist::Mnist;
use nn::prelude::*;

network! {
    /// `examples/mnist_cnn`'s network, with the weights of its default run.
    #[weights = "../models/mnist_cnn.safetensors"]
    pub struct Cnn<
        input(1, 28, 28),
        conv1: conv2d(1 -> 16, kernel = 5, padding = 2), batch_norm, relu, max_pool(2),
        conv2: conv2d(16 -> 32, kernel = 5, padding = 2), batch_norm, relu, max_pool(2),
        flatten,
        fc1: dense(1568 -> 128), relu, dropout(0.3),
        fc2: dense(128 -> 10),
    >

    /// `examples/mnist_residual`'s network, with the weights of its default run.
    #[weights = "../models/mnist_residual.safetensors"]
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

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const USAGE: &str =
    "usage: cargo run --release --example embedded_cnn --features baked -- [--data-dir DIR]";

/// The largest logit difference allowed, relative to the largest logit.
const TOLERANCE: f32 = 1e-5;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// What one network's comparison found.
struct Comparison {
    heap_correct: usize,
    baked_correct: usize,
    differing: usize,
    /// The largest logit difference over the largest logit, over every image.
    worst: f32,
}

impl Comparison {
    fn report(&self, name: &str, total: usize) -> bool {
        let accuracy = |correct: usize| correct as f64 / total.max(1) as f64;
        println!(
            "{name}: heap test_accuracy {:.4}, baked test_accuracy {:.4}; predictions that differ: {} of {total}; largest logit difference {:.2e} of the largest logit",
            accuracy(self.heap_correct),
            accuracy(self.baked_correct),
            self.differing,
            self.worst
        );
        let ok = self.baked_correct >= self.heap_correct && self.worst <= TOLERANCE;
        if !ok {
            eprintln!("error: the baked {name} falls short of the heap network");
        }
        ok
    }

    fn add(&mut self, heap: &[f32], baked: &[f32], label: usize) {
        let (heap_class, baked_class) = (argmax(heap), argmax(baked));
        self.heap_correct += usize::from(heap_class == label);
        self.baked_correct += usize::from(baked_class == label);
        self.differing += usize::from(heap_class != baked_class);
        let scale = heap
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()))
            .max(f32::MIN_POSITIVE);
        for (h, b) in heap.iter().zip(baked) {
            self.worst = self.worst.max((h - b).abs() / scale);
        }
    }

    fn new() -> Self {
        Comparison {
            heap_correct: 0,
            baked_correct: 0,
            differing: 0,
            worst: 0.0,
        }
    }
}

fn run() -> Result<bool> {
    let mut data_dir = std::env::var_os("MNIST_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    for (flag, value) in args::flags(USAGE)? {
        match flag.as_str() {
            "--data-dir" => data_dir = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown argument `{flag}`\n\n{USAGE}").into()),
        }
    }
    let data_dir = data_dir.unwrap_or_else(mnist_fetch::default_dir);
    mnist_fetch::ensure_mnist(&data_dir)?;
    let mut mnist = Mnist::load_images(&data_dir)?;
    Standardize::MNIST.apply_dataset(&mut mnist.test);
    let test = &mnist.test;

    let mut cnn = Cnn::seeded(0);
    nn::weights::load(&mut cnn, CnnBaked::WEIGHTS_FILE)?;
    let mut residual = Residual::seeded(0);
    nn::weights::load(&mut residual, ResidualBaked::WEIGHTS_FILE)?;

    let mut x = Tensor4::<1, 1, 28, 28>::zeros();
    let mut image = [0.0f32; 784];
    let (mut cnn_tape, mut residual_tape) =
        (CnnTape::<1, Eval>::new(), ResidualTape::<1, Eval>::new());
    let mut cnn_work = vec![0.0f32; CnnBaked::WORK_LEN];
    let mut residual_work = vec![0.0f32; ResidualBaked::WORK_LEN];
    let (mut cnn_check, mut residual_check) = (Comparison::new(), Comparison::new());
    let mut total = 0;
    for (pixels, label) in (0..test.len()).filter_map(|i| test.sample(i)) {
        image.copy_from_slice(pixels);
        x.as_mut_slice().copy_from_slice(pixels);
        let cnn_work: &mut [f32; CnnBaked::WORK_LEN] = cnn_work.as_mut_slice().try_into()?;
        cnn_check.add(
            cnn.infer(&x, &mut cnn_tape).as_slice(),
            CnnBaked::infer(&image, cnn_work),
            label,
        );
        let residual_work: &mut [f32; ResidualBaked::WORK_LEN] =
            residual_work.as_mut_slice().try_into()?;
        residual_check.add(
            residual.infer(&x, &mut residual_tape).as_slice(),
            ResidualBaked::infer(&image, residual_work),
            label,
        );
        total += 1;
    }
    println!(
        "CnnBaked: {} parameters after folding, {} bytes of weights, a work arena of {} f32 ({} bytes)",
        CnnBaked::PARAM_COUNT,
        CnnBaked::WEIGHT_BYTES,
        CnnBaked::WORK_LEN,
        CnnBaked::WORK_LEN * 4
    );
    let cnn_ok = cnn_check.report("Cnn", total);
    let residual_ok = residual_check.report("Residual", total);
    Ok(cnn_ok && residual_ok)
}
