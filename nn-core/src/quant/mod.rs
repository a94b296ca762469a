//! int8 networks: the int8 scheme of TensorFlow Lite, as its quantization specification
//! states it, the fixed-point arithmetic its reference kernels (TensorFlow Lite Micro's, after
//! gemmlowp) run on, post-training quantization, and the quantized file `network!` bakes.
//!
//! - A real value `r` is stored as `q` with `r = scale · (q − zero_point)` ([`QuantParams`]).
//!   Activations are asymmetric int8, one scale and zero point per tensor
//!   ([`QuantParams::from_range`]); weights are symmetric, in `[−127, 127]` with zero point 0,
//!   one scale per output channel ([`QuantParams::symmetric`]); a bias is int32 at
//!   `input_scale · weight_scale`, zero point 0 ([`quantize_bias`]).
//! - Products accumulate in int32. The accumulator goes back to int8 through a real factor
//!   (`input_scale · weight_scale / output_scale`), held as a fixed-point [`Multiplier`]: a
//!   31-bit mantissa and a power of two. Applying it rounds twice, as the reference kernels do:
//!   a saturating rounding doubling high multiply ([`saturating_rounding_doubling_high_mul`]),
//!   then a rounding right shift ([`rounding_divide_by_pot`]).
//!
//! - Softmax, sigmoid and tanh ([`SoftmaxInt8`], [`SigmoidInt8`]) run TensorFlow Lite's
//!   fixed-point forms (gemmlowp's exponential, reciprocal, logistic and tanh on 32-bit
//!   fixed-point numbers), and their outputs are quantized as TensorFlow Lite fixes them:
//!   [`PROBABILITY_OUTPUT`] (scale 1/256, zero point −128) for softmax and sigmoid,
//!   [`TANH_OUTPUT`] (1/128, 0) for tanh.
//!
//! Every kernel is integer arithmetic that gives TensorFlow Lite Micro's reference results;
//! only the choice of scales (from a float range) is float. [`DenseInt8`], [`Conv2dInt8`],
//! [`max_pool_int8`], the average pools, `add`, softmax, sigmoid and tanh are checked bit for
//! bit against TFLM on converter-quantized networks by the `nn` crate's `tests/int8_tflm.rs`
//! (softmax, sigmoid and tanh on every int8 input too), in their reference form (`forward`)
//! and in the form networks run (`forward_with`: four output positions at a time, `SMLAD` on
//! the Cortex-M4F).
//!
//! **The path** (with `alloc`): `network!` implements [`Quantize`] (a [`Plan`]) for networks
//! whose layers all have an int8 form; [`calibrate`] observes every activation's range over a
//! dataset ([`Calibration`]); [`QuantModel::quantize`] folds batch norms, fuses ReLUs and
//! quantizes ([`post_training`] does both); [`QuantModel::save`] writes the quantized
//! safetensors file (feature `safetensors`; its names are in the README's int8 section), and
//! `#[weights = "model.q.safetensors"]` bakes it into an int8 network.
//!
//! # The quantized file
//!
//! | name | dtype | shape | what |
//! |---|---|---|---|
//! | `input.scale`, `input.zero_point` | F32, I32 | `(1)` | the input's quantization |
//! | `<layer>.weight` | I8 | the float layer's (`(out, in)`, `(c_out, c_in / groups, kh, kw)`) | symmetric per output channel, batch norm folded in |
//! | `<layer>.weight_scale` | F32 | `(out)` | one scale per output channel |
//! | `<layer>.bias` | I32 | `(out)` | at `input_scale · weight_scale` |
//! | `<layer>.output_scale`, `<layer>.output_zero_point` | F32, I32 | `(1)` | the output's quantization |
//!
//! `<layer>` is a `dense` or convolution's path (`fc1`, `encoder.conv1`); a fork's `add` or
//! `concat` has only the output pair, under the fork's path. The other steps (pools, `relu`,
//! `flatten`, a folded `batch_norm`) keep their input's quantization and have no tensor;
//! `softmax`, `sigmoid` and `tanh` have TensorFlow Lite's fixed output quantization and no
//! tensor either.

mod fixed_point;
pub mod ops;
mod paired_dense;
pub mod plan;
mod widened;

#[cfg(feature = "alloc")]
mod calibrate;
#[cfg(feature = "safetensors")]
mod file;
#[cfg(feature = "alloc")]
mod model;
#[cfg(feature = "alloc")]
mod qat;
#[cfg(feature = "tflite")]
mod tflite;

#[cfg(feature = "alloc")]
pub use calibrate::{
    Calibration, FloatTensors, Ranges, calibrate, calibrate_plan, float_outputs, float_tensors,
    post_training,
};
#[cfg(feature = "alloc")]
pub use model::{Activations, QuantModel, QuantStep, QuantizeError, requantization};
pub use ops::{
    AddInt8, PROBABILITY_OUTPUT, Requantize, SigmoidInt8, SoftmaxInt8, TANH_OUTPUT, avg_pool_int8,
    concat_int8, concat_part_int8, global_avg_pool_int8, relu_int8,
};
pub use paired_dense::PairedDenseInt8;
pub use plan::{Op, Plan, Quantize, Step};
#[cfg(feature = "alloc")]
pub use qat::{FakeQuant, Qat, QuantizeAware, fake_quant_points};
pub use widened::VnniScratch;

