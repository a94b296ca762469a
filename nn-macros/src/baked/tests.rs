//! The macro's errors on baked declarations, and its behaviour on damaged files.

use quote::quote;

use crate::ast::Networks;

/// The errors `network!` gives for `source`, as text.
fn errors(source: &str) -> String {
    let networks: Networks = syn::parse_str(source).expect("the declaration parses");
    let network = &networks.networks[0];
    let nn = quote!(::nn::__private);
    let (plan, _) = crate::validate::validate(network, &[], &nn);
    let weights = network.weights.as_ref().expect("a #[weights] attribute");
    let (_, error) = super::expand(network, &networks.networks, weights, plan.as_ref(), &nn);
    error
        .map(|e| e.to_compile_error().to_string())
        .unwrap_or_default()
}

fn declaration(path: &str) -> String {
    format!("#[weights = {path:?}] struct Tiny< fc1: dense(4 -> 3), relu, fc2: dense(3 -> 2) >")
}

#[test]
#[cfg(not(feature = "baked"))]
fn without_the_baked_feature_the_attribute_names_it() {
    let message = errors(&declaration("any.safetensors"));
    assert!(
        message.contains("needs the `baked` feature of `nn`"),
        "{message}"
    );
}

/// Reading the file (the `baked` feature).
#[cfg(feature = "baked")]
mod file {
    use super::{declaration, errors};

    /// A file of `bytes` in the temporary directory, named after the test.
    fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("nn-macros-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).expect("the temporary directory is writable");
        path
    }

    fn tiny_file(fc1_weight: &[f32]) -> Vec<u8> {
        let bytes = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let tensors = [
            ("fc1.weight", vec![3, 4], bytes(fc1_weight)),
            ("fc1.bias", vec![3], bytes(&[0.0; 3])),
            ("fc2.weight", vec![2, 3], bytes(&[0.0; 6])),
            ("fc2.bias", vec![2], bytes(&[0.0; 2])),
        ];
        serialize(
            tensors
                .iter()
                .map(|(name, shape, data)| (*name, shape, &data[..])),
        )
    }

