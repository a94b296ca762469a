//! Gradient checking: compares a layer's `backward` with central differences; and
//! [`state_bits`], for tests that compare two trainings bit for bit.
//!
//! The check uses the scalar loss `L = Σ y ⊙ r` for a fixed random `r`, so `dL/dy = r`. It
//! compares every input-gradient element and every parameter-gradient element against
//! `(L(θ + h) − L(θ − h)) / 2h` with `h = 1e-2`, summing `L` in `f64`.
//!
//! Tolerance, for `f32` storage: an element passes when
//! `|analytic − numeric| ≤ 2e-3 + 1e-2 · max(|analytic|, |numeric|)`. The `f32` rounding of the
//! forward pass contributes about `1e-7 · |L| / h` to the numeric side; the remaining slack
//! covers the `O(h²)` truncation term of smooth activations.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::init::{Rng, seeded, uniform};
use crate::layers::Layer;
use crate::param::{HasParams, Param, ParamPath, ParamRef};
use crate::tensor::{Tensor, Zeroed};

/// The finite-difference step.
pub const STEP: f32 = 1e-2;
/// Absolute tolerance of one gradient element.
pub const ABS_TOL: f64 = 2e-3;
/// Relative tolerance of one gradient element.
pub const REL_TOL: f64 = 1e-2;

/// `n` int8 values from a fixed xorshift stream of `seed`, every value of the range likely:
/// inputs and weights for the int8 kernels' tests.
pub fn int8_stream(n: usize, seed: u64) -> Vec<i8> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as u8 as i8
        })
        .collect()
}

/// A tensor of uniform values in `[-1, 1)`, kept at least `0.05` away from zero so that
/// ReLU-like kinks are never straddled by a finite-difference step.
pub fn random_tensor<T: Tensor>(rng: &mut Rng) -> T {
    let mut t = T::zeros();
    for v in t.as_mut_slice() {
        let x = uniform(rng, -1.0, 1.0);
        *v = if x.abs() < 0.05 {
            x.signum() * 0.05 + x
        } else {
            x
        };
    }
    t
}

fn weighted_sum(y: &[f32], r: &[f32]) -> f64 {
    y.iter()
        .zip(r)
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum()
}

// Through `forward_train`, the forward whose cache `backward` reads.
fn loss<L: Layer, const B: usize>(
    layer: &mut L,
    x: &L::Input<B>,
    r: &L::Output<B>,
    y: &mut L::Output<B>,
    cache: &mut L::Cache<B>,
) -> f64 {
    layer.forward_train(x, y, cache);
    weighted_sum(y.as_slice(), r.as_slice())
}

fn close(analytic: f64, numeric: f64) -> bool {
    (analytic - numeric).abs() <= ABS_TOL + REL_TOL * analytic.abs().max(numeric.abs())
}

// Runs `f` on the `index`-th parameter tensor of `layer`.
fn with_param<L: HasParams>(
    layer: &mut L,
    index: usize,
    mut f: impl FnMut(&ParamPath<'_>, Param<'_>),
) {
    let mut seen = 0;
    layer.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| {
            if seen == index {
                f(path, p);
            }
            seen += 1;
        },
    );
}

/// Checks the input gradient and every parameter gradient of `layer` at input `x`, running
/// `forward_train` then `backward` (as training does).
///
/// `forward_train` must give the same output on every call, so a random layer such as dropout
/// is checked with its randomness switched off.
///
/// Returns the number of elements checked.
///
/// # Errors
/// A description of the first elements that disagree, with both values.
pub fn check_gradients<L: Layer, const B: usize>(
    layer: &mut L,
    x: &L::Input<B>,
    seed: u64,
) -> Result<usize, String> {
    check(layer, x, seed, true)
}

/// [`check_gradients`] for the parameters only, for a layer whose input is discrete (token ids,
/// which a small step would turn into no token at all).
pub fn check_param_gradients<L: Layer, const B: usize>(
    layer: &mut L,
    x: &L::Input<B>,
    seed: u64,
) -> Result<usize, String> {
    check(layer, x, seed, false)
}

