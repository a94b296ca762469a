//! A `.tflite` file that is truncated or corrupted anywhere is an error, never a panic:
//! `QuantModel::from_tflite` is what `network!` reads `#[weights = "model.tflite"]` with while
//! it expands, and a panic there would be the compiler's. The corpus of one-mistake files, each
//! with the error it gives, is the `nn` crate's `tests/tflite_corpus.rs`.

use nn_core::quant::{Op, Plan, QuantModel, Step};
use proptest::prelude::*;

/// The declaration of `tests/fixtures/int8/broken/tiny.tflite`: 16-8 ReLU-4.
const TINY: Plan = Plan {
    nodes: &[16, 8, 8, 4],
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

fn tiny() -> Vec<u8> {
    std::fs::read("../tests/fixtures/int8/broken/tiny.tflite").expect("the corpus is committed")
}

/// Whatever `bytes` read as: an accepted model must also infer.
fn read_and_run(bytes: &[u8]) {
    if let Ok(model) = QuantModel::from_tflite(&TINY, bytes) {
        let mut activations = model.activations();
        for x in [[0i8; 16], [127; 16], [-128; 16]] {
            let _ = model.infer(&x, &mut activations);
        }
    }
}

#[test]
fn the_intact_file_reads_and_runs() {
    let model = QuantModel::from_tflite(&TINY, &tiny()).expect("reads");
    let mut activations = model.activations();
    let out = model.infer(&[5; 16], &mut activations).to_vec();
    assert_eq!(out.len(), 4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_truncated_file_is_an_error(cut in 0usize..4096) {
        let bytes = tiny();
        let cut = cut % bytes.len();
        prop_assert!(QuantModel::from_tflite(&TINY, &bytes[..cut]).is_err());
    }

    #[test]
    fn corrupted_bytes_never_panic(flips in prop::collection::vec((0usize..4096, any::<u8>()), 1..8)) {
        let mut bytes = tiny();
        for (at, value) in flips {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        read_and_run(&bytes);
    }

    #[test]
    fn corrupted_words_never_panic(words in prop::collection::vec((0usize..1024, any::<u32>()), 1..4)) {
        // Offsets and lengths are 32-bit words: overwrite whole ones.
        let mut bytes = tiny();
        for (at, value) in words {
            let at = (at * 4) % (bytes.len() - 3);
            bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        read_and_run(&bytes);
    }
}