    /// A safetensors file of `(name, shape, little-endian f32 bytes)`.
    fn serialize<'a>(
        tensors: impl Iterator<Item = (&'a str, &'a Vec<usize>, &'a [u8])>,
    ) -> Vec<u8> {
        let views: Vec<_> = tensors
            .map(|(name, shape, data)| {
                let view = safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    shape.clone(),
                    data,
                );
                (name.to_string(), view.expect("a valid view"))
            })
            .collect();
        safetensors::serialize(views, None).expect("serializes")
    }

    #[test]
    fn a_missing_file_names_the_full_path_tried() {
        let message = errors(&declaration("no/such/weights.safetensors"));
        let manifest_dir = env!("CARGO_MANIFEST_DIR");
        assert!(
            message.contains(&format!(
                "cannot read the weights file `{manifest_dir}/no/such/weights.safetensors`"
            )),
            "{message}"
        );
    }

    #[test]
    fn malformed_and_truncated_files_are_errors() {
        let good = tiny_file(&[0.5; 12]);
        assert_eq!(
            errors(&declaration(temp_file("good", &good).to_str().unwrap())),
            ""
        );
        for (name, bytes) in [
            ("garbage", b"not a safetensors file at all".to_vec()),
            ("truncated", good[..good.len() / 2].to_vec()),
            ("empty", Vec::new()),
        ] {
            let path = temp_file(name, &bytes);
            let message = errors(&declaration(path.to_str().unwrap()));
            assert!(
                message.contains("is not a valid safetensors file"),
                "{name}: {message}"
            );
        }
    }

    #[test]
    fn a_missing_tensor_is_an_error_on_its_layer() {
        let path = temp_file("missing", &tiny_file(&[0.5; 12]));
        let source = format!(
            "#[weights = {:?}] struct Tiny< fc1: dense(4 -> 3), relu, fc2: dense(3 -> 2), relu, fc3: dense(2 -> 2) >",
            path.to_str().unwrap()
        );
        let message = errors(&source);
        assert!(
            message.contains("`fc3`: the weights file has no `fc3.weight`; the declaration needs it, of shape (2, 2)"),
            "{message}"
        );
        assert!(message.contains("no `fc3.bias`"), "{message}");
    }

    #[test]
    fn a_non_finite_weight_is_an_error_on_its_layer() {
        let mut weight = [0.5; 12];
        weight[7] = f32::NAN;
        let path = temp_file("nan", &tiny_file(&weight));
        let message = errors(&declaration(path.to_str().unwrap()));
        assert!(
            message.contains("`fc1`: `fc1.weight` holds NaN at index 7"),
            "{message}"
        );
    }

    /// [`declaration`]'s network, without its attribute.
    const TINY: &str = "struct Tiny< fc1: dense(4 -> 3), relu, fc2: dense(3 -> 2) >";

    /// A small network with a convolution and a batch norm folded into it, and a valid
    /// file for it (values of `seed`).
    const SMALL: &str = "struct Small< input(1, 4, 4), c1: conv2d(1 -> 2, kernel = 3), bn: batch_norm, relu, flatten, fc: dense(8 -> 2) >";

    fn small_file() -> Vec<u8> {
        let tensors: [(&str, Vec<usize>); 8] = [
            ("c1.weight", vec![2, 1, 3, 3]),
            ("c1.bias", vec![2]),
            ("bn.weight", vec![2]),
            ("bn.bias", vec![2]),
            ("bn.running_mean", vec![2]),
            ("bn.running_var", vec![2]),
            ("fc.weight", vec![2, 8]),
            ("fc.bias", vec![2]),
        ];
        let data: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(_, shape)| {
                let n: usize = shape.iter().product();
                (0..n)
                    .flat_map(|i| (0.25 + i as f32 / 8.0).to_le_bytes())
                    .collect()
            })
            .collect();
        serialize(
            tensors
                .iter()
                .zip(&data)
                .map(|((name, shape), data)| (*name, shape, &data[..])),
        )
    }

    /// What an edit does to the byte it lands on.
    #[derive(Clone, Copy, Debug)]
    enum Edit {
        /// Flips one bit.
        Flip(u8),
        /// Overwrites it.
        Byte(u8),
        /// Overwrites it with a character of JSON, so that the header stays near-JSON
        /// (digits make sizes and offsets huge, brackets and quotes move fields).
        Json(u8),
    }

    const JSON: &[u8] = b"0123456789999[]{},:\"-.eE";

    fn edit() -> impl proptest::strategy::Strategy<Value = Edit> {
        use proptest::prelude::*;
        prop_oneof![
            (0u8..8).prop_map(Edit::Flip),
            any::<u8>().prop_map(Edit::Byte),
            (0..JSON.len() as u8).prop_map(Edit::Json),
        ]
    }

    /// `bytes` cut at `cut` of its length, then edited at each `(where, edit)`.
    fn damage(
        bytes: &[u8],
        cut: proptest::sample::Index,
        edits: &[(proptest::sample::Index, Edit)],
    ) -> Vec<u8> {
        let mut bytes = bytes[..cut.index(bytes.len() + 1)].to_vec();
        for (at, edit) in edits {
            if bytes.is_empty() {
                break;
            }
            let at = at.index(bytes.len());
            bytes[at] = match *edit {
                Edit::Flip(bit) => bytes[at] ^ (1 << bit),
                Edit::Byte(byte) => byte,
                Edit::Json(i) => JSON[usize::from(i)],
            };
        }
        bytes
    }

    /// The errors for `bytes` as the weights file of `declaration` (a network without its
    /// attribute); a panic anywhere in reading, checking, folding or emitting fails the
    /// property.
    fn errors_for(declaration: &str, bytes: &[u8]) -> String {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CASE: AtomicUsize = AtomicUsize::new(0);
        let case = CASE.fetch_add(1, Ordering::Relaxed);
        let path = temp_file(&format!("damaged-{case}"), bytes);
        let message = errors(&format!(
            "#[weights = {:?}] {declaration}",
            path.to_str().unwrap()
        ));
        let _ = std::fs::remove_file(path);
        message
    }

    #[test]
    fn the_undamaged_files_bake() {
        assert_eq!(errors_for(TINY, &tiny_file(&[0.5; 12])), "");
        assert_eq!(errors_for(SMALL, &small_file()), "");
    }

    proptest::proptest! {
        // Each case expands the macro twice (about half a millisecond each): 400 cases
        // take well under a second in a debug build.
        #![proptest_config(proptest::test_runner::Config {
            cases: 400,
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]

        /// The macro never panics on a weights file: a valid file cut anywhere and with
        /// up to 8 bytes flipped or overwritten (its header included) gives errors or a
        /// network. Cut short and left unedited, it is always an error.
        #[test]
        fn damaged_files_are_errors_never_panics(
            cut in proptest::prelude::any::<proptest::sample::Index>(),
            edits in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(), edit()),
                0..8,
            ),
        ) {
            for (declaration, good) in [
                (TINY, tiny_file(&[0.5; 12])),
                (SMALL, small_file()),
            ] {
                let bytes = damage(&good, cut, &edits);
                let message = errors_for(declaration, &bytes);
                if edits.is_empty() && bytes.len() < good.len() {
                    proptest::prop_assert!(
                        message.contains("is not a valid safetensors file"),
                        "cut at {} of {}: {message}", bytes.len(), good.len()
                    );
                }
            }
        }
    }

    #[test]
    fn half_precision_widens_exactly() {
        assert_eq!(crate::baked::file::f16_to_f32(0x3c00), 1.0);
        assert_eq!(crate::baked::file::f16_to_f32(0xc000), -2.0);
        assert_eq!(crate::baked::file::f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(crate::baked::file::f16_to_f32(0x7bff), 65504.0);
        assert!(crate::baked::file::f16_to_f32(0x7c00).is_infinite());
        assert!(crate::baked::file::f16_to_f32(0x7e00).is_nan());
        let bf16 = crate::baked::file::decode(safetensors::Dtype::BF16, &[0x80, 0x3f]).unwrap();
        assert_eq!(bf16, [1.0]);
    }
}
