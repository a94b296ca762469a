//! `.tflite` files with one mistake each (`tests/fixtures/int8/broken/`, written by
//! `tests/oracle/tflite_corpus.py` from `tiny.tflite`, a 16-8-4 int8 MLP): reading each
//! against the declaration is an error that says what is wrong and where, never a panic.
//! `nn-core/tests/quant_file_properties.rs` adds random truncations and corruptions.

use nn::quant::{QuantModel, Quantize, QuantizeError};

nn::network! {
    /// The network of `tiny.tflite`.
    pub struct Tiny< fc1: dense(16 -> 8), relu, fc2: dense(8 -> 4) >
}

fn read(name: &str) -> Result<QuantModel, QuantizeError> {
    let path = format!("tests/fixtures/int8/broken/{name}.tflite");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    QuantModel::from_tflite(&Tiny::PLAN, &bytes)
}

#[test]
fn the_intact_file_reads() {
    let model = read("tiny").expect("tiny.tflite is the declaration's");
    assert_eq!(model.steps[0].weight.len(), 8 * 16);
}

/// (file, the layer the error names or `None` for the whole file, words the message has).
const CORPUS: &[(&str, Option<&str>, &[&str])] = &[
    ("truncated", None, &["malformed TensorFlow Lite file"]),
    ("not_tflite", None, &["not a TensorFlow Lite model", "TFL3"]),
    (
        "offset_out_of_range",
        None,
        &["malformed TensorFlow Lite file"],
    ),
    (
        "tensor_index_out_of_range",
        None,
        &["operator 0's input", "999", "out of range"],
    ),
    (
        "unsupported_operator",
        Some("fc2"),
        &["no FULLY_CONNECTED", "LSTM"],
    ),
    (
        "custom_operator",
        Some("fc2"),
        &["no FULLY_CONNECTED", "custom operator `MyDense`"],
    ),
    (
        "weight_zero_point",
        Some("fc1"),
        &["nonzero zero point", "symmetric"],
    ),
    (
        "mixed_quantization",
        Some("fc1"),
        &[
            "3 scales",
            "one per tensor or one per output channel (8 along axis 0)",
        ],
    ),
    (
        "per_channel_on_the_wrong_axis",
        Some("fc1"),
        &["16 scales along axis 1"],
    ),
    ("float_activation", Some("fc1"), &["F32, not int8"]),
    (
        "bias_data_and_shape_disagree",
        None,
        &["32 bytes of data for a shape of [4]"],
    ),
    ("two_subgraphs", None, &["2 subgraphs"]),
];

#[test]
fn every_broken_file_is_an_error_that_names_what_and_where() {
    for &(name, layer, words) in CORPUS {
        let error = match read(name) {
            Ok(_) => panic!("{name}.tflite read without an error"),
            Err(error) => error,
        };
        let QuantizeError::Tflite { path, .. } = &error else {
            panic!("{name}: not a TensorFlow Lite error: {error:?}");
        };
        assert_eq!(path.as_deref(), layer, "{name}: {error}");
        let message = error.to_string();
        for word in words {
            assert!(message.contains(word), "{name}: `{message}` lacks `{word}`");
        }
        println!("{name}.tflite: {message}");
    }
}
