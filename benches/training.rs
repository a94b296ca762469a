//! The 784-128-10 MLP end to end, plus the celsius tutorial.
//!
//! - `train step, batch 64 (Adam)`: forward, softmax cross-entropy, backward, Adam; images/s.
//! - `infer, batch 1` and `infer, batch 64`: allocation-free inference through a tape; images/s.
//! - `celsius, 500 Adam steps`: the whole Keras tutorial, from a fresh network.
//!
//! Inputs are seeded synthetic images (pixels in `[0, 1)`); timing does not need MNIST.
//! Run with `cargo bench -p nn --bench training`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nn::prelude::*;

#[path = "workloads/mod.rs"]
mod workloads;

use workloads::{BATCH, Mlp, MlpTape, Trainer};

fn bench_train_step(c: &mut Criterion) {
    // 16 distinct batches, cycled, so the step does not see the same batch every time.
    let (pixels, labels) = workloads::synthetic(16 * BATCH, 7);
    let mut trainer = Trainer::<BATCH>::new(0);
    let mut index = 0;
    let mut group = c.benchmark_group("mlp 784-128-10");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("train step, batch 64 (Adam)", |bench| {
        bench.iter(|| {
            index = (index + 1) % 16;
            black_box(trainer.step(&pixels, &labels, index))
        });
    });
    group.finish();
}

fn bench_infer<const B: usize>(c: &mut Criterion, name: &str) {
    let net = Mlp::seeded(0);
    let (pixels, _) = workloads::synthetic(B, 8);
    let x = Tensor2::<B, 784>::from_vec(pixels).expect("B images");
    let mut tape = MlpTape::<B, Eval>::new();
    let mut group = c.benchmark_group("mlp 784-128-10");
    group.throughput(Throughput::Elements(B as u64));
    group.bench_function(name, |bench| {
        bench.iter(|| black_box(net.infer(black_box(&x), &mut tape).as_slice()[0]));
    });
    group.finish();
}

fn bench_inference(c: &mut Criterion) {
    bench_infer::<1>(c, "infer, batch 1");
    bench_infer::<64>(c, "infer, batch 64");
}

fn bench_celsius(c: &mut Criterion) {
    c.bench_function("celsius, 500 Adam steps", |bench| {
        bench.iter(|| black_box(workloads::celsius_500(black_box(0))));
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_train_step, bench_inference, bench_celsius
}
criterion_main!(benches);
