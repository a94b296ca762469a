//! Baked networks (`#[weights = ".."]`) against the heap network loaded from the same file:
//! the same kernels run in the same order, so the outputs are bit-identical.

use nn::prelude::*;

network! {
    /// The MNIST MLP of `models/mnist_mlp.safetensors`.
    #[weights = "models/mnist_mlp.safetensors"]
    struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >

    /// Every kind a baked network takes, on the weights of `tests/fixtures/baked_mixed.safetensors`.
    #[weights = "tests/fixtures/baked_mixed.safetensors"]
    struct Mixed<
        input(2, 3), flatten,
        fc1: dense(6 -> 8), leaky_relu, gelu, leaky_relu(0.2),
        fc2: dense(8 -> 8), tanh, elu, elu(0.5), sigmoid, dropout(0.3), relu,
        reshape(2, 4), flatten,
        fc3: dense(8 -> 4), softmax,
    >

    /// An activation first, on the (read-only) input, and a dense layer after a dense layer.
    #[weights = "tests/fixtures/baked_mixed.safetensors"]
    struct ActivationFirst< input(6), sigmoid, fc1: dense(6 -> 8), fc2: dense(8 -> 8), fc3: dense(8 -> 4) >

    // The networks of `tests/bake_fixtures.rs`, which writes their files.

    /// LeNet with batch norm (README's figures); both batch norms fold into the convolutions.
    #[weights = "tests/fixtures/baked_lenet.safetensors"]
    struct Lenet<
        input(1, 28, 28),
        conv1: conv2d(1 -> 6, kernel = 5), bn1: batch_norm, relu, max_pool(2),
        conv2: conv2d(6 -> 16, kernel = 5), bn2: batch_norm, relu, max_pool(2),
        flatten, fc1: dense(256 -> 120), relu, dropout(0.5), fc2: dense(120 -> 10),
    >

    /// Every vision kind, with batch norms that have no layer to fold into, and padded,
    /// rectangular and TensorFlow-`same` pools.
    #[weights = "tests/fixtures/baked_vision.safetensors"]
    struct Vision<
        input(2, 9, 9),
        c1: conv2d(2 -> 4, kernel = 3, padding = 1), relu, max_pool(2, floor), bn1: batch_norm,
        max_pool(3, stride = 1, padding = 1),
        c2: conv2d(4 -> 4, kernel = 3, stride = 2, padding = 1, floor), upsample(2), avg_pool(2),
        upsample(2, bilinear), avg_pool((3, 1), stride = 1, padding = (1, 0)),
        c3: conv2d(4 -> 2, kernel = 1), avg_pool(3, stride = 2, padding = same), tanh,
        global_avg_pool,
        bn2: batch_norm, fc: dense(2 -> 3), softmax,
    >

    /// conv1d: causal, dilated, grouped, depthwise and strided; padded 1-D pools.
    #[weights = "tests/fixtures/baked_temporal.safetensors"]
    struct Temporal<
        input(4, 12),
        t1: conv1d(4 -> 8, kernel = 3, padding = causal), relu,
        max_pool1d(3, stride = 1, padding = 1),
        t2: conv1d(8 -> 8, kernel = 3, dilation = 2, padding = causal, groups = 2), relu,
        t3: conv1d(8 -> 8, kernel = 3, dilation = 4, padding = causal, groups = 8),
        t4: conv1d(8 -> 4, kernel = 2, stride = 2), tanh,
        avg_pool1d(3, stride = 1, padding = 1, count_include_pad = false),
        flatten, fc: dense(24 -> 3),
    >

    /// Depthwise-separable blocks: TensorFlow's `same` at stride 2 on a rectangular kernel,
    /// batch norms folded into a conv and a depthwise conv, and a strided dilated depthwise
    /// conv with a multiplier.
    #[weights = "tests/fixtures/baked_separable.safetensors"]
    struct Separable<
        input(1, 10, 7),
        c1: conv2d(1 -> 6, kernel = (4, 3), stride = 2, padding = same), bn1: batch_norm, relu,
        dw: depthwise(6, kernel = 3, padding = same), bn2: batch_norm, relu,
        pw: conv2d(6 -> 8, kernel = 1), relu,
        dw2: depthwise(8 -> 16, kernel = (3, 2), dilation = (2, 1), stride = (1, 2)),
        global_avg_pool, fc: dense(16 -> 4),
    >

    /// Forks: add with a skip, concat, stack, and an activation on a value a skip also reads.
    #[weights = "tests/fixtures/baked_forks.safetensors"]
    struct Forks<
        input(6), fc1: dense(6 -> 8), relu,
        fork { a: [dense(8 -> 8), tanh], shortcut: skip } => add,
        fork { p: [dense(8 -> 4)], q: [dense(8 -> 4), sigmoid] } => concat,
        fork { u: [dense(8 -> 3)], v: [dense(8 -> 3), elu] } => stack,
        flatten,
        fork { r: [leaky_relu(0.1)], s: skip } => add,
        out: dense(6 -> 2),
    >

    /// A dense layer on every step of a sequence.
    #[weights = "tests/fixtures/baked_steps.safetensors"]
    struct Steps< input(4, 3), step: dense(3 -> 5), gelu, flatten, out: dense(20 -> 2) >

    /// The mixed network: conv, batch norm, a residual fork, pooling, a channel concat, dense.
    #[weights = "tests/fixtures/baked_mixed_cnn.safetensors"]
    struct MixedCnn<
        input(1, 12, 12),
        c1: conv2d(1 -> 4, kernel = 3, padding = same), bn1: batch_norm, relu,
        res: fork { body: [c2: conv2d(4 -> 4, kernel = 3, padding = 1), bn2: batch_norm, relu], shortcut: skip } => add,
        max_pool(2),
        fork { a: [c3: conv2d(4 -> 2, kernel = 1)], b: [c4: conv2d(4 -> 2, kernel = 3, padding = 1), bn4: batch_norm] } => concat,
        flatten, fc: dense(144 -> 10),
    >

    /// An Elman RNN (tanh), its final state and a dense head.
    #[weights = "tests/fixtures/baked_rnn_tanh.safetensors"]
    struct RnnTanh< input(5, 3), rnn: rnn(3 -> 4), last, head: dense(4 -> 2) >

    /// An Elman RNN with relu, its final state and a dense head.
    #[weights = "tests/fixtures/baked_rnn_relu.safetensors"]
    struct RnnRelu< input(5, 3), rnn: rnn(3 -> 4, relu), last, head: dense(4 -> 2) >

    /// A GRU, its final state and a dense head.
    #[weights = "tests/fixtures/baked_gru.safetensors"]
    struct GruLast< input(5, 3), gru: gru(3 -> 4), last, head: dense(4 -> 2) >

    /// An LSTM, its final state and a dense head.
    #[weights = "tests/fixtures/baked_lstm.safetensors"]
    struct LstmLast< input(5, 3), lstm: lstm(3 -> 4), last, head: dense(4 -> 2) >

    /// Recurrent layers stacked, with a dense layer on every step between them.
    #[weights = "tests/fixtures/baked_recurrent_steps.safetensors"]
    struct RecurrentSteps<
        input(6, 2), gru: gru(2 -> 5), step: dense(5 -> 3), relu,
        lstm: lstm(3 -> 4), rnn: rnn(4 -> 3), last, out: dense(3 -> 2),
    >

    /// The sequential-MNIST LSTM of `models/mnist_lstm.safetensors` (`examples/mnist_lstm`).
    #[weights = "models/mnist_lstm.safetensors"]
    struct MnistLstm< input(28, 28), lstm: lstm(28 -> 128), last, head: dense(128 -> 10) >

    /// Sizes written as named constants: the macro takes them from the file's shapes.
    #[weights = "tests/fixtures/baked_named_sizes.safetensors"]
    struct NamedSizes<
        input(IN), fc1: dense(IN -> HIDDEN), relu,
        fork { a: [dense(HIDDEN -> HIDDEN), tanh], b: skip } => add,
        fc2: dense(HIDDEN -> OUT),
    >

    /// Two named inputs: `infer` takes one array per input.
    #[weights = "tests/fixtures/baked_two_inputs.safetensors"]
    struct TwoInputs<
        input(image: 12), input(meta: 3),
        fork { i: image => [fc_i: dense(12 -> 6), relu], m: meta => [sigmoid, fc_m: dense(3 -> 2)] } => concat,
        out: dense(8 -> 4),
    >

    /// Nested in `WithEncoder`, which bakes it inline.
    struct Encoder< fc1: dense(6 -> 5), relu, fc2: dense(5 -> 4) >

    /// A nested network of the same call: its parameters are `encoder.fc1.weight`, ...
    #[weights = "tests/fixtures/baked_with_encoder.safetensors"]
    struct WithEncoder< input(6), encoder: Encoder, tanh, head: dense(4 -> 2) >
}

