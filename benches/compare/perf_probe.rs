//! Our side of `benches/compare/compare.py`: times the comparison workloads and prints one
//! `name: value` line per figure.
//!
//! Not meant to be run by hand or by `cargo bench` (which passes `--bench`; then it only prints
//! how to use it). The script builds it with `cargo bench -p nn --no-run --bench perf_probe` and runs
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
//! - `train_b256_us`: one MLP training step at batch 256, the median over blocks of steps.
//!
//! Every figure runs on `NN_THREADS` threads (default: every core); `compare.py` and
//! `thread_scaling.py` set it.
//! - `lenet_epoch_s`: one LeNet-5 training epoch (`workloads::LeNet`: conv 1→6 k5, relu,
//!   max pool 2, conv 6→16 k5, relu, max pool 2, 256-120-84-10) over 60 000 synthetic samples,
//!   937 full batches of 64, Adam 1e-3, softmax cross-entropy, no shuffling.
//! - `cnn_infer_b1_us`: one batch-1 LeNet inference call, the median over blocks of calls.
//! - `lenet_f32_b64_us`, `lenet_int8_b64_us` (figure `lenet_int8_b64`): 64 LeNet images, f32
//!   (one batch-64 call) and int8 (`nn::quant::QuantModel::infer_batch`, one batch-64 call).
//! - `conv1_gflops`, `conv2_gflops`: the forward of LeNet's conv1 (`Conv2d(1, 6, 5)` on
//!   64×1×28×28) and conv2 (`Conv2d(6, 16, 5)` on 64×6×12×12), in GFLOP/s (2 · MACs / time).
//! - `conv1_wgrad_gflops`, `conv2_wgrad_gflops`: their weight gradients (`backward` without
//!   the input gradient), in GFLOP/s.
//! - `tcn784_gflops`, `tcn28_gflops`: a TCN block's four causal `conv1d(64 -> 64, kernel = 3)`
//!   with dilations 1, 2, 4 and 8, forward, over 784 steps at batch 8 and 28 steps at batch 64.
//! - `depthwise_gflops`, `depthwise_wgrad_gflops`: DS-CNN's depthwise 3 × 3 (`padding = same`)
//!   on 64 × 25 × 5 at batch 64, forward and weight gradient.
//! - `lstm_epoch_s`: one epoch of the sequential-MNIST LSTM (`workloads::SeqLstm`: 28 steps of
//!   28 pixels, `lstm(28 -> 128)`, `last`, `dense(128 -> 10)`) over the same 60 000 synthetic
//!   samples, 937 batches of 64, Adam 1e-3, no clipping.
//! - `lstm_infer_b1_us`: one batch-1 inference of it, 28 steps, the median over blocks of calls.
//! - `transformer_fwd_us`, `transformer_train_us`: one pre-norm transformer encoder layer
//!   (`workloads::EncoderLayer`: T = 64, D = 64, 4 heads, feed-forward 256, ReLU) at batch 32:
//!   an inference call, and a training step's forward and backward (no optimizer).
//! - `transformer_decode_us`: one batch-1 decode step of the causal form of that layer
//!   (`workloads::CausalEncoderLayer`) with a key/value cache (`nn::layers::Decoder`), the mean
//!   over the 64 steps of a whole sequence.
//! - `dispatch_us`: one empty split across the pool's threads (`NN_THREADS`), the cost a
//!   split pays before any work.
//! - `fma_peak_gflops`: this core's single-thread f32 FMA peak, measured: independent chains of
//!   AVX-512 (or AVX2) FMAs, the faster of the two the CPU supports; 0 off x86-64.

use std::hint::black_box;
use std::time::Instant;

use nn::linalg::{MatRef, Op, gemm};
use nn::prelude::*;

#[path = "../workloads/mod.rs"]
mod workloads;

use workloads::{
    BATCH, CausalEncoderLayer, EPOCH_SAMPLES, EncoderLayer, EncoderLayerTape, LeNet, LeNetTape,
    LeNetTrainer, LstmTrainer, Mlp, MlpTape, SeqLstm, SeqLstmTape, Trainer,
};

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

