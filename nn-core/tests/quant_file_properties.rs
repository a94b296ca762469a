//! A quantized file that is truncated, corrupted, or holds scales int8 cannot use is an error,
//! never a panic: `QuantModel::from_bytes` is what `network!` reads a quantized file with
//! while it expands, and a panic there would be the compiler's.

use std::collections::BTreeMap;

use nn_core::quant::{Op, Plan, QuantModel, QuantParams, Ranges, Step};
use proptest::prelude::*;

const PLAN: Plan = Plan {
    nodes: &[4, 3, 3, 2],
    input: 0,
    output: 3,
    steps: &[
        Step {
            op: Op::Dense,
            inputs: &[0],
            output: 1,
            path: "fc1",
        },
        Step {
            op: Op::Relu,
            inputs: &[1],
            output: 2,
            path: "relu",
        },
        Step {
            op: Op::Dense,
            inputs: &[2],
            output: 3,
            path: "fc2",
        },
    ],
};

/// A valid quantized file of `PLAN`.
fn valid() -> Vec<u8> {
    let mut tensors = BTreeMap::new();
    tensors.insert(
        "fc1.weight".to_string(),
        (0..12).map(|i| i as f32 * 0.1 - 0.5).collect(),
    );
    tensors.insert("fc1.bias".to_string(), vec![0.1, -0.2, 0.3]);
    tensors.insert(
        "fc2.weight".to_string(),
        (0..6).map(|i| 0.3 - i as f32 * 0.1).collect(),
    );
    tensors.insert("fc2.bias".to_string(), vec![0.05, -0.05]);
    let ranges = Ranges {
        nodes: vec![(-1.0, 1.0), (-2.0, 2.0), (0.0, 2.0), (-3.0, 3.0)],
    };
    QuantModel::quantize(&PLAN, &tensors, &ranges)
        .expect("quantizes")
        .to_bytes()
        .expect("serializes")
}

/// Runs whatever `bytes` read as, on a few inputs: an accepted file must also infer.
fn read_and_run(bytes: &[u8]) {
    if let Ok(model) = QuantModel::from_bytes(&PLAN, bytes) {
        let mut activations = model.activations();
        for x in [[-128i8, 0, 5, 127], [127; 4], [-128; 4]] {
            let _ = model.infer(&x, &mut activations);
        }
    }
}

/// Two scales that are each fine can multiply past `f32`'s range: the input's and a weight's
/// product is the accumulator's scale.
#[test]
fn scales_whose_product_overflows_are_an_error() {
    let mut model = QuantModel::from_bytes(&PLAN, &valid()).expect("reads");
    model.input.scale = 1e20;
    model.steps[0].weight_scale[0] = 1e20;
    let bytes = model.to_bytes().expect("serializes");
    let error = QuantModel::from_bytes(&PLAN, &bytes).expect_err("an overflowing factor");
    assert!(error.to_string().contains("fc1.output_scale"), "{error}");
}

/// An int8 inference call allocates nothing once its activations exist.
#[test]
fn inference_allocates_nothing() {
    let model = QuantModel::from_bytes(&PLAN, &valid()).expect("reads");
    let mut activations = model.activations();
    let (x, real) = ([3i8, -7, 100, -128], [0.25f32, -0.5, 0.75, 1.0]);
    let info = allocation_counter::measure(|| {
        let _ = model.infer(&x, &mut activations);
        let _ = model.predict(&real, &mut activations);
    });
    assert_eq!(info.count_total, 0, "allocations in an inference call");
}

#[test]
fn the_valid_file_reads_back() {
    let model = QuantModel::from_bytes(&PLAN, &valid()).expect("reads");
    assert_eq!(model.steps.len(), 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_truncated_file_is_an_error(cut in 0usize..2000) {
        let bytes = valid();
        let cut = cut.min(bytes.len().saturating_sub(1));
        prop_assert!(QuantModel::from_bytes(&PLAN, &bytes[..cut]).is_err());
    }

    #[test]
    fn corrupted_bytes_never_panic(flips in prop::collection::vec((0usize..4096, any::<u8>()), 1..8)) {
        let mut bytes = valid();
        for (at, value) in flips {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        read_and_run(&bytes);
    }

    #[test]
    fn any_scale_is_an_error_or_runs(scale in prop_oneof![
        Just(f32::INFINITY), Just(f32::NAN), Just(0.0f32), Just(-1.0f32), Just(f32::MAX),
        Just(f32::MIN_POSITIVE), Just(1e-45f32), any::<f32>(),
    ], which in 0usize..3) {
        let mut model = QuantModel::from_bytes(&PLAN, &valid()).expect("reads");
        match which {
            0 => model.input = QuantParams { scale, zero_point: model.input.zero_point },
            1 => model.steps[0].weight_scale[1] = scale,
            _ => model.steps[2].output.scale = scale,
        }
        // `to_bytes` writes what it is given; reading checks it.
        let bytes = model.to_bytes().expect("serializes");
        read_and_run(&bytes);
        if !(scale > 0.0 && scale.is_finite()) {
            prop_assert!(QuantModel::from_bytes(&PLAN, &bytes).is_err());
        }
    }
}
