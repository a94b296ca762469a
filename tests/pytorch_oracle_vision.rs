//! The vision layers, and small CNNs declared with `network!`, against an independent oracle:
//! PyTorch.
//!
//! `tests/oracle/vision_generate.py` draws float32 inputs, parameters, upstream gradients and
//! running statistics from fixed seeds, runs PyTorch's `conv2d`, `max_pool2d`, `avg_pool2d`,
//! `max_pool1d`, `avg_pool1d`, `interpolate` (nearest, and bilinear with
//! `align_corners=False`), the global mean and `batch_norm` in float64, and records each output, input gradient and parameter gradient. This
//! test loads the same numbers into our layers and checks that our float32 code lands on
//! PyTorch's. The cases:
//!
//! - `Conv2d`: stride 1 / padding 0; stride 2 / padding 1; C == H == W (4 channels in and out on
//!   4×4 images, padding 1, so a mixed-up axis shows); a 1×1 kernel; stride 2 with a row and a
//!   column no window reaches (`floor`). Batch 2 or 3.
//! - `MaxPool2d` 2, and 3 with stride 2 (overlapping windows), on inputs without ties;
//!   `AvgPool2d` 2, and 3 with stride 1.
//! - Padded pools: `MaxPool2d` and `AvgPool2d` (counting the padding and not) 3 with stride 2
//!   and padding 1; a `MaxPool2d` with a 3 × 2 window, strides (1, 2) and padding (1, 0);
//!   TensorFlow's `same` at stride 2, for `MaxPool2d` (one −∞ row and column after) and for
//!   `AvgPool2d` without counting the padding (split evenly, and one zero after). PyTorch has
//!   no one-sided padding, so those references are written out: `F.pad` with −∞ and a max
//!   pool, and the window sums of the zero-padded input over its counts of input places.
//!   `MaxPool1d` 3 with stride 2 and padding 1, and 2 unpadded; `AvgPool1d` 3 with stride 1
//!   and padding 1, counting the padding and not. Max pool inputs are mostly negative, so
//!   −∞ padding and zeros give different outputs.
//! - `Upsample`: nearest ×2, bilinear ×2 and ×3.
//! - `GlobalAvgPool`.
//! - `BatchNorm1d` / `BatchNorm2d` in training mode (output, input gradient, γ and β gradients,
//!   and the running statistics after the step, from non-default starting values) and in eval
//!   mode (output from given running statistics, and its gradient: see
//!   [`batch_norm_eval_case`]).
//! - `Dropout`: the scaling rule only (eval is the identity; in training each element is 0 or
//!   `x / (1 − p)`, the mask averages about 1, and `dx = dy ⊙ mask`). The random streams differ
//!   from PyTorch's, so masks are not compared.
//! - Two CNNs through `network!`, in training mode (output, loss, input gradient of the
//!   softmax cross-entropy, every parameter gradient, running statistics after the step) and in
//!   eval mode (output from given running statistics).
//!
//! Layers with one behaviour are checked through both forwards (`forward`, `forward_train`).
//!
//! PyTorch is not needed here: the fixture is committed. Regenerate it with
//! `python3 tests/oracle/vision_generate.py`.
//!
//! Tolerance: an element passes when `|ours − torch| ≤ 1e-6 + 1e-4 · |torch|`. The reference is
//! float64 arithmetic on the same float32 inputs, so the difference is our float32 rounding
//! (and summation order). PyTorch itself in float32 uses at most 13% of this budget on these
//! cases (the generator prints the figure); our layers used at most 16% when this test was
//! written, on the conv bias gradients in front of a batch norm, which are 0 up to rounding.

use std::sync::OnceLock;

use nn::prelude::*;
use serde_json::Value;

const ABS_TOL: f64 = 1e-6;
const REL_TOL: f64 = 1e-4;

network! {
    /// conv → batch norm → relu → max pool → flatten → dense: `SmallCnn` in the generator.
    pub struct SmallCnn<
        input(2, 8, 8),
        conv1: conv2d(2 -> 4, kernel = 3, padding = 1), bn1: batch_norm, relu,
        max_pool(2),
        flatten,
        fc: dense(64 -> 5),
    >
}