const IN: usize = 5;
const HIDDEN: usize = 7;
const OUT: usize = 3;

/// Deterministic inputs in about [-1, 2].
fn input(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7919 + seed * 104_729) % 1000) as f32 / 333.0) - 1.0)
        .collect()
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn baked_mlp_matches_the_heap_network_bit_for_bit() {
    let mut heap = Mlp::seeded(1);
    nn::weights::load(&mut heap, MlpBaked::WEIGHTS_FILE).unwrap();
    let mut tape = MlpTape::<1, Eval>::new();
    let mut work = [0.0; MlpBaked::WORK_LEN];
    for seed in 0..20 {
        let x: [f32; 784] = input(784, seed).try_into().unwrap();
        let heap_out = heap.infer(&Tensor2::<1, 784>::from_slice(&x).unwrap(), &mut tape);
        let baked_out = MlpBaked::infer(&x, &mut work);
        assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "input {seed}");
    }
    assert_eq!(MlpBaked::PARAM_COUNT, Mlp::PARAM_COUNT);
    assert_eq!((MlpBaked::INPUTS, MlpBaked::OUTPUTS), (784, 10));
    // fc1's 128 outputs (relu in place) and fc2's 10, alive together while fc2 runs.
    assert_eq!(MlpBaked::WORK_LEN, 138);
}

