//! Property tests of the two file loaders, the safetensors weights loader and the IDX reader:
//! random bytes, truncations and bit flips of a valid file, and random headers give `Err` (or,
//! for a harmless flip, `Ok`), never a panic, and never an allocation larger than the file.
//!
//! A counting global allocator records the most heap a loader holds at once while it runs. The
//! bound is the file's length plus [`SLACK`] bytes for names and error values, so a loader that
//! trusted a size claimed by the file (a header length, a shape, IDX dimensions) before
//! checking it against the file would fail it: the huge-claim cases claim terabytes.

use nn_core::data::idx::{IdxArray, parse_idx};
use nn_core::layers::Dense;
use nn_core::weights;
use proptest::prelude::*;

/// Room for the values a load builds besides the file's data (tensor names, the list of
/// problems, a message string), whatever the file's size.
const SLACK: usize = 4096;

/// Runs `f` and returns its result with the most heap bytes it held at once (on this thread,
/// counted by `allocation-counter`'s global allocator).
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let mut result = None;
    let info = allocation_counter::measure(|| result = Some(f()));
    let peak = usize::try_from(info.bytes_max).unwrap_or(usize::MAX);
    (result.expect("measured closure ran"), peak)
}

type Net = Dense<4, 3>;

fn net() -> Net {
    Dense::new(&mut nn_core::init::seeded(0))
}

fn valid_weights() -> Vec<u8> {
    weights::to_bytes(&net()).expect("serialize")
}

/// Loads `bytes` into a network and checks the allocation bound; returns whether it loaded.
fn load_weights(bytes: &[u8]) -> bool {
    let mut target = net();
    let (result, peak) = peak_heap(|| weights::from_bytes(&mut target, bytes));
    assert!(
        peak <= bytes.len() + SLACK,
        "held {peak} heap bytes for a {}-byte file",
        bytes.len()
    );
    result.is_ok()
}

const IMAGE_DIMS: [Option<usize>; 3] = [None, Some(2), Some(3)];

fn valid_idx() -> Vec<u8> {
    IdxArray::new(vec![4, 2, 3], (0..24).collect())
        .expect("dims")
        .to_bytes()
}

fn load_idx(bytes: &[u8], dims: &[Option<usize>]) -> bool {
    let (result, peak) = peak_heap(|| parse_idx(bytes, dims));
    assert!(
        peak <= bytes.len() + SLACK,
        "held {peak} heap bytes for a {}-byte IDX file",
        bytes.len()
    );
    result.is_ok()
}

fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn every_truncation_of_a_valid_file_is_an_error() {
    let good = valid_weights();
    assert!(load_weights(&good));
    for len in 0..good.len() {
        assert!(!load_weights(&good[..len]), "{len} bytes loaded");
    }
    let good = valid_idx();
    assert!(load_idx(&good, &IMAGE_DIMS));
    for len in 0..good.len() {
        assert!(!load_idx(&good[..len], &IMAGE_DIMS), "{len} bytes parsed");
    }
}

#[test]
fn huge_claimed_sizes_allocate_nothing_large() {
    // The counter sees what it must bound.
    let (_, peak) = peak_heap(|| std::hint::black_box(vec![1u8; 1 << 20]));
    assert!(peak >= 1 << 20, "{peak}");

    let mut header_claim = valid_weights();
    for claim in [u64::MAX, 1 << 40, 100_000_000, header_claim.len() as u64] {
        header_claim[..8].copy_from_slice(&claim.to_le_bytes());
        assert!(!load_weights(&header_claim));
    }
    let huge_shape = file(
        r#"{"weight":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,48]}}"#,
        &[0; 48],
    );
    assert!(!load_weights(&huge_shape));
    let huge_offsets = file(
        r#"{"weight":{"dtype":"F32","shape":[3,4],"data_offsets":[0,1099511627776]}}"#,
        &[0; 48],
    );
    assert!(!load_weights(&huge_offsets));
    // IDX: three dimensions of 2³² − 1 claim 2⁹⁶ bytes; one of 2³² − 1 claims 4 GB.
    let mut idx = vec![0, 0, 8, 3];
    idx.extend_from_slice(&[0xff; 12]);
    assert!(!load_idx(&idx, &[None, None, None]));
    assert!(!load_idx(
        &[0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff, 1, 2],
        &[None]
    ));
}

/// A header built from random entries: names, dtypes, shapes and offsets, some absurd.
fn header_strategy() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("weight".to_string()),
        Just("bias".to_string()),
        Just("__metadata__".to_string()),
        "[a-z.]{0,8}",
    ];
    let dtype = prop_oneof![
        Just("F32"),
        Just("F16"),
        Just("BF16"),
        Just("F64"),
        Just("I64"),
        Just("U8"),
        Just("BOOL"),
        Just("nope"),
    ];
    let dim = prop_oneof![0usize..6, Just(usize::MAX), Just(1 << 62)];
    let shape = prop::collection::vec(dim, 0..4);
    let offset = prop_oneof![0usize..80, Just(usize::MAX)];
    let entry = (name, dtype, shape, offset.clone(), offset);
    prop::collection::vec(entry, 0..4).prop_map(|entries| {
        let body: Vec<String> = entries
            .into_iter()
            .map(|(name, dtype, shape, start, end)| {
                format!(
                    r#""{name}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{start},{end}]}}"#
                )
            })
            .collect();
        format!("{{{}}}", body.join(","))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        prop_assert!(!load_weights(&bytes) || bytes.len() >= 8);
        load_idx(&bytes, &IMAGE_DIMS);
        load_idx(&bytes, &[None]);
    }

    #[test]
    fn random_small_header_lengths_never_panic(
        len in 0u64..64,
        rest in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend(rest);
        load_weights(&bytes);
    }

    #[test]
    fn bit_flips_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4)) {
        let mut bytes = valid_weights();
        let mut idx = valid_idx();
        for (at, bit) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
            let j = at.index(idx.len());
            idx[j] ^= 1 << bit;
        }
        load_weights(&bytes);
        load_idx(&idx, &IMAGE_DIMS);
        load_idx(&idx, &[None, None, None]);
    }

    #[test]
    fn random_headers_never_panic(
        header in header_strategy(),
        data in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        load_weights(&file(&header, &data));
    }
}
