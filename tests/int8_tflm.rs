//! Our int8 arithmetic against TensorFlow Lite Micro's reference kernels, bit for bit, on the
//! first 100 MNIST test images: the MNIST MLP of `models/mnist_mlp.safetensors` and a LeNet
//! (convolutions, one with `same` padding, and max pooling), each quantized by TensorFlow
//! Lite's converter (post-training, per-channel weights) and run by TFLM's interpreter.
//! `tests/oracle/int8_generate.py` made the fixtures (outside CI: it needs TensorFlow); this
//! test needs no Python.
//!
//! The layers run on `nn::quant::DenseInt8`, with each output channel's multiplier made from
//! the scales as TFLM makes it: `input_scale · weight_scale` in single precision, widened, then
//! divided by the output scale in double precision (its `PopulateConvolutionQuantizationParams`).

use nn::linalg::conv::ConvShape;
use nn::linalg::pool::PoolShape;
use nn::quant::{Conv2dInt8, DenseInt8, Multiplier, max_pool_int8};
use safetensors::{Dtype, SafeTensors};

const MLP: &str = "tests/fixtures/int8/mnist_mlp_tflm.safetensors";
const LENET: &str = "tests/fixtures/int8/mnist_lenet_tflm.safetensors";

fn bytes<'a>(file: &'a SafeTensors<'a>, name: &str, dtype: Dtype) -> &'a [u8] {
    let tensor = file.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(tensor.dtype(), dtype, "{name}");
    tensor.data()
}

fn i8s(file: &SafeTensors<'_>, name: &str) -> Vec<i8> {
    bytes(file, name, Dtype::I8)
        .iter()
        .map(|&b| b as i8)
        .collect()
}

