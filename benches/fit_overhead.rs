//! What `nn::train::Fit` costs over a hand-written training loop, on one MNIST MLP epoch.
//!
//! ```text
//! cargo bench -p nn --bench fit_overhead              # 5 interleaved rounds
//! cargo bench -p nn --bench fit_overhead -- 9         # 9 rounds
//! ```
//!
//! Each round trains 2 epochs of the 784-128-10 MLP (batch 64, Adam 1e-3, shuffled, 937
//! batches each) twice from the same weights and shuffling seed, setup (buffers, tapes)
//! included: once with the loop the examples used to write by hand (fill a batch, forward,
//! `softmax_cross_entropy`, backward, step), once with `Fit` (which also computes the training
//! accuracy, as the MNIST example asks it to). The figures are per epoch.
//! The two alternate, so that a noisy neighbour slows both alike; the figures are the medians
//! and the ratio of the medians. Uses the real MNIST training images when `data/mnist` (or
//! `MNIST_DIR`) holds them, else 60 000 synthetic samples of the same shape.

use std::hint::black_box;
use std::time::Instant;

use nn::data::mnist::{Flat, Mnist};
use nn::data::{Batch, Dataset, LastBatch};
use nn::prelude::*;
use nn::train::{Accuracy, CrossEntropy, Fit, Progress};

network! {
    struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

const BATCH: usize = 64;
/// Epochs per timed run.
const EPOCHS: usize = 2;

fn training_set() -> (Dataset<Flat>, &'static str) {
    let dir = std::env::var("MNIST_DIR").unwrap_or_else(|_| "data/mnist".into());
    if let Ok(mnist) = Mnist::load(&dir) {
        return (mnist.train, "MNIST training images");
    }
    let pixels: Vec<f32> = (0..60_000 * 784)
        .map(|i| ((i * 37) % 255) as f32 / 255.0)
        .collect();
    let labels = (0..60_000).map(|i| (i * 7) % 10).collect();
    let data = Dataset::new(pixels, labels, 10).expect("synthetic data is well formed");
    (data, "60 000 synthetic samples")
}

fn hand_epochs(data: &Dataset<Flat>, seed: u64) -> f64 {
    let start = Instant::now();
    let mut net = Mlp::seeded(0);
    let mut adam = Adam::new(1e-3);
    let mut batches = data
        .shuffled_batches::<BATCH>(LastBatch::Drop, seed)
        .unwrap();
    let mut batch = Batch::new();
    let mut tape = MlpTape::<BATCH>::new();
    let mut dlogits = Tensor2::<BATCH, 10>::zeros();
    let mut loss_sum = 0.0;
    for _ in 0..EPOCHS {
        while batches.fill_next(&mut batch).is_some() {
            net.zero_grad();
            let logits = net.forward_train(batch.inputs(), &mut tape);
            loss_sum += softmax_cross_entropy(logits, batch.labels(), &mut dlogits).unwrap();
            net.backward_params(&mut tape, &dlogits);
            adam.step(&mut net).unwrap();
        }
    }
    black_box(loss_sum);
    start.elapsed().as_secs_f64()
}

fn fit_epochs(data: &Dataset<Flat>, seed: u64) -> f64 {
    let start = Instant::now();
    let mut net = Mlp::seeded(0);
    let mut adam = Adam::new(1e-3);
    let batches = data
        .shuffled_batches::<BATCH>(LastBatch::Drop, seed)
        .unwrap();
    let history = Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(EPOCHS)
        .metric(Accuracy::default())
        .progress(Progress::Silent)
        .run(batches)
        .unwrap();
    black_box(history);
    start.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let rounds = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(5);
    let (data, what) = training_set();
    println!(
        "MLP epochs (937 batches of 64) on {what}: {rounds} interleaved rounds of {EPOCHS} epochs each way, setup included"
    );
    hand_epochs(&data, 1); // warm-up: page in the data and the code
    let (mut hand, mut fit) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let seed = round as u64;
        hand.push(hand_epochs(&data, seed) / EPOCHS as f64);
        fit.push(fit_epochs(&data, seed) / EPOCHS as f64);
    }
    let (hand, fit) = (median(hand), median(fit));
    println!("hand_loop_epoch_s: {hand:.4}");
    println!("fit_epoch_s: {fit:.4}");
    println!("fit_over_hand: {:.4}", fit / hand);
}
