//! Scalar float functions that work with and without `std`.
//!
//! `core` has no `exp`/`ln`/`sqrt` for `f32` on stable, so without `std` these come from `libm`.

#[cfg(feature = "std")]
mod imp {
    pub fn exp(x: f32) -> f32 {
        x.exp()
    }
    pub fn exp_m1(x: f32) -> f32 {
        x.exp_m1()
    }
    pub fn ln(x: f32) -> f32 {
        x.ln()
    }
    pub fn ln_1p(x: f32) -> f32 {
        x.ln_1p()
    }
    pub fn sqrt(x: f32) -> f32 {
        x.sqrt()
    }
    pub fn tanh(x: f32) -> f32 {
        x.tanh()
    }
    pub fn powi(x: f32, n: i32) -> f32 {
        x.powi(n)
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    pub fn exp(x: f32) -> f32 {
        libm::expf(x)
    }
    pub fn exp_m1(x: f32) -> f32 {
        libm::expm1f(x)
    }
    pub fn ln(x: f32) -> f32 {
        libm::logf(x)
    }
    pub fn ln_1p(x: f32) -> f32 {
        libm::log1pf(x)
    }
    pub fn sqrt(x: f32) -> f32 {
        libm::sqrtf(x)
    }
    pub fn tanh(x: f32) -> f32 {
        libm::tanhf(x)
    }
    pub fn powi(x: f32, n: i32) -> f32 {
        libm::powf(x, n as f32)
    }
}

pub use imp::*;

/// The logistic function, written so that neither branch overflows.
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + exp(-x))
    } else {
        let e = exp(x);
        e / (1.0 + e)
    }
}

/// `max(0, x)`: [`Relu`](crate::layers::Relu)'s value, shared with [`baked`](crate::baked) so
/// both give the same bits. Written so that NaN fails the comparison and passes through, as in
/// PyTorch: `x.max(0.0)` or `if x > 0.0 { x } else { 0.0 }` would turn a NaN into a silent 0.
pub fn relu(x: f32) -> f32 {
    if x < 0.0 { 0.0 } else { x }
}

/// `x`, or `alpha · x` below zero: [`LeakyRelu`](crate::layers::LeakyRelu)'s value.
pub fn leaky_relu(x: f32, alpha: f32) -> f32 {
    if x > 0.0 { x } else { alpha * x }
}

/// `x`, or `alpha · (eˣ − 1)` below zero: [`Elu`](crate::layers::Elu)'s value. `exp_m1` keeps
/// the digits of small negative inputs that `exp(x) − 1` cancels away.
pub fn elu(x: f32, alpha: f32) -> f32 {
    if x > 0.0 { x } else { alpha * exp_m1(x) }
}

// √(2/π), built as PyTorch builds it: √2 · (2/√π) / 2.
pub const GELU_BETA: f32 = core::f32::consts::FRAC_2_SQRT_PI * core::f32::consts::FRAC_1_SQRT_2;
pub const GELU_KAPPA: f32 = 0.044_715;

/// tanh(√(2/π) · (x + κx³)), the factor GELU's value and derivative both need.
pub fn gelu_inner_tanh(x: f32) -> f32 {
    tanh(GELU_BETA * (x + GELU_KAPPA * x * x * x))
}

/// GELU, tanh approximation: [`Gelu`](crate::layers::Gelu)'s value.
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + gelu_inner_tanh(x))
}

/// Writes the softmax of `logits` into `probs` (both of one row's length), as `e^{x − max}`
/// so large logits do not overflow.
pub fn softmax_row(logits: &[f32], probs: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (p, &z) in probs.iter_mut().zip(logits) {
        *p = exp(z - max);
        sum += *p;
    }
    let inv = 1.0 / sum;
    probs.iter_mut().for_each(|p| *p *= inv);
}

