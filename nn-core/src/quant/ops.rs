//! The int8 kernels of the steps without weights: ReLU, average pooling, the global average,
//! the merges (add, concat), and softmax, sigmoid and tanh, with TensorFlow Lite's arithmetic
//! where it has the operator.

use super::fixed_point::{exp_on_negative_values, logistic, multiply_by_pot, reciprocal, tanh};
use super::{
    I8_MAX, I8_MIN, Multiplier, QuantError, QuantParams, frexp, round_half_away,
    rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
};
use crate::linalg::pool::PoolShape;

/// `relu` on int8 values: those below the zero point (real 0) become it.
pub fn relu_int8(zero_point: i32, values: &mut [i8]) {
    let floor = zero_point.clamp(I8_MIN, I8_MAX) as i8;
    for v in values {
        *v = (*v).max(floor);
    }
}

/// `a / b` rounded half away from zero, for `b > 0` (TensorFlow Lite's average pool rounding).
fn divide_rounding(a: i32, b: i32) -> i32 {
    if a >= 0 {
        (a + b / 2) / b
    } else {
        (a - b / 2) / b
    }
}

/// int8 average pooling (TensorFlow Lite's `AVERAGE_POOL_2D`, whose scale and zero point pass
/// through): each window's sum of stored values over its part inside the input, divided,
/// rounded half away from zero, by that part's size; with `count_include_pad`, by the whole
/// window, each padding value standing for real 0 (the zero point).
///
/// # Panics
/// When the shape is not valid or the lengths are not whole planes.
pub fn avg_pool_int8(shape: &PoolShape, zero_point: i32, x: &[i8], y: &mut [i8]) {
    assert!(shape.is_valid(), "inconsistent pooling sizes: {shape:?}");
    let (ah, aw) = (&shape.height, &shape.width);
    let (plane_in, plane_out) = (ah.size * aw.size, ah.out * aw.out);
    assert_eq!(x.len() % plane_in, 0, "the input is not whole planes");
    assert_eq!(
        y.len(),
        x.len() / plane_in * plane_out,
        "the output is not the input's planes"
    );
    let window = (ah.kernel * aw.kernel) as i32;
    for (x_p, y_p) in x.chunks_exact(plane_in).zip(y.chunks_exact_mut(plane_out)) {
        for (r, y_row) in y_p.chunks_exact_mut(aw.out).enumerate() {
            let (top, rows) = shape.rows(r);
            for (c, out) in y_row.iter_mut().enumerate() {
                let (left, columns) = shape.columns(c);
                let mut sum = 0i32;
                for ih in top..top + rows {
                    for &v in &x_p[ih * aw.size + left..][..columns] {
                        sum += i32::from(v);
                    }
                }
                let inside = (rows * columns) as i32;
                // TensorFlow Lite rounds the average of the stored values (not of their
                // offsets from the zero point: the two differ at ties). Counted padding is
                // real 0, stored as the zero point.
                let average = if shape.count_include_pad {
                    divide_rounding(sum + (window - inside) * zero_point, window)
                } else {
                    divide_rounding(sum, inside)
                };
                *out = average.clamp(I8_MIN, I8_MAX) as i8;
            }
        }
    }
}

/// int8 global average pooling: the mean of each plane of `plane` values, rounded half away
/// from zero; the scale and zero point pass through.
///
/// # Panics
/// When `x` is not `y.len()` planes.
pub fn global_avg_pool_int8(plane: usize, x: &[i8], y: &mut [i8]) {
    assert!(plane > 0, "a plane needs a value");
    assert_eq!(
        x.len(),
        y.len() * plane,
        "the input is not one plane per output"
    );
    for (x_p, out) in x.chunks_exact(plane).zip(y) {
        let sum: i32 = x_p.iter().map(|&v| i32::from(v)).sum();
        *out = divide_rounding(sum, plane as i32).clamp(I8_MIN, I8_MAX) as i8;
    }
}

/// The left shift TensorFlow Lite's int8 `ADD` gives its inputs before rescaling them.
pub const ADD_LEFT_SHIFT: u32 = 20;

