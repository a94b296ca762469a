//! Quantization-aware training (`nn::quant::Qat`): `network!` gives every network with an int8
//! plan passes with fake quantization, `Fit` trains the wrapper as any network, and the int8
//! model made from it follows what training saw.

use nn::data::LastBatch;
use nn::prelude::*;
use nn::quant::{Calibration, FakeQuant, Qat, Quantize, fake_quant_points};
use nn::train::{Accuracy, CrossEntropy, Fit, Progress};

network! {
    /// A small classifier with the int8 model's fusions: batch norm and ReLU after a dense
    /// layer, a bare ReLU elsewhere.
    pub struct Small<
        fc1: dense(6 -> 12), batch_norm, relu,
        fc2: dense(12 -> 8), relu,
        fc3: dense(8 -> 3),
    >

    /// Convolutions with a residual add.
    pub struct Residual<
        input(1, 6, 6),
        conv1: conv2d(1 -> 4, kernel = 3, padding = 1), relu,
        block: fork {
            body: [conv2d(4 -> 4, kernel = 3, padding = 1), relu],
            shortcut: skip,
        } => add,
        relu, max_pool(2),
        flatten,
        head: dense(36 -> 2), sigmoid,
    >
}

/// `n` samples of `len` values in [−1, 1) from a fixed stream.
fn samples(n: usize, len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..n * len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn points_sit_where_the_int8_model_quantizes() {
    // fc1 → batch_norm → relu fuse: one point, after the relu; fc2 → relu likewise; fc3 at the
    // output.
    let plan = Small::PLAN;
    let points = fake_quant_points(&plan);
    let after: Vec<&str> = points
        .iter()
        .map(|&node| plan.producer(node).unwrap().path)
        .collect();
    assert_eq!(after, ["relu_2", "relu_4", "fc3"]);
    // The add's point is after the relu that follows it; the sigmoid has its own.
    let plan = Residual::PLAN;
    let after: Vec<&str> = fake_quant_points(&plan)
        .iter()
        .map(|&node| plan.producer(node).unwrap().path)
        .collect();
    assert_eq!(after.len(), 5, "{after:?}");
    assert_eq!(after.last(), Some(&"sigmoid_8"), "{after:?}");
}

#[test]
fn fake_quantization_rounds_to_the_grid_and_stops_clamped_gradients() {
    let plan = Small::PLAN;
    let mut ranges = nn::quant::Ranges {
        nodes: vec![(-1.0, 1.0); plan.nodes.len()],
    };
    let node = fake_quant_points(&plan)[0];
    ranges.nodes[node] = (0.0, 2.55);
    let fake = FakeQuant::new(&plan, &ranges);
    // Scale 0.01, zero point −128: 0.123 → 0.12, 3.0 → 2.55 (clamped), −1 → 0 (clamped).
    let mut values = [0.123f32, 3.0, -1.0, 1.0];
    fake.apply(0, &mut values);
    assert!((values[0] - 0.12).abs() < 1e-6, "{values:?}");
    assert!((values[1] - 2.55).abs() < 1e-5, "{values:?}");
    assert_eq!(values[2], 0.0);
    let mut grad = [1.0f32; 4];
    fake.mask(0, &values, &mut grad);
    assert_eq!(grad, [1.0, 0.0, 0.0, 1.0]);
}

/// The training forward with fake quantization is the int8 model, to within the rounding of
/// the steps it does not simulate (the input's quantization, the int32 bias, the requantization
/// multiplier's 31 bits).
#[test]
fn the_fake_quantized_forward_is_the_int8_model() {
    let mut net = Residual::seeded(3);
    let data = samples(64, 36, 5);
    // Some training first, so that the weights are not at their initial values.
    let labels: Vec<usize> = data.chunks(36).map(|x| usize::from(x[0] > 0.0)).collect();
    let dataset =
        nn::data::Dataset::<Shape3<1, 6, 6>, nn::data::Labels>::new(data.clone(), labels, 2)
            .unwrap();
    let _ = Fit::new(&mut net, &mut Adam::new(0.01), CrossEntropy)
        .epochs(3)
        .progress(Progress::Silent)
        .run(dataset.shuffled_batches::<16>(LastBatch::Drop, 0).unwrap())
        .unwrap();
    let mut qat = Qat::new(net, &data, Calibration::MinMax).expect("calibrates");
    qat.fake_quant().freeze(true);
    let model = qat.model().expect("quantizes");
    let x = Tensor4::<4, 1, 6, 6>::from_slice(&data[..4 * 36]).unwrap();
    let mut tape = ResidualTape::<4>::new();
    let mut y = Tensor2::<4, 2>::zeros();
    nn::layers::Layer::forward_train(&mut qat, &x, &mut y, &mut tape);
    let out = model.output_params();
    let mut activations = model.activations();
    for (sample, got) in data[..4 * 36]
        .chunks_exact(36)
        .zip(y.as_slice().chunks_exact(2))
    {
        let int8 = model.predict(sample, &mut activations).to_vec();
        for (a, b) in got.iter().zip(&int8) {
            assert!(
                (a - b).abs() <= 3.0 * out.scale,
                "fake-quantized {a} against int8 {b} (step {})",
                out.scale
            );
        }
    }
    // The float weights are back after the backward pass.
    let before = nn::quant::float_tensors(qat.net());
    let dy = Tensor2::<4, 2>::zeros();
    nn::layers::Layer::backward(&mut qat, &x, &y, &mut tape, &dy, None);
    let after = nn::quant::float_tensors(qat.net());
    assert_ne!(
        before["conv1.weight"], after["conv1.weight"],
        "forward_train left the quantized weights in"
    );
}

/// `Fit` trains the wrapper like any network, and the int8 model it gives classifies as the
/// fake-quantized network did.
#[test]
fn fit_trains_through_fake_quantization() {
    let data = samples(512, 6, 9);
    let labels: Vec<usize> = data
        .chunks(6)
        .map(|x| {
            if x[0] + x[1] > 0.3 {
                2
            } else if x[2] > 0.0 {
                1
            } else {
                0
            }
        })
        .collect();
    let dataset =
        nn::data::Dataset::<Features<6>, nn::data::Labels>::new(data.clone(), labels.clone(), 3)
            .unwrap();
    let mut net = Small::seeded(1);
    Fit::new(&mut net, &mut Adam::new(0.01), CrossEntropy)
        .epochs(20)
        .progress(Progress::Silent)
        .run(dataset.shuffled_batches::<32>(LastBatch::Drop, 0).unwrap())
        .unwrap();
    let mut qat = Qat::new(net, &data[..128 * 6], Calibration::MinMax).unwrap();
    let history = Fit::new(&mut qat, &mut Adam::new(0.002), CrossEntropy)
        .epochs(5)
        .metric(Accuracy::default())
        .progress(Progress::Silent)
        .run(dataset.shuffled_batches::<32>(LastBatch::Drop, 1).unwrap())
        .unwrap();
    let trained = history.last().unwrap().get("accuracy").unwrap();
    assert!(
        trained > 0.85,
        "accuracy while training with fake quantization: {trained}"
    );
    let model = qat.model().unwrap();
    let mut activations = model.activations();
    let correct = data
        .chunks(6)
        .zip(&labels)
        .filter(|(x, label)| {
            let scores = model.predict(x, &mut activations);
            (0..3).max_by(|&a, &b| scores[a].total_cmp(&scores[b])) == Some(**label)
        })
        .count();
    let accuracy = correct as f32 / labels.len() as f32;
    assert!(accuracy > 0.85, "int8 accuracy after QAT: {accuracy}");
}

/// A training step through fake quantization allocates nothing after the first: the weights'
/// float copies reuse their buffer, and no parameter name is formatted per step.
#[test]
fn a_quantization_aware_training_step_allocates_nothing() {
    let data = samples(64, 36, 11);
    let mut qat = Qat::new(Residual::seeded(2), &data, Calibration::MinMax).unwrap();
    let x = Tensor4::<4, 1, 6, 6>::from_slice(&data[..4 * 36]).unwrap();
    let mut tape = ResidualTape::<4>::new();
    let mut y = Tensor2::<4, 2>::zeros();
    let dy = Tensor2::<4, 2>::full(0.1);
    let mut step = |qat: &mut Qat<Residual>| {
        nn::layers::Layer::forward_train(qat, &x, &mut y, &mut tape);
        nn::layers::Layer::backward(qat, &x, &y, &mut tape, &dy, None);
    };
    step(&mut qat);
    let counted = allocation_counter::measure(|| step(&mut qat));
    assert_eq!(counted.count_total, 0, "{counted:?}");
}
