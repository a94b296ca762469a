//! int8 products with AVX2, for the host's int8 inference on CPUs without AVX-512 VNNI
//! ([`crate::quant`]): the flat convolution of [`super::vnni`] two taps per product
//! ([`conv_sums`]), and dense layers on whole batches ([`dense_sums`]).
//!
//! `vpmaddwd` multiplies sixteen pairs of 16-bit values and adds each pair into one of eight
//! int32 lanes, exactly. The input planes are those of [`super::vnni::conv_sums`] (each value
//! plus 128, `x ^ 0x80`, so the same per-channel correction applies:
//! `Σ w·(x − zp) = Σ w·(x + 128) − (128 + zp)·Σ w`), made once into a plane of pairs: word
//! `i` holds input `i` and input `i + dilation` as two 16-bit halves. Then one unaligned load
//! gives eight positions the two inputs of a pair of horizontally adjacent taps, and a
//! broadcast word of two weights multiplies them: no window is copied, and each load serves
//! four output channels. A kernel row of odd width pairs its last tap with a zero weight.
//! A dense layer widens its inputs (less the zero point) and weights to 16 bits once and
//! takes sixteen inputs per `vpmaddwd`, two samples by four outputs at a time.
//!
//! Both need [`available`]; the callers fall back to the kernels of [`super::int8`] without
//! it.

// Elsewhere than x86-64 with `std` nothing here runs (`available` is false, and the entry
// asserts it).
#![cfg_attr(
    not(all(target_arch = "x86_64", feature = "std")),
    allow(dead_code, unused_variables, clippy::needless_return)
)]

use super::vnni::FlatConv;

/// Whether this CPU runs [`conv_sums`] and [`dense_sums`]: AVX2.
pub fn available() -> bool {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    return super::supports(super::InstructionSet::Avx2);
    #[cfg(not(all(target_arch = "x86_64", feature = "std")))]
    false
}

/// Positions per pass: two registers of eight int32 lanes.
const POSITIONS: usize = 16;
/// Output channels summed together, each against both registers of positions.
const CHANNEL_BLOCK: usize = 4;

/// Pairs of taps of one output channel: `channels × kernel rows × ⌈kernel columns / 2⌉`.
pub const fn pairs_per_channel(conv: &FlatConv) -> usize {
    conv.channels * conv.kernel.0 * conv.kernel.1.div_ceil(2)
}

/// The words [`pair_plane`] writes: every pair a tap of [`conv_sums`] reads, from flat
/// position 0 to the last register of positions past the last tap.
pub const fn pair_plane_len(conv: &FlatConv) -> usize {
    let last_pair = (conv.channels - 1) * conv.plane_len
        + (conv.kernel.0 - 1) * conv.dilation.0 * conv.plane_width
        + (conv.kernel.1 - 1) / 2 * 2 * conv.dilation.1;
    last_pair + conv.row_len()
}

/// Word `i` of `pairs` is `planes[i]` and `planes[i + dilation]` (the column dilation) as
/// two 16-bit halves, low first; a value past the end of `planes` is 0.
///
/// # Panics
/// When `pairs` is not [`pair_plane_len`] long.
pub fn pair_plane(conv: &FlatConv, planes: &[u8], pairs: &mut [i32]) {
    assert_eq!(pairs.len(), pair_plane_len(conv), "the plane of pairs");
    let step = conv.dilation.1;
    let value = |i: usize| i32::from(planes.get(i).copied().unwrap_or(0));
    let whole = planes.len().saturating_sub(step).min(pairs.len());
    for (i, pair) in pairs[..whole].iter_mut().enumerate() {
        *pair = i32::from(planes[i]) | i32::from(planes[i + step]) << 16;
    }
    for (i, pair) in pairs.iter_mut().enumerate().skip(whole) {
        *pair = value(i) | value(i + step) << 16;
    }
}

