//! The int8 dense and convolution kernels the networks run: each input value is taken off its
//! zero point once and widened to `i16`, into a buffer the caller passes, and every output is
//! then one contiguous dot product of that buffer with an int8 weight row. The reference
//! loops ([`DenseInt8::forward`], [`Conv2dInt8::forward`]) subtract the zero point at every
//! multiply and walk the window tap by tap; the sums are the same integers (int32 addition
//! wraps, so its order changes no bit), and the tests compare the two on every window shape.

use super::{Conv2dInt8, DenseInt8};
use crate::linalg::int8::{dot, dot2, interleave};

impl DenseInt8<'_> {
    /// [`DenseInt8::forward`], each input row widened once into `widened` (one row: the
    /// weight's row length).
    ///
    /// # Panics
    /// As [`DenseInt8::forward`], and when `widened` is not one row.
    pub fn forward_with(&self, x: &[i8], y: &mut [i8], widened: &mut [i16]) {
        let outputs = self.bias.len();
        assert!(outputs > 0, "a dense layer needs an output");
        assert_eq!(self.multipliers.len(), outputs, "one multiplier per output");
        let inputs = self.weight.len() / outputs;
        assert_eq!(
            inputs * outputs,
            self.weight.len(),
            "the weight is not outputs × inputs"
        );
        assert!(inputs > 0, "a dense layer needs an input");
        assert_eq!(widened.len(), inputs, "the widened buffer is one input row");
        assert_eq!(x.len() % inputs, 0, "the input is not whole rows");
        assert_eq!(
            y.len(),
            x.len() / inputs * outputs,
            "the output is not the input's rows"
        );
        let (low, high) = (i32::from(self.activation.0), i32::from(self.activation.1));
        for (x_row, y_row) in x.chunks_exact(inputs).zip(y.chunks_exact_mut(outputs)) {
            for (w, &v) in widened.iter_mut().zip(x_row) {
                *w = (i32::from(v) - self.input_zero_point) as i16;
            }
            interleave(widened);
            let requantize = |o: usize, acc: i32| {
                let q = self
                    .output_zero_point
                    .saturating_add(self.multipliers[o].apply(acc));
                q.clamp(low, high) as i8
            };
            // Two outputs at a time share each load of the inputs.
            let mut o = 0;
            while o + 2 <= outputs {
                let rows = [0, 1].map(|k| &self.weight[(o + k) * inputs..][..inputs]);
                let acc = dot2([self.bias[o], self.bias[o + 1]], widened, rows);
                y_row[o] = requantize(o, acc[0]);
                y_row[o + 1] = requantize(o + 1, acc[1]);
                o += 2;
            }
            if o < outputs {
                let acc = dot(self.bias[o], widened, &self.weight[o * inputs..][..inputs]);
                y_row[o] = requantize(o, acc);
            }
        }
    }
}

