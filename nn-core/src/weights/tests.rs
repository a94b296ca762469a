//! Round trips, every problem `load` reports, atomic writes and checkpoints, on layers.
//! (Generated networks are covered by the facade's `tests/weights.rs`.)

use std::format;
use std::io::{self, Write};
use std::string::{String, ToString};
use std::vec::Vec;

use super::*;
use crate::layers::{
    BatchNorm1d, Dense, Gru, Layer, Lstm, Rnn, RnnRelu, SequenceDense, SquareConv2d,
};
use crate::optim::{Adam, AdamW, Optimizer, OptimizerState, Sgd};
use crate::tensor::{Tensor2, Zeroed};

fn rng() -> crate::init::Rng {
    crate::init::seeded(7)
}

/// Every parameter and buffer value, in visiting order, as bits.
fn bits<M: HasParams>(net: &mut M) -> Vec<u32> {
    let mut out = Vec::new();
    net.visit_params(
        &ParamPath::root(),
        &mut |_: &ParamPath<'_>, p: Param<'_>| out.extend(p.value.iter().map(|v| v.to_bits())),
    );
    net.visit_buffers(
        &ParamPath::root(),
        &mut |_: &ParamPath<'_>, b: &mut [f32]| out.extend(b.iter().map(|v| v.to_bits())),
    );
    out
}

/// A safetensors file from a JSON header and raw data.
fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A `Dense<2, 1>`'s file: `weight` (1, 2) and `bias` (1,) from `data`, with `dtype`.
fn dense21_file(dtype: &str, elem: usize, data: &[u8]) -> Vec<u8> {
    let w = 2 * elem;
    let header = format!(
        r#"{{"weight":{{"dtype":"{dtype}","shape":[1,2],"data_offsets":[0,{w}]}},"bias":{{"dtype":"{dtype}","shape":[1],"data_offsets":[{w},{}]}}}}"#,
        w + elem
    );
    file(&header, data)
}

fn problems(err: LoadError) -> Vec<Problem> {
    err.problems
}

#[test]
fn layers_round_trip_bit_identically() {
    let mut rng = rng();
    let mut dense = Dense::<5, 3>::new(&mut rng);
    let mut conv = SquareConv2d::<2, 3, 6, 6, 4, 4, 3, 1, 0>::new(&mut rng);
    let mut lstm = Lstm::<4, 3, 5>::new(&mut rng);
    let mut bn = BatchNorm1d::<3>::new();
    // Move the running statistics away from their initial values.
    let x = crate::testing::random_tensor::<Tensor2<4, 3>>(&mut rng);
    let mut y = Tensor2::<4, 3>::zeros();
    bn.forward_train(&x, &mut y, &mut Zeroed::zeroed());

    fn check<M: HasParams>(original: &mut M, fresh: &mut M) {
        let bytes = to_bytes(original).unwrap();
        assert_ne!(
            bits(original),
            bits(fresh),
            "the fresh copy must start different"
        );
        from_bytes(fresh, &bytes).unwrap();
        assert_eq!(bits(original), bits(fresh));
    }
    check(&mut dense, &mut Dense::new(&mut rng));
    check(&mut conv, &mut SquareConv2d::new(&mut rng));
    check(&mut lstm, &mut Lstm::new(&mut rng));
    check(&mut Gru::<4, 3, 5>::new(&mut rng), &mut Gru::new(&mut rng));
    check(
        &mut Rnn::<4, 3, 5, RnnRelu>::new(&mut rng),
        &mut Rnn::new(&mut rng),
    );
    check(
        &mut SequenceDense::<4, 3, 5>::new(&mut rng),
        &mut SequenceDense::new(&mut rng),
    );
    let mut fresh_bn = BatchNorm1d::<3>::new();
    fresh_bn.weight_mut().as_mut_slice()[0] = 2.0;
    check(&mut bn, &mut fresh_bn);
}