#[test]
fn baked_mixed_network_matches_the_heap_network_bit_for_bit() {
    let mut heap = Mixed::seeded(1);
    nn::weights::load(&mut heap, MixedBaked::WEIGHTS_FILE).unwrap();
    let mut tape = MixedTape::<1, Eval>::new();
    let mut work = [0.0; MixedBaked::WORK_LEN];
    for seed in 0..20 {
        let x: [f32; 6] = input(6, seed).try_into().unwrap();
        let heap_out = heap.infer(&Tensor3::<1, 2, 3>::from_slice(&x).unwrap(), &mut tape);
        let baked_out = MixedBaked::infer(&x, &mut work);
        assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "input {seed}");
        let sum: f32 = baked_out.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6, "softmax output sums to {sum}");
    }
}

#[test]
fn an_activation_on_the_input_matches_the_heap_network() {
    let mut heap = ActivationFirst::seeded(1);
    nn::weights::load(&mut heap, ActivationFirstBaked::WEIGHTS_FILE).unwrap();
    let mut tape = ActivationFirstTape::<1, Eval>::new();
    let mut work = [0.0; ActivationFirstBaked::WORK_LEN];
    let x: [f32; 6] = input(6, 3).try_into().unwrap();
    let heap_out = heap.infer(&Tensor2::<1, 6>::from_slice(&x).unwrap(), &mut tape);
    let baked_out = ActivationFirstBaked::infer(&x, &mut work);
    assert_eq!(bits(heap_out.as_slice()), bits(baked_out));
    assert_eq!(
        x,
        <[f32; 6]>::try_from(input(6, 3)).unwrap(),
        "the input is left as it was"
    );
}

/// `include_bytes!` of the file is in the expansion (`WEIGHTS_FILE_BYTES`), which is what makes
/// cargo rebuild a crate when its weights file changes.
#[test]
fn the_expansion_includes_the_weights_file() {
    assert!(std::path::Path::new(MlpBaked::WEIGHTS_FILE).is_absolute());
    assert!(MlpBaked::WEIGHTS_FILE.ends_with("models/mnist_mlp.safetensors"));
    let on_disk = std::fs::read(MlpBaked::WEIGHTS_FILE).unwrap();
    assert_eq!(MlpBaked::WEIGHTS_FILE_BYTES, on_disk.as_slice());
    assert_eq!(MlpBaked::WEIGHTS_BYTES, 4 * MlpBaked::PARAM_COUNT);
}

