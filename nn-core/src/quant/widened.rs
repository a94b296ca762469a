//! The int8 dense and convolution kernels the networks run: each input value is taken off its
//! zero point once and widened to `i16`, into a buffer the caller passes, and every output is
//! then one contiguous dot product of that buffer with an int8 weight row. The reference
//! loops ([`DenseInt8::forward`], [`Conv2dInt8::forward`]) subtract the zero point at every
//! multiply and walk the window tap by tap; the sums are the same integers (int32 addition
//! wraps, so its order changes no bit), and the tests compare the two on every window shape.

use super::{Conv2dInt8, DenseInt8};
use crate::linalg::conv::ConvShape;
use crate::linalg::int8::{
    block_len, dot, dot2, dot3, dot4, gather4, interleave, madd8, pack_column, pack_pairs,
    requantize_run, requantize8,
};
use crate::linalg::{Vectorize, pairs, vectorized, vnni};

impl DenseInt8<'_> {
    /// [`DenseInt8::forward`], each input row widened once into `widened` (one row: the
    /// weight's row length).
    ///
    /// # Panics
    /// As [`DenseInt8::forward`], and when `widened` is not one row.
    pub fn forward_with(&self, x: &[i8], y: &mut [i8], widened: &mut [i16]) {
        vectorized(DenseRun {
            dense: self,
            x,
            y,
            widened,
        });
    }

    #[inline(always)]
    fn forward_body(&self, x: &[i8], y: &mut [i8], widened: &mut [i16]) {
        let (inputs, outputs) = self.check(x, y);
        assert_eq!(widened.len(), inputs, "the widened buffer is one input row");
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
            // Three, then two outputs at a time share each load of the inputs.
            let mut o = 0;
            while o + 3 <= outputs {
                let rows = [0, 1, 2].map(|k| &self.weight[(o + k) * inputs..][..inputs]);
                let bias = [0, 1, 2].map(|k| self.bias[o + k]);
                let acc = dot3(bias, widened, rows);
                for (k, acc) in acc.into_iter().enumerate() {
                    y_row[o + k] = requantize(o + k, acc);
                }
                o += 3;
            }
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

/// [`DenseInt8::forward_with`]'s loops, for [`vectorized`]: compiled for the widest SIMD of
/// the CPU (on the Cortex-M4F, the `SMLAD` loop as it is).
struct DenseRun<'a, 'w> {
    dense: &'a DenseInt8<'w>,
    x: &'a [i8],
    y: &'a mut [i8],
    widened: &'a mut [i16],
}

impl Vectorize for DenseRun<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        self.dense.forward_body(self.x, self.y, self.widened);
    }
}