/// Each output channel's weights (`taps` of them, in the natural order: channel, kernel row,
/// kernel column) as pairs of a kernel row's adjacent taps, two 16-bit halves to a word (the
/// odd last tap of a row with 0), [`pairs_per_channel`] words per channel; and beside them
/// `start[o] = bias[o] − (128 + zero_point) · Σ w`, each channel's sum before its first
/// product.
///
/// # Panics
/// When the lengths disagree: `weight` is `bias.len()` channels of `taps`, `packed` as many
/// of [`pairs_per_channel`], `start` one per channel.
pub fn pack(
    conv: &FlatConv,
    weight: &[i8],
    (bias, zero_point): (&[i32], i32),
    packed: &mut [i32],
    start: &mut [i32],
) {
    let (taps, per_channel) = (conv.taps(), pairs_per_channel(conv));
    assert_eq!(
        weight.len(),
        bias.len() * taps,
        "one row of weights per channel"
    );
    assert_eq!(
        packed.len(),
        bias.len() * per_channel,
        "one row of pairs per channel"
    );
    assert_eq!(start.len(), bias.len(), "one start per channel");
    let columns = conv.kernel.1;
    let half = |w: i8| i32::from(w) & 0xFFFF;
    for (((w, out), start), &bias) in weight
        .chunks_exact(taps)
        .zip(packed.chunks_exact_mut(per_channel))
        .zip(start.iter_mut())
        .zip(bias)
    {
        let mut out = out.iter_mut();
        for row in w.chunks_exact(columns) {
            for pair in row.chunks(2) {
                let second = pair.get(1).copied().unwrap_or(0);
                if let Some(out) = out.next() {
                    *out = half(pair[0]) | i32::from(second) << 16;
                }
            }
        }
        let sum = w.iter().fold(0i32, |s, &w| s.wrapping_add(i32::from(w)));
        *start = bias.wrapping_sub((128 + zero_point).wrapping_mul(sum));
    }
}

/// For every output channel `o < start.len()` and flat position `q` of `conv`:
/// `out[o · row_len + q] = start[o] + Σ_taps w · (x + 128)`, wrapping, which with [`pack`]'s
/// `start` is `bias[o] + Σ w · (x − zero_point)`: [`super::vnni::conv_sums`]' sums. `pairs`
/// is [`pair_plane`] of the group's planes, `packed` [`pack`]'s words. Positions from
/// `positions()` to `row_len()` get sums of whatever lies there.
///
/// # Panics
/// When [`available`] is false, `conv` does not [fit](FlatConv::fits), or a length
/// disagrees: `pairs` is [`pair_plane_len`], `packed` [`pairs_per_channel`] per start, `out`
/// one `row_len()` per start.
pub fn conv_sums(conv: &FlatConv, pairs: &[i32], packed: &[i32], start: &[i32], out: &mut [i32]) {
    assert!(available(), "this CPU lacks AVX2");
    assert!(
        conv.fits(),
        "a convolution the flat kernel does not take: {conv:?}"
    );
    let (channels, row_len, per_channel) = (start.len(), conv.row_len(), pairs_per_channel(conv));
    assert_eq!(pairs.len(), pair_plane_len(conv), "the plane of pairs");
    assert_eq!(
        packed.len(),
        channels * per_channel,
        "one row of pairs per channel"
    );
    assert_eq!(out.len(), channels * row_len, "one row of sums per channel");
    for o in (0..channels).step_by(CHANNEL_BLOCK) {
        let count = CHANNEL_BLOCK.min(channels - o);
        let weight = &packed[o * per_channel..(o + count) * per_channel];
        let out = &mut out[o * row_len..(o + count) * row_len];
        #[cfg(all(target_arch = "x86_64", feature = "std"))]
        // SAFETY: the CPU has AVX2 (asserted). Every pair's offset is at most the last
        // pair's, so each load of sixteen words from `offset + p` (`p + 16 ≤ row_len`) ends
        // inside `pairs`, whose length is the last pair's offset plus `row_len` (asserted);
        // `weight` holds `count` rows of `per_channel` words and `out` `count` rows of
        // `row_len`.
        unsafe {
            let start = &start[o..o + count];
            match count {
                1 => x86::block::<1>(conv, pairs, weight, start, out),
                2 => x86::block::<2>(conv, pairs, weight, start, out),
                3 => x86::block::<3>(conv, pairs, weight, start, out),
                _ => x86::block::<4>(conv, pairs, weight, start, out),
            }
        }
        #[cfg(not(all(target_arch = "x86_64", feature = "std")))]
        let _ = (weight, out);
    }
}

/// The `i16`s [`dense_sums`] widens into: `samples` inputs and `outputs` weight rows of
/// `inputs` values, each row padded to a multiple of sixteen.
pub const fn dense_widened_len(samples: usize, inputs: usize, outputs: usize) -> usize {
    (samples + outputs) * inputs.div_ceil(16) * 16
}