fn i32s(file: &SafeTensors<'_>, name: &str) -> Vec<i32> {
    let raw = bytes(file, name, Dtype::I32);
    raw.chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn f32s(file: &SafeTensors<'_>, name: &str) -> Vec<f32> {
    let raw = bytes(file, name, Dtype::F32);
    raw.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// One quantized fully-connected layer of the fixture.
struct Layer {
    weight: Vec<i8>,
    bias: Vec<i32>,
    multipliers: Vec<Multiplier>,
    output_scale: f32,
    output_zero_point: i32,
}

impl Layer {
    fn read(file: &SafeTensors<'_>, name: &str, input_scale: f32) -> Self {
        let weight_scale = f32s(file, &format!("{name}.weight_scale"));
        let output_scale = f32s(file, &format!("{name}.output_scale"))[0];
        let multipliers = weight_scale
            .iter()
            .map(|&w| Multiplier::from_real(f64::from(input_scale * w) / f64::from(output_scale)))
            .collect();
        Self {
            weight: i8s(file, &format!("{name}.weight")),
            bias: i32s(file, &format!("{name}.bias")),
            multipliers,
            output_scale,
            output_zero_point: i32s(file, &format!("{name}.output_zero_point"))[0],
        }
    }

    fn kernel(&self, input_zero_point: i32, relu: bool) -> DenseInt8<'_> {
        let low = if relu {
            self.output_zero_point.clamp(-128, 127) as i8
        } else {
            i8::MIN
        };
        DenseInt8 {
            weight: &self.weight,
            bias: &self.bias,
            multipliers: &self.multipliers,
            input_zero_point,
            output_zero_point: self.output_zero_point,
            activation: (low, i8::MAX),
        }
    }
}

#[test]
fn mnist_mlp_matches_tflm_bit_for_bit() {
    let data = std::fs::read(MLP).expect("the int8 fixture is committed");
    let file = SafeTensors::deserialize(&data).expect("a safetensors file");
    let input_scale = f32s(&file, "input.scale")[0];
    let input_zero_point = i32s(&file, "input.zero_point")[0];
    let fc1 = Layer::read(&file, "fc1", input_scale);
    let fc2 = Layer::read(&file, "fc2", fc1.output_scale);
    let inputs = i8s(&file, "test.inputs");
    let want = i8s(&file, "test.tflm_outputs");
    let tflite = i8s(&file, "test.tflite_outputs");
    let labels = bytes(&file, "test.labels", Dtype::U8);
    let cases = labels.len();
    assert_eq!(inputs.len(), cases * 784);

    let mut hidden = vec![0i8; cases * 128];
    fc1.kernel(input_zero_point, true)
        .forward(&inputs, &mut hidden);
    let mut got = vec![0i8; cases * 10];
    fc2.kernel(fc1.output_zero_point, false)
        .forward(&hidden, &mut got);

    check_against_tflm(&got, &want, &tflite, labels);
}

/// No output byte differs from TFLM's; the fixture can tell the two roundings apart
/// (TensorFlow Lite's own interpreter rounds the requantization once and differs from TFLM
/// somewhere, so matching TFLM means something); and the int8 network classifies.
fn check_against_tflm(got: &[i8], want: &[i8], tflite: &[i8], labels: &[u8]) {
    let differing = got.iter().zip(want).filter(|(a, b)| a != b).count();
    assert_eq!(
        differing,
        0,
        "{differing} of {} output bytes differ from TFLM's",
        want.len()
    );
    assert!(got.iter().zip(tflite).any(|(a, b)| a != b));
    let correct = got
        .chunks_exact(10)
        .zip(labels)
        .filter(|(logits, label)| {
            let best = (0..10)
                .max_by_key(|&i| (logits[i], std::cmp::Reverse(i)))
                .unwrap();
            best == usize::from(**label)
        })
        .count();
    assert!(correct >= 90, "{correct} of {} correct", labels.len());
}

/// A conv layer's weight from TensorFlow Lite's `OHWI` to PyTorch's `OIHW`.
fn ohwi_to_oihw(w: &[i8], (o, h, wd, i): (usize, usize, usize, usize)) -> Vec<i8> {
    let mut out = vec![0i8; w.len()];
    for a in 0..o {
        for y in 0..h {
            for x in 0..wd {
                for c in 0..i {
                    out[((a * i + c) * h + y) * wd + x] = w[((a * h + y) * wd + x) * i + c];
                }
            }
        }
    }
    out
}

#[test]
fn lenet_matches_tflm_bit_for_bit() {
    let data = std::fs::read(LENET).expect("the int8 fixture is committed");
    let file = SafeTensors::deserialize(&data).expect("a safetensors file");
    let input_scale = f32s(&file, "input.scale")[0];
    let input_zero_point = i32s(&file, "input.zero_point")[0];
    let mut conv1 = Layer::read(&file, "conv1", input_scale);
    conv1.weight = ohwi_to_oihw(&conv1.weight, (6, 5, 5, 1));
    // Max pooling keeps its input's scale and zero point.
    let mut conv2 = Layer::read(&file, "conv2", conv1.output_scale);
    conv2.weight = ohwi_to_oihw(&conv2.weight, (16, 5, 5, 6));
    let fc1 = Layer::read(&file, "fc1", conv2.output_scale);
    let fc2 = Layer::read(&file, "fc2", fc1.output_scale);
    // One channel: NHWC is NCHW.
    let inputs = i8s(&file, "test.inputs");
    let labels = bytes(&file, "test.labels", Dtype::U8);
    let cases = labels.len();

    let conv = |layer: &Layer, shape: &ConvShape, zero: i32, x: &[i8]| {
        let kernel = layer.kernel(zero, true);
        let mut y = vec![0i8; x.len() / shape.input_len() * shape.output_len()];
        let conv = Conv2dInt8 {
            shape,
            weight: kernel.weight,
            bias: kernel.bias,
            multipliers: kernel.multipliers,
            input_zero_point: kernel.input_zero_point,
            output_zero_point: kernel.output_zero_point,
            activation: kernel.activation,
        };
        conv.forward(x, &mut y);
        // The kernel networks run (`nn::quant::QuantModel`, baked int8) gives the same bytes.
        let mut widened = vec![0i8; y.len()];
        let (scratch, padded) = conv.scratch_len();
        conv.forward_with(x, &mut widened, &mut vec![0; scratch], &mut vec![0; padded]);
        assert_eq!(widened, y);
        y
    };
    let pool = |shape: &PoolShape, x: &[i8]| {
        let planes = x.len() / (shape.height.size * shape.width.size);
        let mut y = vec![0i8; planes * shape.height.out * shape.width.out];
        max_pool_int8(shape, (i8::MIN, i8::MAX), x, &mut y);
        y
    };
    let a = conv(
        &conv1,
        &ConvShape::square(1, 6, (28, 28), 5, 1, 0),
        input_zero_point,
        &inputs,
    );
    let a = pool(&PoolShape::square(24, 24, 2, 2, 0), &a);
    let a = conv(
        &conv2,
        &ConvShape::square(6, 16, (12, 12), 5, 1, 2),
        conv1.output_zero_point,
        &a,
    );
    let a = pool(&PoolShape::square(12, 12, 2, 2, 0), &a);
    // TensorFlow Lite flattens `(6, 6, 16)` channels last: turn each `(16, 6, 6)` sample over.
    let mut flat = vec![0i8; a.len()];
    for (src, dst) in a.chunks_exact(576).zip(flat.chunks_exact_mut(576)) {
        for c in 0..16 {
            for p in 0..36 {
                dst[p * 16 + c] = src[c * 36 + p];
            }
        }
    }
    let mut hidden = vec![0i8; cases * 64];
    fc1.kernel(conv2.output_zero_point, true)
        .forward(&flat, &mut hidden);
    let mut got = vec![0i8; cases * 10];
    fc2.kernel(fc1.output_zero_point, false)
        .forward(&hidden, &mut got);
    let want = i8s(&file, "test.tflm_outputs");
    let tflite = i8s(&file, "test.tflite_outputs");
    check_against_tflm(&got, &want, &tflite, labels);
}

nn::network! {
    /// The network of `mnist_dsres.tflite`: a depthwise-separable residual block, an add with a
    /// fused ReLU, average pooling, a strided `same` convolution.
    pub struct Dsres<
        input(1, 28, 28),
        conv1: conv2d(1 -> 8, kernel = 3, padding = 1), relu,
        block: fork {
            body: [dw: depthwise(8, kernel = 3, padding = 1), relu, pw: conv2d(8 -> 8, kernel = 1)],
            shortcut: skip,
        } => add,
        relu, avg_pool(2),
        conv2: conv2d(8 -> 16, kernel = 3, stride = 2, padding = same), relu,
        flatten,
        fc: dense(784 -> 10),
    >
}

/// The whole int8 path of `nn` (`QuantModel`, as a baked network runs it: depthwise, `add`
/// with its rescaling and fused ReLU, average pooling) on a network TensorFlow Lite's converter
/// quantized, read from the fixture in `nn`'s quantized-file names: TFLM's bytes.
#[test]
fn a_depthwise_separable_residual_net_matches_tflm_bit_for_bit() {
    use nn::quant::{QuantModel, Quantize};
    let data = std::fs::read("tests/fixtures/int8/mnist_dsres_tflm.safetensors")
        .expect("the int8 fixture is committed");
    let model = QuantModel::from_bytes(&Dsres::PLAN, &data).expect("reads as a quantized file");
    let file = SafeTensors::deserialize(&data).expect("a safetensors file");
    let inputs = i8s(&file, "test.inputs");
    let want = i8s(&file, "test.tflm_outputs");
    let labels = bytes(&file, "test.labels", Dtype::U8);
    let mut activations = model.activations();
    let mut got = Vec::new();
    for x in inputs.chunks_exact(784) {
        got.extend_from_slice(model.infer(x, &mut activations));
    }
    let mut batch = model.batch_activations(inputs.len() / 784);
    assert_eq!(
        model.infer_batch(&inputs, &mut batch),
        &got[..],
        "one batch"
    );
    let differing = got.iter().zip(&want).filter(|(a, b)| a != b).count();
    assert_eq!(
        differing,
        0,
        "{differing} of {} output bytes differ from TFLM's",
        want.len()
    );
    let correct = got
        .chunks_exact(10)
        .zip(labels)
        .filter(|(logits, label)| {
            (0..10).max_by_key(|&i| (logits[i], std::cmp::Reverse(i))) == Some(usize::from(**label))
        })
        .count();
    assert!(correct >= 80, "{correct} of {} correct", labels.len());
}

nn::network! {
    /// The MNIST MLP, for the fixture quantized with one weight scale per tensor.
    pub struct PerTensorMlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

/// The MLP quantized with one weight scale per tensor (what the `microflow` crate reads, and
/// `embedded/mnist-mlp-tflite` bakes): `nn`'s quantized file of it, read by `QuantModel`,
/// gives TFLM's bytes on the `.tflite`.
#[test]
fn a_per_tensor_mlp_matches_tflm_bit_for_bit() {
    use nn::quant::{QuantModel, Quantize};
    let quantized = std::fs::read("tests/fixtures/int8/mnist_mlp_per_tensor.q.safetensors")
        .expect("the quantized file is committed");
    let model = QuantModel::from_bytes(&PerTensorMlp::PLAN, &quantized).expect("reads");
    assert!(
        model.steps[0].weight_scale.windows(2).all(|w| w[0] == w[1]),
        "one scale per tensor"
    );
    let data = std::fs::read("tests/fixtures/int8/mnist_mlp_per_tensor_tflm.safetensors")
        .expect("the int8 fixture is committed");
    let file = SafeTensors::deserialize(&data).expect("a safetensors file");
    let want = i8s(&file, "test.tflm_outputs");
    let mut activations = model.activations();
    let mut got = Vec::new();
    for x in i8s(&file, "test.inputs").chunks_exact(784) {
        got.extend_from_slice(model.infer(x, &mut activations));
    }
    let differing = got.iter().zip(&want).filter(|(a, b)| a != b).count();
    assert_eq!(
        differing,
        0,
        "{differing} of {} output bytes differ from TFLM's",
        want.len()
    );
}

/// Softmax, sigmoid and tanh alone, at two input scales each, against TFLM's kernels: the
/// sigmoids on every int8 value, softmax on 200 random rows of 10.
#[test]
fn softmax_sigmoid_and_tanh_match_tflm_on_every_input() {
    use nn::quant::{QuantParams, SigmoidInt8, SoftmaxInt8};
    let data = std::fs::read("tests/fixtures/int8/int8_activations.safetensors")
        .expect("the int8 fixture is committed");
    let file = SafeTensors::deserialize(&data).expect("a safetensors file");
    for op in ["sigmoid", "tanh", "softmax"] {
        for case in ["narrow", "wide"] {
            let key = format!("{op}.{case}");
            let input = QuantParams {
                scale: f32s(&file, &format!("{key}.input_scale"))[0],
                zero_point: i32s(&file, &format!("{key}.input_zero_point"))[0],
            };
            let x = i8s(&file, &format!("{key}.inputs"));
            let want = i8s(&file, &format!("{key}.tflm_outputs"));
            let mut got = vec![0i8; x.len()];
            let expected_output = match op {
                "softmax" => {
                    SoftmaxInt8::new(input.scale)
                        .expect("a softmax")
                        .forward(10, &x, &mut got);
                    nn::quant::PROBABILITY_OUTPUT
                }
                _ => {
                    let kernel = SigmoidInt8::new(input, op == "tanh").expect("a sigmoid");
                    kernel.forward(&x, &mut got);
                    kernel.output()
                }
            };
            assert_eq!(
                (expected_output.scale, expected_output.zero_point),
                (
                    f32s(&file, &format!("{key}.output_scale"))[0],
                    i32s(&file, &format!("{key}.output_zero_point"))[0]
                ),
                "{key}: TensorFlow Lite's fixed output quantization"
            );
            let differing: Vec<(i8, i8, i8)> = x
                .iter()
                .zip(&got)
                .zip(&want)
                .filter(|((_, g), w)| g != w)
                .map(|((&x, &g), &w)| (x, g, w))
                .collect();
            assert!(
                differing.is_empty(),
                "{key}: {} of {} bytes differ from TFLM's; (input, ours, TFLM): {:?}",
                differing.len(),
                want.len(),
                &differing[..differing.len().min(8)]
            );
            // Not a constant: the fixture covers much of the function's range.
            let distinct: std::collections::BTreeSet<i8> = want.iter().copied().collect();
            assert!(
                distinct.len() > 40,
                "{key}: {} distinct outputs",
                distinct.len()
            );
        }
    }
}

nn::network! {
    /// The network of `mnist_mlp_act.tflite`: tanh, sigmoid and softmax between dense layers.
    pub struct ActivationMlp<
        fc1: dense(784 -> 64), tanh,
        fc2: dense(64 -> 32), sigmoid,
        fc3: dense(32 -> 10), softmax,
    >
}

/// The int8 path of `nn` on an MLP through tanh, sigmoid and softmax that TensorFlow Lite's
/// converter quantized: TFLM's bytes.
#[test]
fn an_mlp_through_tanh_sigmoid_and_softmax_matches_tflm_bit_for_bit() {
    use nn::quant::{QuantModel, Quantize};
    let data = std::fs::read("tests/fixtures/int8/mnist_mlp_act_tflm.safetensors")
        .expect("the int8 fixture is committed");
    let model =
        QuantModel::from_bytes(&ActivationMlp::PLAN, &data).expect("reads as a quantized file");
    let file = SafeTensors::deserialize(&data).expect("a safetensors file");
    let want = i8s(&file, "test.tflm_outputs");
    let mut activations = model.activations();
    let mut got = Vec::new();
    for x in i8s(&file, "test.inputs").chunks_exact(784) {
        got.extend_from_slice(model.infer(x, &mut activations));
    }
    let differing = got.iter().zip(&want).filter(|(a, b)| a != b).count();
    assert_eq!(
        differing,
        0,
        "{differing} of {} output bytes differ from TFLM's",
        want.len()
    );
    let labels = bytes(&file, "test.labels", Dtype::U8);
    let correct = got
        .chunks_exact(10)
        .zip(labels)
        .filter(|(p, label)| (0..10).max_by_key(|&i| p[i]) == Some(usize::from(**label)))
        .count();
    assert!(correct >= 80, "{correct} of {} correct", labels.len());
}

nn::network! {
    /// The MNIST MLP of `mnist_mlp.tflite`.
    pub struct TfliteMlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >

    /// The LeNet of `mnist_lenet.tflite`.
    pub struct TfliteLenet<
        input(1, 28, 28),
        conv1: conv2d(1 -> 6, kernel = 5), relu, max_pool(2),
        conv2: conv2d(6 -> 16, kernel = 5, padding = same), relu, max_pool(2),
        flatten,
        fc1: dense(576 -> 64), relu,
        fc2: dense(64 -> 10),
    >
}

/// A `.tflite` read by `QuantModel::from_tflite` against the declaration gives TFLM's bytes on
/// the fixture's inputs.
fn tflite_matches(plan: &nn::quant::Plan, tflite: &str, fixture: &str, input_len: usize) {
    use nn::quant::QuantModel;
    let bytes = std::fs::read(tflite).expect("the .tflite fixture is committed");
    let model = QuantModel::from_tflite(plan, &bytes)
        .unwrap_or_else(|e| panic!("{tflite} reads as the declaration: {e}"));
    let data = std::fs::read(fixture).expect("the int8 fixture is committed");
    let file = SafeTensors::deserialize(&data).expect("a safetensors file");
    let want = i8s(&file, "test.tflm_outputs");
    let mut activations = model.activations();
    let mut got = Vec::new();
    for x in i8s(&file, "test.inputs").chunks_exact(input_len) {
        got.extend_from_slice(model.infer(x, &mut activations));
    }
    let differing = got.iter().zip(&want).filter(|(a, b)| a != b).count();
    assert_eq!(
        differing,
        0,
        "{tflite}: {differing} of {} output bytes differ from TFLM's",
        want.len()
    );
}

/// Every `.tflite` fixture, read straight from TensorFlow Lite's file (weights reordered from
/// NHWC, the flattened image's columns too), gives TFLM's bytes.
#[test]
fn tflite_files_read_as_their_declarations_give_tflm_bytes() {
    use nn::quant::Quantize;
    let dir = "tests/fixtures/int8";
    tflite_matches(
        &TfliteMlp::PLAN,
        &format!("{dir}/mnist_mlp.tflite"),
        &format!("{dir}/mnist_mlp_tflm.safetensors"),
        784,
    );
    tflite_matches(
        &PerTensorMlp::PLAN,
        &format!("{dir}/mnist_mlp_per_tensor.tflite"),
        &format!("{dir}/mnist_mlp_per_tensor_tflm.safetensors"),
        784,
    );
    tflite_matches(
        &TfliteLenet::PLAN,
        &format!("{dir}/mnist_lenet.tflite"),
        &format!("{dir}/mnist_lenet_tflm.safetensors"),
        784,
    );
    tflite_matches(
        &Dsres::PLAN,
        &format!("{dir}/mnist_dsres.tflite"),
        &format!("{dir}/mnist_dsres_tflm.safetensors"),
        784,
    );
    tflite_matches(
        &ActivationMlp::PLAN,
        &format!("{dir}/mnist_mlp_act.tflite"),
        &format!("{dir}/mnist_mlp_act_tflm.safetensors"),
        784,
    );
}