fn lenet_epoch() -> f64 {
    let (pixels, labels) = workloads::synthetic(EPOCH_SAMPLES, 1);
    let mut trainer = LeNetTrainer::<BATCH>::new(0);
    // Warm-up: the first step allocates Adam's moments and faults the buffers in.
    for index in 0..5 {
        trainer.step(&pixels, &labels, index);
    }
    let start = Instant::now();
    black_box(trainer.epoch(&pixels, &labels));
    start.elapsed().as_secs_f64()
}

fn lstm_epoch() -> f64 {
    let (pixels, labels) = workloads::synthetic(EPOCH_SAMPLES, 1);
    let mut trainer = LstmTrainer::<BATCH>::new(0);
    for index in 0..5 {
        trainer.step(&pixels, &labels, index);
    }
    let start = Instant::now();
    black_box(trainer.epoch(&pixels, &labels));
    start.elapsed().as_secs_f64()
}

fn lstm_infer_b1(calls: usize) -> f64 {
    let net = SeqLstm::seeded(0);
    let (pixels, _) = workloads::synthetic(1, 6);
    let x = Tensor3::<1, 28, 28>::from_vec(pixels).expect("one image");
    let mut tape = SeqLstmTape::<1, Eval>::new();
    time_per_call(calls, || {
        black_box(net.infer(black_box(&x), &mut tape).as_slice()[0]);
    })
}

/// Seconds per batch-32 call of the encoder layer: inference, or forward plus backward.
fn transformer(calls: usize, train: bool) -> f64 {
    let mut net = EncoderLayer::seeded(0);
    let mut rng = nn::init::seeded(8);
    let x = Tensor3::<32, 64, 64>::from_fn(|_| nn::init::uniform(&mut rng, -1.0, 1.0));
    let dy = Tensor3::<32, 64, 64>::full(0.01);
    if train {
        let mut tape = EncoderLayerTape::<32>::new();
        time_per_call(calls, || {
            net.forward_train(black_box(&x), &mut tape);
            net.backward_params(&mut tape, &dy);
        })
    } else {
        let mut eval = EncoderLayerTape::<32, Eval>::new();
        time_per_call(calls, || {
            black_box(net.infer(black_box(&x), &mut eval).as_slice()[0]);
        })
    }
}

/// Seconds per batch-1 decode step of the causal encoder layer: a whole sequence of 64 steps
/// per call, from a reset key/value cache.
fn transformer_decode(calls: usize) -> f64 {
    let net = CausalEncoderLayer::seeded(0);
    let mut rng = nn::init::seeded(8);
    let x: Vec<f32> = (0..64 * 64)
        .map(|_| nn::init::uniform(&mut rng, -1.0, 1.0))
        .collect();
    let mut decoder = nn::layers::Decoder::new(&net);
    time_per_call(calls, || {
        decoder.reset();
        for step in x.chunks(64) {
            black_box(decoder.step(black_box(step)).expect("64 steps fit")[0]);
        }
    }) / 64.0
}

fn cnn_infer_b1(calls: usize) -> f64 {
    let net = LeNet::seeded(0);
    let (pixels, _) = workloads::synthetic(1, 6);
    let x = Tensor4::<1, 1, 28, 28>::from_vec(pixels).expect("one image");
    let mut tape = LeNetTape::<1, Eval>::new();
    time_per_call(calls, || {
        black_box(net.infer(black_box(&x), &mut tape).as_slice()[0]);
    })
}

/// Microseconds per 64 LeNet images, f32 (one batch-64 `infer`) and int8 (`nn::quant`'s
/// `QuantModel`, post-training quantized on 256 synthetic images, one batch-64
/// `infer_batch`).
fn lenet_b64(calls: usize) -> (f64, f64) {
    let net = LeNet::seeded(0);
    let (pixels, _) = workloads::synthetic(256, 7);
    let model = nn::quant::post_training(&net, &pixels, nn::quant::Calibration::MinMax)
        .expect("LeNet quantizes");
    let batch = &pixels[..64 * 784];
    let x = Tensor4::<64, 1, 28, 28>::from_slice(batch).expect("64 images");
    let mut tape = LeNetTape::<64, Eval>::new();
    let f32_time = time_per_call(calls, || {
        black_box(net.infer(black_box(&x), &mut tape).as_slice()[0]);
    });
    let q: Vec<i8> = model.quantize_input(batch);
    let mut activations = model.batch_activations(64);
    let int8_time = time_per_call(calls, || {
        black_box(model.infer_batch(black_box(&q), &mut activations)[0]);
    });
    (f32_time, int8_time)
}