impl Conv2dInt8<'_> {
    /// The length of one window of one group: `c_in / groups × kh × kw`.
    pub const fn column_len(&self) -> usize {
        window_len(self.shape)
    }

    /// The lengths of the two buffers [`Conv2dInt8::forward_with`] takes:
    /// [`Conv2dInt8::scratch_len_of`] of its shape.
    pub const fn scratch_len(&self) -> (usize, usize) {
        Self::scratch_len_of(self.shape)
    }

    /// The lengths of the two buffers [`Conv2dInt8::forward_with`] takes for `shape`, before
    /// its parameters exist (a baked network sizes its stack buffers with it):
    /// - `i16`: one window, the offset of each of its taps, and a block of four
    ///   ([`block_len`]) with a value to spare to start it on a whole word;
    /// - `i8`: one group's input planes with their padding.
    pub const fn scratch_len_of(shape: &ConvShape) -> (usize, usize) {
        let (h, w) = (&shape.height, &shape.width);
        (
            2 * window_len(shape) + block_len(window_len(shape)) + 1,
            shape.c_in / shape.groups
                * (h.pad_before + h.size + h.pad_after)
                * (w.pad_before + w.size + w.pad_after),
        )
    }

    /// [`Conv2dInt8::forward`] in the order a small CPU runs it fastest:
    /// 1. each group's input is copied into `padded`, its padding written as the input zero
    ///    point, so that no window needs a bounds check;
    /// 2. each output position's window is gathered once into `scratch`, widened to offsets
    ///    from the zero point (the padding becomes 0);
    /// 3. four positions at a time go side by side into a block, so that each word of weights
    ///    serves four outputs ([`dot4`]); the last `positions % 4` take one dot product per
    ///    output channel.
    ///
    /// # Panics
    /// As [`Conv2dInt8::forward`]; when a buffer is not [`Conv2dInt8::scratch_len`] long; when
    /// the input zero point is not an int8.
    pub fn forward_with(&self, x: &[i8], y: &mut [i8], scratch: &mut [i16], padded: &mut [i8]) {
        self.check(x, y);
        let s = self.shape;
        let zero_point =
            i8::try_from(self.input_zero_point).expect("the input zero point is an int8");
        let mut windows = self.windows(scratch, padded.len());
        let (ah, aw) = (&s.height, &s.width);
        let (group_in, group_out) = (s.c_in / s.groups, s.c_out / s.groups);
        let positions = ah.out * aw.out;
        let len = self.column_len();
        let (low, high) = (i32::from(self.activation.0), i32::from(self.activation.1));
        let requantize = |o: usize, acc: i32| {
            let q = self
                .output_zero_point
                .saturating_add(self.multipliers[o].apply(acc));
            q.clamp(low, high) as i8
        };
        let plane = ah.size * aw.size;
        let padded_width = aw.pad_before + aw.size + aw.pad_after;
        let padded_plane = (ah.pad_before + ah.size + ah.pad_after) * padded_width;
        for (x_b, y_b) in x
            .chunks_exact(s.input_len())
            .zip(y.chunks_exact_mut(s.output_len()))
        {
            for g in 0..s.groups {
                let x_g = &x_b[g * group_in * plane..][..group_in * plane];
                self.pad_group(x_g, zero_point, padded, padded_plane, padded_width);
                let padded = &*padded;
                let channels = g * group_out..(g + 1) * group_out;
                let mut p = 0;
                while p + 4 <= positions {
                    self.gather_four(&mut windows, padded, [0, 1, 2, 3].map(|k| p + k));
                    let block = &*windows.block;
                    for o in channels.clone() {
                        let acc = dot4(self.bias[o], block, &self.weight[o * len..][..len]);
                        let out = &mut y_b[o * positions + p..][..4];
                        for (out, acc) in out.iter_mut().zip(acc) {
                            *out = requantize(o, acc);
                        }
                    }
                    p += 4;
                }
                for p in p..positions {
                    let column = &mut *windows.column;
                    self.gather(padded, p, column);
                    interleave(column);
                    let mut o = channels.start;
                    // Two output channels at a time share each load of the column.
                    while o + 2 <= channels.end {
                        let rows = [0, 1].map(|k| &self.weight[(o + k) * len..][..len]);
                        let acc = dot2([self.bias[o], self.bias[o + 1]], column, rows);
                        y_b[o * positions + p] = requantize(o, acc[0]);
                        y_b[(o + 1) * positions + p] = requantize(o + 1, acc[1]);
                        o += 2;
                    }
                    if o < channels.end {
                        let acc = dot(self.bias[o], column, &self.weight[o * len..][..len]);
                        y_b[o * positions + p] = requantize(o, acc);
                    }
                }
            }
        }
    }

    /// [`Conv2dInt8::forward_with`] and then a 2 × 2 max pool at stride 2 (PyTorch's
    /// `MaxPool2d(2)`: an odd last row or column is dropped), in one pass, as a small CPU runs
    /// it: the four windows of each pool window go side by side into a block ([`dot4`]), and
    /// the largest of their four sums is requantized once. That is the pool of the four
    /// requantized values when every multiplier [is monotone](super::Multiplier::is_monotone)
    /// (requantization keeps the order of the sums); the outputs the pool drops are never
    /// computed. `y` is `c_out × ⌊out rows / 2⌋ × ⌊out columns / 2⌋` per sample. The same bits
    /// as [`Conv2dInt8::forward`] followed by [`max_pool_int8`](super::max_pool_int8).
    ///
    /// # Panics
    /// As [`Conv2dInt8::forward_with`], for `y` of the pooled size; when the output has fewer
    /// than two rows or columns, or a multiplier is not monotone.
    pub fn forward_with_pooled(
        &self,
        x: &[i8],
        y: &mut [i8],
        scratch: &mut [i16],
        padded: &mut [i8],
    ) {
        let s = self.shape;
        let (ah, aw) = (&s.height, &s.width);
        let (rows, cols) = self.check_pooled(x, y);
        let zero_point =
            i8::try_from(self.input_zero_point).expect("the input zero point is an int8");
        let mut windows = self.windows(scratch, padded.len());
        let (group_in, group_out) = (s.c_in / s.groups, s.c_out / s.groups);
        let len = self.column_len();
        let (low, high) = (i32::from(self.activation.0), i32::from(self.activation.1));
        let plane = ah.size * aw.size;
        let padded_width = aw.pad_before + aw.size + aw.pad_after;
        let padded_plane = (ah.pad_before + ah.size + ah.pad_after) * padded_width;
        for (x_b, y_b) in x
            .chunks_exact(s.input_len())
            .zip(y.chunks_exact_mut(s.c_out * rows * cols))
        {
            for g in 0..s.groups {
                let x_g = &x_b[g * group_in * plane..][..group_in * plane];
                self.pad_group(x_g, zero_point, padded, padded_plane, padded_width);
                let padded = &*padded;
                for (pooled, (r, c)) in (0..rows)
                    .flat_map(|r| (0..cols).map(move |c| (r, c)))
                    .enumerate()
                {
                    // The pool window's four outputs, row by row.
                    let top = 2 * r * aw.out + 2 * c;
                    let window = [top, top + 1, top + aw.out, top + aw.out + 1];
                    self.gather_four(&mut windows, padded, window);
                    let block = &*windows.block;
                    for o in g * group_out..(g + 1) * group_out {
                        let acc = dot4(self.bias[o], block, &self.weight[o * len..][..len]);
                        let largest = acc.into_iter().max().unwrap_or(i32::MIN);
                        let q = self
                            .output_zero_point
                            .saturating_add(self.multipliers[o].apply(largest));
                        y_b[o * rows * cols + pooled] = q.clamp(low, high) as i8;
                    }
                }
            }
        }
    }

    /// What the pooled forms need beside [`Conv2dInt8::check`]'s: `y` of the pooled size, at
    /// least one 2 × 2 window, and multipliers that keep order; the pooled `(rows, columns)`.
    fn check_pooled(&self, x: &[i8], y: &[i8]) -> (usize, usize) {
        let s = self.shape;
        let (rows, cols) = (s.height.out / 2, s.width.out / 2);
        assert!(
            rows > 0 && cols > 0,
            "no 2 × 2 window fits the output: {s:?}"
        );
        self.check_output(x, y, s.c_out * rows * cols);
        assert!(
            self.multipliers.iter().all(|m| m.is_monotone()),
            "a multiplier that may reorder sums"
        );
        (rows, cols)
    }

    /// The window-at-a-time forms' scratch ([`Conv2dInt8::scratch_len`]) cut into one window,
    /// the offset of each of its taps and a block of four windows, and the offsets filled in
    /// when `u16` holds every offset into `padded_len` values (one table load then serves four
    /// windows).
    ///
    /// # Panics
    /// When `scratch` or `padded_len` is not [`Conv2dInt8::scratch_len`].
    fn windows<'s>(&self, scratch: &'s mut [i16], padded_len: usize) -> Windows<'s> {
        assert_eq!(
            (scratch.len(), padded_len),
            self.scratch_len(),
            "the buffers are a window and a block of four, and a padded group"
        );
        let (column, rest) = scratch.split_at_mut(self.column_len());
        let (offsets, rest) = rest.split_at_mut(column.len());
        // The block starts on a whole word, for the Cortex-M4F's `LDM`.
        let skip = rest.as_ptr().align_offset(4).min(1);
        let block = &mut rest[skip..][..block_len(column.len())];
        let s = self.shape;
        let (ah, aw) = (&s.height, &s.width);
        let padded_width = aw.pad_before + aw.size + aw.pad_after;
        let padded_plane = (ah.pad_before + ah.size + ah.pad_after) * padded_width;
        let tabled = padded_len <= 1 << 16;
        if tabled {
            let mut taps = offsets.iter_mut();
            for ch in 0..s.c_in / s.groups {
                for kh in 0..ah.kernel {
                    for kw in 0..aw.kernel {
                        if let Some(tap) = taps.next() {
                            let at = ch * padded_plane
                                + kh * ah.dilation * padded_width
                                + kw * aw.dilation;
                            *tap = at as u16 as i16;
                        }
                    }
                }
            }
        }
        Windows {
            column,
            offsets,
            block,
            tabled,
        }
    }

    /// The windows of output positions `positions` over one group's `padded` planes, side by
    /// side in `windows.block` for [`dot4`]: through the tap table when there is one
    /// ([`gather4`]), else one window at a time.
    #[inline]
    fn gather_four(&self, windows: &mut Windows<'_>, padded: &[i8], positions: [usize; 4]) {
        let (ah, aw) = (&self.shape.height, &self.shape.width);
        let padded_width = aw.pad_before + aw.size + aw.pad_after;
        if windows.tabled {
            let corners = positions
                .map(|p| (p / aw.out) * ah.stride * padded_width + (p % aw.out) * aw.stride);
            gather4(
                padded,
                corners,
                windows.offsets,
                self.input_zero_point,
                windows.block,
            );
        } else {
            for (k, &p) in positions.iter().enumerate() {
                self.gather(padded, p, windows.column);
                pack_column(windows.block, k, windows.column);
            }
        }
    }

    /// One group's input planes `x_g` into `padded`, their padding the input zero point.
    fn pad_group(
        &self,
        x_g: &[i8],
        zero_point: i8,
        padded: &mut [i8],
        padded_plane: usize,
        padded_width: usize,
    ) {
        let (ah, aw) = (&self.shape.height, &self.shape.width);
        padded.fill(zero_point);
        for (from, to) in x_g
            .chunks_exact(ah.size * aw.size)
            .zip(padded.chunks_exact_mut(padded_plane))
        {
            for (from, to) in from
                .chunks_exact(aw.size)
                .zip(to[ah.pad_before * padded_width..].chunks_exact_mut(padded_width))
            {
                to[aw.pad_before..][..aw.size].copy_from_slice(from);
            }
        }
    }

    /// The window of output position `position` over one group's padded input planes, as
    /// offsets from the input zero point in their natural order (channel, kernel row, kernel
    /// column).
    #[inline]
    fn gather(&self, padded: &[i8], position: usize, column: &mut [i16]) {
        let s = self.shape;
        let (ah, aw) = (&s.height, &s.width);
        let (r, c) = (position / aw.out, position % aw.out);
        let zero_point = self.input_zero_point;
        let padded_width = aw.pad_before + aw.size + aw.pad_after;
        let padded_plane = (ah.pad_before + ah.size + ah.pad_after) * padded_width;
        let corner = r * ah.stride * padded_width + c * aw.stride;
        let span = (aw.kernel - 1) * aw.dilation + 1;
        let mut rows = column.chunks_exact_mut(aw.kernel);
        for plane in padded.chunks_exact(padded_plane) {
            for kh in 0..ah.kernel {
                let (Some(taps), Some(from)) = (
                    rows.next(),
                    plane.get(corner + kh * ah.dilation * padded_width..),
                ) else {
                    return;
                };
                let from = &from[..span];
                if aw.dilation == 1 {
                    for (tap, &v) in taps.iter_mut().zip(from) {
                        *tap = (i32::from(v) - zero_point) as i16;
                    }
                } else {
                    for (tap, &v) in taps.iter_mut().zip(from.iter().step_by(aw.dilation)) {
                        *tap = (i32::from(v) - zero_point) as i16;
                    }
                }
            }
        }
    }
}

