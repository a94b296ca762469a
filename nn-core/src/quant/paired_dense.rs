//! [`PairedDenseInt8`]: the int8 dense layer a baked network runs, its weight rows stored in
//! pairs so that a Cortex-M4's `SMLAD` makes four products for three instructions.

use super::Multiplier;
use crate::linalg::int8::{
    pair_inputs, pair_rows, paired_dot, paired_input_words, paired_weight_words,
};

/// [`DenseInt8`](super::DenseInt8) with its weights laid out by [`PairedDenseInt8::lay_out`]: the same
/// TensorFlow Lite arithmetic, the same bytes out, and the same flash (an odd last row adds a
/// row of zeros, and an input count that is not a multiple of 8 is padded to one).
///
/// Why: at batch 1 each weight of a dense layer is used once, so on a Cortex-M4 the cost of
/// turning int8 weights into `SMLAD`'s 16-bit halves is paid per product. A halfword of this
/// layout holds the weights of two rows for one input, `256·a + (b + 128)`, so one `SMLAD`
/// of it with a pair of inputs adds `256·Σ x·a + Σ x·(b + 128)`, and one more on its low bytes
/// (`UXTB16`) gives `Σ x·(b + 128)` alone: four products for three instructions, against four
/// for the sign extension of both halves (`SXTB16` twice) and two `SMLAD`
/// ([`crate::linalg::int8::paired_dot`] says how the two sums come apart, exactly).
///
/// ```
/// use nn_core::quant::{DenseInt8, Multiplier, PairedDenseInt8};
/// let (weight, bias) = ([2i8, -1, 3, 5, -4, 7], [3, -2, 0]);
/// let multipliers = [Multiplier::from_real(0.5); 3];
/// let mut paired = vec![0u32; PairedDenseInt8::words(3, 2)];
/// PairedDenseInt8::lay_out(&weight, 3, &mut paired);
/// let layer = PairedDenseInt8 {
///     weight: &paired,
///     inputs: 2,
///     bias: &bias,
///     multipliers: &multipliers,
///     input_zero_point: 1,
///     output_zero_point: -2,
///     activation: (i8::MIN, i8::MAX),
/// };
/// let (mut y, mut words) = ([0i8; 3], vec![0u32; PairedDenseInt8::scratch_len(2)]);
/// layer.forward_with(&[10, 4], &mut y, &mut words);
///
/// let plain = DenseInt8 {
///     weight: &weight,
///     bias: &bias,
///     multipliers: &multipliers,
///     input_zero_point: 1,
///     output_zero_point: -2,
///     activation: (i8::MIN, i8::MAX),
/// };
/// let mut want = [0i8; 3];
/// plain.forward(&[10, 4], &mut want);
/// assert_eq!(y, want);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PairedDenseInt8<'a> {
    /// The weights in pairs of rows, [`PairedDenseInt8::words`] of them.
    pub weight: &'a [u32],
    /// Inputs per row.
    pub inputs: usize,
    /// One int32 per output, at `input_scale · weight_scale[o]`.
    pub bias: &'a [i32],
    /// One per output.
    pub multipliers: &'a [Multiplier],
    /// The input's zero point, in `−128..=127`.
    pub input_zero_point: i32,
    /// The output's zero point.
    pub output_zero_point: i32,
    /// The clamp of the fused activation, `(min, max)`.
    pub activation: (i8, i8),
}

