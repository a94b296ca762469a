//! Baked int8 networks (`#[weights = "model.q.safetensors"]`) against the runtime
//! `nn::quant::QuantModel` of the same file: the same bytes on every input, for the MNIST MLP
//! and CNN of `examples/quantize`, for a network with a residual add, a concat, average
//! pooling, a depthwise convolution and a global average, and for an MLP through tanh, sigmoid
//! and softmax.

use nn::prelude::*;
use nn::quant::{QuantModel, Quantize};

network! {
    #[weights = "models/mnist_mlp.q.safetensors"]
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >

    #[weights = "models/mnist_cnn.q.safetensors"]
    pub struct Cnn<
        input(1, 28, 28),
        conv1: conv2d(1 -> 16, kernel = 5, padding = 2), batch_norm, relu, max_pool(2),
        conv2: conv2d(16 -> 32, kernel = 5, padding = 2), batch_norm, relu, max_pool(2),
        flatten,
        fc1: dense(1568 -> 128), relu, dropout(0.3),
        fc2: dense(128 -> 10),
    >

    /// `tests/quant_ptq.rs`'s `Vision`.
    #[weights = "tests/fixtures/int8/vision.q.safetensors"]
    pub struct Vision<
        input(2, 8, 8),
        conv1: conv2d(2 -> 4, kernel = 3, padding = 1), batch_norm, relu,
        block: fork {
            body: [conv2d(4 -> 4, kernel = 3, padding = 1), relu],
            shortcut: skip,
        } => add,
        relu,
        wide: fork {
            pooled: [max_pool(2)],
            averaged: [avg_pool(2)],
        } => concat,
        dw: depthwise(8, kernel = 3, padding = same), relu,
        global_avg_pool,
        head: dense(8 -> 3),
    >

    /// The LeNet of `tests/fixtures/int8/mnist_lenet.tflite`, baked from TensorFlow Lite's
    /// file itself.
    #[weights = "tests/fixtures/int8/mnist_lenet.tflite"]
    pub struct TfliteLenet<
        input(1, 28, 28),
        conv1: conv2d(1 -> 6, kernel = 5), relu, max_pool(2),
        conv2: conv2d(6 -> 16, kernel = 5, padding = same), relu, max_pool(2),
        flatten,
        fc1: dense(576 -> 64), relu,
        fc2: dense(64 -> 10),
    >

    /// `tests/oracle/int8_generate.py`'s MLP through tanh, sigmoid and softmax, as TensorFlow
    /// Lite's converter quantized it.
    #[weights = "tests/fixtures/int8/mnist_mlp_act.q.safetensors"]
    pub struct ActivationMlp<
        fc1: dense(784 -> 64), tanh,
        fc2: dense(64 -> 32), sigmoid,
        fc3: dense(32 -> 10), softmax,
    >
}

/// `n` int8 samples of `len` values from a fixed stream, every value of the range likely.
fn samples(n: usize, len: usize) -> Vec<i8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..n * len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as u8 as i8
        })
        .collect()
}

/// The baked network gives the runtime model's bytes on `n` samples.
macro_rules! same_bytes {
    ($net:ident, $baked:ident, $file:expr, $n:expr) => {{
        let model = QuantModel::load(&$net::PLAN, $file).expect("reads the file");
        let mut activations = model.activations();
        let mut work = vec![0i8; $baked::WORK_LEN];
        let work: &mut [i8; $baked::WORK_LEN] = work.as_mut_slice().try_into().unwrap();
        let mut outputs = std::collections::BTreeSet::new();
        let inputs = samples($n, $baked::INPUTS);
        let mut all = Vec::new();
        for x in inputs.chunks_exact($baked::INPUTS) {
            let expected = model.infer(x, &mut activations).to_vec();
            let got = $baked::infer(x.try_into().unwrap(), work);
            assert_eq!(&got[..], &expected[..]);
            outputs.insert(got.to_vec());
            all.extend_from_slice(&got[..]);
        }
        // Distinct inputs give distinct outputs: the test compares something.
        assert!(outputs.len() > $n / 2, "{} distinct outputs", outputs.len());
        // The whole batch at once: the same bytes.
        let mut batch = model.batch_activations($n);
        assert_eq!(model.infer_batch(&inputs, &mut batch), &all[..]);
    }};
}