/// The scratch of [`Conv2dInt8::forward_with`] and [`Conv2dInt8::forward_with_pooled`]: one
/// window, the offset of each tap from a window's corner (`u16` bits, when `tabled`), and a
/// block of four windows.
struct Windows<'s> {
    column: &'s mut [i16],
    offsets: &'s mut [i16],
    block: &'s mut [i16],
    tabled: bool,
}

/// A tap's input row for one output row, its column offset, and the output columns it reads
/// inside the input (`first..end`).
type LaneRow<'a> = (&'a [i8], usize, usize, usize);

/// One window of one group of `shape`: `c_in / groups × kh × kw`.
const fn window_len(shape: &ConvShape) -> usize {
    shape.c_in / shape.groups * shape.height.kernel * shape.width.kernel
}

/// [`Conv2dInt8::forward_gemm`]'s loops, for [`vectorized`]: compiled for the widest SIMD of
/// the CPU, where the compiler turns the pairs of 16-bit products into `vpmaddwd`.
struct GemmRun<'a, 'w> {
    conv: &'a Conv2dInt8<'w>,
    x: &'a [i8],
    y: &'a mut [i8],
    pairs: &'a mut [i16],
    packed: &'a mut [i32],
}

impl Vectorize for GemmRun<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        self.conv.gemm_body(self.x, self.y, self.pairs, self.packed);
    }
}