/// An int8 `add` of parts of different scales (TensorFlow Lite's `ADD`, generalised to more
/// than two parts): each part `(q − zero_point) · 2^20` is rescaled to half the largest input
/// scale, the parts summed, and the sum requantized to the output.
#[derive(Debug, Clone)]
pub struct AddInt8<const N: usize> {
    /// Each part's multiplier (its scale over twice the largest) and zero point.
    pub inputs: [(Multiplier, i32); N],
    /// From the rescaled sum to the output.
    pub output: Multiplier,
    /// The output's zero point.
    pub output_zero_point: i32,
}

impl<const N: usize> AddInt8<N> {
    /// The multipliers of TensorFlow Lite's `ADD` for parts of `inputs` summed into `output`.
    pub fn new(inputs: [QuantParams; N], output: QuantParams) -> Self {
        let largest = inputs.iter().fold(0.0f32, |m, p| m.max(p.scale));
        let twice_max = 2.0 * f64::from(largest);
        Self {
            inputs: inputs.map(|p| {
                (
                    Multiplier::from_real(f64::from(p.scale) / twice_max),
                    p.zero_point,
                )
            }),
            output: Multiplier::from_real(
                twice_max / (f64::from(1u32 << ADD_LEFT_SHIFT) * f64::from(output.scale)),
            ),
            output_zero_point: output.zero_point,
        }
    }

    /// `out` = the parts' sum, clamped to `activation`.
    ///
    /// # Panics
    /// When a part's length is not `out`'s.
    pub fn forward(&self, parts: [&[i8]; N], activation: (i8, i8), out: &mut [i8]) {
        for part in parts {
            assert_eq!(
                part.len(),
                out.len(),
                "an added part is not the output's length"
            );
        }
        let (low, high) = (i32::from(activation.0), i32::from(activation.1));
        for (i, y) in out.iter_mut().enumerate() {
            let mut sum = 0i32;
            for (part, &(m, zero_point)) in parts.iter().zip(&self.inputs) {
                let shifted = (i32::from(part[i]) - zero_point) * (1 << ADD_LEFT_SHIFT);
                sum = sum.saturating_add(m.apply(shifted));
            }
            let q = self
                .output_zero_point
                .saturating_add(self.output.apply(sum));
            *y = q.clamp(low, high) as i8;
        }
    }
}

/// Requantization of one tensor to another's scale and zero point:
/// `out = output_zero_point + round((q − input_zero_point) · input_scale / output_scale)`,
/// the factor a fixed-point [`Multiplier`]; the identity when the two agree.
#[derive(Debug, Clone, Copy)]
pub struct Requantize {
    /// `input_scale / output_scale`.
    pub multiplier: Multiplier,
    /// The input's zero point.
    pub input_zero_point: i32,
    /// The output's zero point.
    pub output_zero_point: i32,
    /// Whether the two agree, so that the values are copied.
    pub identity: bool,
}

impl Requantize {
    /// From `input`'s values to `output`'s.
    pub fn new(input: QuantParams, output: QuantParams) -> Self {
        Self {
            multiplier: Multiplier::from_real(f64::from(input.scale) / f64::from(output.scale)),
            input_zero_point: input.zero_point,
            output_zero_point: output.zero_point,
            identity: input == output,
        }
    }

    /// `x` in the output's terms, into `y`.
    ///
    /// # Panics
    /// When the lengths differ.
    pub fn forward(&self, x: &[i8], y: &mut [i8]) {
        if self.identity {
            y.copy_from_slice(x);
            return;
        }
        assert_eq!(x.len(), y.len(), "requantized lengths differ");
        for (&q, out) in x.iter().zip(y) {
            let v = self
                .output_zero_point
                .saturating_add(self.multiplier.apply(i32::from(q) - self.input_zero_point));
            *out = v.clamp(I8_MIN, I8_MAX) as i8;
        }
    }
}