fn check<L: Layer, const B: usize>(
    layer: &mut L,
    x: &L::Input<B>,
    seed: u64,
    with_input: bool,
) -> Result<usize, String> {
    let mut rng = seeded(seed);
    let r: L::Output<B> = random_tensor(&mut rng);
    let mut y = L::Output::<B>::zeroed();
    let mut cache = L::Cache::<B>::zeroed();
    let mut dx = L::Input::<B>::zeroed();

    layer.zero_grad();
    layer.forward_train(x, &mut y, &mut cache);
    layer.backward(x, &y, &mut cache, &r, Some(&mut dx));

    let mut failures: Vec<String> = Vec::new();
    let mut checked = 0usize;

    // Input gradient.
    let mut probe = L::Input::<B>::zeroed();
    probe.copy_from(x);
    for i in (0..L::Input::<B>::LEN).filter(|_| with_input) {
        let original = probe.as_slice()[i];
        probe.as_mut_slice()[i] = original + STEP;
        let plus = loss(layer, &probe, &r, &mut y, &mut cache);
        probe.as_mut_slice()[i] = original - STEP;
        let minus = loss(layer, &probe, &r, &mut y, &mut cache);
        probe.as_mut_slice()[i] = original;
        let numeric = (plus - minus) / (2.0 * f64::from(STEP));
        let analytic = f64::from(dx.as_slice()[i]);
        if !close(analytic, numeric) {
            failures.push(format!(
                "input[{i}]: analytic {analytic:.6} vs numeric {numeric:.6}"
            ));
        }
        checked += 1;
    }

    // Parameter gradients, one tensor at a time.
    let mut tensors = 0;
    layer.visit_params(
        &ParamPath::root(),
        &mut |_: &ParamPath<'_>, _: Param<'_>| tensors += 1,
    );
    for t in 0..tensors {
        let mut analytic: Vec<f32> = Vec::new();
        let mut name = String::new();
        with_param(layer, t, |path, p| {
            analytic.extend_from_slice(p.grad);
            name = format!("{path}");
        });
        for (i, &grad) in analytic.iter().enumerate() {
            let mut original = 0.0;
            with_param(layer, t, |_, p| {
                original = p.value[i];
                p.value[i] = original + STEP;
            });
            let plus = loss(layer, x, &r, &mut y, &mut cache);
            with_param(layer, t, |_, p| p.value[i] = original - STEP);
            let minus = loss(layer, x, &r, &mut y, &mut cache);
            with_param(layer, t, |_, p| p.value[i] = original);
            let numeric = (plus - minus) / (2.0 * f64::from(STEP));
            if !close(f64::from(grad), numeric) {
                failures.push(format!(
                    "{name}[{i}]: analytic {grad:.6} vs numeric {numeric:.6}"
                ));
            }
            checked += 1;
        }
    }

    if failures.is_empty() {
        Ok(checked)
    } else {
        let shown: Vec<&str> = failures.iter().take(8).map(String::as_str).collect();
        Err(format!(
            "{} of {checked} gradient elements disagree:\n  {}",
            failures.len(),
            shown.join("\n  ")
        ))
    }
}

/// The central-difference gradient of a scalar `loss` at `x`, one element at a time, with the
/// step [`STEP`]. `x` is restored before returning.
///
/// For ops that are not [`Layer`]s (concat, split, elementwise products), pair it with
/// [`compare_gradients`].
pub fn numeric_gradient(x: &mut [f32], mut loss: impl FnMut(&[f32]) -> f64) -> Vec<f64> {
    let mut gradient = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        let original = x[i];
        x[i] = original + STEP;
        let plus = loss(x);
        x[i] = original - STEP;
        let minus = loss(x);
        x[i] = original;
        gradient.push((plus - minus) / (2.0 * f64::from(STEP)));
    }
    gradient
}

/// Compares an analytic gradient with a numeric one under the tolerances of this module.
///
/// # Errors
/// A description of the elements that disagree, naming `what`.
pub fn compare_gradients(what: &str, analytic: &[f32], numeric: &[f64]) -> Result<(), String> {
    if analytic.len() != numeric.len() {
        return Err(format!(
            "{what}: {} analytic elements but {} numeric ones",
            analytic.len(),
            numeric.len()
        ));
    }
    let failures: Vec<String> = analytic
        .iter()
        .zip(numeric)
        .enumerate()
        .filter(|&(_, (&a, &n))| !close(f64::from(a), n))
        .map(|(i, (a, n))| format!("{what}[{i}]: analytic {a:.6} vs numeric {n:.6}"))
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n  "))
    }
}

/// `Σ y ⊙ r` in `f64`: the scalar loss whose gradient with respect to `y` is `r`.
pub fn weighted_loss(y: &[f32], r: &[f32]) -> f64 {
    weighted_sum(y, r)
}

/// The test of an elementwise activation `L`: on one sample, both forwards turn `inputs` into
/// `expected` (within `1e-6`, relative above 1); on a random batch of `B` samples, `backward`
/// matches central differences. `seed` draws the batch; `seed + 1` the check's weights `r`.
///
/// # Panics
/// When a value or a gradient disagrees, or the literals are not one sample long.
#[cfg(test)]
#[track_caller]
pub(crate) fn check_activation<L: Layer, const B: usize>(
    layer: &mut L,
    inputs: &[f32],
    expected: &[f32],
    seed: u64,
) {
    let x = L::Input::<1>::try_from_slice(inputs).expect("`inputs` is one sample");
    assert_eq!(
        expected.len(),
        L::Output::<1>::LEN,
        "`expected` is one sample"
    );
    let mut y = L::Output::<1>::zeroed();
    layer.forward(&x, &mut y, &mut L::Scratch::<1>::zeroed());
    let mut y_train = L::Output::<1>::zeroed();
    layer.forward_train(&x, &mut y_train, &mut L::Cache::<1>::zeroed());
    for (mode, got) in [("forward", &y), ("forward_train", &y_train)] {
        for ((&got, &want), &x) in got.as_slice().iter().zip(expected).zip(inputs) {
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{mode}({x}) = {got}, expected {want}"
            );
        }
    }

    let mut rng = seeded(seed);
    let batch = random_tensor::<L::Input<B>>(&mut rng);
    if let Err(e) = check_gradients::<L, B>(layer, &batch, seed + 1) {
        panic!("{e}");
    }
}

/// Every parameter and buffer of `net` with its name, as bits, read through `&self`: two
/// trainings that should agree exactly compare equal.
pub fn state_bits<M: HasParams>(net: &M) -> Vec<(String, Vec<u32>)> {
    let mut out = Vec::new();
    net.visit_params_ref(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: ParamRef<'_>| {
            out.push((
                format!("{path}"),
                p.value.iter().map(|v| v.to_bits()).collect(),
            ));
        },
    );
    net.visit_buffers_ref(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, b: &[f32]| {
            out.push((format!("{path}"), b.iter().map(|v| v.to_bits()).collect()));
        },
    );
    out
}