impl Conv2dInt8<'_> {
    /// The lengths of the two buffers [`Conv2dInt8::forward_gemm`] takes: the window offsets
    /// of every output position of one group, two taps to a pair (`i16`), and every output
    /// channel's weights packed two to a word (`i32`).
    pub const fn gemm_scratch_len(&self) -> (usize, usize) {
        Self::gemm_scratch_len_of(self.shape)
    }

    /// [`Conv2dInt8::gemm_scratch_len`] of a shape, before its parameters exist: the pairs of
    /// one group's windows, and every output channel's weights packed two to a word.
    pub const fn gemm_scratch_len_of(shape: &ConvShape) -> (usize, usize) {
        let positions = shape.height.out * shape.width.out;
        let pairs = window_len(shape).div_ceil(2);
        (pairs * 2 * positions, shape.c_out * pairs)
    }

    /// [`Conv2dInt8::forward`] as a product over every output position at once, for a CPU
    /// with wide vectors: each group's windows are laid out tap pair by tap pair, positions
    /// innermost, and four output channels by eight positions are summed in registers, two
    /// taps per step.
    /// The same bits as [`Conv2dInt8::forward`].
    ///
    /// # Panics
    /// As [`Conv2dInt8::forward`], and when a buffer is not [`Conv2dInt8::gemm_scratch_len`]
    /// long.
    pub fn forward_gemm(&self, x: &[i8], y: &mut [i8], pairs: &mut [i16], packed: &mut [i32]) {
        vectorized(GemmRun {
            conv: self,
            x,
            y,
            pairs,
            packed,
        });
    }

    #[inline(always)]
    fn gemm_body(&self, x: &[i8], y: &mut [i8], pairs: &mut [i16], packed: &mut [i32]) {
        self.check(x, y);
        let s = self.shape;
        assert_eq!(
            (pairs.len(), packed.len()),
            self.gemm_scratch_len(),
            "the scratch lengths"
        );
        let (ah, aw) = (&s.height, &s.width);
        let (group_in, group_out) = (s.c_in / s.groups, s.c_out / s.groups);
        let window = ah.kernel * aw.kernel;
        let taps = group_in * window;
        let positions = ah.out * aw.out;
        let (low, high) = (i32::from(self.activation.0), i32::from(self.activation.1));
        let at = |axis: &crate::linalg::conv::ConvAxis, o: usize, k: usize| {
            (o * axis.stride + k * axis.dilation)
                .checked_sub(axis.pad_before)
                .filter(|&i| i < axis.size)
        };
        // Every channel's weights two to a word, as `madd8` reads them.
        let pair_count = taps.div_ceil(2);
        for (w, out) in self
            .weight
            .chunks_exact(taps)
            .zip(packed.chunks_exact_mut(pair_count))
        {
            pack_pairs(w, out);
        }
        let packed = &*packed;
        for (x_b, y_b) in x
            .chunks_exact(s.input_len())
            .zip(y.chunks_exact_mut(s.output_len()))
        {
            for g in 0..s.groups {
                let plane = ah.size * aw.size;
                let x_g = &x_b[g * group_in * plane..][..group_in * plane];
                // Tap `t` of position `p` at `pairs[(t / 2) · 2P + 2p + t % 2]`; a missing last
                // tap of an odd count, and the padding, are 0.
                for j in 0..pair_count {
                    let row = &mut pairs[j * 2 * positions..][..2 * positions];
                    // Each lane's tap: its input plane, kernel row and column offset, and
                    // the output columns it reads inside the input (`first..end`).
                    let lane = |t: usize| {
                        (t < taps).then(|| {
                            let (ch, kh, kw) = (t / window, t % window / aw.kernel, t % aw.kernel);
                            let offset = kw * aw.dilation;
                            let first = aw.pad_before.saturating_sub(offset).div_ceil(aw.stride);
                            let end = (aw.pad_before + aw.size)
                                .checked_sub(offset)
                                .map_or(0, |reach| reach.div_ceil(aw.stride).min(aw.out));
                            (ch, kh, offset, first, end.max(first))
                        })
                    };
                    let lanes = [lane(2 * j), lane(2 * j + 1)];
                    for (r, out_row) in row.chunks_exact_mut(2 * aw.out).enumerate() {
                        // The input row each lane reads for output row `r`, if inside.
                        let mut source: [Option<LaneRow<'_>>; 2] = [None; 2];
                        for (source, lane) in source.iter_mut().zip(&lanes) {
                            if let &Some((ch, kh, offset, first, end)) = lane
                                && let Some(ih) = at(ah, r, kh)
                            {
                                let input_row = &x_g[ch * plane + ih * aw.size..][..aw.size];
                                *source = Some((input_row, offset, first, end));
                            }
                        }
                        let (lo, hi) = match source {
                            [Some(a), Some(b)] => (a.2.max(b.2), a.3.min(b.3).max(a.2.max(b.2))),
                            _ => (0, 0),
                        };
                        // Both lanes inside, stride 1: two contiguous runs, interleaved.
                        if let [Some(a), Some(b)] = source
                            && aw.stride == 1
                            && lo < hi
                        {
                            let n = hi - lo;
                            let run_a = &a.0[lo + a.1 - aw.pad_before..][..n];
                            let run_b = &b.0[lo + b.1 - aw.pad_before..][..n];
                            let zp = self.input_zero_point;
                            for ((out, &va), &vb) in out_row[2 * lo..2 * hi]
                                .chunks_exact_mut(2)
                                .zip(run_a)
                                .zip(run_b)
                            {
                                out[0] = (i32::from(va) - zp) as i16;
                                out[1] = (i32::from(vb) - zp) as i16;
                            }
                        }
                        let (lo, hi) = if aw.stride == 1 { (lo, hi) } else { (0, 0) };
                        for (k, source) in source.iter().enumerate() {
                            for c in (0..lo).chain(hi..aw.out) {
                                out_row[2 * c + k] = match source {
                                    Some((input_row, offset, first, end))
                                        if (*first..*end).contains(&c) =>
                                    {
                                        let iw = c * aw.stride + offset - aw.pad_before;
                                        (i32::from(input_row[iw]) - self.input_zero_point) as i16
                                    }
                                    _ => 0,
                                };
                            }
                        }
                    }
                }
                let channels = g * group_out..(g + 1) * group_out;
                let mut o = channels.start;
                // Four output channels share each load of the pairs.
                while o + 4 <= channels.end {
                    self.gemm_channels::<4>(o, positions, pairs, packed, y_b, (low, high));
                    o += 4;
                }
                while o < channels.end {
                    self.gemm_channels::<1>(o, positions, pairs, packed, y_b, (low, high));
                    o += 1;
                }
            }
        }
    }

    /// Output channels `first..first + C` over every position: eight positions at a time,
    /// their sums in registers across all the tap pairs ([`madd8`]: one `vpmaddwd` per channel
    /// and pair with AVX2), then requantized eight at a time ([`requantize8`]). The positions
    /// past the last whole eight take the same sums one by one.
    #[inline(always)]
    fn gemm_channels<const C: usize>(
        &self,
        first: usize,
        positions: usize,
        pairs: &[i16],
        packed: &[i32],
        y_b: &mut [i8],
        clamp: (i32, i32),
    ) {
        let pair_count = packed.len() / self.shape.c_out;
        let rows: [&[i32]; C] =
            core::array::from_fn(|c| &packed[(first + c) * pair_count..][..pair_count]);
        let bias: [i32; C] = core::array::from_fn(|c| self.bias[first + c]);
        let factor = |o: usize| {
            let m = &self.multipliers[o];
            (m.multiplier, m.shift)
        };
        let whole = positions / 8 * 8;
        for p0 in (0..whole).step_by(8) {
            let acc = madd8(pairs, 2 * positions, p0, rows, bias);
            for (c, acc) in acc.iter().enumerate() {
                let o = first + c;
                let out = &mut y_b[o * positions + p0..][..8];
                requantize8(factor(o), self.output_zero_point, clamp, acc, out);
            }
        }
        for p in whole..positions {
            for (c, row) in rows.iter().enumerate() {
                let o = first + c;
                let mut acc = bias[c];
                for (j, &w) in row.iter().enumerate() {
                    let pair = &pairs[j * 2 * positions + 2 * p..][..2];
                    let term = i32::from(w as i16) * i32::from(pair[0])
                        + i32::from((w >> 16) as i16) * i32::from(pair[1]);
                    acc = acc.wrapping_add(term);
                }
                let q = self
                    .output_zero_point
                    .saturating_add(self.multipliers[o].apply(acc));
                y_b[o * positions + p] = q.clamp(clamp.0, clamp.1) as i8;
            }
        }
    }
}

