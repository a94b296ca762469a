//! The attention kinds against PyTorch: embedding, the sinusoidal and learned position codes,
//! layer and RMS norm, causal and full multi-head attention, a key-padding mask, cross-attention
//! after a fork (with a key-padding mask too), patches and the mean over steps, in seven networks
//! declared with `network!`; three of them long enough that the tiled kernels take several
//! blocks of queries and tiles of keys.
//!
//! `tests/oracle/attention_generate.py` runs the same networks from PyTorch's modules and
//! functions (`nn.Embedding`, `F.layer_norm`, `F.rms_norm`, `nn.MultiheadAttention`'s
//! `multi_head_attention_forward`, ...) in float64 on float32 draws, and records the output, the
//! input gradient and every parameter gradient for an upstream gradient `dy`. Regenerate with
//! `python3 tests/oracle/attention_generate.py`; PyTorch is not needed here.
//!
//! Tolerance: `|ours − torch| ≤ 1e-6 + 1e-4 · |torch|` per element, the 1e-4 relative.

use nn::prelude::*;
use serde_json::Value;

network! {
    pub struct Lm<
        input(7) tokens,
        embed: embedding(13 -> 8),
        positional(sinusoidal),
        block: fork {
            attn: [layer_norm, multi_head_attention(8, heads = 2, causal)],
            skip: skip,
        } => add,
        mlp: fork {
            ff: [rms_norm, dense(8 -> 12), gelu, dense(12 -> 8)],
            skip: skip,
        } => add,
        head: dense(8 -> 13),
    >

    pub struct Vit<
        input(1, 6, 6),
        patches(2),
        embed: dense(4 -> 8),
        pos: positional(9, 8),
        block: fork { attn: [layer_norm, multi_head_attention(8, heads = 4)], skip: skip } => add,
        norm: layer_norm(eps = 1e-6),
        mean_pool,
        head: dense(8 -> 3),
    >

    /// Token ids with padding (id 0), masked as keys: PyTorch's `key_padding_mask`.
    pub struct Padded<
        input(7) tokens,
        embed: embedding(13 -> 8),
        positional(sinusoidal),
        block: fork {
            attn: [layer_norm, multi_head_attention(8, heads = 2, key_padding = 0)],
            skip: skip,
        } => add,
        head: dense(8 -> 13),
    >

    /// Cross-attention: 6 query steps attend to the same values read as 3 steps of 8, keys
    /// and values from branches of their own.
    pub struct Cross<
        input(6, 4),
        cross: fork {
            q: [dense(4 -> 8)],
            k: [reshape(3, 8), layer_norm],
            v: [reshape(3, 8), dense(8 -> 8)],
        } => multi_head_attention(8, heads = 2),
        head: dense(8 -> 3),
    >

    /// `Padded` over 70 steps and causal: two blocks of queries, two tiles of keys.
    pub struct LongPadded<
        input(70) tokens,
        embed: embedding(13 -> 8),
        positional(sinusoidal),
        block: fork {
            attn: [layer_norm, multi_head_attention(8, heads = 2, causal, key_padding = 0)],
            skip: skip,
        } => add,
        head: dense(8 -> 13),
    >

    /// `Cross` with 132 query steps over 66 keys: three blocks of queries, two tiles of keys.
    pub struct LongCross<
        input(132, 4),
        cross: fork {
            q: [dense(4 -> 8)],
            k: [reshape(66, 8), layer_norm],
            v: [reshape(66, 8), dense(8 -> 8)],
        } => multi_head_attention(8, heads = 2),
        head: dense(8 -> 3),
    >

    /// Cross-attention with the keys masked by their ids, PyTorch's `key_padding_mask`, over
    /// 70 steps: two blocks of queries, two tiles of keys.
    pub struct PaddedCross<
        input(70) tokens,
        embed: embedding(13 -> 8),
        positional(sinusoidal),
        cross: fork {
            q: [dense(8 -> 8)],
            k: [layer_norm],
            v: [dense(8 -> 8)],
        } => multi_head_attention(8, heads = 2, key_padding = 0),
        head: dense(8 -> 13),
    >
}

