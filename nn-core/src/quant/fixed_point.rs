//! The fixed-point arithmetic TensorFlow Lite's int8 `SOFTMAX`, `LOGISTIC` and `TANH` run on
//! (gemmlowp's `FixedPoint<int32_t, I>`): a value with `I` integer bits is an `i32` raw value
//! `r` standing for `r / 2^(31 − I)`. The functions take and return raw values and name the
//! integer bits in their docs; the arithmetic (products by [`high_mul`], sums that wrap,
//! rounding shifts) is the reference's step for step, so that the bits are TFLM's.
//!
//! The exponential is a Taylor polynomial on `[−1/4, 0)` followed by a product with
//! `exp(−2^k)` for each bit of the rest; reciprocals are three Newton–Raphson steps from
//! `48/17 − 32/17 · d`.

use super::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul as high_mul};

/// `x · 2^exponent`, saturating for a positive exponent and rounding (ties away from zero)
/// for a negative one: gemmlowp's `SaturatingRoundingMultiplyByPOT`.
pub(crate) fn multiply_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent > 0 {
        let threshold = (1i32 << (31 - exponent)) - 1;
        if x > threshold {
            i32::MAX
        } else if x < -threshold {
            i32::MIN
        } else {
            x << exponent
        }
    } else {
        rounding_divide_by_pot(x, -exponent)
    }
}

/// `(a + b) / 2`, rounded to nearest with ties away from zero (`VRHADD`).
fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = i64::from(a) + i64::from(b);
    let sign = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// One, with no integer bits: the largest raw value.
const ONE_Q0: i32 = i32::MAX;

/// `exp(a)` for `a` in `[−1/4, 0)`, both with 0 integer bits: the Taylor expansion around
/// `−1/8` to the fourth power.
fn exp_on_quarter(a: i32) -> i32 {
    // exp(−1/8) and 1/3 in Q0.31.
    const EXP_MINUS_ONE_EIGHTH: i32 = 1_895_147_668;
    const ONE_THIRD: i32 = 715_827_883;
    let x = a.wrapping_add(1 << 28);
    let x2 = high_mul(x, x);
    let x3 = high_mul(x2, x);
    let x4 = high_mul(x2, x2);
    let x4_over_4 = multiply_by_pot(x4, -2);
    let series = multiply_by_pot(
        high_mul(x4_over_4.wrapping_add(x3), ONE_THIRD).wrapping_add(x2),
        -1,
    );
    EXP_MINUS_ONE_EIGHTH.wrapping_add(high_mul(EXP_MINUS_ONE_EIGHTH, x.wrapping_add(series)))
}

/// `exp(a)` for `a ≤ 0` with `integer_bits` integer bits (at most 5), with 0 integer bits:
/// gemmlowp's `exp_on_negative_values`.
pub(crate) fn exp_on_negative_values(a: i32, integer_bits: i32) -> i32 {
    debug_assert!((0..=5).contains(&integer_bits));
    let fractional_bits = 31 - integer_bits;
    let one_quarter = 1i32 << (fractional_bits - 2);
    let mask = one_quarter - 1;
    let a_mod_quarter_minus_quarter = (a & mask).wrapping_sub(one_quarter);
    let mut result = exp_on_quarter(multiply_by_pot(a_mod_quarter_minus_quarter, integer_bits));
    let remainder = a_mod_quarter_minus_quarter.wrapping_sub(a);
    // exp(−2^k) in Q0.31, for k = −2..=4.
    const FACTORS: [(i32, i32); 7] = [
        (-2, 1_672_461_947),
        (-1, 1_302_514_674),
        (0, 790_015_084),
        (1, 290_630_308),
        (2, 39_332_535),
        (3, 720_401),
        (4, 242),
    ];
    for (exponent, factor) in FACTORS {
        if integer_bits > exponent && remainder & (1 << (fractional_bits + exponent)) != 0 {
            result = high_mul(result, factor);
        }
    }
    if a == 0 { ONE_Q0 } else { result }
}

/// Newton–Raphson for `1 / (1 + a)`, `a` in `(0, 1)` with 0 integer bits: the estimate of
/// `1 / (2 · half_denominator)` with 2 integer bits.
fn reciprocal_steps(a: i32) -> i32 {
    // 48/17 and −32/17 with 2 integer bits; one with 2 integer bits.
    const FORTY_EIGHT_SEVENTEENTHS: i32 = 1_515_870_810;
    const MINUS_THIRTY_TWO_SEVENTEENTHS: i32 = -1_010_580_540;
    const ONE_Q2: i32 = 1 << 29;
    let half_denominator = rounding_half_sum(a, ONE_Q0);
    let mut x = FORTY_EIGHT_SEVENTEENTHS
        .wrapping_add(high_mul(half_denominator, MINUS_THIRTY_TWO_SEVENTEENTHS));
    for _ in 0..3 {
        let half_denominator_times_x = high_mul(half_denominator, x);
        let one_minus = ONE_Q2.wrapping_sub(half_denominator_times_x);
        x = x.wrapping_add(multiply_by_pot(high_mul(x, one_minus), 2));
    }
    x
}