/// int8 `concat`: `outer` blocks of each part in turn (the parts in order), each requantized
/// to the output by its [`Requantize`], then clamped below at `floor` (a fused `relu`'s zero
/// point, or −128).
///
/// # Panics
/// When the lengths do not add up, or the requantizations are not one per part.
pub fn concat_int8(
    outer: usize,
    parts: &[&[i8]],
    requantize: &[Requantize],
    floor: i8,
    out: &mut [i8],
) {
    assert_eq!(parts.len(), requantize.len(), "one requantization per part");
    let total: usize = parts.iter().map(|p| p.len()).sum();
    assert_eq!(total, out.len(), "the parts do not fill the output");
    let mut before = 0;
    for (part, r) in parts.iter().zip(requantize) {
        concat_part_int8(outer, part, r, before, out);
        before += part.len() / outer;
    }
    relu_int8(i32::from(floor), out);
}

/// One part of [`concat_int8`], without its floor: each of its `outer` blocks requantized into
/// the same block of `out`, after the `before` values the earlier parts put there.
///
/// # Panics
/// When the part is not `outer` whole blocks, or does not fit in `out`'s blocks.
pub fn concat_part_int8(
    outer: usize,
    part: &[i8],
    requantize: &Requantize,
    before: usize,
    out: &mut [i8],
) {
    assert!(
        outer > 0 && part.len().is_multiple_of(outer),
        "the part is not whole blocks"
    );
    let (len, block) = (part.len() / outer, out.len() / outer);
    for b in 0..outer {
        requantize.forward(
            &part[b * len..][..len],
            &mut out[b * block + before..][..len],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(scale: f32, zero_point: i32) -> QuantParams {
        QuantParams { scale, zero_point }
    }

    #[test]
    fn relu_lifts_values_below_the_zero_point() {
        let mut v = [-128i8, -5, -3, 0, 100];
        relu_int8(-3, &mut v);
        assert_eq!(v, [-3, -3, -3, 0, 100]);
    }

    #[test]
    fn average_rounds_half_away_from_zero() {
        let shape = PoolShape::square(2, 2, 2, 2, 0);
        let mut y = [0i8];
        avg_pool_int8(&shape, 0, &[1, 2, 3, 4], &mut y);
        assert_eq!(y, [3]); // 2.5
        avg_pool_int8(&shape, 0, &[-1, -2, -3, -4], &mut y);
        assert_eq!(y, [-3]);
        global_avg_pool_int8(4, &[-1, -2, -3, -4], &mut y);
        assert_eq!(y, [-3]);
    }

    #[test]
    fn padded_average_counts_padding_as_the_zero_point() {
        // A 2 × 2 window at stride 2 over a 1 × 1 input padded by 1 below and right.
        let mut shape = PoolShape::square(1, 1, 2, 2, 0);
        shape.height.pad_after = 1;
        shape.width.pad_after = 1;
        shape.height.out = 1;
        shape.width.out = 1;
        let mut y = [0i8];
        shape.count_include_pad = false;
        avg_pool_int8(&shape, 10, &[50], &mut y);
        assert_eq!(y, [50]);
        shape.count_include_pad = true;
        // Reals: (50 − 10) and three zeros: mean 10, so 10 + 10.
        avg_pool_int8(&shape, 10, &[50], &mut y);
        assert_eq!(y, [20]);
    }

    #[test]
    fn add_matches_the_real_sum_within_a_step() {
        let (a, b, out) = (params(0.05, -10), params(0.02, 3), params(0.06, 1));
        let add = AddInt8::new([a, b], out);
        for qa in (-128..=127).step_by(7) {
            for qb in (-128..=127).step_by(11) {
                let mut y = [0i8];
                add.forward([&[qa as i8], &[qb as i8]], (i8::MIN, i8::MAX), &mut y);
                let real = a.dequantize(qa as i8) + b.dequantize(qb as i8);
                let expected = out.quantize(real);
                assert!(
                    (i32::from(y[0]) - i32::from(expected)).abs() <= 1,
                    "{qa} + {qb}: {} vs {expected}",
                    y[0]
                );
            }
        }
    }

    #[test]
    fn requantize_is_exact_between_equal_params_and_close_otherwise() {
        let p = params(0.1, 4);
        let same = Requantize::new(p, p);
        let x = [-128i8, 0, 127];
        let mut y = [0i8; 3];
        same.forward(&x, &mut y);
        assert_eq!(y, x);
        let to = params(0.2, -2);
        Requantize::new(p, to).forward(&x, &mut y);
        for (&q, &r) in x.iter().zip(&y) {
            assert_eq!(r, to.quantize(p.dequantize(q)));
        }
    }
}

/// The output quantization TensorFlow Lite fixes for int8 `SOFTMAX` and `LOGISTIC`: `[0, 1)`
/// in steps of 1/256.
pub const PROBABILITY_OUTPUT: QuantParams = QuantParams {
    scale: 1.0 / 256.0,
    zero_point: -128,
};

/// The output quantization TensorFlow Lite fixes for int8 `TANH`: `[−1, 1)` in steps of 1/128.
pub const TANH_OUTPUT: QuantParams = QuantParams {
    scale: 1.0 / 128.0,
    zero_point: 0,
};

/// TensorFlow Lite's `QuantizeMultiplier`, without [`Multiplier::from_real`]'s clamp of large
/// factors (softmax and the sigmoids form theirs from `scale · 2^27` and up).
fn tflite_multiplier(real: f64) -> (i32, i32) {
    if real == 0.0 {
        return (0, 0);
    }
    let (mantissa, mut shift) = frexp(real);
    let mut q = round_half_away(mantissa * f64::from(1u32 << 31)) as i64;
    if q == 1 << 31 {
        q /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    (q as i32, shift)
}

/// TensorFlow Lite's `CalculateInputRadius`: the largest input offset whose rescaled value
/// still fits `integer_bits` integer bits.
fn input_radius(integer_bits: i32, left_shift: i32) -> i32 {
    let max = f64::from((1 << integer_bits) - 1) * f64::from(1u32 << (31 - integer_bits))
        / libm::exp2(f64::from(left_shift));
    libm::floor(max) as i32
}

/// int8 softmax over rows of `depth` values (TensorFlow Lite's `SOFTMAX` with β = 1, TFLM's
/// reference kernel): each value's difference from its row's maximum is rescaled into a
/// fixed-point number with 5 integer bits, exponentiated, summed, and each exponential
/// divided by the sum through a fixed-point reciprocal. The output is
/// [`PROBABILITY_OUTPUT`]; a difference below `diff_min` (an exponential under 2^−31 of the
/// maximum's) gives probability 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftmaxInt8 {
    /// The input scale as a Q31 multiplier with 5 integer bits.
    pub multiplier: i32,
    /// Its left shift.
    pub left_shift: i32,
    /// The smallest difference from the maximum that counts.
    pub diff_min: i32,
}

impl SoftmaxInt8 {
    /// The constants for an input of scale `input_scale` (β = 1).
    ///
    /// # Errors
    /// [`QuantError::BadScale`] for a scale that is not positive and finite, or below
    /// `2^−27`, where TensorFlow Lite's kernel has no form either.
    pub fn new(input_scale: f32) -> Result<Self, QuantError> {
        let scale = f64::from(input_scale);
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(QuantError::BadScale(input_scale));
        }
        let real = (scale * f64::from(1u32 << 26)).min(f64::from(i32::MAX));
        let (multiplier, left_shift) = tflite_multiplier(real);
        if left_shift < 0 {
            return Err(QuantError::BadScale(input_scale));
        }
        Ok(Self {
            multiplier,
            left_shift,
            diff_min: -input_radius(5, left_shift),
        })
    }

    /// The exponential of `diff`, with 0 integer bits, or `None` below `diff_min`.
    #[inline]
    fn exp(&self, diff: i32) -> Option<i32> {
        (diff >= self.diff_min).then(|| {
            let rescaled = saturating_rounding_doubling_high_mul(
                diff.wrapping_shl(self.left_shift as u32),
                self.multiplier,
            );
            exp_on_negative_values(rescaled, 5)
        })
    }

    /// Softmax of each row of `depth` values of `x` into `y`.
    ///
    /// # Panics
    /// When `depth` is 0 or the lengths are not whole rows of it.
    pub fn forward(&self, depth: usize, x: &[i8], y: &mut [i8]) {
        assert!(
            depth > 0 && x.len().is_multiple_of(depth) && y.len() == x.len(),
            "softmax takes whole rows of {depth} values"
        );
        for (row, out) in x.chunks_exact(depth).zip(y.chunks_exact_mut(depth)) {
            let max = i32::from(row.iter().copied().max().unwrap_or(i8::MIN));
            // The sum has 12 integer bits: up to 4096 terms of at most one.
            let mut sum = 0i32;
            for &v in row {
                if let Some(e) = self.exp(i32::from(v) - max) {
                    sum = sum.wrapping_add(multiply_by_pot(e, -12));
                }
            }
            let (scale, bits_over_unit) = reciprocal(sum, 12);
            // TFLM requires 0..=31; past 31 (rows of more than about 512 values) every
            // probability is below half a step anyway.
            let exponent = (bits_over_unit + 31 - 8).clamp(0, 31);
            for (&v, out) in row.iter().zip(out.iter_mut()) {
                *out = match self.exp(i32::from(v) - max) {
                    Some(e) => {
                        let p = rounding_divide_by_pot(
                            saturating_rounding_doubling_high_mul(scale, e),
                            exponent,
                        );
                        (p + PROBABILITY_OUTPUT.zero_point).clamp(I8_MIN, I8_MAX) as i8
                    }
                    None => i8::MIN,
                };
            }
        }
    }
}

/// The input side of int8 `LOGISTIC` and `TANH`: the offset from the zero point rescaled into
/// a fixed-point number with 4 integer bits, saturating beyond `range_radius`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigmoidInt8 {
    /// The input's zero point.
    pub input_zero_point: i32,
    /// Offsets at or beyond it saturate the output.
    pub range_radius: i32,
    /// The input scale times `2^27`.
    pub multiplier: Multiplier,
    /// `tanh` rather than the logistic sigmoid.
    pub tanh: bool,
}