network! {
    /// Every vision kind but dropout, batch norm on images and on flat features: `MixedCnn` in
    /// the generator.
    pub struct MixedCnn<
        input(3, 8, 8),
        conv1: conv2d(3 -> 4, kernel = 3, padding = same), bn1: batch_norm, relu,   // (4, 8, 8)
        avg_pool(2),                                                              // (4, 4, 4)
        conv2: conv2d(4 -> 6, kernel = 3, stride = 2, padding = 1, floor),        // (6, 2, 2)
        upsample(2, bilinear), max_pool(2), relu, upsample(2),                    // (6, 4, 4)
        global_avg_pool, bn2: batch_norm,                                         // (6)
        fc: dense(6 -> 3),
    >
}

network! {
    /// Dropout on images, through `network!`.
    pub struct Dropper< input(4, 25, 25), drop: dropout(0.3) >
}

fn fixture() -> &'static Value {
    static FIXTURE: OnceLock<Value> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/oracle/vision_fixture.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
        let value: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"));
        assert_eq!(value["tolerance"]["abs"].as_f64(), Some(ABS_TOL));
        assert_eq!(value["tolerance"]["rel"].as_f64(), Some(REL_TOL));
        value
    })
}

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .expect("a list of cases")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case `{name}` in the fixture"))
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a list of numbers, got {v}"))
        .iter()
        .map(|x| {
            x.as_f64()
                .unwrap_or_else(|| panic!("expected a number, got {x}"))
        })
        .collect()
}

fn floats32(v: &Value) -> Vec<f32> {
    // Inputs, parameters, upstream gradients and running statistics are float32 values widened
    // to float64, so this narrowing is exact.
    floats(v).into_iter().map(|x| x as f32).collect()
}

fn shape_of(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("a shape")
        .iter()
        .map(|d| d.as_u64().expect("a dim") as usize)
        .collect()
}

/// `[n, c, h, w]`-style coordinates of flat index `i` in row-major `shape`.
fn coords(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    for (o, &d) in out.iter_mut().zip(shape).rev() {
        *o = i % d.max(1);
        i /= d.max(1);
    }
    out
}

/// Asserts every element is within tolerance, listing the offenders with index and coordinates.
fn assert_close(what: &str, shape: &[usize], got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut failures = Vec::new();
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (f64::from(g) - w).abs();
        if err.is_nan() || err > ABS_TOL + REL_TOL * w.abs() {
            failures.push(format!(
                "[{i}] at {:?}: ours {g} vs torch {w} (diff {err:.3e})",
                coords(i, shape)
            ));
        }
    }
    let count = failures.len();
    failures.truncate(20);
    assert!(
        count == 0,
        "{what} differs from PyTorch in {count} of {} elements (shape {shape:?}):\n  {}",
        got.len(),
        failures.join("\n  ")
    );
}

/// `(name, values)` of every tensor of a named list in the fixture, in order.
fn named_tensors(list: &Value) -> Vec<(String, Vec<f64>)> {
    list.as_array()
        .expect("a list of named tensors")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("a name").to_owned(),
                floats(&p["value"]),
            )
        })
        .collect()
}

/// Copies the fixture's parameters into `net`, checking that we visit the same names in the
/// same order as the fixture lists them.
fn load_params<N: HasParams>(net: &mut N, list: &Value, what: &str) {
    let want = named_tensors(list);
    let mut index = 0;
    net.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| {
            let (name, values) = want
                .get(index)
                .unwrap_or_else(|| panic!("{what}: extra parameter `{path}`"));
            assert_eq!(path.to_string(), *name, "{what}: parameter {index}");
            assert_eq!(p.value.len(), values.len(), "{what}: length of `{name}`");
            for (dst, &src) in p.value.iter_mut().zip(values) {
                *dst = src as f32;
            }
            index += 1;
        },
    );
    assert_eq!(index, want.len(), "{what}: parameter count");
}

/// Copies the fixture's buffers (running statistics) into `net`, checking names and order.
fn load_buffers<N: HasParams>(net: &mut N, list: &Value, what: &str) {
    let want = named_tensors(list);
    let mut index = 0;
    net.visit_buffers(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, buffer: &mut [f32]| {
            let (name, values) = want
                .get(index)
                .unwrap_or_else(|| panic!("{what}: extra buffer `{path}`"));
            assert_eq!(path.to_string(), *name, "{what}: buffer {index}");
            assert_eq!(buffer.len(), values.len(), "{what}: length of `{name}`");
            for (dst, &src) in buffer.iter_mut().zip(values) {
                *dst = src as f32;
            }
            index += 1;
        },
    );
    assert_eq!(index, want.len(), "{what}: buffer count");
}