/// `1 / (1 + a)` for `a` in `(0, 1)`, 0 integer bits in and out.
pub(crate) fn one_over_one_plus_x(a: i32) -> i32 {
    // x / 2 with 1 integer bit, then rescaled to 0 integer bits.
    multiply_by_pot(reciprocal_steps(a), 1)
}

/// `(1 − a) / (1 + a)` for `a` in `(0, 1)`, 0 integer bits in and out.
fn one_minus_x_over_one_plus_x(a: i32) -> i32 {
    multiply_by_pot(reciprocal_steps(a).wrapping_sub(1 << 29), 2)
}

/// `1 / (1 + exp(−a))` for `a` with `integer_bits` integer bits (at most 5), 0 integer bits
/// out: gemmlowp's `logistic`.
pub(crate) fn logistic(a: i32, integer_bits: i32) -> i32 {
    if a == 0 {
        return 1 << 30;
    }
    let magnitude = if a > 0 { a } else { a.wrapping_neg() };
    let positive = one_over_one_plus_x(exp_on_negative_values(
        magnitude.wrapping_neg(),
        integer_bits,
    ));
    if a > 0 {
        positive
    } else {
        ONE_Q0.wrapping_sub(positive)
    }
}

/// `tanh(a)` for `a` with `integer_bits` integer bits (at most 4), 0 integer bits out:
/// gemmlowp's `tanh`, `(1 − exp(−2|a|)) / (1 + exp(−2|a|))`.
pub(crate) fn tanh(a: i32, integer_bits: i32) -> i32 {
    if a == 0 {
        return 0;
    }
    let negative = if a < 0 { a } else { a.wrapping_neg() };
    // Doubling is exact: the same raw value with one more integer bit.
    let t = one_minus_x_over_one_plus_x(exp_on_negative_values(negative, integer_bits + 1));
    if a < 0 { t.wrapping_neg() } else { t }
}

/// `1 / x` for a positive `x` with `integer_bits` integer bits, as TensorFlow Lite's
/// `GetReciprocal`: the reciprocal of `x` scaled into `[1, 2)`, with 0 integer bits, and the
/// number of bits that scaling moved it by.
pub(crate) fn reciprocal(x: i32, integer_bits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros() as i32;
    let bits_over_unit = integer_bits - headroom_plus_one;
    let shifted_minus_one =
        ((x as u32).wrapping_shl(headroom_plus_one as u32)).wrapping_sub(1 << 31) as i32;
    (one_over_one_plus_x(shifted_minus_one), bits_over_unit)
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    fn real(raw: i32, integer_bits: i32) -> f64 {
        f64::from(raw) / 2f64.powi(31 - integer_bits)
    }

    fn raw(x: f64, integer_bits: i32) -> i32 {
        (x * (1u64 << (31 - integer_bits)) as f64).round() as i32
    }

    #[test]
    fn the_exponential_is_close_to_exp() {
        for bits in [4, 5] {
            for i in 0..=400 {
                let x = -f64::from(i) * 0.04;
                let got = real(exp_on_negative_values(raw(x, bits), bits), 0);
                assert!((got - x.exp()).abs() < 2e-7, "exp({x}) = {got}");
            }
        }
        assert_eq!(exp_on_negative_values(0, 5), i32::MAX);
    }

    #[test]
    fn logistic_and_tanh_are_close_to_theirs() {
        for i in -320..=320 {
            let x = f64::from(i) * 0.05;
            let sigmoid = real(logistic(raw(x, 4), 4), 0);
            assert!(
                (sigmoid - 1.0 / (1.0 + (-x).exp())).abs() < 1e-6,
                "σ({x}) = {sigmoid}"
            );
            let t = real(tanh(raw(x, 4), 4), 0);
            assert!((t - x.tanh()).abs() < 1e-6, "tanh({x}) = {t}");
        }
        assert_eq!(logistic(0, 4), 1 << 30);
        assert_eq!(tanh(0, 4), 0);
    }

    #[test]
    fn reciprocals_are_close_to_one_over() {
        for x in [1.0, 1.25, 2.0, 3.7, 100.0, 2047.5] {
            let (scaled, bits) = reciprocal(raw(x, 12), 12);
            let got = real(scaled, 0) / f64::from(1u32 << bits as u32);
            assert!((got * x - 1.0).abs() < 1e-6, "1/{x} = {got}");
        }
    }

    #[test]
    fn power_of_two_products_saturate_and_round() {
        assert_eq!(multiply_by_pot(1 << 29, 2), i32::MAX);
        assert_eq!(multiply_by_pot(-(1 << 29) - 1, 2), i32::MIN);
        assert_eq!(multiply_by_pot(3, 1), 6);
        assert_eq!(multiply_by_pot(6, -2), 2);
        assert_eq!(multiply_by_pot(-6, -2), -2);
        assert_eq!(rounding_half_sum(3, 4), 4);
        assert_eq!(rounding_half_sum(-3, -4), -4);
    }
}