/// Why a quantization could not be made.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum QuantError {
    /// A range with a NaN or an infinity, or whose minimum is above its maximum.
    #[error("cannot quantize the range [{min}, {max}]: it needs finite bounds, min <= max")]
    BadRange {
        /// The lower bound given.
        min: f32,
        /// The upper bound given.
        max: f32,
    },
    /// A scale that is zero, negative, or not finite.
    #[error("a quantization scale must be positive and finite, not {0}")]
    BadScale(f32),
}

/// The smallest int8 value an activation takes.
pub const I8_MIN: i32 = i8::MIN as i32;
/// The largest int8 value.
pub const I8_MAX: i32 = i8::MAX as i32;

/// How a tensor's reals are stored as int8: `real = scale · (q − zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantParams {
    /// The real step between two neighbouring int8 values.
    pub scale: f32,
    /// The int8 value that stands for real 0.
    pub zero_point: i32,
}

impl QuantParams {
    /// Asymmetric int8 for an activation observed in `[min, max]`: the range is widened to
    /// hold 0 (so that zero padding and ReLU's zero are exact), spread over all 256 values,
    /// and the zero point rounded to an integer (TensorFlow Lite's "nudged" zero point).
    ///
    /// ```
    /// use nn_core::quant::QuantParams;
    /// let relu = QuantParams::from_range(0.0, 6.0)?;
    /// assert_eq!(relu.zero_point, -128);
    /// assert_eq!(relu.quantize(6.0), 127);
    /// assert_eq!(relu.quantize(0.0), -128);
    /// # Ok::<(), nn_core::quant::QuantError>(())
    /// ```
    ///
    /// # Errors
    /// [`QuantError::BadRange`] for a NaN or infinite bound, or `min > max`.
    pub fn from_range(min: f32, max: f32) -> Result<Self, QuantError> {
        if !(min.is_finite() && max.is_finite()) || min > max {
            return Err(QuantError::BadRange { min, max });
        }
        let (min, max) = (f64::from(min.min(0.0)), f64::from(max.max(0.0)));
        if max == min {
            // All zeros: any scale represents them; 1 keeps every later division finite.
            return Ok(Self {
                scale: 1.0,
                zero_point: 0,
            });
        }
        let (q_min, q_max) = (f64::from(I8_MIN), f64::from(I8_MAX));
        let scale = (max - min) / (q_max - q_min);
        // The zero point from whichever end loses less to rounding, as TensorFlow Lite does.
        let from_min = q_min - min / scale;
        let from_max = q_max - max / scale;
        let error_min = q_min.abs() + (min / scale).abs();
        let error_max = q_max.abs() + (max / scale).abs();
        let zero_point = if error_min < error_max {
            from_min
        } else {
            from_max
        };
        let zero_point = if zero_point < q_min {
            I8_MIN
        } else if zero_point > q_max {
            I8_MAX
        } else {
            round_half_away(zero_point) as i32
        };
        Ok(Self {
            scale: scale as f32,
            zero_point,
        })
    }

    /// Symmetric int8 for weights whose largest magnitude is `max_abs`: zero point 0, the
    /// values in `[−127, 127]` (−128 is left out, so that negating a weight never overflows).
    /// A zero `max_abs` (a channel of zeros) gets scale 1.
    ///
    /// # Errors
    /// [`QuantError::BadRange`] for a NaN, infinite or negative `max_abs`.
    pub fn symmetric(max_abs: f32) -> Result<Self, QuantError> {
        if !max_abs.is_finite() || max_abs < 0.0 {
            return Err(QuantError::BadRange {
                min: -max_abs,
                max: max_abs,
            });
        }
        let scale = if max_abs == 0.0 { 1.0 } else { max_abs / 127.0 };
        Ok(Self {
            scale,
            zero_point: 0,
        })
    }

    /// `round(x / scale) + zero_point`, the division in single precision and the rounding half
    /// away from zero, clamped to int8: TensorFlow Lite's `QUANTIZE` (one `VDIV.F32` on a
    /// Cortex-M4F). A NaN becomes the zero point.
    pub fn quantize(&self, x: f32) -> i8 {
        let q = x / self.scale;
        if q.is_nan() {
            return self.zero_point.clamp(I8_MIN, I8_MAX) as i8;
        }
        // `as` saturates, so the infinities and huge values clamp too.
        let q = (libm::roundf(q) as i32).saturating_add(self.zero_point);
        q.clamp(I8_MIN, I8_MAX) as i8
    }

    /// `scale · (q − zero_point)`.
    pub fn dequantize(&self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero_point) as f32
    }
}

/// An int32 bias for an accumulator at `input_scale · weight_scale` (zero point 0), rounded
/// half away from zero and saturated.
///
/// # Errors
/// [`QuantError::BadScale`] when the product of the scales is not positive and finite.
pub fn quantize_bias(bias: f32, input_scale: f32, weight_scale: f32) -> Result<i32, QuantError> {
    let scale = f64::from(input_scale) * f64::from(weight_scale);
    if !(scale.is_finite() && scale > 0.0) {
        return Err(QuantError::BadScale(scale as f32));
    }
    let q = round_half_away(f64::from(bias) / scale);
    Ok(if q.is_nan() {
        0
    } else {
        q.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
    })
}

