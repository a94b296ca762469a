//! Loading a ~100 MB safetensors file (an MLP of 25 M parameters) into a network, in GB/s of
//! file: from disk (page cache, the usual case after a save), reading the file alone (the floor
//! of the first), and from bytes in memory (parse, validation and copy only).
//!
//! Run with `cargo bench -p nn --bench weights`; criterion prints the throughput (`GiB/s`) with the
//! median time.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nn::prelude::*;
use nn::weights;

network! {
    /// 4096·4096 + 4096·2048 weights and their biases: 25.2 M parameters, 100.7 MB of f32.
    pub struct Big< fc1: dense(4096 -> 4096), relu, fc2: dense(4096 -> 2048) >
}

fn bench_load(c: &mut Criterion) {
    let net = Big::seeded(0);
    let path = std::env::temp_dir().join(format!("nn-bench-{}.safetensors", std::process::id()));
    weights::save(&net, &path).expect("save");
    let bytes = std::fs::read(&path).expect("read");
    let mut target = Big::seeded(1);

    let mut group = c.benchmark_group(format!("load {:.1} MB", bytes.len() as f64 / 1e6));
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("file", |bench| {
        bench.iter(|| weights::load(black_box(&mut target), &path).expect("load"));
    });
    // The floor of "file": reading the file into a fresh buffer, nothing else.
    group.bench_function("read only", |bench| {
        bench.iter(|| black_box(std::fs::read(&path).expect("read")));
    });
    group.bench_function("bytes", |bench| {
        bench.iter(|| weights::from_bytes(black_box(&mut target), &bytes).expect("load"));
    });
    group.finish();
    std::fs::remove_file(&path).expect("remove");
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