/// The largest difference between baked and heap outputs over 20 inputs, relative to the
/// largest heap output; `exact` asks for equal bits instead.
macro_rules! compare {
    ($net:ident, $baked:ident, $tape:ident, $tensor:ty, $inputs:expr, exact = $exact:expr) => {{
        let mut heap = $net::seeded(99);
        nn::weights::load(&mut heap, $baked::WEIGHTS_FILE).unwrap();
        let mut tape = $tape::<1, Eval>::new();
        let mut work = [0.0; $baked::WORK_LEN];
        let mut worst = 0.0f32;
        for seed in 0..20 {
            let x: [f32; $inputs] = input($inputs, seed).try_into().unwrap();
            let heap_out = heap.infer(&<$tensor>::from_slice(&x).unwrap(), &mut tape);
            let baked_out = $baked::infer(&x, &mut work);
            if $exact {
                assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "input {seed}");
            }
            let scale = heap_out
                .as_slice()
                .iter()
                .fold(1e-30f32, |m, v| m.max(v.abs()));
            for (h, b) in heap_out.as_slice().iter().zip(baked_out) {
                worst = worst.max((h - b).abs() / scale);
            }
        }
        worst
    }};
}

#[test]
fn every_vision_kind_matches_the_heap_network_bit_for_bit() {
    compare!(Vision, VisionBaked, VisionTape, Tensor4<1, 2, 9, 9>, 162, exact = true);
}

#[test]
fn conv1d_matches_the_heap_network_bit_for_bit() {
    compare!(Temporal, TemporalBaked, TemporalTape, Tensor3<1, 4, 12>, 48, exact = true);
}

/// Depthwise and strided convolutions with TensorFlow's padding; the folded batch norms round
/// differently, within the stated tolerance.
#[test]
fn depthwise_separable_blocks_match_the_heap_network() {
    let worst =
        compare!(Separable, SeparableBaked, SeparableTape, Tensor4<1, 1, 10, 7>, 70, exact = false);
    assert!(worst < 1e-5, "{worst:e}");
}

#[test]
fn forks_match_the_heap_network_bit_for_bit() {
    compare!(Forks, ForksBaked, ForksTape, Tensor2<1, 6>, 6, exact = true);
}

#[test]
fn a_dense_layer_per_step_matches_the_heap_network_bit_for_bit() {
    compare!(Steps, StepsBaked, StepsTape, Tensor3<1, 4, 3>, 12, exact = true);
}

/// Folded batch norms compute the same function rounded differently: within 1e-5 of the
/// output's scale (README's section on baked weights).
#[test]
fn folded_batch_norms_stay_within_the_stated_tolerance() {
    let lenet = compare!(Lenet, LenetBaked, LenetTape, Tensor4<1, 1, 28, 28>, 784, exact = false);
    let mixed =
        compare!(MixedCnn, MixedCnnBaked, MixedCnnTape, Tensor4<1, 1, 12, 12>, 144, exact = false);
    println!("largest relative difference: LeNet {lenet:e}, mixed {mixed:e}");
    assert!(
        lenet < 1e-5 && mixed < 1e-5,
        "LeNet {lenet:e}, mixed {mixed:e}"
    );
}

/// The memory plan's figures for LeNet (README's section on baked weights).
#[test]
fn lenet_memory_plan() {
    println!(
        "LeNet: WORK_LEN {} ({} bytes), PEAK_ACTIVATION_BYTES {}, WEIGHT_BYTES {}, PARAM_COUNT {}",
        LenetBaked::WORK_LEN,
        LenetBaked::WORK_LEN * 4,
        LenetBaked::PEAK_ACTIVATION_BYTES,
        LenetBaked::WEIGHT_BYTES,
        LenetBaked::PARAM_COUNT
    );
    // The largest pair of live activations: conv1's output (6 x 24 x 24) and the first
    // pool's (6 x 12 x 12).
    assert_eq!(LenetBaked::PEAK_ACTIVATION_BYTES, 4 * (3456 + 864));
    // The arena is the live activations themselves: the tiled scratches (their products go
    // straight into the output) fit beside them, conv1's one output row of 24 positions under
    // 25 taps beside its 3456 outputs, and conv2's two rows of 8 under 150 taps beside its
    // input and output, 864 + 1024 + 150 x 16 = 4288.
    assert_eq!(LenetBaked::WORK_LEN, 3456 + 864);
    const { assert!(864 + 1024 + 150 * 16 <= LenetBaked::WORK_LEN) };
    const { assert!(LenetBaked::WORK_LEN * 10 <= 4320 * 11) };
    // Folding leaves the batch norms' 4 x (6 + 16) values out.
    assert_eq!(LenetBaked::PARAM_COUNT, Lenet::PARAM_COUNT - 2 * (6 + 16));
    assert_eq!(LenetBaked::WEIGHT_BYTES, 4 * LenetBaked::PARAM_COUNT);
}