impl SigmoidInt8 {
    /// The constants for an input quantized with `input` (TFLM's `Prepare` of `LOGISTIC`, or
    /// of `TANH` when `tanh`).
    ///
    /// # Errors
    /// [`QuantError::BadScale`] for a scale that is not positive and finite.
    pub fn new(input: QuantParams, tanh: bool) -> Result<Self, QuantError> {
        let scale = f64::from(input.scale);
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(QuantError::BadScale(input.scale));
        }
        let (mantissa, shift) = frexp(scale * f64::from(1u32 << 27));
        // TFLM rounds the mantissa without renormalising; the cast wraps as theirs does.
        let multiplier = round_half_away(mantissa * f64::from(1u32 << 31)) as i64 as i32;
        Ok(Self {
            input_zero_point: input.zero_point,
            range_radius: input_radius(4, shift),
            multiplier: Multiplier { multiplier, shift },
            tanh,
        })
    }

    /// The output's scale and zero point, fixed by TensorFlow Lite.
    pub const fn output(&self) -> QuantParams {
        if self.tanh {
            TANH_OUTPUT
        } else {
            PROBABILITY_OUTPUT
        }
    }

    /// The function of every value of `x` into `y`.
    ///
    /// # Panics
    /// When the lengths differ.
    pub fn forward(&self, x: &[i8], y: &mut [i8]) {
        assert_eq!(x.len(), y.len(), "one output per input");
        for (&v, out) in x.iter().zip(y.iter_mut()) {
            let offset = i32::from(v) - self.input_zero_point;
            *out = if offset <= -self.range_radius {
                i8::MIN
            } else if offset >= self.range_radius {
                i8::MAX
            } else {
                let q4 = self.multiplier.apply(offset);
                let value = if self.tanh {
                    rounding_divide_by_pot(tanh(q4, 4), 24)
                } else {
                    rounding_divide_by_pot(logistic(q4, 4), 23) + PROBABILITY_OUTPUT.zero_point
                };
                value.clamp(I8_MIN, I8_MAX) as i8
            };
        }
    }
}
