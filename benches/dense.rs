//! One `Dense<784, 128>` layer at batch 64: forward and backward, in images/s.
//!
//! Criterion reports `Kelem/s`, one element per sample of the batch. The backward is measured
//! twice: with the input gradient (a hidden layer) and without it (the first layer of a network).
//!
//! Run with `cargo bench -p nn --bench dense`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nn::layers::{Dense, Layer};
use nn::tensor::Tensor2;

const B: usize = 64;

/// A tensor of seeded uniform values in `[-1, 1)`.
fn random<const R: usize, const C: usize>(seed: u64) -> Tensor2<R, C> {
    let mut rng = nn::init::seeded(seed);
    let mut t = Tensor2::zeros();
    t.iter_mut()
        .for_each(|v| *v = nn::init::uniform(&mut rng, -1.0, 1.0));
    t
}

fn bench_dense(c: &mut Criterion) {
    let mut fc = Dense::<784, 128>::new(&mut nn::init::seeded(0));
    let x = random::<B, 784>(1);
    let dy = random::<B, 128>(2);
    let mut y = Tensor2::<B, 128>::zeros();
    let mut dx = Tensor2::<B, 784>::zeros();

    let mut group = c.benchmark_group("dense 784->128, batch 64");
    group.throughput(Throughput::Elements(B as u64));
    group.bench_function("forward", |bench| {
        bench.iter(|| {
            fc.forward(black_box(&x), &mut y, &mut ());
            black_box(&mut y);
        });
    });
    group.bench_function("backward with dx", |bench| {
        bench.iter(|| {
            fc.backward(black_box(&x), &y, &mut (), black_box(&dy), Some(&mut dx));
            black_box(&mut dx);
        });
    });
    group.bench_function("backward without dx", |bench| {
        bench.iter(|| {
            fc.backward(black_box(&x), &y, &mut (), black_box(&dy), None);
        });
    });
    group.finish();
    black_box(fc.weight_grad());
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_dense
}
criterion_main!(benches);