#[test]
fn files_name_and_shape_tensors_as_pytorch_does() {
    let mut rng = rng();
    let bytes = to_bytes(&Lstm::<4, 3, 5>::new(&mut rng)).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let shape = |name: &str| file.tensor(name).unwrap().shape().to_vec();
    assert_eq!(shape("weight_ih_l0"), [20, 3]);
    assert_eq!(shape("weight_hh_l0"), [20, 5]);
    assert_eq!(shape("bias_ih_l0"), [20]);
    let bytes = to_bytes(&Gru::<4, 3, 5>::new(&mut rng)).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.tensor("weight_hh_l0").unwrap().shape(), [15, 5]);
    let bytes = to_bytes(&SquareConv2d::<2, 3, 6, 6, 4, 4, 3, 1, 0>::new(&mut rng)).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.tensor("weight").unwrap().shape(), [3, 2, 3, 3]);
    assert_eq!(file.tensor("weight").unwrap().dtype(), Dtype::F32);
    let bytes = to_bytes(&BatchNorm1d::<3>::new()).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.tensor("running_var").unwrap().shape(), [3]);
    assert_eq!(
        metadata(&bytes).get("format").map(String::as_str),
        Some("pt")
    );
}

#[test]
fn every_problem_is_listed_and_the_network_is_untouched() {
    let mut rng = rng();
    let mut bn = BatchNorm1d::<3>::new();
    // `weight` of the wrong shape, `bias` missing, `running_mean` as F64, `running_var` with
    // a NaN, and an unexpected `extra`.
    let mut data = f32_bytes(&[1.0, 2.0]);
    data.extend_from_slice(&f64::to_le_bytes(0.5).repeat(3));
    data.extend(f32_bytes(&[1.0, f32::NAN, 1.0]));
    data.extend(f32_bytes(&[0.0]));
    let header = r#"{"weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
        "running_mean":{"dtype":"F64","shape":[3],"data_offsets":[8,32]},
        "running_var":{"dtype":"F32","shape":[3],"data_offsets":[32,44]},
        "extra":{"dtype":"F32","shape":[1],"data_offsets":[44,48]}}"#;
    let before = bits(&mut bn);
    let err = from_bytes(&mut bn, &file(header, &data)).unwrap_err();
    assert_eq!(bits(&mut bn), before);
    let message = err.to_string();
    let found = problems(err);
    assert_eq!(found.len(), 5, "{found:?}");
    assert!(
        matches!(&found[0], Problem::ShapeMismatch { tensor, file, expected }
            if tensor == "weight" && file.0 == [2] && expected.0 == [3])
    );
    assert!(
        matches!(&found[1], Problem::Missing { tensor, shape } if tensor == "bias" && shape.0 == [3])
    );
    assert!(
        matches!(&found[2], Problem::UnsupportedDtype { tensor, dtype } if tensor == "running_mean" && dtype == "F64")
    );
    assert!(
        matches!(&found[3], Problem::NonFinite { tensor, index: 1, value } if tensor == "running_var" && value.is_nan())
    );
    assert!(matches!(&found[4], Problem::Unexpected { tensor, .. } if tensor == "extra"));
    assert!(
        message.starts_with("cannot load <memory>: 5 problems:"),
        "{message}"
    );
    assert!(message.contains("tensor `weight`: the file has shape (2,), the network needs (3,)"));

    // Nothing partial either when only the last tensor is wrong.
    let mut fc = Dense::<2, 1>::new(&mut rng);
    let before = bits(&mut fc);
    let err = from_bytes(&mut fc, &dense21_file("I64", 8, &[0; 24])).unwrap_err();
    assert!(matches!(
        &problems(err)[..],
        [
            Problem::UnsupportedDtype { .. },
            Problem::UnsupportedDtype { .. }
        ]
    ));
    assert_eq!(bits(&mut fc), before);
}