/// A dense layer on whole samples: for every sample `r` and output `o < bias.len()`,
/// `out[r · outputs + o] = bias[o] + Σ_i weight[o · n + i] · (x[r · n + i] − zero_point)`,
/// wrapping, where `n` is the weight's row length: [`super::vnni::dense_sums`]' sums. The
/// inputs (less the zero point) and the weights are widened to 16 bits once into `widened`,
/// and two samples by four outputs are summed at a time, sixteen inputs per `vpmaddwd`.
///
/// # Panics
/// When [`available`] is false, there are no outputs, `weight` is not whole rows of one per
/// output, `x` is not whole samples of its row length, `out` is not one sum per sample and
/// output, `widened` is not [`dense_widened_len`] long, or `zero_point` is not an int8.
pub fn dense_sums(
    x: &[i8],
    zero_point: i32,
    (weight, bias): (&[i8], &[i32]),
    widened: &mut [i16],
    out: &mut [i32],
) {
    assert!(available(), "this CPU lacks AVX2");
    let (samples, inputs, outputs) = super::vnni::dense_shape(x, zero_point, (weight, bias), out);
    assert_eq!(
        widened.len(),
        dense_widened_len(samples, inputs, outputs),
        "the widened inputs and weights"
    );
    let row = inputs.div_ceil(16) * 16;
    let (wide_x, wide_w) = widened.split_at_mut(samples * row);
    for (to, from) in wide_x.chunks_exact_mut(row).zip(x.chunks_exact(inputs)) {
        for (to, &v) in to.iter_mut().zip(from) {
            *to = (i32::from(v) - zero_point) as i16;
        }
        to[inputs..].fill(0);
    }
    for (to, from) in wide_w
        .chunks_exact_mut(row)
        .zip(weight.chunks_exact(inputs))
    {
        for (to, &w) in to.iter_mut().zip(from) {
            *to = i16::from(w);
        }
        to[inputs..].fill(0);
    }
    let (wide_x, wide_w) = (&*wide_x, &*wide_w);
    for r in (0..samples).step_by(2) {
        let two = samples - r >= 2;
        for o in (0..outputs).step_by(CHANNEL_BLOCK) {
            let count = CHANNEL_BLOCK.min(outputs - o);
            let w = &wide_w[o * row..(o + count) * row];
            let x = &wide_x[r * row..(r + 1 + usize::from(two)) * row];
            #[cfg(all(target_arch = "x86_64", feature = "std"))]
            // SAFETY: the CPU has AVX2 (asserted); `x` is one or two rows and `w` `count`
            // rows of `row` values, a multiple of sixteen.
            let sums = unsafe {
                match count {
                    1 => x86::dense_tile::<1>(x, w, row),
                    2 => x86::dense_tile::<2>(x, w, row),
                    3 => x86::dense_tile::<3>(x, w, row),
                    _ => x86::dense_tile::<4>(x, w, row),
                }
            };
            #[cfg(not(all(target_arch = "x86_64", feature = "std")))]
            let sums = [[0; CHANNEL_BLOCK]; 2];
            for (k, sums) in sums.iter().enumerate().take(1 + usize::from(two)) {
                let out = &mut out[(r + k) * outputs + o..][..count];
                for ((out, &sum), &bias) in out.iter_mut().zip(sums).zip(&bias[o..o + count]) {
                    *out = bias.wrapping_add(sum);
                }
            }
        }
    }
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
mod x86 {
    use core::arch::x86_64::*;

    use super::{CHANNEL_BLOCK, FlatConv, POSITIONS};

    /// The sums of one or two widened samples (`x`, whole rows of `row`) against `C` widened
    /// weight rows (`w`): `[sample][output]`, the outputs past `C`, and the second sample's
    /// when `x` is one row, 0.
    ///
    /// # Safety
    /// The CPU has AVX2; `x` is one or two rows and `w` `C` rows of `row` values, a multiple
    /// of sixteen.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dense_tile<const C: usize>(
        x: &[i16],
        w: &[i16],
        row: usize,
    ) -> [[i32; CHANNEL_BLOCK]; 2] {
        let two = x.len() >= 2 * row;
        let mut acc = [[_mm256_setzero_si256(); C]; 2];
        for k in (0..row).step_by(16) {
            // SAFETY: `k + 16 ≤ row`, so every load ends inside its row (the caller's
            // contract); `loadu` takes any alignment.
            unsafe {
                let x0 = _mm256_loadu_si256(x.as_ptr().add(k).cast());
                let x1 = if two {
                    _mm256_loadu_si256(x.as_ptr().add(row + k).cast())
                } else {
                    _mm256_setzero_si256()
                };
                let [first, second] = &mut acc;
                for (c, (a0, a1)) in first.iter_mut().zip(second.iter_mut()).enumerate() {
                    let wc = _mm256_loadu_si256(w.as_ptr().add(c * row + k).cast());
                    *a0 = _mm256_add_epi32(*a0, _mm256_madd_epi16(x0, wc));
                    *a1 = _mm256_add_epi32(*a1, _mm256_madd_epi16(x1, wc));
                }
            }
        }
        let mut sums = [[0; CHANNEL_BLOCK]; 2];
        for (sums, acc) in sums.iter_mut().zip(acc) {
            for (sum, v) in sums.iter_mut().zip(acc) {
                *sum = sum8(v);
            }
        }
        sums
    }

    /// The sum of eight int32 lanes, wrapping.
    #[target_feature(enable = "avx2")]
    fn sum8(v: __m256i) -> i32 {
        let four = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        let two = _mm_add_epi32(four, _mm_shuffle_epi32::<0b01_00_11_10>(four));
        let one = _mm_add_epi32(two, _mm_shuffle_epi32::<0b10_11_00_01>(two));
        _mm_cvtsi128_si32(one)
    }

    /// `C` output channels of [`super::conv_sums`] over every position, sixteen at a time:
    /// for each pair of taps, two loads of eight positions' pairs, and per channel a broadcast
    /// word of two weights and two `vpmaddwd`.
    ///
    /// # Safety
    /// The CPU has AVX2; `weight` is `C` rows of [`super::pairs_per_channel`] words, `start`
    /// `C` values, `out` `C` rows of `conv.row_len()`; `pairs` is
    /// [`super::pair_plane_len`] long.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn block<const C: usize>(
        conv: &FlatConv,
        pairs: &[i32],
        weight: &[i32],
        start: &[i32],
        out: &mut [i32],
    ) {
        let (row_len, per_channel) = (conv.row_len(), super::pairs_per_channel(conv));
        let (column_pairs, row_step) = (
            conv.kernel.1.div_ceil(2),
            conv.dilation.0 * conv.plane_width,
        );
        for p in (0..row_len).step_by(POSITIONS) {
            let mut acc: [[__m256i; 2]; C] =
                core::array::from_fn(|c| [_mm256_set1_epi32(start[c]); 2]);
            let mut j = 0;
            for channel in 0..conv.channels {
                for kh in 0..conv.kernel.0 {
                    let row = channel * conv.plane_len + kh * row_step + p;
                    for kp in 0..column_pairs {
                        // SAFETY: the pair's offset is at most the last pair's, and `p + 16 ≤
                        // row_len`, so both loads end inside `pairs` (the caller's contract);
                        // `loadu` takes any alignment.
                        let (low, high) = unsafe {
                            let at = pairs.as_ptr().add(row + 2 * kp * conv.dilation.1);
                            (
                                _mm256_loadu_si256(at.cast()),
                                _mm256_loadu_si256(at.add(8).cast()),
                            )
                        };
                        for (c, acc) in acc.iter_mut().enumerate() {
                            let w = _mm256_set1_epi32(weight[c * per_channel + j]);
                            acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(low, w));
                            acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(high, w));
                        }
                        j += 1;
                    }
                }
            }
            for (c, acc) in acc.iter().enumerate() {
                let row = &mut out[c * row_len + p..][..POSITIONS];
                // SAFETY: `row` is sixteen `i32`s; `storeu` takes any alignment.
                unsafe {
                    _mm256_storeu_si256(row.as_mut_ptr().cast(), acc[0]);
                    _mm256_storeu_si256(row.as_mut_ptr().add(8).cast(), acc[1]);
                }
            }
        }
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use alloc::vec;

    use super::*;
    use crate::testing::int8_stream as bytes;

    /// The sums from their definition: `bias + Σ w · (x − zero_point)` over each channel's
    /// taps, reading the planes as stored (plus 128).
    fn reference(
        conv: &FlatConv,
        planes: &[u8],
        zp: i32,
        weight: &[i8],
        bias: &[i32],
    ) -> vec::Vec<i32> {
        let (taps, row_len) = (conv.taps(), conv.row_len());
        let mut out = vec![0; bias.len() * row_len];
        for (o, &b) in bias.iter().enumerate() {
            for q in 0..conv.positions() {
                let mut acc = b;
                for c in 0..conv.channels {
                    for kh in 0..conv.kernel.0 {
                        for kw in 0..conv.kernel.1 {
                            let at = c * conv.plane_len
                                + kh * conv.dilation.0 * conv.plane_width
                                + kw * conv.dilation.1
                                + q;
                            let x = i32::from(planes[at] ^ 0x80) as i8;
                            let w =
                                weight[o * taps + (c * conv.kernel.0 + kh) * conv.kernel.1 + kw];
                            acc = acc.wrapping_add(i32::from(w) * (i32::from(x) - zp));
                        }
                    }
                }
                out[o * row_len + q] = acc;
            }
        }
        out
    }

    #[test]
    fn sums_are_the_reference_sums() {
        if !available() {
            return; // nothing to run this kernel on: the callers fall back
        }
        // (channels, plane (rows, width), kernel, dilation, out, output channels)
        let shapes = [
            (1, (28, 28), (5, 5), (1, 1), (24, 24), 6),
            (6, (12, 12), (5, 5), (1, 1), (8, 8), 16),
            (3, (9, 11), (3, 4), (1, 1), (7, 8), 5),
            (2, (10, 10), (3, 3), (2, 3), (6, 4), 3),
            (4, (6, 6), (1, 1), (1, 1), (6, 6), 9),
            (2, (7, 9), (2, 7), (1, 1), (6, 3), 2),
        ];
        for (k, &(channels, (rows, width), kernel, dilation, out, c_out)) in
            shapes.iter().enumerate()
        {
            let conv = FlatConv {
                channels,
                plane_width: width,
                plane_len: rows * width,
                kernel,
                dilation,
                out,
            };
            assert!(conv.fits(), "{conv:?}");
            let planes: vec::Vec<u8> = bytes(conv.planes_len(), k as u64)
                .iter()
                .map(|&x| x as u8 ^ 0x80)
                .collect();
            let weight: vec::Vec<i8> = bytes(c_out * conv.taps(), k as u64 + 50)
                .iter()
                .map(|&w| w.max(-127))
                .collect();
            let bias: vec::Vec<i32> = (0..c_out as i32).map(|o| o * 1000 - 2500).collect();
            let zp = -7 + k as i32;
            let mut pairs = vec![0; pair_plane_len(&conv)];
            pair_plane(&conv, &planes, &mut pairs);
            let (mut packed, mut start) =
                (vec![0; c_out * pairs_per_channel(&conv)], vec![0; c_out]);
            pack(&conv, &weight, (&bias, zp), &mut packed, &mut start);
            let mut sums = vec![0; c_out * conv.row_len()];
            conv_sums(&conv, &pairs, &packed, &start, &mut sums);
            let want = reference(&conv, &planes, zp, &weight, &bias);
            for o in 0..c_out {
                let row = o * conv.row_len();
                assert_eq!(
                    &sums[row..row + conv.positions()],
                    &want[row..row + conv.positions()],
                    "shape {k}, channel {o}"
                );
            }
        }
    }

    #[test]
    fn dense_sums_are_the_definition() {
        if !available() {
            return;
        }
        for (samples, inputs, outputs, zp) in [
            (1, 1, 1, 0),
            (5, 37, 9, -3),
            (4, 16, 4, 127),
            (3, 256, 7, -128),
        ] {
            let x = bytes(samples * inputs, 7);
            let weight: vec::Vec<i8> = bytes(inputs * outputs, 8)
                .iter()
                .map(|&w| w.max(-127))
                .collect();
            let bias: vec::Vec<i32> = (0..outputs as i32).map(|o| 77 * o - 300).collect();
            let mut widened = vec![0; dense_widened_len(samples, inputs, outputs)];
            let mut sums = vec![0; samples * outputs];
            dense_sums(&x, zp, (&weight, &bias), &mut widened, &mut sums);
            for r in 0..samples {
                for o in 0..outputs {
                    let want = (0..inputs).fold(bias[o], |acc, i| {
                        let product =
                            i32::from(weight[o * inputs + i]) * (i32::from(x[r * inputs + i]) - zp);
                        acc.wrapping_add(product)
                    });
                    assert_eq!(
                        sums[r * outputs + o],
                        want,
                        "{samples}x{inputs}->{outputs}: {r}, {o}"
                    );
                }
            }
        }
    }
}