impl PairedDenseInt8<'_> {
    /// The words of the paired weights of `outputs × inputs`.
    pub const fn words(outputs: usize, inputs: usize) -> usize {
        paired_weight_words(outputs, inputs)
    }

    /// The input words [`PairedDenseInt8::forward_with`] takes for rows of `inputs`.
    pub const fn scratch_len(inputs: usize) -> usize {
        paired_input_words(inputs)
    }

    /// Lays `weight` (`outputs × inputs`, row-major, [`DenseInt8`](super::DenseInt8)'s) out in pairs of rows
    /// into `out`, [`PairedDenseInt8::words`] long.
    ///
    /// # Panics
    /// When `weight` is not `outputs` rows or `out` has another length.
    pub fn lay_out(weight: &[i8], outputs: usize, out: &mut [u32]) {
        pair_rows(weight, outputs, out);
    }

    /// `y` (`rows × outputs`) from `x` (`rows × inputs`): [`DenseInt8::forward`](super::DenseInt8::forward)'s bytes.
    /// `words` holds one row of inputs as the kernel reads them,
    /// [`PairedDenseInt8::scratch_len`] long.
    ///
    /// # Panics
    /// When a length disagrees with another, or the input zero point is outside int8 (the
    /// sums' exactness assumes offsets of at most 255).
    pub fn forward_with(&self, x: &[i8], y: &mut [i8], words: &mut [u32]) {
        let (inputs, outputs) = (self.inputs, self.bias.len());
        assert!(
            inputs > 0 && outputs > 0,
            "a dense layer needs inputs and outputs"
        );
        assert_eq!(self.multipliers.len(), outputs, "one multiplier per output");
        assert_eq!(
            self.weight.len(),
            Self::words(outputs, inputs),
            "the paired weights of outputs × inputs"
        );
        assert!(
            (-128..=127).contains(&self.input_zero_point),
            "an int8 zero point"
        );
        assert!(
            x.len().is_multiple_of(inputs) && y.len() == x.len() / inputs * outputs,
            "the input and the output are the same number of whole rows"
        );
        let per_pair = Self::scratch_len(inputs);
        let (low, high) = (i32::from(self.activation.0), i32::from(self.activation.1));
        let requantize = |o: usize, acc: i32| {
            let q = self
                .output_zero_point
                .saturating_add(self.multipliers[o].apply(acc));
            q.clamp(low, high) as i8
        };
        for (x_row, y_row) in x.chunks_exact(inputs).zip(y.chunks_exact_mut(outputs)) {
            let sum = pair_inputs(x_row, self.input_zero_point, words);
            for (p, w) in self.weight.chunks_exact(per_pair).enumerate() {
                let o = 2 * p;
                let bias = [self.bias[o], self.bias.get(o + 1).copied().unwrap_or(0)];
                let [first, second] = paired_dot(bias, words, w, sum);
                y_row[o] = requantize(o, first);
                if o + 1 < outputs {
                    y_row[o + 1] = requantize(o + 1, second);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;
    use crate::quant::DenseInt8;

    /// The bytes of [`DenseInt8::forward`](super::DenseInt8::forward) on several shapes, rows and clamps.
    #[test]
    fn paired_dense_is_dense() {
        for (outputs, inputs, rows) in [(1, 1, 1), (3, 5, 2), (10, 128, 3), (9, 300, 2)] {
            let weight: Vec<i8> = (0..outputs * inputs)
                .map(|i| (i as i32 * 37 % 255 - 127) as i8)
                .collect();
            let bias: Vec<i32> = (0..outputs).map(|o| o as i32 * 1000 - 3000).collect();
            let multipliers: Vec<Multiplier> = (0..outputs)
                .map(|o| Multiplier::from_real(0.002 + 0.0005 * o as f64))
                .collect();
            let x: Vec<i8> = (0..rows * inputs)
                .map(|i| (i as i32 * 91 % 256 - 128) as i8)
                .collect();
            let mut paired = vec![0u32; PairedDenseInt8::words(outputs, inputs)];
            PairedDenseInt8::lay_out(&weight, outputs, &mut paired);
            for activation in [(i8::MIN, i8::MAX), (-5, 100)] {
                let layer = PairedDenseInt8 {
                    weight: &paired,
                    inputs,
                    bias: &bias,
                    multipliers: &multipliers,
                    input_zero_point: 7,
                    output_zero_point: -9,
                    activation,
                };
                let plain = DenseInt8 {
                    weight: &weight,
                    bias: &bias,
                    multipliers: &multipliers,
                    input_zero_point: 7,
                    output_zero_point: -9,
                    activation,
                };
                let mut y = vec![0i8; rows * outputs];
                let mut words = vec![0u32; PairedDenseInt8::scratch_len(inputs)];
                layer.forward_with(&x, &mut y, &mut words);
                let mut want = vec![0i8; rows * outputs];
                plain.forward(&x, &mut want);
                assert_eq!(y, want, "{outputs} × {inputs}");
            }
        }
    }
}