#[test]
fn a_file_of_another_kind_is_not_a_safetensors_file() {
    // A PNG's signature and the start of its IHDR chunk: as a header length, its first 8
    // bytes are about 7.4e17, which the 100 MB limit would otherwise report.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10";
    let dir = scratch_dir("png");
    let path = dir.join("digit.png");
    std::fs::write(&path, png).unwrap();
    let mut fc = Dense::<2, 1>::new(&mut rng());
    let err = load(&mut fc, &path).unwrap_err();
    assert!(
        matches!(&err.problems[..], [Problem::NotSafetensors { first_bytes }] if first_bytes[..4] == png[..4]),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string())
            && message.contains("not a safetensors file")
            && message.contains("89 50 4e 47 0d 0a 1a 0a 00")
            && !message.contains("100 MB"),
        "{message}"
    );
    // A pickle (a PyTorch `.pt`) too, from bytes: any header that does not begin with `{`.
    let err = from_bytes(&mut fc, b"\x80\x02\x8a\x0alz\xfc\x9cF\xf9 j\xa8P\x19.").unwrap_err();
    assert!(
        matches!(&err.problems[..], [Problem::NotSafetensors { .. }]),
        "{err:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn half_precision_files_are_converted_on_load() {
    let mut fc = Dense::<2, 1>::new(&mut rng());
    // f16: 1.0, -2.5, and the smallest subnormal 2^-24.
    let halves: Vec<u8> = [0x3c00u16, 0xc100, 0x0001]
        .iter()
        .flat_map(|h| h.to_le_bytes())
        .collect();
    from_bytes(&mut fc, &dense21_file("F16", 2, &halves)).unwrap();
    assert_eq!(fc.weight().as_slice(), [1.0, -2.5]);
    assert_eq!(fc.bias().as_slice(), [2f32.powi(-24)]);
    // bf16: the top halves of 1.5, -0.75, 3.0.
    let bf: Vec<u8> = [1.5f32, -0.75, 3.0]
        .iter()
        .flat_map(|v| ((v.to_bits() >> 16) as u16).to_le_bytes())
        .collect();
    from_bytes(&mut fc, &dense21_file("BF16", 2, &bf)).unwrap();
    assert_eq!(fc.weight().as_slice(), [1.5, -0.75]);
    assert_eq!(fc.bias().as_slice(), [3.0]);
    // Every finite f16 converts exactly (it round-trips through f32's half rounding).
    for h in 0..=u16::MAX {
        let v = f16_to_f32(h);
        if (h >> 10) & 0x1f == 0x1f {
            assert!(!v.is_finite());
            continue;
        }
        let magnitude = v.abs();
        assert!(magnitude <= 65504.0);
        assert_eq!(v.is_sign_negative(), h & 0x8000 != 0);
        if magnitude >= 2f32.powi(-14) {
            // Normal: the mantissa's 10 bits sit at the top of f32's 23.
            assert_eq!(v.to_bits() & 0x1fff, 0, "{h:#x}");
        }
    }
    // An infinite half is refused.
    let inf: Vec<u8> = [0x3c00u16, 0x7c00, 0]
        .iter()
        .flat_map(|h| h.to_le_bytes())
        .collect();
    let err = from_bytes(&mut fc, &dense21_file("F16", 2, &inf)).unwrap_err();
    assert!(
        matches!(&problems(err)[..], [Problem::NonFinite { tensor, index: 1, .. }] if tensor == "weight")
    );
}

#[test]
fn pytorch_batch_counters_and_optimizer_state_are_skipped() {
    let mut bn = BatchNorm1d::<2>::new();
    let mut data = f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    data.extend_from_slice(&7i64.to_le_bytes());
    let header = r#"{"weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
        "bias":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},
        "running_mean":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},
        "running_var":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},
        "num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[32,40]}}"#;
    from_bytes(&mut bn, &file(header, &data)).unwrap();
    assert_eq!(bn.running_var().as_slice(), [7.0, 8.0]);

    let mut fc = Dense::<2, 1>::new(&mut rng());
    let mut adam = Adam::new(0.1);
    adam.step(&mut fc).unwrap();
    let checkpoint = checkpoint_to_bytes(&fc, &adam, &Checkpoint::new(3)).unwrap();
    let mut other = Dense::<2, 1>::new(&mut crate::init::seeded(99));
    from_bytes(&mut other, &checkpoint).unwrap();
    assert_eq!(bits(&mut other), bits(&mut fc));
}