fn case(name: &str) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracle/attention_fixture.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let fixture: Value = serde_json::from_str(&text).expect("the fixture is JSON");
    fixture[name].clone()
}

fn floats(value: &Value) -> Vec<f32> {
    let values = value.as_array().expect("an array of numbers");
    values
        .iter()
        .map(|v| v.as_f64().expect("a number") as f32)
        .collect()
}

fn assert_close(what: &str, ours: &[f32], torch: &Value) {
    let torch = torch.as_array().expect("an array of numbers");
    assert_eq!(ours.len(), torch.len(), "{what}: length");
    for (i, (&a, b)) in ours.iter().zip(torch).enumerate() {
        let b = b.as_f64().expect("a number");
        let error = (f64::from(a) - b).abs();
        assert!(
            error <= 1e-6 + 1e-4 * b.abs(),
            "{what}[{i}]: ours {a} but PyTorch {b} (off by {error:.3e})"
        );
    }
}

/// Loads the fixture's parameters by name; every one of the network's must be there.
fn load(net: &mut impl HasParams, params: &Value) {
    let mut loaded = 0;
    net.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| {
            let name = format!("{path}");
            let entry = &params[&name];
            assert!(!entry.is_null(), "the fixture has no `{name}`");
            let shape: Vec<usize> = floats(&entry["shape"])
                .iter()
                .map(|&v| v as usize)
                .collect();
            assert_eq!(shape, p.shape, "`{name}`'s shape");
            p.value.copy_from_slice(&floats(&entry["value"]));
            loaded += 1;
        },
    );
    assert_eq!(
        loaded,
        params.as_object().expect("an object").len(),
        "unused fixture tensors"
    );
}

fn assert_grads(net: &mut impl HasParams, params: &Value) {
    net.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| {
            let name = format!("{path}");
            assert_close(&format!("d {name}"), p.grad, &params[&name]["grad"]);
        },
    );
}

#[test]
fn causal_language_model_matches_pytorch() {
    let case = case("lm");
    let mut net = Lm::seeded(0);
    load(&mut net, &case["params"]);
    let ids = Tensor2::<3, 7>::from_slice(&floats(&case["input"])).unwrap();
    let dy = Tensor3::<3, 7, 13>::from_slice(&floats(&case["dy"])).unwrap();

    let mut tape = LmTape::<3>::new();
    let y = net.forward_train(&ids, &mut tape).clone();
    assert_close("output", y.as_slice(), &case["output"]);
    net.zero_grad();
    net.backward_params(&mut tape, &dy);
    assert_grads(&mut net, &case["params"]);

    // Inference runs the tiled kernel: the same numbers.
    let mut eval = LmTape::<3, Eval>::new();
    assert_close(
        "infer",
        net.infer(&ids, &mut eval).as_slice(),
        &case["output"],
    );
}

#[test]
fn vision_transformer_matches_pytorch() {
    let case = case("vit");
    let mut net = Vit::seeded(0);
    load(&mut net, &case["params"]);
    let x = Tensor4::<2, 1, 6, 6>::from_slice(&floats(&case["input"])).unwrap();
    let dy = Tensor2::<2, 3>::from_slice(&floats(&case["dy"])).unwrap();

    let mut tape = VitTape::<2>::new();
    let y = net.forward_train(&x, &mut tape).clone();
    assert_close("output", y.as_slice(), &case["output"]);
    net.zero_grad();
    let dx = net.backward(&mut tape, &dy).clone();
    assert_close("dx", dx.as_slice(), &case["dx"]);
    assert_grads(&mut net, &case["params"]);

    let mut eval = VitTape::<2, Eval>::new();
    assert_close(
        "infer",
        net.infer(&x, &mut eval).as_slice(),
        &case["output"],
    );
}

#[test]
fn cross_attention_matches_pytorch() {
    let case = case("cross");
    let mut net = Cross::seeded(0);
    load(&mut net, &case["params"]);
    let x = Tensor3::<2, 6, 4>::from_slice(&floats(&case["input"])).unwrap();
    let dy = Tensor3::<2, 6, 3>::from_slice(&floats(&case["dy"])).unwrap();

    let mut tape = CrossTape::<2>::new();
    let y = net.forward_train(&x, &mut tape).clone();
    assert_close("output", y.as_slice(), &case["output"]);
    net.zero_grad();
    let dx = net.backward(&mut tape, &dy).clone();
    assert_close("dx", dx.as_slice(), &case["dx"]);
    assert_grads(&mut net, &case["params"]);

    let mut eval = CrossTape::<2, Eval>::new();
    assert_close(
        "infer",
        net.infer(&x, &mut eval).as_slice(),
        &case["output"],
    );
}