/// A positive real factor as fixed point: `real ≈ multiplier · 2^(shift − 31)`, with
/// `multiplier` in `[2^30, 2^31)` (a Q31 mantissa in `[0.5, 1)`), as TensorFlow Lite's
/// `QuantizeMultiplier` makes it. Zero is `multiplier == 0`.
///
/// Laid out as two `i32`s in this order (`repr(C)`), so that a vector kernel loads a run of
/// them as pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Multiplier {
    /// The Q31 mantissa.
    pub multiplier: i32,
    /// The power of two: left when positive, right when negative.
    pub shift: i32,
}

impl Multiplier {
    /// The fixed-point form of `real` (which must be finite and non-negative: a scale ratio).
    /// Factors below `2^−32` become zero, as in TensorFlow Lite.
    ///
    /// ```
    /// use nn_core::quant::Multiplier;
    /// let half = Multiplier::from_real(0.5);
    /// assert_eq!((half.multiplier, half.shift), (1 << 30, 0));
    /// assert_eq!(half.apply(7), 4); // 3.5: ties round up in the high multiply
    /// assert_eq!(half.apply(-7), -3);
    /// ```
    ///
    /// # Panics
    /// When `real` is negative, NaN or infinite.
    pub fn from_real(real: f64) -> Self {
        assert!(
            real.is_finite() && real >= 0.0,
            "a requantization factor is a finite ratio of scales, not {real}"
        );
        if real == 0.0 {
            return Self {
                multiplier: 0,
                shift: 0,
            };
        }
        let (mantissa, mut shift) = frexp(real);
        let mut q = round_half_away(mantissa * (1u64 << 31) as f64) as i64;
        if q == 1 << 31 {
            q /= 2;
            shift += 1;
        }
        if shift < -31 {
            return Self {
                multiplier: 0,
                shift: 0,
            };
        }
        // Factors of 2^30 and more would overflow every accumulator; clamp as TFLite does.
        if shift > 30 {
            return Self {
                multiplier: i32::MAX,
                shift: 30,
            };
        }
        Self {
            multiplier: q as i32,
            shift,
        }
    }

    /// Whether [`Multiplier::apply`] keeps the order of its inputs (`a ≤ b` gives
    /// `apply(a) ≤ apply(b)`): a nonnegative mantissa and no left shift, which wraps. Every
    /// multiplier of a real factor below 1 is one.
    pub fn is_monotone(&self) -> bool {
        self.multiplier >= 0 && self.shift <= 0
    }

    /// `x · real`, rounded as the reference kernels round: the left part of the shift first
    /// (wrapping, as their int32 multiply does), a saturating rounding doubling high multiply
    /// by the mantissa, then a rounding right shift.
    pub fn apply(&self, x: i32) -> i32 {
        let left = self.shift.clamp(0, 31) as u32;
        // `from_real` keeps the shift in −31..=30; a hand-made one is clamped rather than
        // checked, as this runs once per output value.
        let right = (-self.shift).clamp(0, 31) as u32;
        let high = saturating_rounding_doubling_high_mul(x.wrapping_shl(left), self.multiplier);
        rounding_shift_right(high, right)
    }
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: the high 32 bits of `2 · a · b`, rounded
/// to nearest with ties up (so −1.5 gives −1), saturated where `a == b == i32::MIN`.
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    // gemmlowp nudges by 2^30 (1 − 2^30 below zero) and divides truncating toward zero; for
    // every product that is floor((ab + 2^30) / 2^31), which a small CPU computes without a
    // branch or a division (a test compares the two forms).
    ((i64::from(a) * i64::from(b) + (1 << 30)) >> 31) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent`, rounded to nearest with ties away
/// from zero. `exponent` is in `0..=31`.
///
/// # Panics
/// When `exponent` is outside `0..=31`.
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    assert!(
        (0..=31).contains(&exponent),
        "a shift of {exponent} is outside 0..=31"
    );
    rounding_shift_right(x, exponent as u32)
}

/// [`rounding_divide_by_pot`] for an `exponent` known to be in `0..=31`.
#[inline(always)]
fn rounding_shift_right(x: i32, exponent: u32) -> i32 {
    // `exponent <= 31`, so the shift stays inside 32 bits (no 64-bit shift on a small CPU).
    let mask = ((1u32 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// An int8 fully-connected layer as TensorFlow Lite's reference kernel computes it
/// (`FULLY_CONNECTED` with per-channel weights): for each row `b` of the input and output `o`,
///
/// `acc = bias[o] + Σ_i (x[b, i] − input_zero_point) · weight[o, i]`, then
/// `y[b, o] = clamp(output_zero_point + multipliers[o].apply(acc), min, max)`,
///
/// where `multipliers[o]` is `input_scale · weight_scale[o] / output_scale` and `(min, max)` is
/// the fused activation's range in int8 (ReLU: from the output zero point up).
#[derive(Debug, Clone, Copy)]
pub struct DenseInt8<'a> {
    /// `outputs × inputs`, row-major (PyTorch's and TensorFlow Lite's layout).
    pub weight: &'a [i8],
    /// One int32 per output, at `input_scale · weight_scale[o]`.
    pub bias: &'a [i32],
    /// One per output.
    pub multipliers: &'a [Multiplier],
    /// The input's zero point.
    pub input_zero_point: i32,
    /// The output's zero point.
    pub output_zero_point: i32,
    /// The clamp of the fused activation, `(min, max)`.
    pub activation: (i8, i8),
}

impl DenseInt8<'_> {
    /// What every form of the kernel needs; `(inputs, outputs)`. Inlined, as the
    /// convolution's.
    #[inline(always)]
    fn check(&self, x: &[i8], y: &[i8]) -> (usize, usize) {
        let outputs = self.bias.len();
        assert!(outputs > 0, "a dense layer needs an output");
        assert_eq!(self.multipliers.len(), outputs, "one multiplier per output");
        assert_eq!(
            self.weight.len() % outputs,
            0,
            "the weight is not outputs × inputs"
        );
        let inputs = self.weight.len() / outputs;
        assert!(inputs > 0, "a dense layer needs an input");
        assert_eq!(x.len() % inputs, 0, "the input is not whole rows");
        assert_eq!(
            y.len(),
            x.len() / inputs * outputs,
            "the output is not the input's rows"
        );
        (inputs, outputs)
    }

    /// `y` (`rows × outputs`) from `x` (`rows × inputs`), `outputs` being the bias's length.
    ///
    /// ```
    /// use nn_core::quant::{DenseInt8, Multiplier};
    /// // One output: 2·x0 − x1 + 3, halved, around zero point 1.
    /// let layer = DenseInt8 {
    ///     weight: &[2, -1],
    ///     bias: &[3],
    ///     multipliers: &[Multiplier::from_real(0.5)],
    ///     input_zero_point: 0,
    ///     output_zero_point: 1,
    ///     activation: (i8::MIN, i8::MAX),
    /// };
    /// let mut y = [0i8; 1];
    /// layer.forward(&[10, 4], &mut y);
    /// assert_eq!(y, [1 + 10]); // (20 − 4 + 3) / 2 = 9.5 → 10
    /// ```
    ///
    /// # Panics
    /// When the lengths disagree: `weight` is not `outputs × inputs`, a multiplier is
    /// missing, or `x` and `y` are not whole rows of the same count.
    pub fn forward(&self, x: &[i8], y: &mut [i8]) {
        let (inputs, outputs) = self.check(x, y);
        let (low, high) = (i32::from(self.activation.0), i32::from(self.activation.1));
        for (x_row, y_row) in x.chunks_exact(inputs).zip(y.chunks_exact_mut(outputs)) {
            let rows = self.weight.chunks_exact(inputs);
            let per_output = rows.zip(self.bias).zip(self.multipliers);
            for (out, ((w_row, &bias), m)) in y_row.iter_mut().zip(per_output) {
                let mut acc = bias;
                for (&x, &w) in x_row.iter().zip(w_row) {
                    let term = (i32::from(x) - self.input_zero_point) * i32::from(w);
                    acc = acc.wrapping_add(term);
                }
                let q = self.output_zero_point.saturating_add(m.apply(acc));
                *out = q.clamp(low, high) as i8;
            }
        }
    }
}