/// GFLOP/s of the inference forward of `L` (a conv) on a seeded batch of `B`, counting
/// `macs` multiply-adds.
fn conv_gflops<L: Composable, const B: usize>(macs: usize, calls: usize) -> f64 {
    let conv = L::build(&mut nn::init::seeded(7));
    let mut rng = nn::init::seeded(8);
    let mut x = L::Input::<B>::zeros();
    for v in x.as_mut_slice() {
        *v = nn::init::uniform(&mut rng, -1.0, 1.0);
    }
    let mut y = L::Output::<B>::zeros();
    let mut scratch = L::Scratch::<B>::zeroed();
    let seconds = time_per_call(calls, || {
        conv.forward(black_box(&x), &mut y, &mut scratch);
        black_box(&mut y);
    });
    (2 * macs) as f64 / seconds / 1e9
}

/// The weight gradient of `L` at batch `B` (its `backward` without an input gradient), in
/// GFLOP/s: `2 · macs` per call.
fn conv_weight_grad_gflops<L: Composable, const B: usize>(macs: usize, calls: usize) -> f64 {
    let mut conv = L::build(&mut nn::init::seeded(7));
    let mut rng = nn::init::seeded(8);
    let mut x = L::Input::<B>::zeros();
    for v in x.as_mut_slice() {
        *v = nn::init::uniform(&mut rng, -1.0, 1.0);
    }
    let mut y = L::Output::<B>::zeros();
    let mut cache = L::Cache::<B>::zeroed();
    conv.forward_train(&x, &mut y, &mut cache);
    let mut dy = L::Output::<B>::zeros();
    dy.as_mut_slice().copy_from_slice(y.as_slice());
    let seconds = time_per_call(calls, || {
        conv.backward(black_box(&x), &y, &mut cache, black_box(&dy), None);
    });
    (2 * macs) as f64 / seconds / 1e9
}

/// A TCN block's four causal dilated `conv1d(64 -> 64, kernel = 3)` (dilations 1, 2, 4, 8)
/// over `L` steps at batch `B`, forward, in GFLOP/s over the four.
fn tcn_gflops<const L: usize, const B: usize>(calls: usize) -> f64 {
    let macs = B * 64 * L * 64 * 3;
    let seconds = [
        macs as f64 / conv_gflops::<Conv1d<64, 64, L, L, 3, 1, 2, 0, 1, 64>, B>(macs, calls),
        macs as f64 / conv_gflops::<Conv1d<64, 64, L, L, 3, 1, 4, 0, 2, 64>, B>(macs, calls),
        macs as f64 / conv_gflops::<Conv1d<64, 64, L, L, 3, 1, 8, 0, 4, 64>, B>(macs, calls),
        macs as f64 / conv_gflops::<Conv1d<64, 64, L, L, 3, 1, 16, 0, 8, 64>, B>(macs, calls),
    ];
    4.0 * macs as f64 / seconds.iter().sum::<f64>()
}

/// This core's single-thread f32 FMA peak in GFLOP/s: independent FMA chains, enough of them
/// to cover the FMA latency on every port, in the widest vectors the CPU has.
fn fma_peak_gflops() -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        let mut best = 0.0f64;
        let seed = black_box(1.0e-7f32);
        let mut measure = |flops_per_iter: usize, run: &dyn Fn(usize) -> f32| {
            let iters = 1 << 20;
            let seconds = time_per_call(3, || {
                black_box(run(black_box(iters)));
            });
            best = best.max((flops_per_iter * iters) as f64 / seconds / 1e9);
        };
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: `fma::avx512` only needs AVX-512F, detected just above.
            measure(fma::AVX512_FLOPS, &|n| unsafe { fma::avx512(n, seed) });
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: `fma::avx2` only needs AVX2 and FMA, detected just above.
            measure(fma::AVX2_FLOPS, &|n| unsafe { fma::avx2(n, seed) });
        }
        best
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0.0
    }
}