impl DenseInt8<'_> {
    /// [`DenseInt8::forward`] on AVX-512 VNNI ([`vnni::dense_sums`], every sample at once);
    /// `sums` holds one int32 per output value. The same bits as [`DenseInt8::forward`].
    ///
    /// # Panics
    /// As [`DenseInt8::forward`]; when [`vnni::available`] is false, `sums` is not one per
    /// output value, or the zero points are not int8s.
    pub fn forward_vnni(&self, x: &[i8], y: &mut [i8], sums: &mut [i32]) {
        let (_, outputs) = self.check(x, y);
        assert_eq!(sums.len(), y.len(), "one sum per output");
        vnni::dense_sums(x, self.input_zero_point, self.weight, self.bias, sums);
        for (sums, y_row) in sums.chunks_exact(outputs).zip(y.chunks_exact_mut(outputs)) {
            vnni::requantize_channels(
                self.multipliers,
                self.output_zero_point,
                self.activation,
                sums,
                y_row,
            );
        }
    }
}

impl DenseInt8<'_> {
    /// [`DenseInt8::forward`] with AVX2 ([`pairs::dense_sums`], every sample at once): `widened`
    /// is [`pairs::dense_widened_len`] `i16`s and `sums` one int32 per output value. Each
    /// output channel's sums are requantized eight samples at a time. The same bits as
    /// [`DenseInt8::forward`].
    ///
    /// # Panics
    /// As [`DenseInt8::forward`]; when [`pairs::available`] is false, a buffer has the wrong
    /// length, or a zero point is not an int8.
    pub fn forward_pairs(&self, x: &[i8], y: &mut [i8], widened: &mut [i16], sums: &mut [i32]) {
        let (_, outputs) = self.check(x, y);
        assert_eq!(sums.len(), y.len(), "one sum per output");
        pairs::dense_sums(
            x,
            self.input_zero_point,
            (self.weight, self.bias),
            widened,
            sums,
        );
        let clamp = (i32::from(self.activation.0), i32::from(self.activation.1));
        let samples = y.len() / outputs;
        for (o, m) in self.multipliers.iter().enumerate() {
            // One channel: eight samples' sums, a column of the `samples × outputs` rows.
            for r0 in (0..samples).step_by(8) {
                let count = 8.min(samples - r0);
                let mut acc = [0; 8];
                for (k, acc) in acc[..count].iter_mut().enumerate() {
                    *acc = sums[(r0 + k) * outputs + o];
                }
                let mut bytes = [0; 8];
                let factor = (m.multiplier, m.shift);
                requantize_run(
                    factor,
                    self.output_zero_point,
                    clamp,
                    &acc[..count],
                    &mut bytes[..count],
                );
                for (k, &byte) in bytes[..count].iter().enumerate() {
                    y[(r0 + k) * outputs + o] = byte;
                }
            }
        }
    }
}

/// The lengths of the three buffers [`Conv2dInt8::forward_vnni`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VnniScratch {
    /// `u8`: every input plane with its padding, plus 128, and the slack the kernel reads
    /// past them.
    pub planes: usize,
    /// `i8`: the weights in quads ([`vnni::FlatConv::pack`]).
    pub weights: usize,
    /// `i32`: one group's sums, a row of flat positions per output channel.
    pub sums: usize,
}