/// An int8 2-D convolution as TensorFlow Lite's reference kernel computes it (`CONV_2D`; with
/// one group per input channel it is the arithmetic of `DEPTHWISE_CONV_2D`, not yet checked
/// against TFLM), on NCHW samples: for output `(o, r, c)`,
///
/// `acc = bias[o] + Σ (x[ch, r', c'] − input_zero_point) · weight[o, ch', kh, kw]`
///
/// over the taps inside the input (the padding stands for the input's zero point, so it adds
/// nothing), then requantized and clamped as in [`DenseInt8`]. The weight is PyTorch's layout,
/// `c_out × (c_in / groups) × kh × kw`; TensorFlow Lite's `OHWI` (and depthwise `1HWO`) must be
/// reordered into it.
#[derive(Debug, Clone, Copy)]
pub struct Conv2dInt8<'a> {
    /// The sizes, windows and groups.
    pub shape: &'a crate::linalg::conv::ConvShape,
    /// `c_out × (c_in / groups) × kh × kw`.
    pub weight: &'a [i8],
    /// One int32 per output channel, at `input_scale · weight_scale[o]`.
    pub bias: &'a [i32],
    /// One per output channel.
    pub multipliers: &'a [Multiplier],
    /// The input's zero point.
    pub input_zero_point: i32,
    /// The output's zero point.
    pub output_zero_point: i32,
    /// The clamp of the fused activation, `(min, max)`.
    pub activation: (i8, i8),
}