/// `e^x` without a branch or a library call, so that a loop over a slice vectorizes: Cody–Waite
/// reduction `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, a degree-7 Taylor polynomial for `e^r`
/// and `2^n` built from its bits. Relative error below `3e-7` (a few ulp); `x` is clamped to
/// `[-87, 88]`, so the result is a normal float (`exp(-87) ≈ 1.6e-38`) and never infinite.
/// NaN gives an unspecified value.
///
/// The recurrent layers call it a million times per sequence batch; `libm`'s `expf` is a call
/// per element.
#[inline(always)]
pub fn exp_fast(x: f32) -> f32 {
    const LOG2_E: f32 = core::f32::consts::LOG2_E;
    // ln 2 split so that `n · LN2_HI` is exact for |n| < 2^9.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // 1.5 · 2^23: adding it rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let k = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 / 5040.0;
    let p = p * r + 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // k is in [-126, 127], so the exponent field k + 127 is in [1, 254]: a normal float.
    let scale = f32::from_bits(k.wrapping_add(127) << 23);
    p * scale
}

/// The logistic function `1 / (1 + e^−x)` through [`exp_fast`]: branch-free, so a loop over a
/// slice vectorizes. Relative error below `5e-7`; saturates to exactly 1 for large `x` and to
/// about `1.6e-38` (not 0) for `x < −87`.
#[inline(always)]
pub fn sigmoid_fast(x: f32) -> f32 {
    1.0 / (1.0 + exp_fast(-x))
}

/// `tanh x` through [`exp_fast`]: branch-free, so a loop over a slice vectorizes. Below
/// `|x| = 0.1` a Taylor polynomial (error `< 1e-10` relative), above it
/// `(1 − e^{−2|x|}) / (1 + e^{−2|x|})` with the sign of `x`; absolute error below `2e-7`,
/// relative below `1e-6`.
#[inline(always)]
pub fn tanh_fast(x: f32) -> f32 {
    let a = x.abs();
    let e = exp_fast(-2.0 * a);
    let large = ((1.0 - e) / (1.0 + e)).copysign(x);
    let x2 = x * x;
    let small = x + x * x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0)));
    if a < 0.1 { small } else { large }
}

#[cfg(test)]
mod tests {
    // `exp(x) - 1` cancels to nothing near zero; `exp_m1` keeps the digits.
    #[test]
    fn exp_m1_is_accurate_near_zero() {
        let x = 1e-10_f32;
        assert_eq!(super::exp(x) - 1.0, 0.0);
        assert!((super::exp_m1(x) - x).abs() <= 1e-6 * x);
        assert!((super::exp_m1(-1.0) - (-0.632_120_56)).abs() < 1e-7);
    }

    fn relative_error(got: f32, want: f64) -> f64 {
        (f64::from(got) - want).abs() / want.abs().max(1e-30)
    }

    // Every 1/64 from -90 to 90, and the points around 0 and the clamps.
    fn samples() -> impl Iterator<Item = f32> {
        (-90 * 64..=90 * 64).map(|i| i as f32 / 64.0).chain([
            1e-8, -1e-8, 1e-4, 0.099_99, 0.1, 0.100_01, -0.1, 87.0, -87.0, 88.0,
        ])
    }

    #[test]
    fn exp_fast_is_accurate() {
        for x in samples().filter(|x| (-87.0..=88.0).contains(x)) {
            let want = f64::from(x).exp();
            let err = relative_error(super::exp_fast(x), want);
            assert!(err < 3e-7, "exp_fast({x}): relative error {err:e}");
        }
        assert!(super::exp_fast(-1000.0) > 0.0);
        assert!(super::exp_fast(1000.0).is_finite());
    }

    #[test]
    fn sigmoid_and_tanh_fast_are_accurate() {
        for x in samples() {
            let xd = f64::from(x);
            let sigmoid = 1.0 / (1.0 + (-xd).exp());
            if x > -87.0 {
                let err = relative_error(super::sigmoid_fast(x), sigmoid);
                assert!(err < 5e-7, "sigmoid_fast({x}): relative error {err:e}");
            }
            let tanh = xd.tanh();
            let got = super::tanh_fast(x);
            let abs = (f64::from(got) - tanh).abs();
            assert!(abs < 2e-7, "tanh_fast({x}): absolute error {abs:e}");
            assert!(
                relative_error(got, tanh) < 1e-6,
                "tanh_fast({x}): {got} vs {tanh}"
            );
            assert!(got.abs() <= 1.0);
        }
        assert_eq!(super::tanh_fast(0.0), 0.0);
        assert_eq!(super::sigmoid_fast(100.0), 1.0);
    }
}