#[test]
fn key_padding_matches_pytorch() {
    let case = case("padded");
    let mut net = Padded::seeded(0);
    load(&mut net, &case["params"]);
    let ids = Tensor2::<3, 7>::from_slice(&floats(&case["input"])).unwrap();
    let dy = Tensor3::<3, 7, 13>::from_slice(&floats(&case["dy"])).unwrap();

    let mut tape = PaddedTape::<3>::new();
    let y = net.forward_train(&ids, &mut tape).clone();
    assert_close("output", y.as_slice(), &case["output"]);
    net.zero_grad();
    net.backward_params(&mut tape, &dy);
    assert_grads(&mut net, &case["params"]);

    let mut eval = PaddedTape::<3, Eval>::new();
    assert_close(
        "infer",
        net.infer(&ids, &mut eval).as_slice(),
        &case["output"],
    );
}

// 70 steps: the tiled forward and the backward that recomputes the probabilities each cross a
// block of queries and a tile of keys, with padded keys in both tiles.
#[test]
fn long_causal_padded_attention_matches_pytorch() {
    let case = case("long_padded");
    let mut net = LongPadded::seeded(0);
    load(&mut net, &case["params"]);
    let ids = Tensor2::<2, 70>::from_slice(&floats(&case["input"])).unwrap();
    let dy = Tensor3::<2, 70, 13>::from_slice(&floats(&case["dy"])).unwrap();

    let mut tape = LongPaddedTape::<2>::new();
    let y = net.forward_train(&ids, &mut tape).clone();
    assert_close("output", y.as_slice(), &case["output"]);
    net.zero_grad();
    net.backward_params(&mut tape, &dy);
    assert_grads(&mut net, &case["params"]);

    let mut eval = LongPaddedTape::<2, Eval>::new();
    assert_close(
        "infer",
        net.infer(&ids, &mut eval).as_slice(),
        &case["output"],
    );
}

#[test]
fn long_cross_attention_matches_pytorch() {
    let case = case("long_cross");
    let mut net = LongCross::seeded(0);
    load(&mut net, &case["params"]);
    let x = Tensor3::<2, 132, 4>::from_slice(&floats(&case["input"])).unwrap();
    let dy = Tensor3::<2, 132, 3>::from_slice(&floats(&case["dy"])).unwrap();

    let mut tape = LongCrossTape::<2>::new();
    let y = net.forward_train(&x, &mut tape).clone();
    assert_close("output", y.as_slice(), &case["output"]);
    net.zero_grad();
    let dx = net.backward(&mut tape, &dy).clone();
    assert_close("dx", dx.as_slice(), &case["dx"]);
    assert_grads(&mut net, &case["params"]);

    let mut eval = LongCrossTape::<2, Eval>::new();
    assert_close(
        "infer",
        net.infer(&x, &mut eval).as_slice(),
        &case["output"],
    );
}

#[test]
fn padded_cross_attention_matches_pytorch() {
    let case = case("padded_cross");
    let mut net = PaddedCross::seeded(0);
    load(&mut net, &case["params"]);
    let ids = Tensor2::<2, 70>::from_slice(&floats(&case["input"])).unwrap();
    let dy = Tensor3::<2, 70, 13>::from_slice(&floats(&case["dy"])).unwrap();

    let mut tape = PaddedCrossTape::<2>::new();
    let y = net.forward_train(&ids, &mut tape).clone();
    assert_close("output", y.as_slice(), &case["output"]);
    net.zero_grad();
    net.backward_params(&mut tape, &dy);
    assert_grads(&mut net, &case["params"]);

    let mut eval = PaddedCrossTape::<2, Eval>::new();
    assert_close(
        "infer",
        net.infer(&ids, &mut eval).as_slice(),
        &case["output"],
    );
}