/// Compares every parameter gradient of `net` with `list`.
fn compare_grads<N: HasParams>(net: &mut N, list: &Value, what: &str) {
    let want = named_tensors(list);
    let mut index = 0;
    net.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| {
            let (name, values) = &want[index];
            assert_eq!(path.to_string(), *name, "{what}: parameter {index}");
            assert_close(
                &format!("{what}: gradient of `{name}`"),
                &[values.len()],
                p.grad,
                values,
            );
            index += 1;
        },
    );
    assert_eq!(index, want.len(), "{what}: parameter count");
}

/// Compares every buffer of `net` with `list`.
fn compare_buffers<N: HasParams>(net: &mut N, list: &Value, what: &str) {
    let want = named_tensors(list);
    let mut index = 0;
    net.visit_buffers(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, buffer: &mut [f32]| {
            let (name, values) = &want[index];
            assert_eq!(path.to_string(), *name, "{what}: buffer {index}");
            assert_close(
                &format!("{what}: buffer `{name}`"),
                &[values.len()],
                buffer,
                values,
            );
            index += 1;
        },
    );
    assert_eq!(index, want.len(), "{what}: buffer count");
}

/// A tensor of type `T` from the fixture's list `v`, checking PyTorch's shape against ours.
fn tensor<T: Tensor>(v: &Value, shape: &Value, what: &str) -> T {
    assert_eq!(
        shape_of(shape),
        T::SHAPE,
        "{what}: shape (PyTorch's vs ours)"
    );
    T::try_from_slice(&floats32(v)).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The fixture's layer case `name`, built as `L` at batch `B` with its parameters (and, for
/// batch norm, its starting running statistics) loaded.
fn layer_and_input<L: Composable, const B: usize>(name: &str) -> (&'static Value, L, L::Input<B>) {
    let case = find(&fixture()["layers"], name);
    let mut layer = L::build(&mut nn::init::seeded(0));
    load_params(&mut layer, &case["params"], name);
    if !case["buffers_before"].is_null() {
        load_buffers(&mut layer, &case["buffers_before"], name);
    }
    let x = tensor::<L::Input<B>>(&case["input"], &case["input_shape"], name);
    (case, layer, x)
}

/// A layer with one behaviour in both modes (conv, pools, upsampling): `forward` and
/// `forward_train` give PyTorch's output, and `backward` its input and parameter gradients.
fn stateless_case<L: Composable, const B: usize>(name: &str) {
    let (case, mut layer, x) = layer_and_input::<L, B>(name);
    let out_shape = shape_of(&case["output_shape"]);
    assert_eq!(
        out_shape,
        <L::Output<B> as Tensor>::SHAPE,
        "{name}: output shape"
    );
    let want = floats(&case["output"]);

    let mut y = L::Output::<B>::zeros();
    layer.forward(&x, &mut y, &mut Zeroed::zeroed());
    assert_close(
        &format!("{name}: forward (eval)"),
        &out_shape,
        y.as_slice(),
        &want,
    );

    let mut y = L::Output::<B>::zeros();
    let mut cache = L::Cache::<B>::zeroed();
    layer.forward_train(&x, &mut y, &mut cache);
    assert_close(
        &format!("{name}: forward_train"),
        &out_shape,
        y.as_slice(),
        &want,
    );

    let dy = tensor::<L::Output<B>>(&case["dy"], &case["output_shape"], name);
    let mut dx = L::Input::<B>::zeros();
    layer.zero_grad();
    layer.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
    assert_close(
        &format!("{name}: input gradient"),
        &shape_of(&case["input_shape"]),
        dx.as_slice(),
        &floats(&case["input_grad"]),
    );
    compare_grads(&mut layer, &case["grads"], name);

    // `backward` overwrites `dx` and adds to the parameter gradients, with or without `dx`.
    dx.fill(7.0);
    layer.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
    assert_close(
        &format!("{name}: input gradient (second backward)"),
        &shape_of(&case["input_shape"]),
        dx.as_slice(),
        &floats(&case["input_grad"]),
    );
    layer.backward(&x, &y, &mut cache, &dy, None);
    let thrice: Vec<(String, Vec<f64>)> = named_tensors(&case["grads"]);
    let mut index = 0;
    layer.visit_params(
        &ParamPath::root(),
        &mut |_: &ParamPath<'_>, p: Param<'_>| {
            let (grad_name, values) = &thrice[index];
            let values: Vec<f64> = values.iter().map(|v| 3.0 * v).collect();
            assert_close(
                &format!("{name}: `{grad_name}` accumulated over three backwards"),
                &[values.len()],
                p.grad,
                &values,
            );
            index += 1;
        },
    );
}

/// Batch norm in training mode: batch statistics, PyTorch's output, gradients and running
/// statistics after the step (from the fixture's non-default starting values).
fn batch_norm_train_case<L: Composable, const B: usize>(name: &str) {
    let (case, mut layer, x) = layer_and_input::<L, B>(name);
    assert_eq!(case["config"]["training"], true, "{name}");
    let out_shape = shape_of(&case["output_shape"]);
    let mut y = L::Output::<B>::zeros();
    let mut cache = L::Cache::<B>::zeroed();
    layer.forward_train(&x, &mut y, &mut cache);
    assert_close(
        &format!("{name}: forward_train"),
        &out_shape,
        y.as_slice(),
        &floats(&case["output"]),
    );
    compare_buffers(&mut layer, &case["buffers_after"], name);

    let dy = tensor::<L::Output<B>>(&case["dy"], &case["output_shape"], name);
    let mut dx = L::Input::<B>::zeros();
    layer.zero_grad();
    layer.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
    assert_close(
        &format!("{name}: input gradient"),
        &shape_of(&case["input_shape"]),
        dx.as_slice(),
        &floats(&case["input_grad"]),
    );
    compare_grads(&mut layer, &case["grads"], name);
}

/// Batch norm in eval mode: the output from the given running statistics, which stay as they
/// are, and the gradient of that output.
///
/// Our `backward` takes only a training cache (backpropagating through the inference forward
/// does not compile), so the eval-mode gradient is checked through what the eval forward is:
/// the per-channel affine map `y = γ · (x − μ) / sqrt(σ² + eps) + β`. Its input gradient is
/// `γ · dy / sqrt(σ² + eps)`, the same forward applied to `dy` with `μ = β = 0`; `dβ = Σ dy`,
/// and `dγ = Σ dy · x̂` with `x̂` the forward of `x` with `γ = 1, β = 0`. All three are compared
/// with PyTorch's autograd through its eval-mode `batch_norm`.
fn batch_norm_eval_case<const C: usize, S: PerChannel, const B: usize>(name: &str) {
    let (case, mut layer, x) = layer_and_input::<BatchNorm<C, S>, B>(name);
    assert_eq!(case["config"]["training"], false, "{name}");
    let (in_shape, out_shape) = (
        shape_of(&case["input_shape"]),
        shape_of(&case["output_shape"]),
    );
    let mut y = S::Batch::<B>::zeros();
    layer.forward(&x, &mut y, &mut ());
    assert_close(
        &format!("{name}: forward (eval)"),
        &out_shape,
        y.as_slice(),
        &floats(&case["output"]),
    );
    compare_buffers(&mut layer, &case["buffers_after"], name);

    let dy = tensor::<S::Batch<B>>(&case["dy"], &case["output_shape"], name);
    let spatial = S::SPATIAL;
    let channel_of = |i: usize| (i / spatial) % C;

    // dx: the forward of dy with μ = β = 0.
    let (_, mut linear, _) = layer_and_input::<BatchNorm<C, S>, B>(name);
    linear.running_mean_mut().fill(0.0);
    linear.bias_mut().fill(0.0);
    let mut dx = S::Batch::<B>::zeros();
    linear.forward(&dy, &mut dx, &mut ());
    assert_close(
        &format!("{name}: input gradient (eval)"),
        &in_shape,
        dx.as_slice(),
        &floats(&case["input_grad"]),
    );

    // x̂: the forward of x with γ = 1, β = 0.
    let (_, mut normalise, _) = layer_and_input::<BatchNorm<C, S>, B>(name);
    normalise.weight_mut().fill(1.0);
    normalise.bias_mut().fill(0.0);
    let mut x_hat = S::Batch::<B>::zeros();
    normalise.forward(&x, &mut x_hat, &mut ());
    let (mut d_gamma, mut d_beta) = (vec![0.0f32; C], vec![0.0f32; C]);
    for (i, (&d, &h)) in dy.as_slice().iter().zip(x_hat.as_slice()).enumerate() {
        d_gamma[channel_of(i)] += d * h;
        d_beta[channel_of(i)] += d;
    }
    let grads = named_tensors(&case["grads"]);
    assert_eq!(grads[0].0, "weight");
    assert_eq!(grads[1].0, "bias");
    assert_close(
        &format!("{name}: gradient of `weight` (eval)"),
        &[C],
        &d_gamma,
        &grads[0].1,
    );
    assert_close(
        &format!("{name}: gradient of `bias` (eval)"),
        &[C],
        &d_beta,
        &grads[1].1,
    );
}

#[test]
fn conv2d_stride_1_padding_0_matches_pytorch() {
    stateless_case::<SquareConv2d<3, 4, 7, 6, 5, 4, 3, 1, 0>, 2>("conv_s1_p0");
}

#[test]
fn conv2d_stride_2_padding_1_matches_pytorch() {
    stateless_case::<SquareConv2d<2, 3, 7, 7, 4, 4, 3, 2, 1>, 3>("conv_s2_p1");
}

#[test]
fn conv2d_with_channels_height_and_width_equal_matches_pytorch() {
    stateless_case::<SquareConv2d<4, 4, 4, 4, 4, 4, 3, 1, 1>, 2>("conv_c_eq_h_eq_w");
}

#[test]
fn conv2d_1x1_kernel_matches_pytorch() {
    stateless_case::<SquareConv2d<6, 3, 5, 5, 5, 5, 1, 1, 0>, 2>("conv_1x1");
}

#[test]
fn conv2d_stride_2_with_unreached_edge_matches_pytorch() {
    stateless_case::<SquareConv2d<2, 3, 8, 7, 3, 3, 3, 2, 0>, 2>("conv_s2_floor");
}

// The general convolutions: `Conv2d<C_IN, C_OUT, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR,
// DH, DW, GROUP_IN>` and `Conv1d<C_IN, C_OUT, L, OL, K, S, PL, PR, D, GROUP_IN>`.

#[test]
fn conv2d_groups_with_a_dilated_rectangular_kernel_match_pytorch() {
    stateless_case::<Conv2d<4, 6, 7, 6, 5, 5, 3, 2, 1, 1, 1, 1, 0, 0, 2, 1, 2>, 2>(
        "conv_groups_dilated",
    );
}

#[test]
fn depthwise_conv2d_matches_pytorch() {
    stateless_case::<Conv2d<3, 3, 6, 5, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1>, 2>(
        "conv_depthwise",
    );
}

#[test]
fn depthwise_conv2d_with_a_multiplier_and_stride_2_matches_pytorch() {
    stateless_case::<Conv2d<2, 4, 7, 7, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1>, 2>(
        "conv_depthwise_multiplier_s2",
    );
}

#[test]
fn conv2d_with_tensorflow_same_padding_at_stride_2_matches_pytorch() {
    stateless_case::<Conv2d<1, 4, 9, 6, 5, 3, 4, 3, 2, 2, 1, 2, 0, 1, 1, 1, 1>, 2>(
        "conv_tf_same_s2",
    );
}

#[test]
fn dilated_depthwise_conv2d_matches_pytorch() {
    stateless_case::<Conv2d<3, 3, 9, 8, 9, 4, 3, 3, 1, 2, 2, 2, 2, 2, 2, 2, 1>, 2>(
        "conv_depthwise_dilated",
    );
}

#[test]
fn conv1d_matches_pytorch() {
    stateless_case::<Conv1d<3, 4, 11, 9, 3, 1, 0, 0, 1, 3>, 2>("conv1d_plain");
}

#[test]
fn causal_dilated_conv1d_matches_pytorch() {
    stateless_case::<Conv1d<3, 4, 12, 12, 3, 1, 8, 0, 4, 3>, 2>("conv1d_causal_dilated");
}

#[test]
fn grouped_conv1d_with_stride_2_matches_pytorch() {
    stateless_case::<Conv1d<4, 6, 13, 7, 3, 2, 1, 1, 1, 2>, 3>("conv1d_groups_stride");
}

#[test]
fn causal_depthwise_conv1d_matches_pytorch() {
    stateless_case::<Conv1d<4, 4, 10, 10, 3, 1, 4, 0, 2, 1>, 2>("conv1d_depthwise_causal");
}

#[test]
fn conv1d_with_same_padding_and_an_even_kernel_matches_pytorch() {
    stateless_case::<Conv1d<2, 3, 9, 9, 4, 1, 1, 2, 1, 2>, 2>("conv1d_same_even");
}

#[test]
fn max_pool_2_matches_pytorch() {
    stateless_case::<SquareMaxPool2d<3, 6, 8, 3, 4, 2, 2>, 2>("max_pool_2");
}

#[test]
fn max_pool_3_stride_2_matches_pytorch() {
    stateless_case::<SquareMaxPool2d<2, 7, 9, 3, 4, 3, 2>, 2>("max_pool_3_s2");
}

#[test]
fn avg_pool_2_matches_pytorch() {
    stateless_case::<SquareAvgPool2d<3, 6, 8, 3, 4, 2, 2>, 2>("avg_pool_2");
}

#[test]
fn avg_pool_3_stride_1_matches_pytorch() {
    stateless_case::<SquareAvgPool2d<2, 5, 6, 3, 4, 3, 1>, 2>("avg_pool_3_s1");
}

// The padded pools: `MaxPool2d<C, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR>`,
// `AvgPool2d<.., COUNT_PAD>`, `MaxPool1d<C, L, OL, K, S, PL, PR>` and
// `AvgPool1d<.., COUNT_PAD>`.

#[test]
fn max_pool_3_stride_2_padding_1_matches_pytorch() {
    stateless_case::<MaxPool2d<3, 7, 8, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1>, 2>("max_pool_3_s2_p1");
}

#[test]
fn avg_pool_3_stride_2_padding_1_counting_the_padding_matches_pytorch() {
    stateless_case::<AvgPool2d<3, 7, 8, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, true>, 2>(
        "avg_pool_3_s2_p1_count",
    );
}

#[test]
fn avg_pool_3_stride_2_padding_1_excluding_the_padding_matches_pytorch() {
    stateless_case::<AvgPool2d<3, 7, 8, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, false>, 2>(
        "avg_pool_3_s2_p1_exclude",
    );
}

#[test]
fn max_pool_with_a_rectangular_window_and_per_axis_strides_matches_pytorch() {
    stateless_case::<MaxPool2d<2, 5, 6, 5, 3, 3, 2, 1, 2, 1, 1, 0, 0>, 2>("max_pool_rect");
}

#[test]
fn max_pool_with_tensorflow_same_padding_at_stride_2_matches_pytorch() {
    stateless_case::<MaxPool2d<3, 5, 7, 3, 4, 2, 2, 2, 2, 0, 1, 0, 1>, 2>("max_pool_tf_same_s2");
}

#[test]
fn avg_pool_with_tensorflow_same_padding_at_stride_2_matches_pytorch() {
    stateless_case::<AvgPool2d<2, 5, 5, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, false>, 2>(
        "avg_pool_tf_same_s2",
    );
}

#[test]
fn avg_pool_with_tensorflow_same_padding_only_after_matches_pytorch() {
    stateless_case::<AvgPool2d<3, 5, 7, 3, 4, 2, 2, 2, 2, 0, 1, 0, 1, false>, 2>(
        "avg_pool_tf_same_s2_odd",
    );
}

#[test]
fn max_pool1d_3_stride_2_padding_1_matches_pytorch() {
    stateless_case::<MaxPool1d<4, 11, 6, 3, 2, 1, 1>, 2>("max_pool1d_3_s2_p1");
}

#[test]
fn avg_pool1d_3_stride_1_padding_1_counting_the_padding_matches_pytorch() {
    stateless_case::<AvgPool1d<3, 9, 9, 3, 1, 1, 1, true>, 2>("avg_pool1d_3_s1_p1_count");
}

#[test]
fn avg_pool1d_3_stride_1_padding_1_excluding_the_padding_matches_pytorch() {
    stateless_case::<AvgPool1d<3, 9, 9, 3, 1, 1, 1, false>, 2>("avg_pool1d_3_s1_p1_exclude");
}

#[test]
fn max_pool1d_2_matches_pytorch() {
    stateless_case::<MaxPool1d<2, 10, 5, 2, 2, 0, 0>, 2>("max_pool1d_2");
}

#[test]
fn upsample_nearest_2_matches_pytorch() {
    stateless_case::<Upsample<2, 3, 4, 6, 8, Nearest>, 2>("upsample_nearest_2");
}

#[test]
fn upsample_bilinear_2_matches_pytorch() {
    stateless_case::<Upsample<2, 3, 4, 6, 8, Bilinear>, 2>("upsample_bilinear_2");
}

#[test]
fn upsample_bilinear_3_matches_pytorch() {
    stateless_case::<Upsample<2, 3, 4, 9, 12, Bilinear>, 2>("upsample_bilinear_3");
}

#[test]
fn global_avg_pool_matches_pytorch() {
    stateless_case::<GlobalAvgPool<4, 3, 5>, 3>("global_avg_pool");
}

#[test]
fn batch_norm_1d_train_matches_pytorch() {
    batch_norm_train_case::<BatchNorm1d<5>, 6>("batch_norm_1d_train");
}

#[test]
fn batch_norm_2d_train_matches_pytorch() {
    batch_norm_train_case::<BatchNorm2d<4, 3, 5>, 3>("batch_norm_2d_train");
}

#[test]
fn batch_norm_1d_eval_matches_pytorch() {
    batch_norm_eval_case::<5, Features<5>, 6>("batch_norm_1d_eval");
}

#[test]
fn batch_norm_2d_eval_matches_pytorch() {
    batch_norm_eval_case::<4, Shape3<4, 3, 5>, 3>("batch_norm_2d_eval");
}

/// Checks dropout's scaling rule on one training forward and its backward: every output is 0
/// or `x / (1 − p)`, about `p` of them are 0, the mask averages about 1, and `dx = dy ⊙ mask`.
fn check_dropout_train(
    what: &str,
    p: f64,
    x: &[f32],
    y: &[f32],
    mask: &[f32],
    dy: &[f32],
    dx: &[f32],
) {
    let n = x.len();
    let keep = 1.0 / (1.0 - p);
    let mut dropped = 0;
    for i in 0..n {
        let (x, y, m) = (f64::from(x[i]), f64::from(y[i]), f64::from(mask[i]));
        if y == 0.0 {
            dropped += 1;
            assert_eq!(m, 0.0, "{what}: [{i}] dropped but mask {m}");
        } else {
            assert!(
                (y - x * keep).abs() <= ABS_TOL + REL_TOL * (x * keep).abs(),
                "{what}: [{i}] survivor {y} is not x / (1 − p) = {}",
                x * keep
            );
            assert!((m - keep).abs() <= REL_TOL * keep, "{what}: [{i}] mask {m}");
        }
        let want = f64::from(dy[i]) * m;
        assert!(
            (f64::from(dx[i]) - want).abs() <= ABS_TOL + REL_TOL * want.abs(),
            "{what}: [{i}] dx {} vs dy · mask {want}",
            dx[i]
        );
    }
    // Within 5 standard deviations of a binomial(n, p).
    let sigma = (p * (1.0 - p) / n as f64).sqrt();
    let fraction = dropped as f64 / n as f64;
    assert!(
        (fraction - p).abs() < 5.0 * sigma,
        "{what}: dropped {fraction} of {n}, p = {p}"
    );
    let mean_mask = mask.iter().map(|&m| f64::from(m)).sum::<f64>() / n as f64;
    assert!(
        (mean_mask - 1.0).abs() < 5.0 * sigma * keep,
        "{what}: the mask averages {mean_mask}, not about 1"
    );
}

#[test]
fn dropout_follows_pytorchs_scaling_rule() {
    let p = fixture()["dropout"]["p"].as_f64().expect("p");
    type S = Shape3<4, 25, 25>;
    const B: usize = 4;
    let mut rng = nn::init::seeded(11);
    let x = Tensor4::<B, 4, 25, 25>::from_fn(|_| nn::init::uniform(&mut rng, 0.5, 1.5));
    let dy = Tensor4::<B, 4, 25, 25>::from_fn(|_| nn::init::uniform(&mut rng, -1.0, 1.0));

    // The layer.
    let mut dropout = Dropout::<S>::new(p as f32, &mut nn::init::seeded(3));
    let mut y = Tensor4::<B, 4, 25, 25>::zeros();
    dropout.forward(&x, &mut y, &mut ());
    assert_eq!(y, x, "dropout at inference is the identity");
    let mut mask = Tensor4::<B, 4, 25, 25>::zeros();
    let mut dx = Tensor4::<B, 4, 25, 25>::zeros();
    for step in 0..3 {
        dropout.forward_train(&x, &mut y, &mut mask);
        dropout.backward(&x, &y, &mut mask, &dy, Some(&mut dx));
        check_dropout_train(
            &format!("Dropout step {step}"),
            p,
            x.as_slice(),
            y.as_slice(),
            mask.as_slice(),
            dy.as_slice(),
            dx.as_slice(),
        );
    }

    // Through `network!`, which declares `dropout(0.3)` (the fixture's p).
    assert!((p - 0.3).abs() < 1e-12, "Dropper declares dropout(0.3)");
    let mut net = Dropper::seeded(5);
    assert_eq!(net.infer(&x, &mut DropperTape::<B, Eval>::new()), &x);
    assert_eq!(net.forward(&x), x);
    let mut tape = DropperTape::<B>::new();
    let y = net.forward_train(&x, &mut tape).clone();
    let dx = net.backward(&mut tape, &dy).clone();
    // The network's mask is dx / dy where dy is non-zero; survivors tell it apart from y / x.
    let mask: Vec<f32> = y
        .as_slice()
        .iter()
        .map(|&v| {
            if v == 0.0 {
                0.0
            } else {
                (1.0 / (1.0 - p)) as f32
            }
        })
        .collect();
    check_dropout_train(
        "Dropper network",
        p,
        x.as_slice(),
        y.as_slice(),
        &mask,
        dy.as_slice(),
        dx.as_slice(),
    );
}

/// Runs one network case: the train-mode forward, loss, input and parameter gradients and the
/// running statistics after it; then the eval-mode output from the given running statistics.
macro_rules! network_case {
    ($name:literal, $net:ident, $tape:ident, $batch:literal, ($c:literal, $h:literal, $w:literal) -> $classes:literal) => {{
        const B: usize = $batch;
        let name = $name;
        let case = find(&fixture()["networks"], name);
        assert_eq!(case["batch"].as_u64(), Some(B as u64), "{name}: batch");
        let x: Tensor4<B, $c, $h, $w> = tensor(&case["input"], &case["input_shape"], name);
        let in_shape = shape_of(&case["input_shape"]);
        let labels: Vec<usize> = case["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .map(|l| l.as_u64().expect("a label") as usize)
            .collect();
        let labels: [usize; B] = labels.try_into().expect("one label per sample");

        // Training mode.
        let mut net = $net::seeded(0);
        load_params(&mut net, &case["params"], name);
        load_buffers(&mut net, &case["buffers_before"], name);
        let mut tape = $tape::<B>::new();
        let out = net.forward_train(&x, &mut tape);
        assert_close(
            &format!("{name}: forward_train"),
            &[B, $classes],
            out.as_slice(),
            &floats(&case["output"]),
        );
        let mut dy = Tensor2::<B, $classes>::zeros();
        let loss = softmax_cross_entropy(out, &labels, &mut dy).expect("labels are in range");
        assert_close(
            &format!("{name}: loss"),
            &[1],
            &[loss],
            &[case["loss"].as_f64().expect("loss")],
        );
        net.zero_grad();
        let dx = net.backward(&mut tape, &dy);
        assert_close(
            &format!("{name}: input gradient"),
            &in_shape,
            dx.as_slice(),
            &floats(&case["input_grad"]),
        );
        compare_grads(&mut net, &case["grads"], name);
        compare_buffers(&mut net, &case["buffers_after"], name);

        // Eval mode, from the running statistics the case started with.
        let mut net = $net::seeded(1);
        load_params(&mut net, &case["params"], name);
        load_buffers(&mut net, &case["buffers_before"], name);
        let want = floats(&case["eval_output"]);
        assert_close(
            &format!("{name}: infer (eval)"),
            &[B, $classes],
            net.infer(&x, &mut $tape::<B, Eval>::new()).as_slice(),
            &want,
        );
        assert_close(
            &format!("{name}: forward (eval)"),
            &[B, $classes],
            net.forward(&x).as_slice(),
            &want,
        );
        // Inference leaves the running statistics alone.
        compare_buffers(&mut net, &case["buffers_before"], &format!("{name} (eval)"));
    }};
}

#[test]
fn small_cnn_matches_pytorch_in_both_modes() {
    network_case!("small_cnn", SmallCnn, SmallCnnTape, 3, (2, 8, 8) -> 5);
}

#[test]
fn mixed_cnn_matches_pytorch_in_both_modes() {
    network_case!("mixed_cnn", MixedCnn, MixedCnnTape, 4, (3, 8, 8) -> 3);
}
