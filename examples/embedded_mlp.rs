//! # Embedded MLP: the MNIST classifier with its weights baked into the binary
//!
//! ```text
//! cargo run --release --example embedded_mlp --features baked                 # what CI runs
//! cargo run --release --example mnist --features weights -- --save models/mnist_mlp.safetensors   # retrain the file
//! ```
//!
//! `network!` reads `models/mnist_mlp.safetensors` (the `mnist` example's MLP, seed 0, 10
//! epochs, saved with `--save`) while it compiles this file, checks every tensor's name and
//! shape against the declaration, and emits `MlpBaked`: the same network over `static` weight
//! arrays, whose `infer` needs no heap and no allocator (`embedded/mnist-mlp` builds it for a
//! Cortex-M4F). This example loads the same file into the heap `Mlp` at run time, classifies the
//! 10 000 MNIST test images with both, one image at a time, and prints both test accuracies,
//! the baked data sizes and the batch-1 latency of each. It exits with status 1 unless every
//! prediction (and so the accuracy) is the same: the two run the same kernels, so their logits
//! agree bit for bit, which it checks too.
//!
//! `MNIST_DIR` (or `--data-dir`) points at the IDX files, as for `mnist`; they are fetched on
//! the first run.

use std::error::Error;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use nn_examples::args;
use nn_examples::mnist_fetch;

use nn::data::mnist::Mnist;
use nn::prelude::*;

network! {
    /// The MNIST classifier of `examples/mnist.rs`, with the weights of its trained run.
    #[weights = "../models/mnist_mlp.safetensors"]
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const USAGE: &str = "usage: cargo run --release --example embedded_mlp --features baked -- [--data-dir DIR] [--repeats N]";

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

fn run() -> Result<bool> {
    let mut data_dir = std::env::var_os("MNIST_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let mut repeats = 5usize;
    for (flag, value) in args::flags(USAGE)? {
        match flag.as_str() {
            "--data-dir" => data_dir = Some(PathBuf::from(value)),
            "--repeats" => repeats = args::parse_value(&flag, &value)?,
            _ => return Err(format!("unknown argument `{flag}`\n\n{USAGE}").into()),
        }
    }
    let data_dir = data_dir.unwrap_or_else(mnist_fetch::default_dir);
    mnist_fetch::ensure_mnist(&data_dir)?;
    let mnist = Mnist::load(&data_dir)?;

    // The heap network, loaded from the same file at run time.
    let mut heap = Mlp::seeded(0);
    nn::weights::load(&mut heap, MlpBaked::WEIGHTS_FILE)?;

    let test = &mnist.test;
    let mut images: Vec<[f32; 784]> = Vec::with_capacity(test.len());
    let mut labels = Vec::with_capacity(test.len());
    for (pixels, label) in (0..test.len()).filter_map(|i| test.sample(i)) {
        let mut image = [0.0; 784];
        image.copy_from_slice(pixels);
        images.push(image);
        labels.push(label);
    }

    let mut tape = MlpTape::<1, Eval>::new();
    let mut x = Tensor2::<1, 784>::zeros();
    let mut work = [0.0f32; MlpBaked::WORK_LEN];
    let (mut heap_correct, mut baked_correct, mut differing, mut bit_differing) = (0, 0, 0, 0);
    for (image, &label) in images.iter().zip(&labels) {
        x.as_mut_slice().copy_from_slice(image);
        let heap_logits = heap.infer(&x, &mut tape).as_slice();
        let heap_class = argmax(heap_logits);
        let heap_bits: Vec<u32> = heap_logits.iter().map(|v| v.to_bits()).collect();
        let baked_logits = MlpBaked::infer(image, &mut work);
        let baked_class = argmax(baked_logits);
        heap_correct += usize::from(heap_class == label);
        baked_correct += usize::from(baked_class == label);
        differing += usize::from(heap_class != baked_class);
        let baked_bits: Vec<u32> = baked_logits.iter().map(|v| v.to_bits()).collect();
        bit_differing += usize::from(heap_bits != baked_bits);
    }
    let total = images.len().max(1) as f64;
    let (heap_accuracy, baked_accuracy) =
        (heap_correct as f64 / total, baked_correct as f64 / total);
    println!(
        "weights {} ({} parameters, {} bytes of static f32 data); work buffer {} f32s ({} bytes)",
        MlpBaked::WEIGHTS_FILE,
        MlpBaked::PARAM_COUNT,
        MlpBaked::WEIGHTS_BYTES,
        MlpBaked::WORK_LEN,
        MlpBaked::WORK_LEN * 4,
    );
    println!("heap test_accuracy: {heap_accuracy:.4}");
    println!("baked test_accuracy: {baked_accuracy:.4}");
    println!(
        "predictions that differ: {differing} of {}; logits that differ in any bit: {bit_differing}",
        images.len()
    );

    // Batch-1 latency: every test image once per pass, passes interleaved, medians.
    let mut heap_times = Vec::new();
    let mut baked_times = Vec::new();
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        for image in &images {
            x.as_mut_slice().copy_from_slice(image);
            black_box(heap.infer(black_box(&x), &mut tape));
        }
        heap_times.push(start.elapsed().as_secs_f64() / total);
        let start = Instant::now();
        for image in &images {
            black_box(MlpBaked::infer(black_box(image), &mut work));
        }
        baked_times.push(start.elapsed().as_secs_f64() / total);
    }
    let (heap_latency, baked_latency) = (median(&mut heap_times), median(&mut baked_times));
    println!(
        "batch-1 latency (median of {} passes over the test set): heap {:.2} us, baked {:.2} us, ratio {:.3}",
        repeats.max(1),
        heap_latency * 1e6,
        baked_latency * 1e6,
        baked_latency / heap_latency
    );
    if differing != 0 || bit_differing != 0 || heap_correct != baked_correct {
        eprintln!("error: the baked network does not match the heap network");
        return Ok(false);
    }
    Ok(true)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