impl Conv2dInt8<'_> {
    /// One group of `shape` as [`vnni::conv_sums`] sees it, when it takes the shape: stride 1
    /// on both axes, and a column dilation of at most 16.
    pub fn flat_of(shape: &ConvShape) -> Option<vnni::FlatConv> {
        let (ah, aw) = (&shape.height, &shape.width);
        let plane_width = aw.pad_before + aw.size + aw.pad_after;
        let conv = vnni::FlatConv {
            channels: shape.c_in / shape.groups,
            plane_width,
            plane_len: (ah.pad_before + ah.size + ah.pad_after) * plane_width,
            kernel: (ah.kernel, aw.kernel),
            dilation: (ah.dilation, aw.dilation),
            out: (ah.out, aw.out),
        };
        (shape.is_valid() && ah.stride == 1 && aw.stride == 1 && conv.fits()).then_some(conv)
    }

    /// The buffers [`Conv2dInt8::forward_vnni`] takes for `shape`, or `None` when it does not
    /// take the shape ([`Conv2dInt8::flat_of`]).
    pub fn vnni_scratch_len_of(shape: &ConvShape) -> Option<VnniScratch> {
        let conv = Self::flat_of(shape)?;
        Some(VnniScratch {
            planes: (shape.groups - 1) * conv.channels * conv.plane_len + conv.planes_len(),
            weights: shape.c_out * conv.packed_len(),
            sums: shape.c_out / shape.groups * conv.row_len(),
        })
    }

    /// [`Conv2dInt8::forward`] on AVX-512 VNNI, for a stride-1 convolution:
    /// 1. the weights are packed into `weights` in quads of four taps, and the input copied
    ///    into `planes` plus 128 (the unsigned bytes `vpdpbusd` takes), its padding written
    ///    as the input zero point;
    /// 2. each group's sums come from [`vnni::conv_sums`], which takes the output positions
    ///    as one run of the flattened padded plane, sixteen to a register;
    /// 3. each output row's sums are requantized sixteen at a time, and the columns past the
    ///    output width dropped.
    ///
    /// The same bits as [`Conv2dInt8::forward`].
    ///
    /// # Panics
    /// As [`Conv2dInt8::forward`]; when [`vnni::available`] is false, the shape is not one
    /// [`Conv2dInt8::flat_of`] takes, a buffer is not [`Conv2dInt8::vnni_scratch_len_of`]
    /// long, or a zero point is not an int8.
    pub fn forward_vnni(
        &self,
        x: &[i8],
        y: &mut [i8],
        planes: &mut [u8],
        weights: &mut [i8],
        sums: &mut [i32],
    ) {
        let s = self.shape;
        self.check(x, y);
        let (ah, aw) = (&s.height, &s.width);
        let per_channel = ah.out * aw.out;
        self.vnni_channels(
            x,
            y,
            per_channel,
            (planes, weights, sums),
            |o, sums, y_o, row| {
                vnni::requantize_rows(
                    self.multipliers[o],
                    self.output_zero_point,
                    self.activation,
                    (sums, row),
                    y_o,
                    aw.out,
                );
            },
        );
    }

    /// [`Conv2dInt8::forward_vnni`] and then a 2 × 2 max pool at stride 2 (PyTorch's
    /// `MaxPool2d(2)`: an odd last row or column is dropped), in one pass: each output is the
    /// requantized maximum of four sums ([`vnni::requantize_pooled_rows`]), which is the
    /// maximum of the four requantized values when every multiplier
    /// [is monotone](super::Multiplier::is_monotone). `y` is `c_out × ⌊out rows / 2⌋ ×
    /// ⌊out columns / 2⌋` per sample. The same bits as [`Conv2dInt8::forward`] followed by
    /// [`max_pool_int8`](super::max_pool_int8).
    ///
    /// # Panics
    /// As [`Conv2dInt8::forward_vnni`], for `y` of the pooled size; when the output has fewer
    /// than two rows or columns, or a multiplier is not monotone.
    pub fn forward_vnni_pooled(
        &self,
        x: &[i8],
        y: &mut [i8],
        planes: &mut [u8],
        weights: &mut [i8],
        sums: &mut [i32],
    ) {
        let (rows, cols) = self.check_pooled(x, y);
        self.vnni_channels(
            x,
            y,
            rows * cols,
            (planes, weights, sums),
            |o, sums, y_o, row| {
                vnni::requantize_pooled_rows(
                    self.multipliers[o],
                    self.output_zero_point,
                    self.activation,
                    (sums, row),
                    y_o,
                    cols,
                );
            },
        );
    }

    /// The sums of [`Conv2dInt8::forward_vnni`], each channel's then handed to `requantize`
    /// with its output channel, row of sums, part of `y` (`per_channel` values) and the step
    /// between its rows of sums. `x` and `y` are checked by the caller.
    fn vnni_channels(
        &self,
        x: &[i8],
        y: &mut [i8],
        per_channel: usize,
        (planes, weights, sums): (&mut [u8], &mut [i8], &mut [i32]),
        requantize: impl FnMut(usize, &mut [i32], &mut [i8], usize),
    ) {
        let s = self.shape;
        let conv = Self::flat_of(s).expect("a stride-1 convolution");
        let lens = Self::vnni_scratch_len_of(s).expect("a stride-1 convolution");
        assert_eq!(
            (planes.len(), weights.len(), sums.len()),
            (lens.planes, lens.weights, lens.sums),
            "the scratch lengths"
        );
        let (group_out, taps) = (s.c_out / s.groups, conv.taps());
        for (weight, packed) in self
            .weight
            .chunks_exact(group_out * taps)
            .zip(weights.chunks_exact_mut(group_out * conv.packed_len()))
        {
            conv.pack(weight, packed);
        }
        let packed_len = conv.packed_len();
        let weights = &*weights;
        self.flat_samples(
            (&conv, x, y, per_channel),
            (planes, sums),
            |group_planes, channels, sums| {
                vnni::conv_sums(
                    &conv,
                    group_planes,
                    self.input_zero_point,
                    &weights[channels.start * packed_len..channels.end * packed_len],
                    &self.bias[channels],
                    sums,
                );
            },
            requantize,
        );
    }
}

