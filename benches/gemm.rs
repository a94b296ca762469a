//! Throughput of the matmul wrapper `nn::linalg::gemm`, in GFLOP/s.
//!
//! Criterion reports `Gelem/s`; each element is one floating-point operation (`2·m·n·k` per
//! product), so read it as GFLOP/s. The shapes are the 784-128-10 MLP's at batch 64, in the
//! operand layouts `Dense` really uses, plus a square 256³ product:
//!
//! - `forward 64x784 · (128x784)ᵀ`: `y = x · Wᵀ`
//! - `dW 128x64 · 64x784`: `dW = dyᵀ · x` (dy read transposed)
//! - `dx 64x128 · 128x784`: `dx = dy · W`
//! - `batch-1 forward 1x784 · (128x784)ᵀ` and `batch-256 forward 256x784 · (128x784)ᵀ`
//! - `L2 stream reference 1x6272 · (16x6272)ᵀ`: the batch-1 weight's bytes in 16 long rows, the
//!   best case for streaming them from L2 (batch-1 inference is bound by that stream)
//! - `square 256³`
//!
//! Each case also runs `matrixmultiply::sgemm`, which `gemm` replaced (see `nn::linalg`'s docs),
//! on the same operands in the same run, as `matrixmultiply/<case>`.
//!
//! Run with `cargo bench -p nn --bench gemm`. Products large enough are split across the pool's
//! threads: compare `NN_THREADS=1` and `NN_THREADS=2 cargo bench -p nn --bench gemm -- nn/`
//! (matrixmultiply stays single-threaded here either way).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nn::linalg::{MatRef, Op, gemm};

/// `len` seeded uniform values in `[-1, 1)`.
fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = nn::init::seeded(seed);
    (0..len)
        .map(|_| nn::init::uniform(&mut rng, -1.0, 1.0))
        .collect()
}

/// One product `c (m×n) = op_a(a) · op_b(b)`, with `a` stored `a_rows×a_cols` and `b` stored
/// `b_rows×b_cols`.
struct Case {
    name: &'static str,
    m: usize,
    n: usize,
    k: usize,
    a: (usize, usize, Op),
    b: (usize, usize, Op),
}

fn bench_gemm(c: &mut Criterion) {
    let cases = [
        Case {
            name: "batch-1 forward 1x784 * (128x784)^T",
            m: 1,
            n: 128,
            k: 784,
            a: (1, 784, Op::Plain),
            b: (128, 784, Op::Transposed),
        },
        Case {
            name: "forward 64x784 * (128x784)^T",
            m: 64,
            n: 128,
            k: 784,
            a: (64, 784, Op::Plain),
            b: (128, 784, Op::Transposed),
        },
        Case {
            name: "dW (64x128)^T * 64x784",
            m: 128,
            n: 784,
            k: 64,
            a: (64, 128, Op::Transposed),
            b: (64, 784, Op::Plain),
        },
        Case {
            name: "dx 64x128 * 128x784",
            m: 64,
            n: 784,
            k: 128,
            a: (64, 128, Op::Plain),
            b: (128, 784, Op::Plain),
        },
        // Batch-1 inference streams the 401 KB weight from L2 once. The same bytes as 16 long
        // rows instead of 128 short ones show how fast this core's L2 can stream them at best.
        Case {
            name: "L2 stream reference 1x6272 * (16x6272)^T",
            m: 1,
            n: 16,
            k: 6272,
            a: (1, 6272, Op::Plain),
            b: (16, 6272, Op::Transposed),
        },
        Case {
            name: "batch-256 forward 256x784 * (128x784)^T",
            m: 256,
            n: 128,
            k: 784,
            a: (256, 784, Op::Plain),
            b: (128, 784, Op::Transposed),
        },
        Case {
            name: "square 256^3",
            m: 256,
            n: 256,
            k: 256,
            a: (256, 256, Op::Plain),
            b: (256, 256, Op::Plain),
        },
    ];
    let mut group = c.benchmark_group("gemm");
    for case in cases {
        let (ar, ac, op_a) = case.a;
        let (br, bc, op_b) = case.b;
        let a = random(ar * ac, 1);
        let b = random(br * bc, 2);
        let mut out = vec![0.0f32; case.m * case.n];
        group.throughput(Throughput::Elements((2 * case.m * case.n * case.k) as u64));
        group.bench_function(format!("nn/{}", case.name), |bench| {
            bench.iter(|| {
                gemm(
                    1.0,
                    MatRef::new(black_box(&a), ar, ac),
                    op_a,
                    MatRef::new(black_box(&b), br, bc),
                    op_b,
                    0.0,
                    &mut out,
                    case.n,
                );
                black_box(&mut out);
            });
        });
        // (rows, cols, row stride, col stride) of op(x), as `gemm` reads it.
        let view = |rows: usize, cols: usize, op: Op| match op {
            Op::Plain => (rows, cols, cols as isize, 1),
            Op::Transposed => (cols, rows, 1, cols as isize),
        };
        let (m, k, rsa, csa) = view(ar, ac, op_a);
        let (_, n, rsb, csb) = view(br, bc, op_b);
        group.bench_function(format!("matrixmultiply/{}", case.name), |bench| {
            bench.iter(|| {
                // SAFETY: the strides address the `m×k` and `k×n` row-major blocks `a` and `b`
                // hold, plain or transposed, and `out` holds `m×n` values with row stride `n`.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        black_box(&a).as_ptr(),
                        rsa,
                        csa,
                        black_box(&b).as_ptr(),
                        rsb,
                        csb,
                        0.0,
                        out.as_mut_ptr(),
                        n as isize,
                        1,
                    );
                }
                black_box(&mut out);
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_gemm
}
criterion_main!(benches);
