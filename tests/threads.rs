//! Training gives the same bits on any number of threads: the pool splits only independent
//! work (row bands of products, groups of a convolution's samples summed in a fixed order,
//! batch rows of a recurrent step), and batch norm's statistics stay the whole batch's.
//!
//! The counts compared are 1 and every core the machine has (`threads::available`); a count
//! above the cores is clamped to them, so a 2-core machine compares 1 and 2.

use std::sync::Arc;

use nn::data::{Batches, Dataset, Labels, LastBatch};
use nn::layers::{Features, Shape2, Shape3};
use nn::linalg::threads;
use nn::prelude::*;
use nn::train::{CrossEntropy, Fit, Progress, TrainError};

network! {
    /// The MNIST MLP.
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

network! {
    /// LeNet-5 with batch norm after each convolution.
    pub struct LeNetBn<
        input(1, 28, 28),
        conv1: conv2d(1 -> 6, kernel = 5), batch_norm, relu, max_pool(2),
        conv2: conv2d(6 -> 16, kernel = 5), batch_norm, relu, max_pool(2),
        flatten, fc1: dense(256 -> 120), relu, fc2: dense(120 -> 84), relu, fc3: dense(84 -> 10),
    >
}

network! {
    /// Sequential MNIST: an LSTM over the 28 rows, its last state, a dense head.
    pub struct SeqLstm< input(28, 28), lstm: lstm(28 -> 128), last, head: dense(128 -> 10) >
}

/// Every parameter and buffer (batch norm's running statistics), as bits.
fn bits<M: HasParams>(net: &M) -> Vec<(String, Vec<u32>)> {
    nn::testing::state_bits(net)
}

/// 256 samples of 784 pixels in [0, 1) with labels 0..10, from a fixed stream.
fn data<S: nn::layers::Shape>() -> Dataset<S, Labels> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let samples = 256;
    let inputs = (0..samples * 784).map(|_| next()).collect();
    let labels = (0..samples).map(|i| i % 10).collect();
    Dataset::new(inputs, labels, 10).expect("finite data, labels below 10")
}

/// Four steps of Adam at batch 64 on `$threads` threads; the network's bits afterwards.
macro_rules! trained {
    ($net:ident, $threads:expr, $data:expr) => {{
        let mut net = $net::seeded(5);
        let mut adam = Adam::new(1e-3);
        Fit::new(&mut net, &mut adam, CrossEntropy)
            .threads($threads)
            .progress(Progress::Silent)
            .run(Batches::<64, _>::shuffled($data, LastBatch::Drop, 3).expect("256 samples"))
            .expect("finite training");
        bits(&net)
    }};
}

macro_rules! same_bits_on_every_thread_count {
    ($net:ident, $shape:ty) => {{
        let data = data::<$shape>();
        let one = trained!($net, 1, &data);
        assert_ne!(
            one,
            bits(&$net::seeded(5)),
            "training must change the weights"
        );
        for count in [2, threads::available()] {
            assert_eq!(
                trained!($net, count, &data),
                one,
                "{count} threads against 1"
            );
        }
    }};
}

#[test]
fn the_mlp_trains_to_the_same_bits_on_any_thread_count() {
    same_bits_on_every_thread_count!(Mlp, Features<784>);
}

#[test]
fn the_lenet_with_batch_norm_trains_to_the_same_bits_on_any_thread_count() {
    same_bits_on_every_thread_count!(LeNetBn, Shape3<1, 28, 28>);
}

#[test]
fn the_lstm_trains_to_the_same_bits_on_any_thread_count() {
    same_bits_on_every_thread_count!(SeqLstm, Shape2<28, 28>);
}

#[test]
fn zero_threads_is_an_error_before_any_step() {
    let data = data::<Features<784>>();
    let mut net = Mlp::seeded(0);
    let before = bits(&net);
    let mut adam = Adam::new(1e-3);
    let result = Fit::new(&mut net, &mut adam, CrossEntropy)
        .threads(0)
        .progress(Progress::Silent)
        .run(Batches::<64, _>::sequential(&data, LastBatch::Drop).expect("256 samples"));
    let error = result.expect_err("0 threads cannot train");
    assert!(matches!(error, TrainError::Threads(_)), "{error}");
    assert_eq!(
        error.to_string(),
        "Fit::threads: the thread count must be at least 1, got 0"
    );
    assert_eq!(bits(&net), before, "no step was taken");
}

#[test]
fn a_panicking_metric_reaches_the_caller_and_training_goes_on_afterwards() {
    struct Exploding;
    impl nn::train::Metric<Labels> for Exploding {
        fn name(&self) -> &str {
            "exploding"
        }
        fn reset(&mut self) {}
        fn update(&mut self, _output: &[f32], _target: usize) -> Result<(), nn::Error> {
            panic!("the metric failed");
        }
        fn value(&self) -> f64 {
            0.0
        }
    }
    let data = data::<Features<784>>();
    let caught = std::panic::catch_unwind(|| {
        let mut net = Mlp::seeded(0);
        let mut adam = Adam::new(1e-3);
        let _ = Fit::new(&mut net, &mut adam, CrossEntropy)
            .threads(2)
            .metric(Exploding)
            .progress(Progress::Silent)
            .run(Batches::<64, _>::sequential(&data, LastBatch::Drop).expect("256 samples"));
    });
    assert!(caught.is_err(), "the panic reaches the caller");
    // The pool is not left waiting: the next training on two threads finishes.
    assert_eq!(trained!(Mlp, 2, &data), trained!(Mlp, 1, &data));
}

#[test]
fn a_shared_inference_network_runs_while_a_clone_trains() {
    let data = data::<Features<784>>();
    let net = Arc::new(Mlp::seeded(2));
    let x = Tensor2::<64, 784>::from_fn(|[r, c]| ((r * 13 + c * 7) % 17) as f32 / 17.0);
    let mut tape = MlpTape::<64, Eval>::new();
    let want = net.infer(&x, &mut tape).clone();
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (net, x, want) = (Arc::clone(&net), &x, &want);
                scope.spawn(move || {
                    let mut tape = MlpTape::<64, Eval>::new();
                    for _ in 0..200 {
                        assert_eq!(net.infer(x, &mut tape), want);
                    }
                })
            })
            .collect();
        let mut clone = (*net).clone();
        let mut adam = Adam::new(1e-3);
        Fit::new(&mut clone, &mut adam, CrossEntropy)
            .progress(Progress::Silent)
            .run(Batches::<64, _>::sequential(&data, LastBatch::Drop).expect("256 samples"))
            .expect("finite training");
        for reader in readers {
            reader.join().expect("every inference gave the same bits");
        }
    });
}