impl Conv2dInt8<'_> {
    /// One sample's input planes into `planes`, as the flat kernels read them: each value plus
    /// 128 (`x ^ 0x80`), the padding and the slack past the planes the input zero point's.
    ///
    /// # Panics
    /// When the input zero point is not an int8.
    fn fill_planes(&self, x_b: &[i8], conv: &vnni::FlatConv, planes: &mut [u8]) {
        let (ah, aw) = (&self.shape.height, &self.shape.width);
        let zero_point =
            i8::try_from(self.input_zero_point).expect("the input zero point is an int8");
        let unsigned = |x: i8| x as u8 ^ 0x80;
        planes.fill(unsigned(zero_point));
        for (from, to) in x_b
            .chunks_exact(ah.size * aw.size)
            .zip(planes.chunks_exact_mut(conv.plane_len))
        {
            for (from, to) in from
                .chunks_exact(aw.size)
                .zip(to[ah.pad_before * conv.plane_width..].chunks_exact_mut(conv.plane_width))
            {
                for (to, &x) in to[aw.pad_before..][..aw.size].iter_mut().zip(from) {
                    *to = unsigned(x);
                }
            }
        }
    }

    /// The buffers [`Conv2dInt8::forward_pairs`] takes for `shape`, or `None` when it does not
    /// take the shape ([`Conv2dInt8::flat_of`]).
    pub fn pairs_scratch_len_of(shape: &ConvShape) -> Option<PairScratch> {
        let conv = Self::flat_of(shape)?;
        let group_out = shape.c_out / shape.groups;
        Some(PairScratch {
            planes: (shape.groups - 1) * conv.channels * conv.plane_len + conv.planes_len(),
            words: pairs::pair_plane_len(&conv)
                + shape.c_out * (pairs::pairs_per_channel(&conv) + 1)
                + group_out * conv.row_len(),
        })
    }

    /// [`Conv2dInt8::forward`] with AVX2, for a stride-1 convolution: the input planes of
    /// [`Conv2dInt8::forward_vnni`] made into planes of pairs ([`pairs::pair_plane`]), each
    /// group's sums from [`pairs::conv_sums`] (two taps per `vpmaddwd`, eight positions to a
    /// register), and each output row requantized eight at a time, the columns past the
    /// output width dropped. The same bits as [`Conv2dInt8::forward`].
    ///
    /// # Panics
    /// As [`Conv2dInt8::forward`]; when [`pairs::available`] is false, the shape is not one
    /// [`Conv2dInt8::flat_of`] takes, a buffer is not [`Conv2dInt8::pairs_scratch_len_of`]
    /// long, or a zero point is not an int8.
    pub fn forward_pairs(&self, x: &[i8], y: &mut [i8], planes: &mut [u8], words: &mut [i32]) {
        self.check(x, y);
        let (rows, cols) = (self.shape.height.out, self.shape.width.out);
        self.pair_channels(x, y, rows * cols, (planes, words), |o, sums, y_o, width| {
            let factor = self.factor(o);
            for (r, y_row) in y_o.chunks_exact_mut(cols).enumerate() {
                let row = &sums[r * width..][..cols];
                requantize_run(factor, self.output_zero_point, self.clamp(), row, y_row);
            }
        });
    }

    /// [`Conv2dInt8::forward_pairs`] and then a 2 × 2 max pool at stride 2, in one pass: each
    /// output is the requantized maximum of four sums, as in
    /// [`Conv2dInt8::forward_vnni_pooled`]. The same bits as [`Conv2dInt8::forward`] followed
    /// by [`max_pool_int8`](super::max_pool_int8).
    ///
    /// # Panics
    /// As [`Conv2dInt8::forward_pairs`], for `y` of the pooled size; when the output has fewer
    /// than two rows or columns, or a multiplier is not monotone.
    pub fn forward_pairs_pooled(
        &self,
        x: &[i8],
        y: &mut [i8],
        planes: &mut [u8],
        words: &mut [i32],
    ) {
        let (rows, cols) = self.check_pooled(x, y);
        self.pair_channels(x, y, rows * cols, (planes, words), |o, sums, y_o, width| {
            // Each window's largest sum, packed to the front of the row in place: output `k`
            // reads sums at `2k` and after, so no write reaches a sum still to be read.
            for r in 0..rows {
                for c in 0..cols {
                    let (top, bottom) = (2 * r * width + 2 * c, (2 * r + 1) * width + 2 * c);
                    let largest = sums[top].max(sums[top + 1]);
                    sums[r * cols + c] = largest.max(sums[bottom]).max(sums[bottom + 1]);
                }
            }
            let largest = &sums[..rows * cols];
            requantize_run(
                self.factor(o),
                self.output_zero_point,
                self.clamp(),
                largest,
                y_o,
            );
        });
    }

    /// Output channel `o`'s `(multiplier, shift)`.
    fn factor(&self, o: usize) -> (i32, i32) {
        let m = &self.multipliers[o];
        (m.multiplier, m.shift)
    }

    /// The activation's clamp, as [`requantize8`] takes it.
    fn clamp(&self) -> (i32, i32) {
        (i32::from(self.activation.0), i32::from(self.activation.1))
    }

    /// The sums of [`Conv2dInt8::forward_pairs`], each channel's then handed to `requantize`
    /// with its output channel, row of sums, part of `y` (`per_channel` values) and the step
    /// between its rows of sums. `x` and `y` are checked by the caller.
    fn pair_channels(
        &self,
        x: &[i8],
        y: &mut [i8],
        per_channel: usize,
        (planes, words): (&mut [u8], &mut [i32]),
        requantize: impl FnMut(usize, &mut [i32], &mut [i8], usize),
    ) {
        let s = self.shape;
        let conv = Self::flat_of(s).expect("a stride-1 convolution");
        let lens = Self::pairs_scratch_len_of(s).expect("a stride-1 convolution");
        assert_eq!(
            (planes.len(), words.len()),
            (lens.planes, lens.words),
            "the scratch lengths"
        );
        let per_pairs = pairs::pairs_per_channel(&conv);
        let (pair_plane, rest) = words.split_at_mut(pairs::pair_plane_len(&conv));
        let (packed, rest) = rest.split_at_mut(s.c_out * per_pairs);
        let (start, sums) = rest.split_at_mut(s.c_out);
        pairs::pack(
            &conv,
            self.weight,
            (self.bias, self.input_zero_point),
            packed,
            start,
        );
        let (packed, start) = (&*packed, &*start);
        self.flat_samples(
            (&conv, x, y, per_channel),
            (planes, sums),
            |group_planes, channels, sums| {
                pairs::pair_plane(&conv, group_planes, pair_plane);
                pairs::conv_sums(
                    &conv,
                    pair_plane,
                    &packed[channels.start * per_pairs..channels.end * per_pairs],
                    &start[channels],
                    sums,
                );
            },
            requantize,
        );
    }

    /// The loop of the flat kernels over samples and groups: each sample's planes filled
    /// ([`Conv2dInt8::fill_planes`]), each group's rows of sums (one `row_len()` per output
    /// channel) from `group_sums` (the group's planes onward, its output channels, the rows),
    /// and each channel's row then handed to `requantize` with its output channel, its part of
    /// `y` (`per_channel` values) and the step between its rows of sums.
    fn flat_samples(
        &self,
        (conv, x, y, per_channel): (&vnni::FlatConv, &[i8], &mut [i8], usize),
        (planes, sums): (&mut [u8], &mut [i32]),
        mut group_sums: impl FnMut(&[u8], core::ops::Range<usize>, &mut [i32]),
        mut requantize: impl FnMut(usize, &mut [i32], &mut [i8], usize),
    ) {
        let s = self.shape;
        let group_out = s.c_out / s.groups;
        for (x_b, y_b) in x
            .chunks_exact(s.input_len())
            .zip(y.chunks_exact_mut(s.c_out * per_channel))
        {
            self.fill_planes(x_b, conv, planes);
            for g in 0..s.groups {
                let channels = g * group_out..(g + 1) * group_out;
                group_sums(
                    &planes[g * conv.channels * conv.plane_len..],
                    channels.clone(),
                    sums,
                );
                for (o, sums) in channels.zip(sums.chunks_exact_mut(conv.row_len())) {
                    let y_o = &mut y_b[o * per_channel..][..per_channel];
                    requantize(o, sums, y_o, conv.plane_width);
                }
            }
        }
    }
}