impl Conv2dInt8<'_> {
    /// What every form of the kernel needs: a valid shape, parameters of its sizes, and whole
    /// samples in and out. Inlined, so that the loops after it know the lengths it checked.
    #[inline(always)]
    fn check(&self, x: &[i8], y: &[i8]) {
        self.check_output(x, y, self.shape.output_len());
    }

    /// [`Conv2dInt8::check`] with `output_len` values out per sample.
    #[inline(always)]
    fn check_output(&self, x: &[i8], y: &[i8], output_len: usize) {
        let s = self.shape;
        assert!(s.is_valid(), "inconsistent convolution sizes: {s:?}");
        assert_eq!(
            self.weight.len(),
            s.weight_len(),
            "the weight is not c_out × c_in / groups × kh × kw"
        );
        assert_eq!(self.bias.len(), s.c_out, "one bias per output channel");
        assert_eq!(
            self.multipliers.len(),
            s.c_out,
            "one multiplier per output channel"
        );
        assert_eq!(x.len() % s.input_len(), 0, "the input is not whole samples");
        assert_eq!(
            y.len(),
            x.len() / s.input_len() * output_len,
            "the output is not the input's samples"
        );
    }

    /// `y` from `x`, whole samples of the shape's input and output lengths.
    ///
    /// # Panics
    /// When the shape is not valid or a length disagrees with it.
    pub fn forward(&self, x: &[i8], y: &mut [i8]) {
        self.check(x, y);
        let s = self.shape;
        let (ah, aw) = (&s.height, &s.width);
        let (group_in, group_out) = (s.c_in / s.groups, s.c_out / s.groups);
        let window = ah.kernel * aw.kernel;
        let (low, high) = (i32::from(self.activation.0), i32::from(self.activation.1));
        // The input position of tap `k` of output `o` along `axis`, if inside.
        let at = |axis: &crate::linalg::conv::ConvAxis, o: usize, k: usize| {
            (o * axis.stride + k * axis.dilation)
                .checked_sub(axis.pad_before)
                .filter(|&i| i < axis.size)
        };
        // The taps of output column `c` inside the input along the width: the first tap, the
        // count, and the first input column. Sums are exact in int32 (wrapping, as the
        // reference's), so visiting only those taps changes no bit.
        let columns = |c: usize| -> (usize, usize, usize) {
            let start = c * aw.stride;
            let d = aw.dilation;
            let first = aw.pad_before.saturating_sub(start).div_ceil(d);
            let end = (aw.pad_before + aw.size)
                .checked_sub(start)
                .map_or(0, |reach| reach.div_ceil(d).min(aw.kernel));
            let taps = end.saturating_sub(first);
            let column = (start + first * d).saturating_sub(aw.pad_before);
            (first, taps, column)
        };
        for (x_b, y_b) in x
            .chunks_exact(s.input_len())
            .zip(y.chunks_exact_mut(s.output_len()))
        {
            for (o, y_o) in y_b.chunks_exact_mut(ah.out * aw.out).enumerate() {
                let first_in = o / group_out * group_in;
                let w_o = &self.weight[o * group_in * window..][..group_in * window];
                for (r, y_row) in y_o.chunks_exact_mut(aw.out).enumerate() {
                    for (c, out) in y_row.iter_mut().enumerate() {
                        let (k0, taps, i0) = columns(c);
                        let mut acc = self.bias[o];
                        for (ch, w_ch) in w_o.chunks_exact(window).enumerate() {
                            let plane = &x_b[(first_in + ch) * ah.size * aw.size..];
                            for kh in 0..ah.kernel {
                                let Some(ih) = at(ah, r, kh) else { continue };
                                let row = &plane[ih * aw.size..];
                                let w_row = &w_ch[kh * aw.kernel..];
                                for t in 0..taps {
                                    let v = i32::from(row[i0 + t * aw.dilation])
                                        - self.input_zero_point;
                                    acc = acc.wrapping_add(v * i32::from(w_row[k0 + t]));
                                }
                            }
                        }
                        let m = &self.multipliers[o];
                        let q = self.output_zero_point.saturating_add(m.apply(acc));
                        *out = q.clamp(low, high) as i8;
                    }
                }
            }
        }
    }
}

/// int8 max pooling (TensorFlow Lite's `MAX_POOL_2D`): the largest value of each window's part
/// inside the input, clamped to the fused activation's `(min, max)`; the scale and zero point
/// pass through unchanged.
///
/// # Panics
/// When the shape is not valid or the lengths are not whole planes.
pub fn max_pool_int8(
    shape: &crate::linalg::pool::PoolShape,
    activation: (i8, i8),
    x: &[i8],
    y: &mut [i8],
) {
    assert!(shape.is_valid(), "inconsistent pooling sizes: {shape:?}");
    let (ah, aw) = (&shape.height, &shape.width);
    let (plane_in, plane_out) = (ah.size * aw.size, ah.out * aw.out);
    assert_eq!(x.len() % plane_in, 0, "the input is not whole planes");
    assert_eq!(
        y.len(),
        x.len() / plane_in * plane_out,
        "the output is not the input's planes"
    );
    // Without padding every window is whole: no clipping to work out per output.
    let unpadded = ah.pad_before + ah.pad_after + aw.pad_before + aw.pad_after == 0;
    if unpadded && (ah.kernel, ah.stride, aw.kernel, aw.stride) == (2, 2, 2, 2) {
        // 2×2 at stride 2, the pool of most small CNNs: two input rows per output row, the
        // four values of each window in registers.
        for (x_p, y_p) in x.chunks_exact(plane_in).zip(y.chunks_exact_mut(plane_out)) {
            for (rows, y_row) in x_p
                .chunks_exact(2 * aw.size)
                .zip(y_p.chunks_exact_mut(aw.out))
            {
                let (top, bottom) = rows.split_at(aw.size);
                for ((out, t), b) in y_row
                    .iter_mut()
                    .zip(top.chunks_exact(2))
                    .zip(bottom.chunks_exact(2))
                {
                    let best = t[0].max(t[1]).max(b[0].max(b[1]));
                    *out = best.clamp(activation.0, activation.1);
                }
            }
        }
        return;
    }
    if unpadded && aw.kernel == aw.stride && aw.dilation == 1 {
        // Windows that tile each row (2×2 stride 2, the common case): an output row is the
        // running maximum of its kernel rows, each cut into whole windows.
        for (x_p, y_p) in x.chunks_exact(plane_in).zip(y.chunks_exact_mut(plane_out)) {
            for (r, y_row) in y_p.chunks_exact_mut(aw.out).enumerate() {
                y_row.fill(i8::MIN);
                for kh in 0..ah.kernel {
                    let ih = r * ah.stride + kh * ah.dilation;
                    let row = &x_p[ih * aw.size..][..aw.out * aw.kernel];
                    for (out, window) in y_row.iter_mut().zip(row.chunks_exact(aw.kernel)) {
                        *out = window.iter().fold(*out, |best, &v| best.max(v));
                    }
                }
                for out in y_row.iter_mut() {
                    *out = (*out).clamp(activation.0, activation.1);
                }
            }
        }
        return;
    }
    for (x_p, y_p) in x.chunks_exact(plane_in).zip(y.chunks_exact_mut(plane_out)) {
        for (r, y_row) in y_p.chunks_exact_mut(aw.out).enumerate() {
            let (top, rows) = if unpadded {
                (r * ah.stride, ah.kernel)
            } else {
                shape.rows(r)
            };
            for (c, out) in y_row.iter_mut().enumerate() {
                let (left, columns) = if unpadded {
                    (c * aw.stride, aw.kernel)
                } else {
                    shape.columns(c)
                };
                let mut best = i8::MIN;
                for ih in top..top + rows {
                    for &v in &x_p[ih * aw.size + left..][..columns] {
                        best = best.max(v);
                    }
                }
                *out = best.clamp(activation.0, activation.1);
            }
        }
    }
}

