//! The recurrent layers against an independent oracle: PyTorch.
//!
//! `tests/oracle/recurrent_generate.py` draws float32 inputs, parameters and upstream gradients
//! from fixed seeds, runs `nn.RNN` (tanh and relu), `nn.GRU` and `nn.LSTM` with
//! `batch_first=True` in float64 over 30 steps (batch 3, 4 features, 5 hidden units), and
//! records each output, the input gradient and every parameter gradient. This test loads the
//! same parameters into our layers, by PyTorch's names, and checks that our float32 code lands
//! on PyTorch's: both forwards, then `backward`.
//!
//! PyTorch is not needed here: the fixture is committed. Regenerate it with
//! `python3 tests/oracle/recurrent_generate.py`.
//!
//! Tolerance: an element passes when `|ours − torch| ≤ 1e-6 + 1e-4 · |torch|`. The reference is
//! float64 arithmetic on the same float32 inputs, so the difference is our float32 rounding
//! (and summation order). PyTorch itself in float32 uses at most 9% of this budget on these
//! cases (the generator prints the figure).

use std::sync::OnceLock;

use nn_core::layers::{Gru, Layer, Lstm, Rnn, RnnRelu, RnnTanh};
use nn_core::param::{Param, ParamPath};
use nn_core::tensor::{Tensor, Tensor3, Zeroed};
use serde_json::Value;

const ABS_TOL: f64 = 1e-6;
const REL_TOL: f64 = 1e-4;
const B: usize = 3;
const T: usize = 30;
const F: usize = 4;
const H: usize = 5;

fn fixture() -> &'static Value {
    static FIXTURE: OnceLock<Value> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/oracle/recurrent_fixture.json"
        );
        let text = std::fs::read_to_string(path).expect("the committed fixture");
        serde_json::from_str(&text).expect("valid JSON")
    })
}

fn case(name: &str) -> &'static Value {
    fixture()["cases"]
        .as_array()
        .expect("a list of cases")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case `{name}` in the fixture"))
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("a list of numbers")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}

fn reference(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("a list of numbers")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

/// The largest fraction of the tolerance used; panics naming the first element outside it.
#[track_caller]
fn compare(what: &str, ours: &[f32], torch: &[f64]) -> f64 {
    assert_eq!(ours.len(), torch.len(), "{what}: lengths differ");
    let mut worst = 0.0f64;
    for (i, (&a, &b)) in ours.iter().zip(torch).enumerate() {
        let budget = ABS_TOL + REL_TOL * b.abs();
        let diff = (f64::from(a) - b).abs();
        assert!(
            diff <= budget,
            "{what}[{i}]: ours {a} vs torch {b} (diff {diff:.3e})"
        );
        worst = worst.max(diff / budget);
    }
    worst
}

/// Loads the case's parameters into `layer` by name, runs both forwards and `backward`, and
/// compares everything with PyTorch. Returns the largest fraction of the tolerance used.
fn check<L>(name: &str, layer: &mut L) -> f64
where
    L: Layer<Input<B> = Tensor3<B, T, F>, Output<B> = Tensor3<B, T, H>>,
{
    let case = case(name);
    assert_eq!(case["config"]["steps"], T);
    let params = case["params"].as_array().expect("parameters");
    let mut loaded = Vec::new();
    layer.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| {
            let entry = params
                .iter()
                .find(|e| e["name"] == path.to_string().as_str())
                .unwrap_or_else(|| panic!("{name}: no parameter `{path}` in the fixture"));
            p.value.copy_from_slice(&floats(&entry["value"]));
            loaded.push(path.to_string());
        },
    );
    assert_eq!(
        loaded,
        ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    );

    let x = Tensor3::<B, T, F>::try_from_slice(&floats(&case["input"])).unwrap();
    let dy = Tensor3::<B, T, H>::try_from_slice(&floats(&case["dy"])).unwrap();
    let want_y = reference(&case["output"]);

    let mut y = Tensor3::<B, T, H>::zeros();
    layer.forward::<B>(&x, &mut y, &mut L::Scratch::<B>::zeroed());
    let mut worst = compare(&format!("{name} forward"), y.as_slice(), &want_y);

    layer.zero_grad();
    let mut cache = L::Cache::<B>::zeroed();
    layer.forward_train::<B>(&x, &mut y, &mut cache);
    worst = worst.max(compare(
        &format!("{name} forward_train"),
        y.as_slice(),
        &want_y,
    ));
    let mut dx = Tensor3::<B, T, F>::zeros();
    layer.backward::<B>(&x, &y, &mut cache, &dy, Some(&mut dx));
    worst = worst.max(compare(
        &format!("{name} dx"),
        dx.as_slice(),
        &reference(&case["input_grad"]),
    ));

    let grads = case["grads"].as_array().expect("gradients");
    layer.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| {
            let entry = grads
                .iter()
                .find(|e| e["name"] == path.to_string().as_str())
                .unwrap_or_else(|| panic!("{name}: no gradient of `{path}` in the fixture"));
            let what = format!("{name} d{path}");
            worst = worst.max(compare(&what, p.grad, &reference(&entry["value"])));
        },
    );
    println!("{name}: {:.1}% of the tolerance", 100.0 * worst);
    worst
}

fn seeded() -> nn_core::init::Rng {
    nn_core::init::seeded(0)
}

#[test]
fn rnn_tanh_matches_pytorch() {
    assert_eq!(case("rnn_tanh")["nonlinearity"], "tanh");
    check("rnn_tanh", &mut Rnn::<T, F, H, RnnTanh>::new(&mut seeded()));
}

#[test]
fn rnn_relu_matches_pytorch() {
    assert_eq!(case("rnn_relu")["nonlinearity"], "relu");
    check("rnn_relu", &mut Rnn::<T, F, H, RnnRelu>::new(&mut seeded()));
}

#[test]
fn gru_matches_pytorch() {
    check("gru", &mut Gru::<T, F, H>::new(&mut seeded()));
}

#[test]
fn lstm_matches_pytorch() {
    check("lstm", &mut Lstm::<T, F, H>::new(&mut seeded()));
}