#[test]
fn recurrent_layers_match_the_heap_network_bit_for_bit() {
    compare!(RnnTanh, RnnTanhBaked, RnnTanhTape, Tensor3<1, 5, 3>, 15, exact = true);
    compare!(RnnRelu, RnnReluBaked, RnnReluTape, Tensor3<1, 5, 3>, 15, exact = true);
    compare!(GruLast, GruLastBaked, GruLastTape, Tensor3<1, 5, 3>, 15, exact = true);
    compare!(LstmLast, LstmLastBaked, LstmLastTape, Tensor3<1, 5, 3>, 15, exact = true);
}

#[test]
fn stacked_recurrent_layers_and_a_dense_layer_per_step_match_bit_for_bit() {
    compare!(
        RecurrentSteps,
        RecurrentStepsBaked,
        RecurrentStepsTape,
        Tensor3<1, 6, 2>,
        12,
        exact = true
    );
}

#[test]
fn the_mnist_lstm_matches_the_heap_network_bit_for_bit() {
    compare!(MnistLstm, MnistLstmBaked, MnistLstmTape, Tensor3<1, 28, 28>, 784, exact = true);
    assert_eq!(MnistLstmBaked::PARAM_COUNT, MnistLstm::PARAM_COUNT);
    println!(
        "MNIST LSTM: WORK_LEN {} ({} bytes), WEIGHT_BYTES {}",
        MnistLstmBaked::WORK_LEN,
        MnistLstmBaked::WORK_LEN * 4,
        MnistLstmBaked::WEIGHT_BYTES
    );
}

#[test]
fn named_sizes_bake_with_the_files_values_bit_for_bit() {
    compare!(NamedSizes, NamedSizesBaked, NamedSizesTape, Tensor2<1, IN>, IN, exact = true);
    assert_eq!(
        (NamedSizesBaked::INPUTS, NamedSizesBaked::OUTPUTS),
        (IN, OUT)
    );
    assert_eq!(NamedSizesBaked::PARAM_COUNT, NamedSizes::PARAM_COUNT);
}

#[test]
fn several_inputs_match_the_heap_network_bit_for_bit() {
    let mut heap = TwoInputs::seeded(99);
    nn::weights::load(&mut heap, TwoInputsBaked::WEIGHTS_FILE).unwrap();
    let mut tape = TwoInputsTape::<1, Eval>::new();
    let mut work = [0.0; TwoInputsBaked::WORK_LEN];
    for seed in 0..20 {
        let image: [f32; 12] = input(12, seed).try_into().unwrap();
        let meta: [f32; 3] = input(3, seed + 100).try_into().unwrap();
        let heap_out = heap.infer(
            &Tensor2::<1, 12>::from_slice(&image).unwrap(),
            &Tensor2::<1, 3>::from_slice(&meta).unwrap(),
            &mut tape,
        );
        let mut steps = Vec::new();
        let baked_out =
            TwoInputsBaked::infer_probed(&image, &meta, &mut work, &mut |name, _| steps.push(name));
        assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "input {seed}");
        assert_eq!(steps, ["fc_i", "relu", "sigmoid", "fc_m", "concat", "out"]);
        assert_eq!(
            meta,
            <[f32; 3]>::try_from(input(3, seed + 100)).unwrap(),
            "the sigmoid on `meta` works on a copy"
        );
    }
    assert_eq!(
        (TwoInputsBaked::INPUTS_IMAGE, TwoInputsBaked::INPUTS_META),
        (TwoInputs::INPUTS_IMAGE, TwoInputs::INPUTS_META)
    );
    assert_eq!(TwoInputsBaked::OUTPUTS, 4);
}

#[test]
fn a_nested_network_of_the_same_call_bakes_inline_bit_for_bit() {
    compare!(WithEncoder, WithEncoderBaked, WithEncoderTape, Tensor2<1, 6>, 6, exact = true);
    assert_eq!(WithEncoderBaked::PARAM_COUNT, WithEncoder::PARAM_COUNT);
    assert_eq!(
        (WithEncoderBaked::INPUTS, WithEncoderBaked::OUTPUTS),
        (6, 2)
    );
}