/// `x` rounded to the nearest integer, halves away from zero (C's `round`), without `std`.
fn round_half_away(x: f64) -> f64 {
    let truncated = x as i64 as f64;
    if x.abs() >= 4_503_599_627_370_496.0 {
        // 2^52 and above are integers already (and `as i64` would saturate).
        return x;
    }
    let fraction = x - truncated;
    if fraction >= 0.5 {
        truncated + 1.0
    } else if fraction <= -0.5 {
        truncated - 1.0
    } else {
        truncated
    }
}

/// `(m, e)` with `x = m · 2^e` and `m` in `[0.5, 1)`, for a finite positive `x` (C's `frexp`).
fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    if exponent == 0 {
        // Subnormal: scale into the normal range first.
        let (m, e) = frexp(x * (1u64 << 54) as f64);
        return (m, e - 54);
    }
    let mantissa = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (mantissa, exponent - 1022)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_high_mul_rounds_to_nearest_and_saturates() {
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        // 2 · 2^30 · 2^30 / 2^32 = 2^29.
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
        // 2 · 3 · 2^30 / 2^32 = 1.5: ties go up, so −1.5 goes to −1 (gemmlowp's nudge).
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        // 1.25 and −1.25 go to 1 and −1; 1.75 and −1.75 to 2 and −2.
        assert_eq!(saturating_rounding_doubling_high_mul(5, 1 << 29), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-5, 1 << 29), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(7, 1 << 29), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-7, 1 << 29), -2);
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
            i32::MAX - 1
        );
    }

    #[test]
    fn rounding_shift_breaks_ties_away_from_zero() {
        for (x, e, want) in [
            (5, 1, 3),
            (-5, 1, -3),
            (4, 1, 2),
            (-4, 1, -2),
            (7, 2, 2),
            (-7, 2, -2),
            (6, 2, 2),
            (-6, 2, -2),
            (-1, 1, -1),
            (1, 1, 1),
            (i32::MAX, 31, 1),
            (i32::MIN, 31, -1),
            (12345, 0, 12345),
        ] {
            assert_eq!(rounding_divide_by_pot(x, e), want, "{x} >> {e}");
        }
    }

    #[test]
    fn int8_max_pools_take_each_windows_largest_value() {
        use crate::linalg::conv::ConvAxis;
        use crate::linalg::pool::PoolShape;
        let shapes = [
            // Tiling windows (the fast path), a cut-off last column, rectangular ones, and
            // overlapping and padded ones (the general path).
            (ConvAxis::new(6, 2, 2, 0), ConvAxis::new(8, 2, 2, 0)),
            (ConvAxis::new(7, 2, 2, 0), ConvAxis::new(5, 2, 2, 0)),
            (ConvAxis::new(7, 3, 3, 0), ConvAxis::new(7, 3, 3, 0)),
            (ConvAxis::new(5, 2, 1, 0), ConvAxis::new(9, 3, 3, 0)),
            (ConvAxis::new(7, 3, 2, 1), ConvAxis::new(7, 3, 2, 1)),
            (ConvAxis::new(7, 2, 1, 0), ConvAxis::new(8, 3, 2, 0)),
        ];
        for (height, width) in shapes {
            let shape = PoolShape {
                height,
                width,
                count_include_pad: true,
            };
            assert!(shape.is_valid(), "{shape:?}");
            let planes = 3;
            let x: alloc::vec::Vec<i8> = (0..planes * height.size * width.size)
                .map(|i| (i * 73 % 256) as u8 as i8)
                .collect();
            let mut y = alloc::vec![0i8; planes * height.out * width.out];
            max_pool_int8(&shape, (-100, 90), &x, &mut y);
            let at = |axis: &ConvAxis, o: usize, k: usize| {
                (o * axis.stride + k * axis.dilation)
                    .checked_sub(axis.pad_before)
                    .filter(|&i| i < axis.size)
            };
            for p in 0..planes {
                for r in 0..height.out {
                    for c in 0..width.out {
                        let mut best = i8::MIN;
                        for kh in 0..height.kernel {
                            for kw in 0..width.kernel {
                                if let (Some(i), Some(j)) = (at(&height, r, kh), at(&width, c, kw))
                                {
                                    best = best.max(x[(p * height.size + i) * width.size + j]);
                                }
                            }
                        }
                        let got = y[(p * height.out + r) * width.out + c];
                        assert_eq!(got, best.clamp(-100, 90), "{shape:?} at {p}, {r}, {c}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_high_multiply_is_gemmlowps() {
        // gemmlowp's own form: a signed nudge, then a division that truncates toward zero.
        let gemmlowp = |a: i32, b: i32| -> i32 {
            if a == i32::MIN && b == i32::MIN {
                return i32::MAX;
            }
            let ab = i64::from(a) * i64::from(b);
            let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
            ((ab + nudge) / (1i64 << 31)) as i32
        };
        let edges = [
            i32::MIN,
            i32::MIN + 1,
            -(1 << 30) - 1,
            -(1 << 30),
            -3,
            -1,
            0,
            1,
            3,
            1 << 30,
            (1 << 30) + 1,
            i32::MAX - 1,
            i32::MAX,
        ];
        let mut rng = crate::init::seeded(8);
        let random = (0..4000).map(|_| {
            let bits = crate::init::uniform(&mut rng, 0.0, 32.0);
            let magnitude = f64::from(bits).exp2().min(f64::from(i32::MAX)) as i32;
            if crate::init::uniform(&mut rng, 0.0, 1.0) < 0.5 {
                magnitude
            } else {
                -magnitude
            }
        });
        let values: alloc::vec::Vec<i32> = edges.into_iter().chain(random).collect();
        for (i, &a) in values.iter().enumerate() {
            // Every edge against every value, and random pairs.
            for &b in values.iter().skip(i % 97).step_by(97).chain(&edges) {
                assert_eq!(
                    saturating_rounding_doubling_high_mul(a, b),
                    gemmlowp(a, b),
                    "{a} · {b}"
                );
            }
        }
        // Ties: 2·a·b/2^32 exactly halfway rounds up on both sides of zero.
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
    }

    #[test]
    fn multipliers_match_the_real_factor() {
        let mut rng = crate::init::seeded(4);
        for _ in 0..2000 {
            let real = f64::from(crate::init::uniform(&mut rng, -30.0, 4.0)).exp2();
            let m = Multiplier::from_real(real);
            assert!(
                (1 << 30..=i32::MAX).contains(&m.multiplier),
                "{real}: {m:?}"
            );
            let back = f64::from(m.multiplier) * (f64::from(m.shift - 31)).exp2();
            assert!((back - real).abs() <= real * 1e-9, "{real} vs {back}");
            let x = (crate::init::uniform(&mut rng, -1e5, 1e5)) as i32;
            let exact = f64::from(x) * real;
            let got = m.apply(x);
            // Two roundings: within one of the exact product (and exact on halves' sides).
            assert!(
                (f64::from(got) - exact).abs() <= 1.0,
                "{x} · {real}: {got} vs {exact}"
            );
        }
        assert_eq!(Multiplier::from_real(0.0).multiplier, 0);
        assert_eq!(Multiplier::from_real(1e-12).multiplier, 0);
        // A mantissa that rounds up to 2^31 moves to the next power of two.
        let m = Multiplier::from_real(1.0 - 1e-12);
        assert_eq!((m.multiplier, m.shift), (1 << 30, 1));
        assert_eq!(m.apply(100), 100);
    }

    #[test]
    fn ties_round_as_the_reference_kernels_round_them() {
        // No shift: the high multiply alone rounds, ties up (7.5 → 8, −7.5 → −7).
        let m = Multiplier::from_real(0.75);
        assert_eq!(m.apply(3), 2);
        assert_eq!(m.apply(10), 8);
        assert_eq!(m.apply(-10), -7);
        // A right shift rounds again, ties away from zero: 0.25 · 6 = 1.5 → 2, and −1.5 → −2
        // (the mantissa 0.5 is exact, so the first rounding changes nothing).
        let quarter = Multiplier::from_real(0.25);
        assert_eq!((quarter.multiplier, quarter.shift), (1 << 30, -1));
        assert_eq!(quarter.apply(6), 2);
        assert_eq!(quarter.apply(-6), -2);
        // Rounding twice is not rounding once: 1/3 · 5 = 1.67 → 2 either way, but a product
        // just under a tie after the first rounding can land on it.
        let third = Multiplier::from_real(1.0 / 3.0);
        assert_eq!(third.apply(3), 1);
        assert_eq!(third.apply(-3), -1);
        assert_eq!(third.apply(5), 2);
        assert_eq!(third.apply(-5), -2);
    }

    #[test]
    fn ranges_give_tflites_params() {
        let p = QuantParams::from_range(-1.0, 1.0).unwrap();
        assert!((p.scale - 2.0 / 255.0).abs() < 1e-9);
        // Both ends give −0.5; the max end loses less to rounding, and −0.5 rounds to −1.
        assert_eq!(p.zero_point, -1);
        let q = QuantParams::from_range(0.0, 1.0).unwrap();
        assert_eq!(q.zero_point, -128);
        assert_eq!(q.quantize(1.0), 127);
        assert_eq!(q.quantize(-5.0), -128);
        assert_eq!(q.quantize(2.0), 127);
        // A range that misses 0 is widened to hold it.
        let r = QuantParams::from_range(2.0, 4.0).unwrap();
        assert_eq!(r.zero_point, -128);
        assert_eq!(r.dequantize(-128), 0.0);
        assert!(QuantParams::from_range(f32::NAN, 1.0).is_err());
        assert!(QuantParams::from_range(1.0, -1.0).is_err());
        let zeros = QuantParams::from_range(0.0, 0.0).unwrap();
        assert_eq!(zeros.quantize(0.0), 0);
        // Quantize then dequantize is within half a step inside the range.
        let mut rng = crate::init::seeded(5);
        let p = QuantParams::from_range(-3.0, 5.0).unwrap();
        for _ in 0..1000 {
            let x = crate::init::uniform(&mut rng, -3.0, 5.0);
            let back = p.dequantize(p.quantize(x));
            assert!((back - x).abs() <= 0.5 * p.scale * 1.0001, "{x} → {back}");
        }
    }

    #[test]
    fn weights_are_symmetric_and_biases_int32() {
        let w = QuantParams::symmetric(0.5).unwrap();
        assert_eq!(w.zero_point, 0);
        assert_eq!(w.quantize(0.5), 127);
        assert_eq!(w.quantize(-0.5), -127);
        assert_eq!(w.quantize(-0.51), -128); // outside the range: clamped by int8 alone
        assert_eq!(QuantParams::symmetric(0.0).unwrap().scale, 1.0);
        assert!(QuantParams::symmetric(f32::INFINITY).is_err());
        assert_eq!(quantize_bias(0.25, 0.5, 0.25).unwrap(), 2);
        assert_eq!(quantize_bias(-0.3125, 0.5, 0.25).unwrap(), -3); // −2.5 away from zero
        assert_eq!(quantize_bias(1e30, 1e-3, 1e-3).unwrap(), i32::MAX);
        assert!(quantize_bias(1.0, 0.0, 1.0).is_err());
    }

    /// The int8 layer against the float layer it quantizes: per-channel weights, an
    /// asymmetric input, a bias at the product's scale; within one output step of the float
    /// result on random data, and exactly the integer formula.
    #[test]
    fn dense_int8_tracks_the_float_layer() {
        let mut rng = crate::init::seeded(6);
        let mut uniform = |lo: f32, hi: f32| crate::init::uniform(&mut rng, lo, hi);
        let (rows, inputs, outputs) = (3, 40, 5);
        let x: alloc::vec::Vec<f32> = (0..rows * inputs).map(|_| uniform(-1.0, 3.0)).collect();
        let w: alloc::vec::Vec<f32> = (0..outputs * inputs).map(|_| uniform(-0.3, 0.3)).collect();
        let b: alloc::vec::Vec<f32> = (0..outputs).map(|_| uniform(-0.5, 0.5)).collect();
        let input = QuantParams::from_range(-1.0, 3.0).unwrap();
        let x_q: alloc::vec::Vec<i8> = x.iter().map(|&v| input.quantize(v)).collect();
        let mut w_q = alloc::vec::Vec::new();
        let mut w_params = alloc::vec::Vec::new();
        for row in w.chunks_exact(inputs) {
            let p = QuantParams::symmetric(row.iter().fold(0.0f32, |m, v| m.max(v.abs()))).unwrap();
            w_q.extend(row.iter().map(|&v| p.quantize(v)));
            w_params.push(p);
        }
        // The float layer on the quantized operands, to find the output's range.
        let reference: alloc::vec::Vec<f64> = (0..rows * outputs)
            .map(|i| {
                let (r, o) = (i / outputs, i % outputs);
                let dot: f64 = (0..inputs)
                    .map(|j| {
                        f64::from(input.dequantize(x_q[r * inputs + j]))
                            * f64::from(w_params[o].dequantize(w_q[o * inputs + j]))
                    })
                    .sum();
                dot + f64::from(b[o])
            })
            .collect();
        let (lo, hi) = reference
            .iter()
            .fold((0.0f64, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
        let output = QuantParams::from_range(lo as f32, hi as f32).unwrap();
        let bias: alloc::vec::Vec<i32> = (0..outputs)
            .map(|o| quantize_bias(b[o], input.scale, w_params[o].scale).unwrap())
            .collect();
        let multipliers: alloc::vec::Vec<Multiplier> = w_params
            .iter()
            .map(|p| {
                Multiplier::from_real(
                    f64::from(input.scale) * f64::from(p.scale) / f64::from(output.scale),
                )
            })
            .collect();
        let layer = DenseInt8 {
            weight: &w_q,
            bias: &bias,
            multipliers: &multipliers,
            input_zero_point: input.zero_point,
            output_zero_point: output.zero_point,
            activation: (i8::MIN, i8::MAX),
        };
        let mut y = alloc::vec![0i8; rows * outputs];
        layer.forward(&x_q, &mut y);
        for (i, (&q, &want)) in y.iter().zip(&reference).enumerate() {
            let got = f64::from(output.dequantize(q));
            // The bias's and the requantization's roundings: at most one output step.
            assert!(
                (got - want).abs() <= f64::from(output.scale) * 1.01,
                "[{i}] {got} vs {want} (step {})",
                output.scale
            );
        }
        // A ReLU fused as the clamp from the output's zero point.
        let relu = DenseInt8 {
            activation: (output.zero_point.clamp(-128, 127) as i8, i8::MAX),
            ..layer
        };
        let mut y_relu = alloc::vec![0i8; rows * outputs];
        relu.forward(&x_q, &mut y_relu);
        for (&a, &r) in y.iter().zip(&y_relu) {
            assert_eq!(r, a.max(output.zero_point as i8));
        }
    }
}
