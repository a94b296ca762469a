//! Batch-1 inference of the baked MNIST MLP (`#[weights = "models/mnist_mlp.safetensors"]`,
//! static weights, no heap) against the heap network's `infer` with the same weights, in one
//! run. Prints `name: value` lines:
//!
//! ```text
//! cargo bench -p nn --bench baked            # 15 interleaved repetitions of 20 000 calls each
//! ```
//!
//! - `heap_infer_b1_us`, `baked_infer_b1_us`: one call, the median over the repetitions (each
//!   repetition times a block of calls and divides);
//! - `ratio`: baked over heap, the median of the per-repetition ratios (below 1: baked is
//!   faster).
//!
//! The two run the same kernel (`nn::linalg::affine`), so what the ratio measures is the static
//! weights (64-byte aligned in the binary's read-only data) against the heap's buffers, and the
//! generated call sequence against the tape's.

use std::hint::black_box;
use std::time::Instant;

use nn::prelude::*;

network! {
    #[weights = "models/mnist_mlp.safetensors"]
    struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

const CALLS: usize = 20_000;
const REPETITIONS: usize = 15;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mut heap = Mlp::seeded(0);
    nn::weights::load(&mut heap, MlpBaked::WEIGHTS_FILE).expect("the weights file loads");

    let pixels =
        nn::baked::Aligned::<784>(std::array::from_fn(|i| ((i * 37) % 256) as f32 / 255.0));
    let pixels = &pixels.0;
    let x = Tensor2::<1, 784>::from_slice(pixels).expect("784 values");
    let mut tape = MlpTape::<1, Eval>::new();
    let mut work = [0.0f32; MlpBaked::WORK_LEN];
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..CALLS {
            f();
        }
        start.elapsed().as_secs_f64() / CALLS as f64 * 1e6
    };
    // Warm-up: caches, frequency.
    time(&mut || {
        black_box(heap.infer(black_box(&x), &mut tape));
    });
    time(&mut || {
        black_box(MlpBaked::infer(black_box(pixels), &mut work));
    });
    let (mut heap_us, mut baked_us, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..REPETITIONS {
        let h = time(&mut || {
            black_box(heap.infer(black_box(&x), &mut tape));
        });
        let b = time(&mut || {
            black_box(MlpBaked::infer(black_box(pixels), &mut work));
        });
        heap_us.push(h);
        baked_us.push(b);
        ratios.push(b / h);
    }
    println!("heap_infer_b1_us: {:.3}", median(&mut heap_us));
    println!("baked_infer_b1_us: {:.3}", median(&mut baked_us));
    println!("ratio: {:.3}", median(&mut ratios));
}