#[test]
fn malformed_files_are_typed_errors() {
    let mut fc = Dense::<2, 1>::new(&mut rng());
    let good = dense21_file("F32", 4, &f32_bytes(&[1.0, 2.0, 3.0]));
    from_bytes(&mut fc, &good).unwrap();
    let before = bits(&mut fc);
    let malformed = |bytes: &[u8]| -> Malformed {
        let mut fc = fc.clone();
        match &problems(from_bytes(&mut fc, bytes).unwrap_err())[..] {
            [Problem::Malformed(m)] => m.clone(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(malformed(&good[..5]), Malformed::TooShort { len: 5 });
    assert_eq!(malformed(&good[..40]), Malformed::HeaderPastEnd);
    assert_eq!(malformed(&good[..good.len() - 1]), Malformed::DataLength);
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(malformed(&trailing), Malformed::DataLength);
    let mut huge = good.clone();
    huge[..8].copy_from_slice(&(1u64 << 60).to_le_bytes());
    assert_eq!(malformed(&huge), Malformed::HeaderTooLarge);
    assert!(matches!(
        malformed(&file("{not json", &[])),
        Malformed::BadHeader { .. }
    ));
    let mut not_utf8 = file("{}", &[]);
    not_utf8[9] = 0xff;
    assert_eq!(malformed(&not_utf8), Malformed::HeaderNotUtf8);
    // Overlapping tensors: `bias` starts inside `weight`.
    let overlap = file(
        r#"{"weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"bias":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
        &f32_bytes(&[1.0, 2.0]),
    );
    assert!(matches!(malformed(&overlap), Malformed::BadOffsets { tensor } if tensor == "bias"));
    // A byte range too short for its shape.
    let short = file(
        r#"{"weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,4]},"bias":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
        &f32_bytes(&[1.0, 2.0]),
    );
    assert_eq!(
        malformed(&short),
        Malformed::TensorByteRange {
            tensor: "weight".into(),
            dtype: "F32".into(),
            shape: crate::weights::Shape(std::vec![1, 2]),
            start: 0,
            end: 4,
            needed: Some(8),
        }
    );
    // The second tensor in data order (not in the header's order) has a range too long.
    let long = file(
        r#"{"bias":{"dtype":"F16","shape":[1],"data_offsets":[8,12]},"weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}"#,
        &f32_bytes(&[1.0, 2.0, 3.0]),
    );
    let message = malformed(&long).to_string();
    assert_eq!(
        message,
        "tensor `bias`: its data offsets [8, 12) hold 4 bytes, but shape (1,) of F16 needs 2; the header's shape, dtype or offsets are wrong"
    );
    // Offsets past the end of the data.
    let past = file(
        r#"{"weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
        &f32_bytes(&[1.0, 2.0]),
    );
    assert_eq!(malformed(&past), Malformed::DataLength);
    assert_eq!(bits(&mut fc), before);
}

/// A writer that fails after `limit` bytes, as a crash would stop a save midway.
struct FailAfter<W> {
    inner: W,
    limit: usize,
}

impl<W: Write> Write for FailAfter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.limit == 0 {
            return Err(io::Error::other("simulated crash"));
        }
        let n = buf.len().min(self.limit);
        self.limit -= n;
        self.inner.write(&buf[..n])
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-weights-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_save_that_fails_midway_leaves_the_old_file_intact() {
    let dir = scratch_dir("atomic");
    let path = dir.join("net.safetensors");
    let mut rng = rng();
    let mut old = Dense::<8, 4>::new(&mut rng);
    save(&old, &path).unwrap();
    let old_bytes = std::fs::read(&path).unwrap();

    let mut new = Dense::<8, 4>::new(&mut rng);
    let new_bytes = to_bytes(&new).unwrap();
    for limit in [0, 7, 100, new_bytes.len() - 1] {
        let err = atomic::write_with(&path, &new_bytes, |file| FailAfter { inner: file, limit })
            .unwrap_err();
        assert!(
            matches!(&err, SaveError::Io { path: p, .. } if p == &path),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), old_bytes, "limit {limit}");
        let mut loaded = Dense::<8, 4>::new(&mut rng);
        load(&mut loaded, &path).unwrap();
        assert_eq!(bits(&mut loaded), bits(&mut old));
    }
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["net.safetensors"]);

    // A save that completes replaces the file.
    save(&new, &path).unwrap();
    let mut loaded = Dense::<8, 4>::new(&mut rng);
    load(&mut loaded, &path).unwrap();
    assert_eq!(bits(&mut loaded), bits(&mut new));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn io_errors_name_the_file() {
    let dir = scratch_dir("io");
    let missing = dir.join("absent.safetensors");
    let mut fc = Dense::<2, 1>::new(&mut rng());
    let err = load(&mut fc, &missing).unwrap_err();
    assert_eq!(err.origin, Origin::File(missing.clone()));
    assert!(matches!(&err.problems[..], [Problem::Io { .. }]));
    assert!(err.to_string().contains("absent.safetensors"));
    let err = save(&fc, dir.join("no-such-dir").join("x.safetensors")).unwrap_err();
    assert!(matches!(err, SaveError::Io { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A model with two tensors of one name.
struct Twice(Dense<1, 1>);

impl HasParams for Twice {
    fn visit_params<V: crate::param::ParamVisitor>(
        &mut self,
        path: &ParamPath<'_>,
        visitor: &mut V,
    ) {
        let child = path.child("fc");
        self.0.visit_params(&child, visitor);
        self.0.visit_params(&child, visitor);
    }

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        path: &ParamPath<'_>,
        visitor: &mut V,
    ) {
        let child = path.child("fc");
        self.0.visit_params_ref(&child, visitor);
        self.0.visit_params_ref(&child, visitor);
    }
}

#[test]
fn repeated_names_are_refused() {
    let mut twice = Twice(Dense::new(&mut rng()));
    assert!(
        matches!(to_bytes(&twice), Err(SaveError::DuplicateName { name }) if name == "fc.weight")
    );
    let bytes = to_bytes(&crate::layers::Dense::<1, 1>::new(&mut rng())).unwrap();
    let err = from_bytes(&mut twice, &bytes).unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| matches!(p, Problem::DuplicateName { tensor } if tensor == "fc.weight"))
    );
}

/// One step of a tiny regression, so optimizers build state.
fn train_step<O: Optimizer>(fc: &mut Dense<3, 2>, optimizer: &mut O, seed: u64) {
    let mut rng = crate::init::seeded(seed);
    let x = crate::testing::random_tensor::<Tensor2<4, 3>>(&mut rng);
    let target = crate::testing::random_tensor::<Tensor2<4, 2>>(&mut rng);
    let mut y = Tensor2::<4, 2>::zeros();
    fc.forward_train(&x, &mut y, &mut ());
    let mut dy = Tensor2::<4, 2>::zeros();
    crate::loss::mse(&y, &target, &mut dy);
    fc.zero_grad();
    fc.backward(&x, &y, &mut (), &dy, None);
    optimizer.step(fc).unwrap();
}

fn resumes_exactly<O: Optimizer + OptimizerState>(make: impl Fn() -> O) {
    let mut rng = rng();
    let start = Dense::<3, 2>::new(&mut rng);
    let (mut straight, mut opt) = (start.clone(), make());
    for step in 0..6 {
        train_step(&mut straight, &mut opt, step);
    }
    let (mut first, mut opt) = (start.clone(), make());
    for step in 0..3 {
        train_step(&mut first, &mut opt, step);
    }
    let bytes = checkpoint_to_bytes(&first, &opt, &Checkpoint::new(3)).unwrap();
    drop((first, opt));
    let mut resumed = Dense::<3, 2>::new(&mut rng);
    let mut opt = make();
    opt.set_learning_rate(123.0); // replaced by the checkpoint's
    let info = checkpoint_from_bytes(&mut resumed, &mut opt, &bytes).unwrap();
    assert_eq!(info.epoch, 3);
    for step in 3..6 {
        train_step(&mut resumed, &mut opt, step);
    }
    assert_eq!(bits(&mut resumed), bits(&mut straight), "{}", opt.kind());
}

#[test]
fn checkpoints_resume_every_optimizer_exactly() {
    resumes_exactly(|| Adam::new(0.01));
    resumes_exactly(|| AdamW::with_weight_decay(0.01, 0.1));
    resumes_exactly(|| Sgd::with_momentum(0.05, 0.9));
    resumes_exactly(|| Sgd::new(0.05));
}

#[test]
fn checkpoints_name_state_as_pytorch_and_check_it() {
    let mut rng = rng();
    let mut fc = Dense::<3, 2>::new(&mut rng);
    let mut adam = Adam::new(0.01);
    // Before the first step there is no state, and that loads too.
    let empty = checkpoint_to_bytes(&fc, &adam, &Checkpoint::new(0)).unwrap();
    let mut fresh = Adam::new(0.5);
    checkpoint_from_bytes(&mut fc.clone(), &mut fresh, &empty).unwrap();
    assert_eq!((fresh.steps(), fresh.lr), (0, 0.01));

    train_step(&mut fc, &mut adam, 0);
    let bytes = checkpoint_to_bytes(&fc, &adam, &Checkpoint::new(1).with("note", "x")).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(
        file.tensor("optimizer.exp_avg.weight").unwrap().shape(),
        [2, 3]
    );
    assert_eq!(
        file.tensor("optimizer.exp_avg_sq.bias").unwrap().shape(),
        [2]
    );
    let meta = metadata(&bytes);
    assert_eq!(meta["optimizer"], "Adam");
    assert_eq!(meta["optimizer.step"], "1");
    assert_eq!(meta["optimizer.beta2"], "0.999");
    assert_eq!(meta["user.note"], "x");

    // Into another optimizer type, or a weights file, or a network of other shapes: refused,
    // and nothing changes.
    let mut target = Dense::<3, 2>::new(&mut rng);
    let before = bits(&mut target);
    let mut sgd = Sgd::with_momentum(0.1, 0.9);
    let err = checkpoint_from_bytes(&mut target, &mut sgd, &bytes).unwrap_err();
    assert!(err.problems.iter().any(|p| matches!(p, Problem::OptimizerKind { file, expected } if file == "Adam" && expected == "Sgd")));
    let weights_only = to_bytes(&fc).unwrap();
    let mut adam2 = Adam::new(0.3);
    let err = checkpoint_from_bytes(&mut target, &mut adam2, &weights_only).unwrap_err();
    assert!(
        matches!(&err.problems[..], [Problem::Metadata { key, .. }, Problem::Metadata { .. }] if key == "optimizer")
    );
    assert_eq!((adam2.steps(), adam2.lr), (0, 0.3));
    let mut wide = Dense::<4, 2>::new(&mut rng);
    let err = checkpoint_from_bytes(&mut wide, &mut adam2, &bytes).unwrap_err();
    let names: Vec<String> = err
        .problems
        .iter()
        .filter_map(|p| match p {
            Problem::ShapeMismatch { tensor, .. } => Some(tensor.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        [
            "weight",
            "optimizer.exp_avg.weight",
            "optimizer.exp_avg_sq.weight"
        ]
    );
    assert_eq!(bits(&mut target), before);

    // The loaded optimizer is bound to the network it was loaded with.
    let mut adam3 = Adam::new(0.3);
    checkpoint_from_bytes(&mut target, &mut adam3, &bytes).unwrap();
    assert!(adam3.step(&mut fc).is_err());
    assert!(adam3.step(&mut target).is_ok());
}

#[test]
fn checkpoint_files_are_written_atomically() {
    let dir = scratch_dir("checkpoint");
    let path = dir.join("run.ckpt");
    let mut fc = Dense::<3, 2>::new(&mut rng());
    let mut sgd = Sgd::with_momentum(0.1, 0.9);
    train_step(&mut fc, &mut sgd, 0);
    save_checkpoint(&path, &fc, &sgd, &Checkpoint::new(1)).unwrap();
    let mut loaded = Dense::<3, 2>::new(&mut crate::init::seeded(1));
    let mut sgd2 = Sgd::new(1.0);
    let info = load_checkpoint(&path, &mut loaded, &mut sgd2).unwrap();
    assert_eq!((info.epoch, sgd2.momentum), (1, 0.9));
    assert_eq!(bits(&mut loaded), bits(&mut fc));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_first_non_finite_value_is_found_past_the_first_block() {
    let mut fc = Dense::<3000, 1>::new(&mut rng());
    let mut bytes = to_bytes(&fc).unwrap();
    let data_start = bytes.len() - 3001 * 4;
    let file = SafeTensors::deserialize(&bytes).unwrap();
    // `bias` sorts before `weight`, so the weight's data starts after the bias's 4 bytes.
    assert_eq!(file.tensor("bias").unwrap().data().len(), 4);
    drop(file);
    for (index, value) in [
        (2500usize, f32::INFINITY),
        (1024, f32::NAN),
        (0, f32::NEG_INFINITY),
    ] {
        let at = data_start + 4 + 4 * index;
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
        let err = from_bytes(&mut fc, &bytes).unwrap_err();
        assert!(
            matches!(&err.problems[..], [Problem::NonFinite { tensor, index: i, .. }] if tensor == "weight" && *i == index),
            "{err}"
        );
    }
}

/// A hand-written layer that implements only the `&mut` visitor.
struct MutOnly(Dense<1, 1>);

impl HasParams for MutOnly {
    fn visit_params<V: crate::param::ParamVisitor>(
        &mut self,
        path: &ParamPath<'_>,
        visitor: &mut V,
    ) {
        self.0.visit_params(&path.child("fc"), visitor);
    }
}

#[test]
fn a_layer_without_a_read_only_visitor_is_reported_not_skipped() {
    let err = to_bytes(&MutOnly(Dense::new(&mut rng()))).unwrap_err();
    assert!(
        matches!(&err, SaveError::Unreadable { path, type_name } if path.is_empty() && type_name.ends_with("MutOnly")),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("MutOnly") && message.contains("implement `visit_params_ref`"),
        "{message}"
    );
}