/// The FMA chains of [`fma_peak_gflops`]. Each iteration does `a = a · b + c` on every chain;
/// `b` just below 1 keeps the values normal and finite however long it runs.
#[cfg(target_arch = "x86_64")]
mod fma {
    use std::arch::x86_64::*;

    /// Chains of 16-lane AVX-512 FMAs: 16 of the 32 vector registers, so at 4 cycles of
    /// latency two FMA ports stay busy.
    const ZMM_CHAINS: usize = 16;
    /// FLOPs per iteration of [`avx512`].
    pub const AVX512_FLOPS: usize = ZMM_CHAINS * 16 * 2;
    /// Chains of 8-lane AVX2 FMAs: 12, leaving room in the 16 registers for `b` and `c`.
    const YMM_CHAINS: usize = 12;
    /// FLOPs per iteration of [`avx2`].
    pub const AVX2_FLOPS: usize = YMM_CHAINS * 8 * 2;

    #[target_feature(enable = "avx512f")]
    pub fn avx512(iters: usize, seed: f32) -> f32 {
        let (b, c) = (_mm512_set1_ps(0.999_9), _mm512_set1_ps(seed));
        let mut acc = [_mm512_set1_ps(seed); ZMM_CHAINS];
        for _ in 0..iters {
            for a in &mut acc {
                *a = _mm512_fmadd_ps(*a, b, c);
            }
        }
        let sum = acc
            .iter()
            .fold(_mm512_setzero_ps(), |s, &a| _mm512_add_ps(s, a));
        _mm512_reduce_add_ps(sum)
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn avx2(iters: usize, seed: f32) -> f32 {
        let (b, c) = (_mm256_set1_ps(0.999_9), _mm256_set1_ps(seed));
        let mut acc = [_mm256_set1_ps(seed); YMM_CHAINS];
        for _ in 0..iters {
            for a in &mut acc {
                *a = _mm256_fmadd_ps(*a, b, c);
            }
        }
        let sum = acc
            .iter()
            .fold(_mm256_setzero_ps(), |s, &a| _mm256_add_ps(s, a));
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` is 8 writable f32s, what an unaligned 256-bit store writes.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
        lanes.iter().sum()
    }
}

fn sgemm_gflops() -> f64 {
    let (m, n, k) = (BATCH, 128, 784);
    let mut rng = nn::init::seeded(3);
    let mut random = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|_| nn::init::uniform(&mut rng, -1.0, 1.0))
            .collect()
    };
    // In tensors, as a network holds them: 64-byte aligned, as PyTorch's are.
    let a = Tensor2::<BATCH, 784>::from_vec(random(m * k)).expect("m × k values");
    let b = Tensor2::<128, 784>::from_vec(random(n * k)).expect("n × k values");
    let mut c = Tensor2::<BATCH, 128>::zeros();
    let (a, b, c) = (a.as_slice(), b.as_slice(), c.as_mut_slice());
    let seconds = time_per_call(2000, || {
        gemm(
            1.0,
            MatRef::new(black_box(a), m, k),
            Op::Plain,
            MatRef::new(black_box(b), n, k),
            Op::Transposed,
            0.0,
            c,
            n,
        );
        black_box(&mut *c);
    });
    (2 * m * n * k) as f64 / seconds / 1e9
}

/// One empty split over the pool's threads (`NN_THREADS`): waking the workers, each taking
/// one part, and waiting for every one of them; the cost a split pays before any work.
fn dispatch(calls: usize) -> f64 {
    let threads = nn::linalg::threads::current();
    time_per_call(calls, || {
        nn::linalg::threads::for_each(0..threads, |_, part| {
            black_box(part);
        });
    })
}

fn main() {
    let figures: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if figures.is_empty() {
        println!(
            "perf_probe: run `python3 benches/compare/compare.py` \
             (figures: epoch infer_b1 infer_b64 celsius sgemm train_b256 \
             lenet_epoch cnn_infer_b1 lenet_int8_b64 transformer transformer_train transformer_decode conv1 conv2 conv1_wgrad conv2_wgrad tcn784 tcn28 \
             depthwise depthwise_wgrad fma_peak lstm_epoch lstm_infer_b1 dispatch)"
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
            "lenet_epoch" => println!("lenet_epoch_s: {:.6}", lenet_epoch()),
            "cnn_infer_b1" => println!("cnn_infer_b1_us: {:.4}", cnn_infer_b1(2_000) * 1e6),
            "lenet_int8_b64" => {
                let (f32_time, int8_time) = lenet_b64(20);
                println!("lenet_f32_b64_us: {:.2}", f32_time * 1e6);
                println!("lenet_int8_b64_us: {:.2}", int8_time * 1e6);
            }
            "conv1" => println!(
                "conv1_gflops: {:.3}",
                conv_gflops::<SquareConv2d<1, 6, 28, 28, 24, 24, 5, 1, 0>, BATCH>(
                    BATCH * 6 * 24 * 24 * 25,
                    200
                )
            ),
            "conv2" => println!(
                "conv2_gflops: {:.3}",
                conv_gflops::<SquareConv2d<6, 16, 12, 12, 8, 8, 5, 1, 0>, BATCH>(
                    BATCH * 16 * 8 * 8 * 6 * 25,
                    200
                )
            ),
            "conv1_wgrad" => println!(
                "conv1_wgrad_gflops: {:.3}",
                conv_weight_grad_gflops::<SquareConv2d<1, 6, 28, 28, 24, 24, 5, 1, 0>, BATCH>(
                    BATCH * 6 * 24 * 24 * 25,
                    100
                )
            ),
            "conv2_wgrad" => println!(
                "conv2_wgrad_gflops: {:.3}",
                conv_weight_grad_gflops::<SquareConv2d<6, 16, 12, 12, 8, 8, 5, 1, 0>, BATCH>(
                    BATCH * 16 * 8 * 8 * 6 * 25,
                    100
                )
            ),
            "tcn784" => println!("tcn784_gflops: {:.3}", tcn_gflops::<784, 8>(50)),
            "tcn28" => println!("tcn28_gflops: {:.3}", tcn_gflops::<28, BATCH>(200)),
            "depthwise" => println!(
                "depthwise_gflops: {:.3}",
                conv_gflops::<Conv2d<64, 64, 25, 5, 25, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1>, BATCH>(
                    BATCH * 64 * 25 * 5 * 9,
                    500
                )
            ),
            "depthwise_wgrad" => println!(
                "depthwise_wgrad_gflops: {:.3}",
                conv_weight_grad_gflops::<
                    Conv2d<64, 64, 25, 5, 25, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1>,
                    BATCH,
                >(BATCH * 64 * 25 * 5 * 9, 500)
            ),
            "transformer" => println!("transformer_fwd_us: {:.2}", transformer(20, false) * 1e6),
            "transformer_decode" => {
                println!(
                    "transformer_decode_us: {:.2}",
                    transformer_decode(200) * 1e6
                )
            }
            "transformer_train" => {
                println!("transformer_train_us: {:.2}", transformer(20, true) * 1e6)
            }
            "fma_peak" => println!("fma_peak_gflops: {:.3}", fma_peak_gflops()),
            "lstm_epoch" => println!("lstm_epoch_s: {:.6}", lstm_epoch()),
            "lstm_infer_b1" => println!("lstm_infer_b1_us: {:.4}", lstm_infer_b1(2_000) * 1e6),
            "dispatch" => println!("dispatch_us: {:.4}", dispatch(100_000) * 1e6),
            other => {
                eprintln!("perf_probe: unknown figure `{other}`");
                std::process::exit(2);
            }
        }
    }
}