impl Conv2dInt8<'_> {
    /// The length of the column [`Conv2dInt8::forward_with`] takes: one window of one group,
    /// `c_in / groups × kh × kw`.
    pub const fn column_len(&self) -> usize {
        let s = self.shape;
        s.c_in / s.groups * s.height.kernel * s.width.kernel
    }

    /// [`Conv2dInt8::forward`], each output position's window (per group) gathered once into
    /// `column` ([`Conv2dInt8::column_len`] values, the padding as 0), then one dot product
    /// per output channel.
    ///
    /// # Panics
    /// As [`Conv2dInt8::forward`], and when `column` is not [`Conv2dInt8::column_len`] long.
    pub fn forward_with(&self, x: &[i8], y: &mut [i8], column: &mut [i16]) {
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
        assert_eq!(
            column.len(),
            self.column_len(),
            "the column is one window of one group"
        );
        assert_eq!(x.len() % s.input_len(), 0, "the input is not whole samples");
        assert_eq!(
            y.len(),
            x.len() / s.input_len() * s.output_len(),
            "the output is not the input's samples"
        );
        let (ah, aw) = (&s.height, &s.width);
        let (group_in, group_out) = (s.c_in / s.groups, s.c_out / s.groups);
        let plane_out = ah.out * aw.out;
        let (low, high) = (i32::from(self.activation.0), i32::from(self.activation.1));
        let zero_point = self.input_zero_point;
        // The input index of tap `k` of output `o` along `axis`, if inside.
        let at = |axis: &crate::linalg::conv::ConvAxis, o: usize, k: usize| {
            (o * axis.stride + k * axis.dilation)
                .checked_sub(axis.pad_before)
                .filter(|&i| i < axis.size)
        };
        for (x_b, y_b) in x
            .chunks_exact(s.input_len())
            .zip(y.chunks_exact_mut(s.output_len()))
        {
            for g in 0..s.groups {
                let x_g = &x_b[g * group_in * ah.size * aw.size..][..group_in * ah.size * aw.size];
                for r in 0..ah.out {
                    for c in 0..aw.out {
                        // The kernel columns inside the input: from tap `first`, `inside` of
                        // them, the first at input column `from`; the same for every row.
                        let start = c * aw.stride;
                        let first = aw.pad_before.saturating_sub(start).div_ceil(aw.dilation);
                        let end = (aw.pad_before + aw.size)
                            .checked_sub(start)
                            .map_or(0, |reach| reach.div_ceil(aw.dilation).min(aw.kernel));
                        let inside = end.saturating_sub(first);
                        let from = (start + first * aw.dilation).saturating_sub(aw.pad_before);
                        let mut windows = column.chunks_exact_mut(aw.kernel);
                        for plane in x_g.chunks_exact(ah.size * aw.size) {
                            for kh in 0..ah.kernel {
                                let Some(taps) = windows.next() else { break };
                                let ih = at(ah, r, kh).filter(|_| inside > 0);
                                let Some(row) = ih.map(|ih| &plane[ih * aw.size + from..]) else {
                                    taps.fill(0);
                                    continue;
                                };
                                let (before, rest) = taps.split_at_mut(first);
                                let (within, after) = rest.split_at_mut(inside);
                                before.fill(0);
                                after.fill(0);
                                if aw.dilation == 1 {
                                    // Contiguous: a plain loop the compiler unrolls.
                                    for (tap, &v) in within.iter_mut().zip(&row[..inside]) {
                                        *tap = (i32::from(v) - zero_point) as i16;
                                    }
                                } else {
                                    for (t, tap) in within.iter_mut().enumerate() {
                                        let v = row[t * aw.dilation];
                                        *tap = (i32::from(v) - zero_point) as i16;
                                    }
                                }
                            }
                        }
                        interleave(column);
                        let position = r * aw.out + c;
                        let len = column.len();
                        let mut store = |o: usize, acc: i32| {
                            let q = self
                                .output_zero_point
                                .saturating_add(self.multipliers[o].apply(acc));
                            y_b[o * plane_out + position] = q.clamp(low, high) as i8;
                        };
                        let (mut o, end) = (g * group_out, (g + 1) * group_out);
                        // Two output channels at a time share each load of the column.
                        while o + 2 <= end {
                            let rows = [0, 1].map(|k| &self.weight[(o + k) * len..][..len]);
                            let acc = dot2([self.bias[o], self.bias[o + 1]], column, rows);
                            store(o, acc[0]);
                            store(o + 1, acc[1]);
                            o += 2;
                        }
                        if o < end {
                            let acc = dot(self.bias[o], column, &self.weight[o * len..][..len]);
                            store(o, acc);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use super::super::Multiplier;
    use super::*;
    use crate::linalg::conv::{ConvAxis, ConvShape};

    /// A stream of int8 values covering the range.
    fn bytes(n: usize, seed: u64) -> Vec<i8> {
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

    fn axis(
        size: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        pad: (usize, usize),
    ) -> ConvAxis {
        let span = dilation * (kernel - 1) + 1;
        ConvAxis {
            size,
            out: (size + pad.0 + pad.1 - span) / stride + 1,
            kernel,
            stride,
            dilation,
            pad_before: pad.0,
            pad_after: pad.1,
        }
    }

    #[test]
    fn widened_convolutions_are_the_reference_bits() {
        let shapes = [
            // (c_in, c_out, groups, height, width)
            (3, 4, 1, axis(9, 3, 1, 1, (1, 1)), axis(7, 3, 1, 1, (1, 1))),
            (4, 6, 2, axis(9, 3, 2, 1, (0, 1)), axis(8, 2, 2, 1, (1, 0))),
            (5, 5, 5, axis(7, 3, 1, 2, (2, 2)), axis(7, 3, 1, 1, (1, 1))),
            (2, 3, 1, axis(1, 1, 1, 1, (0, 0)), axis(12, 4, 1, 2, (6, 0))),
        ];
        for (i, (c_in, c_out, groups, height, width)) in shapes.into_iter().enumerate() {
            let shape = ConvShape {
                c_in,
                c_out,
                groups,
                height,
                width,
            };
            assert!(shape.is_valid(), "{shape:?}");
            let weight = bytes(shape.weight_len(), 3 + i as u64);
            let bias: Vec<i32> = (0..c_out as i32).map(|o| 1000 * o - 2500).collect();
            let multipliers: Vec<Multiplier> = (0..c_out)
                .map(|o| Multiplier::from_real(0.001 + 0.0007 * o as f64))
                .collect();
            let conv = Conv2dInt8 {
                shape: &shape,
                weight: &weight,
                bias: &bias,
                multipliers: &multipliers,
                input_zero_point: -7,
                output_zero_point: 5,
                activation: (-100, 120),
            };
            let x = bytes(2 * shape.input_len(), 11 + i as u64);
            let (mut reference, mut widened) = (
                vec![0i8; 2 * shape.output_len()],
                vec![0i8; 2 * shape.output_len()],
            );
            conv.forward(&x, &mut reference);
            conv.forward_with(&x, &mut widened, &mut vec![0i16; conv.column_len()]);
            assert_eq!(widened, reference, "{shape:?}");
            assert!(
                reference.iter().any(|&v| v != reference[0]),
                "a constant output tests little"
            );
        }
    }

    #[test]
    fn widened_dense_is_the_reference_bits() {
        let (inputs, outputs) = (37, 9);
        let weight = bytes(inputs * outputs, 5);
        let bias: Vec<i32> = (0..outputs as i32).map(|o| 300 * o - 1200).collect();
        let multipliers: Vec<Multiplier> = (0..outputs)
            .map(|o| Multiplier::from_real(0.002 + 0.0003 * o as f64))
            .collect();
        let dense = DenseInt8 {
            weight: &weight,
            bias: &bias,
            multipliers: &multipliers,
            input_zero_point: 12,
            output_zero_point: -3,
            activation: (-3, 127),
        };
        let x = bytes(3 * inputs, 9);
        let (mut reference, mut widened) = (vec![0i8; 3 * outputs], vec![0i8; 3 * outputs]);
        dense.forward(&x, &mut reference);
        dense.forward_with(&x, &mut widened, &mut vec![0i16; inputs]);
        assert_eq!(widened, reference);
    }
}