#[test]
fn the_baked_mlp_is_the_runtime_model() {
    same_bytes!(Mlp, MlpBaked, "models/mnist_mlp.q.safetensors", 50);
}

#[test]
fn the_baked_cnn_is_the_runtime_model() {
    same_bytes!(Cnn, CnnBaked, "models/mnist_cnn.q.safetensors", 10);
}

#[test]
fn the_baked_residual_and_concat_network_is_the_runtime_model() {
    same_bytes!(
        Vision,
        VisionBaked,
        "tests/fixtures/int8/vision.q.safetensors",
        200
    );
}

#[test]
fn the_baked_tanh_sigmoid_and_softmax_network_is_the_runtime_model() {
    same_bytes!(
        ActivationMlp,
        ActivationMlpBaked,
        "tests/fixtures/int8/mnist_mlp_act.q.safetensors",
        100
    );
    // The softmax's output is TensorFlow Lite's: probabilities in steps of 1/256 from −128.
    assert_eq!(
        (
            ActivationMlpBaked::OUTPUT_SCALE,
            ActivationMlpBaked::OUTPUT_ZERO_POINT
        ),
        (1.0 / 256.0, -128)
    );
}

/// `#[weights = "model.tflite"]` bakes TensorFlow Lite's file: the runtime model read from it
/// gives the same bytes, and those are TFLM's on the fixture's images.
#[test]
fn a_baked_tflite_file_is_the_runtime_model_and_tflm() {
    let path = "tests/fixtures/int8/mnist_lenet.tflite";
    let model = QuantModel::from_tflite(&TfliteLenet::PLAN, &std::fs::read(path).unwrap())
        .expect("the .tflite reads as the declaration");
    let mut activations = model.activations();
    let mut work = vec![0i8; TfliteLenetBaked::WORK_LEN];
    let work: &mut [i8; TfliteLenetBaked::WORK_LEN] = work.as_mut_slice().try_into().unwrap();
    for x in samples(20, 784).chunks_exact(784) {
        let expected = model.infer(x, &mut activations).to_vec();
        assert_eq!(
            &TfliteLenetBaked::infer(x.try_into().unwrap(), work)[..],
            &expected[..]
        );
    }
    let data = std::fs::read("tests/fixtures/int8/mnist_lenet_tflm.safetensors").unwrap();
    let file = safetensors::SafeTensors::deserialize(&data).unwrap();
    let inputs: Vec<i8> = file
        .tensor("test.inputs")
        .unwrap()
        .data()
        .iter()
        .map(|&b| b as i8)
        .collect();
    let want: Vec<i8> = file
        .tensor("test.tflm_outputs")
        .unwrap()
        .data()
        .iter()
        .map(|&b| b as i8)
        .collect();
    let mut got = Vec::new();
    for x in inputs.chunks_exact(784) {
        got.extend_from_slice(TfliteLenetBaked::infer(x.try_into().unwrap(), work));
    }
    assert_eq!(got, want, "TFLM's bytes");
}

#[test]
fn the_int8_network_is_a_quarter_of_the_float_one() {
    // int8 weights, int32 biases and an 8-byte multiplier per output channel.
    let float_weight_bytes = 4 * (784 * 128 + 128 + 128 * 10 + 10);
    let ratio = MlpBaked::WEIGHT_BYTES as f64 / float_weight_bytes as f64;
    assert!(ratio < 0.27, "{ratio}");
    assert_eq!(MlpBaked::WORK_LEN, 128 + 10);
}

#[test]
fn the_float_wrapper_quantizes_and_saturates() {
    let mut work = [0i8; MlpBaked::WORK_LEN];
    let mut out = [0.0f32; 10];
    // Far outside the calibrated range: saturates, and still gives finite outputs.
    MlpBaked::infer_f32(&[1e9; 784], &mut work, &mut out);
    assert!(out.iter().all(|v| v.is_finite()));
    let q = [127i8; 784];
    let expected: Vec<f32> = MlpBaked::infer(&q, &mut work)
        .iter()
        .map(|&v| MlpBaked::OUTPUT_SCALE * (i32::from(v) - MlpBaked::OUTPUT_ZERO_POINT) as f32)
        .collect();
    assert_eq!(out.to_vec(), expected);
}
