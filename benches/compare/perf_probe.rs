//! Our side of `benches/compare/compare.py`: times the comparison workloads and prints one
//! `name: value` line per figure.
//!
//! Not meant to be run by hand or by `cargo bench` (which passes `--bench`; then it only prints
//! how to use it). The script builds it with `cargo bench --no-run --bench perf_probe` and runs
//! the binary with the figures to measure:
//!
//! ```text
//! perf_probe epoch infer_b1 infer_b64 celsius sgemm
//! ```
//!
//! Each figure is measured in this process after a warm-up, the same way the script measures
//! PyTorch:
//! - `epoch_s`: one epoch of the 784-128-10 MLP over 60 000 synthetic samples, 937 full batches
//!   of 64, Adam 1e-3, no shuffling.
//! - `infer_b1_us`, `infer_b64_us`: one inference call, the median over blocks of calls.
//! - `celsius_ms`: the whole celsius tutorial (fresh network, 500 Adam steps).
//! - `sgemm_gflops`: `64×784 · (128×784)ᵀ`, the MLP's forward product, in GFLOP/s.
//! - `train_b256_us`: one MLP training step at batch 256, the median over blocks of steps; with
//!   the `threading` feature, `MATMUL_NUM_THREADS` decides how many threads it uses
//!   (`benches/compare/thread_scaling.py` compares 1 and 2).

use std::hint::black_box;
use std::time::Instant;

use nn::linalg::{MatRef, Op, gemm};
use nn::prelude::*;

#[path = "../workloads/mod.rs"]
mod workloads;

use workloads::{BATCH, EPOCH_SAMPLES, Mlp, MlpTape, Trainer};

/// Blocks per timed figure; the reported value is the median block.
const BLOCKS: usize = 7;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The median over [`BLOCKS`] blocks of the mean time of one `f()`, in seconds.
fn time_per_call(calls: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..calls.div_ceil(10) {
        f();
    }
    median(
        (0..BLOCKS)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..calls {
                    f();
                }
                start.elapsed().as_secs_f64() / calls as f64
            })
            .collect(),
    )
}

fn epoch() -> f64 {
    let (pixels, labels) = workloads::synthetic(EPOCH_SAMPLES, 1);
    let mut trainer = Trainer::<BATCH>::new(0);
    // Warm-up: the first step allocates Adam's moments and faults the buffers in.
    for index in 0..5 {
        trainer.step(&pixels, &labels, index);
    }
    let start = Instant::now();
    black_box(trainer.epoch(&pixels, &labels));
    start.elapsed().as_secs_f64()
}

fn infer<const B: usize>(calls: usize) -> f64 {
    let net = Mlp::seeded(0);
    let (pixels, _) = workloads::synthetic(B, 2);
    let x = Tensor2::<B, 784>::from_vec(pixels).expect("B images");
    let mut tape = MlpTape::<B, Eval>::new();
    time_per_call(calls, || {
        black_box(net.infer(black_box(&x), &mut tape).as_slice()[0]);
    })
}

fn train_step<const B: usize>(steps: usize) -> f64 {
    let (pixels, labels) = workloads::synthetic(8 * B, 4);
    let mut trainer = Trainer::<B>::new(0);
    let mut index = 0;
    time_per_call(steps, || {
        black_box(trainer.step(&pixels, &labels, index % 8));
        index += 1;
    })
}

fn sgemm_gflops() -> f64 {
    let (m, n, k) = (BATCH, 128, 784);
    let mut rng = nn::init::seeded(3);
    let mut random = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|_| nn::init::uniform(&mut rng, -1.0, 1.0))
            .collect()
    };
    let a = random(m * k);
    let b = random(n * k);
    let mut c = vec![0.0f32; m * n];
    let seconds = time_per_call(2000, || {
        gemm(
            1.0,
            MatRef::new(black_box(&a), m, k),
            Op::Plain,
            MatRef::new(black_box(&b), n, k),
            Op::Transposed,
            0.0,
            &mut c,
            n,
        );
        black_box(&mut c);
    });
    (2 * m * n * k) as f64 / seconds / 1e9
}

fn main() {
    let figures: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if figures.is_empty() {
        println!(
            "perf_probe: run `python3 benches/compare/compare.py` \
             (figures: epoch infer_b1 infer_b64 celsius sgemm train_b256)"
        );
        return;
    }
    for figure in figures {
        match figure.as_str() {
            "epoch" => println!("epoch_s: {:.6}", epoch()),
            "infer_b1" => println!("infer_b1_us: {:.4}", infer::<1>(20_000) * 1e6),
            "infer_b64" => println!("infer_b64_us: {:.4}", infer::<64>(1_000) * 1e6),
            "celsius" => {
                let ms = time_per_call(5, || {
                    black_box(workloads::celsius_500(0));
                }) * 1e3;
                println!("celsius_ms: {ms:.4}");
            }
            "sgemm" => println!("sgemm_gflops: {:.3}", sgemm_gflops()),
            "train_b256" => println!("train_b256_us: {:.2}", train_step::<256>(200) * 1e6),
            other => {
                eprintln!("perf_probe: unknown figure `{other}`");
                std::process::exit(2);
            }
        }
    }
}