/// The lengths of the two buffers [`Conv2dInt8::forward_pairs`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairScratch {
    /// `u8`: every input plane with its padding, plus 128, as for
    /// [`Conv2dInt8::forward_vnni`].
    pub planes: usize,
    /// `i32`: the plane of pairs, the packed weights and each channel's start, and one
    /// group's sums.
    pub words: usize,
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use super::super::Multiplier;
    use super::*;
    use crate::linalg::conv::ConvAxis;

    use crate::testing::int8_stream as bytes;

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
            // Stride 1, as the VNNI kernel takes: LeNet's two, "same" padding, groups, a
            // depthwise one, dilation, and a kernel wider than a quad.
            (
                1,
                6,
                1,
                axis(28, 5, 1, 1, (0, 0)),
                axis(28, 5, 1, 1, (0, 0)),
            ),
            (
                6,
                16,
                1,
                axis(12, 5, 1, 1, (0, 0)),
                axis(12, 5, 1, 1, (0, 0)),
            ),
            (4, 10, 2, axis(9, 3, 1, 1, (1, 1)), axis(9, 3, 1, 1, (1, 1))),
            (7, 7, 7, axis(6, 3, 1, 2, (2, 2)), axis(11, 3, 1, 3, (3, 3))),
            (3, 9, 1, axis(5, 2, 1, 1, (0, 1)), axis(15, 7, 1, 1, (3, 3))),
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
            let (scratch, padded) = conv.scratch_len();
            conv.forward_with(
                &x,
                &mut widened,
                &mut vec![0; scratch],
                &mut vec![0; padded],
            );
            assert_eq!(widened, reference, "{shape:?}");
            let (pairs, sums) = conv.gemm_scratch_len();
            let mut gemm = vec![0i8; 2 * shape.output_len()];
            conv.forward_gemm(&x, &mut gemm, &mut vec![0; pairs], &mut vec![0; sums]);
            assert_eq!(gemm, reference, "{shape:?}");
            // The conv and a 2 × 2 max pool after it, in one pass.
            let (rows, cols) = (shape.height.out / 2, shape.width.out / 2);
            let pooled_reference = (rows > 0 && cols > 0).then(|| {
                let pool = crate::linalg::pool::PoolShape::square(
                    shape.height.out,
                    shape.width.out,
                    2,
                    2,
                    0,
                );
                let mut pooled = vec![0i8; 2 * c_out * rows * cols];
                super::super::max_pool_int8(&pool, (i8::MIN, i8::MAX), &reference, &mut pooled);
                pooled
            });
            if let Some(pooled_reference) = &pooled_reference {
                let mut pooled = vec![0i8; pooled_reference.len()];
                conv.forward_with_pooled(
                    &x,
                    &mut pooled,
                    &mut vec![0; scratch],
                    &mut vec![0; padded],
                );
                assert_eq!(&pooled, pooled_reference, "{shape:?}, pooled");
            }
            if let Some(lens) = Conv2dInt8::vnni_scratch_len_of(&shape)
                && vnni::available()
            {
                let mut flat = vec![0i8; 2 * shape.output_len()];
                conv.forward_vnni(
                    &x,
                    &mut flat,
                    &mut vec![0; lens.planes],
                    &mut vec![0; lens.weights],
                    &mut vec![0; lens.sums],
                );
                assert_eq!(flat, reference, "{shape:?}");
                if let Some(pooled_reference) = &pooled_reference {
                    let mut pooled = vec![0i8; pooled_reference.len()];
                    conv.forward_vnni_pooled(
                        &x,
                        &mut pooled,
                        &mut vec![0; lens.planes],
                        &mut vec![0; lens.weights],
                        &mut vec![0; lens.sums],
                    );
                    assert_eq!(&pooled, pooled_reference, "{shape:?}, pooled on VNNI");
                }
            }
            if let Some(lens) = Conv2dInt8::pairs_scratch_len_of(&shape)
                && pairs::available()
            {
                let mut flat = vec![0i8; 2 * shape.output_len()];
                let (mut planes, mut words) = (vec![0; lens.planes], vec![0; lens.words]);
                conv.forward_pairs(&x, &mut flat, &mut planes, &mut words);
                assert_eq!(flat, reference, "{shape:?}, pairs");
                if let Some(pooled_reference) = &pooled_reference {
                    let mut pooled = vec![0i8; pooled_reference.len()];
                    conv.forward_pairs_pooled(&x, &mut pooled, &mut planes, &mut words);
                    assert_eq!(&pooled, pooled_reference, "{shape:?}, pooled by pairs");
                }
            }
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
        // Eleven samples: a whole eight and a remainder for the AVX2 form's requantization.
        let samples = 11;
        let x = bytes(samples * inputs, 9);
        let len = samples * outputs;
        let (mut reference, mut widened) = (vec![0i8; len], vec![0i8; len]);
        dense.forward(&x, &mut reference);
        dense.forward_with(&x, &mut widened, &mut vec![0i16; inputs]);
        assert_eq!(widened, reference);
        if vnni::available() {
            let mut flat = vec![0i8; len];
            dense.forward_vnni(&x, &mut flat, &mut vec![0; len]);
            assert_eq!(flat, reference);
        }
        if pairs::available() {
            let mut by_pairs = vec![0i8; len];
            let mut wide = vec![0; pairs::dense_widened_len(samples, inputs, outputs)];
            dense.forward_pairs(&x, &mut by_pairs, &mut wide, &mut vec![0; len]);
            assert_eq!(by_pairs, reference);
        }
    }
}
