//! int8 products with AVX-512 VNNI, for the host's int8 inference ([`crate::quant`]).
//!
//! `vpdpbusd` multiplies 64 unsigned bytes by 64 signed ones and adds each group of four
//! products into one of sixteen int32 lanes: 64 multiply-adds per instruction, four times an
//! f32 FMA of the same width, and exact (no intermediate saturation, unlike `vpmaddubsw`).
//! Activations are signed int8 with a zero point, so each is made unsigned by adding 128
//! (`x ^ 0x80`) and the sum corrected by one constant per output channel:
//! `Σ w·(x − zp) = Σ w·(x + 128) − (128 + zp)·Σ w`. The sums are the reference kernels'
//! integers (int32 addition wraps, so neither order nor grouping changes a bit).
//!
//! - [`conv_sums`]: a stride-1 convolution over its padded input planes. Its output positions
//!   are one run of the flattened plane ([`FlatConv`]; the columns past the output width are
//!   summed and dropped), sixteen to a register, and `vpermb` builds each register of quads
//!   (four taps of a kernel row for sixteen positions) from one load: no window is copied. A
//!   kernel's last columns go four kernel rows at a time (`vpermt2b` from two loads).
//! - [`dense_sums`]: a dense layer on whole samples, the inputs along the lanes, four samples
//!   by four outputs at a time, the correction summed once.
//! - [`requantize_rows`], [`requantize_channels`]: sixteen sums back to int8 at once;
//!   [`requantize_pooled_rows`] takes the 2 × 2 maxima of the sums first.
//!
//! Every function needs [`available`]; the callers fall back to the kernels of
//! [`super::int8`] without it.

// Elsewhere than x86-64 with `std` nothing here runs (`available` is false, and every entry
// asserts it), the kernels are not built, and a scalar branch's `return` ends its function.
#![cfg_attr(
    not(all(target_arch = "x86_64", feature = "std")),
    allow(dead_code, unused_variables, unused_mut, clippy::needless_return)
)]

use crate::quant::Multiplier;

/// Whether this CPU runs the kernels here: AVX-512 F, BW, VL, VNNI (`vpdpbusd`) and VBMI
/// (`vpermb`), as Intel since Ice Lake and AMD since Zen 4 have, and the environment does not
/// set `NN_NO_VNNI` (which makes the int8 inference take the AVX2 kernels instead, to measure
/// or test them on a CPU that has both). Read once.
pub fn available() -> bool {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    {
        static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVAILABLE.get_or_init(|| {
            std::env::var_os("NN_NO_VNNI").is_none()
                && std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512vnni")
                && std::is_x86_feature_detected!("avx512vbmi")
        })
    }
    #[cfg(not(all(target_arch = "x86_64", feature = "std")))]
    false
}

/// Sums per register: sixteen int32 lanes.
const LANES: usize = 16;
/// Output channels summed together, each against every register of positions.
const CHANNEL_BLOCK: usize = 8;
/// Registers of positions per pass: with eight channels, 24 accumulators of the 32 registers.
const POSITION_REGISTERS: usize = 3;

/// One group of a stride-1 convolution over its padded input planes, seen as runs of the
/// flattened plane: output `(r, c)` is flat position `r · plane_width + c`, the offset of its
/// window's first tap. Positions whose column is past the output width are summed too, and
/// dropped by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlatConv {
    /// Input channels of the group.
    pub channels: usize,
    /// The padded plane's width.
    pub plane_width: usize,
    /// The padded plane's length: its height times `plane_width`.
    pub plane_len: usize,
    /// The kernel's `(rows, columns)`.
    pub kernel: (usize, usize),
    /// The step between taps, `(rows, columns)`.
    pub dilation: (usize, usize),
    /// Output `(rows, columns)`.
    pub out: (usize, usize),
}

impl FlatConv {
    /// Taps of one output channel: `channels × kernel rows × kernel columns`.
    pub const fn taps(&self) -> usize {
        self.channels * self.kernel.0 * self.kernel.1
    }

    /// The flat positions from the first output to the last.
    pub const fn positions(&self) -> usize {
        (self.out.0 - 1) * self.plane_width + self.out.1
    }

    /// One channel's row of sums in [`conv_sums`]' output: the positions in whole registers.
    pub const fn row_len(&self) -> usize {
        self.positions().div_ceil(LANES) * LANES
    }

    /// The input values [`conv_sums`] reads: the planes, and past them what the last
    /// register of positions reaches from the last tap (two registers for a column quad).
    pub const fn planes_len(&self) -> usize {
        let last_tap = (self.channels - 1) * self.plane_len
            + (self.kernel.0 - 1) * self.dilation.0 * self.plane_width
            + (self.kernel.1 - 1) * self.dilation.1;
        let planes = self.channels * self.plane_len;
        let reach = last_tap + self.row_len() - LANES + 128;
        if reach > planes { reach } else { planes }
    }

    /// Whether [`conv_sums`] takes this shape: a nonempty kernel and output, and a column
    /// dilation that keeps a quad of sixteen positions inside one 64-byte load.
    pub const fn fits(&self) -> bool {
        self.channels > 0
            && self.kernel.0 > 0
            && self.kernel.1 > 0
            && self.out.0 > 0
            && self.out.1 > 0
            && self.dilation.0 > 0
            && self.dilation.1 > 0
            && self.dilation.1 <= 16
            && self.out.1 <= self.plane_width
    }

    /// How the columns past the last whole four of a kernel row are taken.
    const fn tail(&self) -> Tail {
        let (rows, cols) = self.kernel;
        let left = cols % 4;
        let row_step = self.dilation.0 * self.plane_width;
        // A column quad reaches three rows down from each of 16 positions: within one load,
        // or two (`vpermt2b`).
        let reach = 15 + 3 * row_step;
        if left == 0 {
            Tail::None
        } else if left * rows.div_ceil(4) < rows && reach < 128 {
            Tail::Columns {
                two_loads: reach >= 64,
            }
        } else {
            Tail::Rows
        }
    }

    /// Quads of one output channel, each a [`QUAD`] of its packed weights.
    pub const fn quads(&self) -> usize {
        let (rows, cols) = self.kernel;
        let tail = match self.tail() {
            Tail::None => 0,
            Tail::Rows => rows,
            Tail::Columns { .. } => cols % 4 * rows.div_ceil(4),
        };
        self.channels * (rows * (cols / 4) + tail)
    }

    /// Bytes of one output channel's packed weights: [`FlatConv::quads`] of four.
    pub const fn packed_len(&self) -> usize {
        QUAD * self.quads()
    }

    /// Every quad of one output channel, in the order of its packed weights: where its
    /// taps sit in the channel's weights (`None` past the kernel) and how its inputs load.
    #[inline(always)]
    fn for_each_quad(&self, mut visit: impl FnMut(Quad)) {
        let (rows, cols) = self.kernel;
        let (row_step, col_step) = (self.dilation.0 * self.plane_width, self.dilation.1);
        let tap = |ch: usize, r: usize, c: usize| (ch * rows + r) * cols + c;
        let whole = cols / 4 * 4;
        for ch in 0..self.channels {
            let plane = ch * self.plane_len;
            for r in 0..rows {
                for c in (0..whole).step_by(4) {
                    visit(Quad {
                        input: plane + r * row_step + c * col_step,
                        taps: core::array::from_fn(|j| Some(tap(ch, r, c + j))),
                        load: Load::Row,
                    });
                }
            }
            match self.tail() {
                Tail::None => {}
                Tail::Rows => {
                    for r in 0..rows {
                        visit(Quad {
                            input: plane + r * row_step + whole * col_step,
                            taps: core::array::from_fn(|j| {
                                (whole + j < cols).then(|| tap(ch, r, whole + j))
                            }),
                            load: Load::Row,
                        });
                    }
                }
                Tail::Columns { two_loads } => {
                    for c in whole..cols {
                        for r in (0..rows).step_by(4) {
                            visit(Quad {
                                input: plane + r * row_step + c * col_step,
                                taps: core::array::from_fn(|j| {
                                    (r + j < rows).then(|| tap(ch, r + j, c))
                                }),
                                load: Load::Column { two_loads },
                            });
                        }
                    }
                }
            }
        }
    }

    /// Output channels' weights (each [`FlatConv::taps`] long, in the float layer's order)
    /// as [`conv_sums`] reads them: each channel's quads, four bytes each, zero past the
    /// kernel.
    ///
    /// # Panics
    /// When `weight` is not whole channels, or `packed` not [`FlatConv::packed_len`] for
    /// each.
    pub fn pack(&self, weight: &[i8], packed: &mut [i8]) {
        let taps = self.taps();
        assert!(
            taps > 0 && weight.len().is_multiple_of(taps),
            "whole channels of taps"
        );
        assert_eq!(
            packed.len(),
            weight.len() / taps * self.packed_len(),
            "one row of quads per channel"
        );
        for (weight, packed) in weight
            .chunks_exact(taps)
            .zip(packed.chunks_exact_mut(self.packed_len()))
        {
            let mut quads = packed.chunks_exact_mut(QUAD);
            self.for_each_quad(|quad| {
                if let Some(out) = quads.next() {
                    for (out, tap) in out.iter_mut().zip(quad.taps) {
                        *out = tap.map_or(0, |t| weight[t]);
                    }
                }
            });
        }
    }
}

/// Taps per quad: four bytes, one `i32` lane of `vpdpbusd`.
pub const QUAD: usize = 4;

/// How a kernel's columns past its last whole four are summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// The kernel's width is a multiple of four.
    None,
    /// One quad per kernel row, its missing taps zero: a 5-wide kernel wastes three taps of
    /// eight.
    Rows,
    /// Each remaining column four kernel rows at a time: a 5 × 5 kernel takes 7 quads, not
    /// 10. The quad's taps are a plane row apart, so its inputs come from one load or two.
    Columns { two_loads: bool },
}

/// How a quad's sixteen positions load: four adjacent taps of a row, or four rows of one
/// column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    Row,
    Column { two_loads: bool },
}

/// One quad of a channel's taps: its first input's offset in the planes (from flat
/// position 0), the taps it holds, and how its inputs load.
#[derive(Debug, Clone, Copy)]
struct Quad {
    input: usize,
    taps: [Option<usize>; QUAD],
    load: Load,
}

/// For every output channel `o < bias.len()` and flat position `q` of `conv`:
/// `out[o · row_len + q] = bias[o] + Σ_taps w · (x − zero_point)`, wrapping, where the taps
/// of `o` are in `packed` ([`FlatConv::pack`], [`FlatConv::packed_len`] per channel) and
/// `x` is read from `planes`: the group's padded input planes, one after another, each value
/// stored plus 128 (`x ^ 0x80` as a byte), the unsigned form `vpdpbusd` takes. Positions from
/// `positions()` to `row_len()` get sums of whatever lies there.
///
/// # Panics
/// When [`available`] is false, `conv` does not [fit](FlatConv::fits), `planes` is shorter
/// than [`FlatConv::planes_len`], `packed` is not one channel's packed weights per bias,
/// `out` is not one row per channel, or `zero_point` is not an int8.
pub fn conv_sums(
    conv: &FlatConv,
    planes: &[u8],
    zero_point: i32,
    packed: &[i8],
    bias: &[i32],
    out: &mut [i32],
) {
    assert!(available(), "this CPU lacks AVX-512 VNNI and VBMI");
    assert!(
        conv.fits(),
        "a convolution the flat kernel does not take: {conv:?}"
    );
    assert!(planes.len() >= conv.planes_len(), "the planes run short");
    let (channels, row_len) = (bias.len(), conv.row_len());
    assert_eq!(
        packed.len(),
        channels * conv.packed_len(),
        "one row of quads per channel"
    );
    assert_eq!(out.len(), channels * row_len, "one row of sums per channel");
    assert!((-128..=127).contains(&zero_point), "an int8 zero point");
    let packed_len = conv.packed_len();
    for o in (0..channels).step_by(CHANNEL_BLOCK) {
        let count = CHANNEL_BLOCK.min(channels - o);
        let mut block = Block {
            conv,
            planes,
            weight: &packed[o * packed_len..(o + count) * packed_len],
            out: &mut out[o * row_len..(o + count) * row_len],
        };
        #[cfg(all(target_arch = "x86_64", feature = "std"))]
        // SAFETY: the CPU has AVX-512 F, BW, VNNI and VBMI (asserted); the lengths asserted
        // above are what `block` reads and writes (see `Block`), and the zero point is an
        // int8.
        unsafe {
            // The correction: each channel starts at bias − (128 + zp) · Σ w.
            let mut start = x86::weight_sums(block.weight, packed_len, zero_point);
            for (start, &bias) in start.iter_mut().zip(&bias[o..o + count]) {
                *start = bias.wrapping_sub(*start);
            }
            match count {
                1 => x86::block::<1>(&mut block, start),
                2 => x86::block::<2>(&mut block, start),
                3 => x86::block::<3>(&mut block, start),
                4 => x86::block::<4>(&mut block, start),
                5 => x86::block::<5>(&mut block, start),
                6 => x86::block::<6>(&mut block, start),
                7 => x86::block::<7>(&mut block, start),
                _ => x86::block::<8>(&mut block, start),
            }
        }
        #[cfg(not(all(target_arch = "x86_64", feature = "std")))]
        let _ = block;
    }
}

/// Up to [`CHANNEL_BLOCK`] output channels of [`conv_sums`]: `weight` is their packed
/// weights, `out` their rows of sums.
struct Block<'a> {
    conv: &'a FlatConv,
    planes: &'a [u8],
    weight: &'a [i8],
    out: &'a mut [i32],
}

/// A dense layer on whole samples: for every sample `r` and output `o < bias.len()`,
/// `out[r · outputs + o] = bias[o] + Σ_i weight[o · n + i] · (x[r · n + i] − zero_point)`,
/// wrapping, where `n` is the weight's row length. The correction of the unsigned inputs is
/// summed once for all the samples.
///
/// # Panics
/// When [`available`] is false, there are no outputs, `weight` is not whole rows of one per
/// output, `x` is not whole samples of its row length, `out` is not one sum per sample and
/// output, or `zero_point` is not an int8.
pub fn dense_sums(x: &[i8], zero_point: i32, weight: &[i8], bias: &[i32], out: &mut [i32]) {
    assert!(available(), "this CPU lacks AVX-512 VNNI and VBMI");
    let (samples, _, _) = dense_shape(x, zero_point, (weight, bias), out);
    if samples == 0 {
        return;
    }
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    // SAFETY: the CPU has AVX-512 F, BW, VNNI and VBMI, and the lengths are as asserted.
    unsafe {
        x86::dense(x, zero_point, weight, bias, out);
    }
}

/// The `(samples, inputs, outputs)` of a dense layer's sums over whole samples, checked: at
/// least one output, `weight` whole rows of one per output, `x` whole samples of its row
/// length, `out` one sum per sample and output, and an int8 `zero_point`.
///
/// # Panics
/// When one of those fails.
pub(crate) fn dense_shape(
    x: &[i8],
    zero_point: i32,
    (weight, bias): (&[i8], &[i32]),
    out: &[i32],
) -> (usize, usize, usize) {
    let outputs = bias.len();
    assert!(
        outputs > 0 && weight.len().is_multiple_of(outputs),
        "one weight row per output"
    );
    let inputs = weight.len() / outputs;
    assert!(
        inputs > 0 && x.len().is_multiple_of(inputs),
        "the input is not whole samples"
    );
    let samples = x.len() / inputs;
    assert_eq!(
        out.len(),
        samples * outputs,
        "one sum per sample and output"
    );
    assert!((-128..=127).contains(&zero_point), "an int8 zero point");
    (samples, inputs, outputs)
}

/// Rows of sums of one channel back to int8, sixteen at a time: row `r` of `out` (`width`
/// values) from `acc[r · stride ..][..width]`, by [`Multiplier::apply`] (TensorFlow Lite's
/// double rounding), plus `zero_point`, clamped to `(low, high)`. The same values as the
/// scalar form, which a multiplier of `i32::MIN` (whose high multiply saturates) takes.
///
/// # Panics
/// When [`available`] is false, `width` is 0 or does not divide `out`, `stride < width`,
/// `acc` does not reach the last row's end, or `zero_point` is not an int8.
pub fn requantize_rows(
    multiplier: Multiplier,
    zero_point: i32,
    (low, high): (i8, i8),
    (acc, stride): (&[i32], usize),
    out: &mut [i8],
    width: usize,
) {
    assert!(available(), "this CPU lacks AVX-512 VNNI and VBMI");
    assert!(
        width > 0 && out.len().is_multiple_of(width),
        "whole rows of {width}"
    );
    assert!(
        stride >= width,
        "rows of sums no shorter than rows of outputs"
    );
    let rows = out.len() / width;
    if rows > 0 {
        assert!(
            (rows - 1) * stride + width <= acc.len(),
            "the sums run short"
        );
    }
    assert!((-128..=127).contains(&zero_point), "an int8 zero point");
    if multiplier.multiplier == i32::MIN {
        for (r, out) in out.chunks_exact_mut(width).enumerate() {
            for (out, &a) in out.iter_mut().zip(&acc[r * stride..]) {
                *out = requantize_one(multiplier, zero_point, (low, high), a);
            }
        }
        return;
    }
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    // SAFETY: the CPU has AVX-512 F and BW; every row of sums is inside `acc` and every row of
    // outputs inside `out` (asserted), and the multiplier is not `i32::MIN`.
    unsafe {
        x86::requantize(
            Factors::Uniform(multiplier),
            zero_point,
            (i32::from(low), i32::from(high)),
            (acc, stride),
            out,
            width,
        );
    }
}

/// [`requantize_rows`] after a 2 × 2 max pool at stride 2: output row `r`, column `j` is the
/// requantized maximum of `acc[(2r + a) · stride + 2j + b]` for `a, b < 2`. That is the max
/// pool of the requantized values, bit for bit, because requantization by a multiplier that
/// [is monotone](Multiplier::is_monotone) never orders two sums the other way round (nor does
/// its clamp); four sums are then requantized once, not four times.
///
/// # Panics
/// When [`available`] is false, the multiplier is not monotone, `width` is 0 or does not
/// divide `out`, `stride < 2 · width`, `acc` does not reach the last row's end, or
/// `zero_point` is not an int8.
pub fn requantize_pooled_rows(
    multiplier: Multiplier,
    zero_point: i32,
    (low, high): (i8, i8),
    (acc, stride): (&[i32], usize),
    out: &mut [i8],
    width: usize,
) {
    assert!(available(), "this CPU lacks AVX-512 VNNI and VBMI");
    assert!(
        multiplier.is_monotone(),
        "a multiplier that may reorder sums: {multiplier:?}"
    );
    assert!(
        width > 0 && out.len().is_multiple_of(width),
        "whole rows of {width}"
    );
    assert!(
        stride >= 2 * width,
        "rows of sums no shorter than two windows each"
    );
    let rows = out.len() / width;
    if rows > 0 {
        assert!(
            (2 * rows - 1) * stride + 2 * width <= acc.len(),
            "the sums run short"
        );
    }
    assert!((-128..=127).contains(&zero_point), "an int8 zero point");
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    // SAFETY: the CPU has AVX-512 F, BW and VL; every pair of rows of sums is inside `acc`
    // and every row of outputs inside `out` (asserted); a monotone multiplier is not
    // `i32::MIN`.
    unsafe {
        x86::requantize_pooled(
            multiplier,
            zero_point,
            (i32::from(low), i32::from(high)),
            (acc, stride),
            out,
            width,
        );
    }
}

/// One row of sums back to int8 as [`requantize_rows`] does, with one multiplier per sum:
/// output `o` by `multipliers[o]`.
///
/// # Panics
/// When [`available`] is false, the lengths differ, or `zero_point` is not an int8.
pub fn requantize_channels(
    multipliers: &[Multiplier],
    zero_point: i32,
    (low, high): (i8, i8),
    acc: &[i32],
    out: &mut [i8],
) {
    assert!(available(), "this CPU lacks AVX-512 VNNI and VBMI");
    assert_eq!(acc.len(), out.len(), "one output per sum");
    assert_eq!(multipliers.len(), acc.len(), "one multiplier per sum");
    assert!((-128..=127).contains(&zero_point), "an int8 zero point");
    if multipliers.iter().any(|m| m.multiplier == i32::MIN) {
        for ((out, &a), &m) in out.iter_mut().zip(acc).zip(multipliers) {
            *out = requantize_one(m, zero_point, (low, high), a);
        }
        return;
    }
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    // SAFETY: as in `requantize_rows`; no multiplier is `i32::MIN` (checked).
    unsafe {
        x86::requantize(
            Factors::PerSum(multipliers),
            zero_point,
            (i32::from(low), i32::from(high)),
            (acc, acc.len()),
            out,
            acc.len().max(1),
        );
    }
}

/// The multipliers of a run of sums: one for all, or one each.
#[derive(Clone, Copy)]
enum Factors<'a> {
    Uniform(Multiplier),
    PerSum(&'a [Multiplier]),
}

/// One value of [`requantize_rows`], the scalar way.
fn requantize_one(m: Multiplier, zero_point: i32, (low, high): (i8, i8), acc: i32) -> i8 {
    zero_point
        .saturating_add(m.apply(acc))
        .clamp(i32::from(low), i32::from(high)) as i8
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
mod x86 {
    use core::arch::x86_64::*;

    use super::{Block, CHANNEL_BLOCK, Factors, LANES, Load, POSITION_REGISTERS, QUAD};
    use crate::quant::Multiplier;

    /// The lanes of a quad that hold taps of the kernel row, `valid` of four, in every
    /// group of four bytes: the others are zeroed, so that the weights read past the row's
    /// end multiply 0.
    const fn quad_mask(valid: usize) -> u64 {
        ((1u64 << valid) - 1) * 0x1111_1111_1111_1111
    }

    /// `(128 + zero_point) · Σ w` of each of the first (up to eight) rows of `taps` weights,
    /// with `vpdpbusd`: the correction of [`super::conv_sums`]' unsigned inputs.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW and VNNI; `weight` is at most eight rows of `taps`;
    /// `zero_point` is an int8.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn weight_sums(
        weight: &[i8],
        taps: usize,
        zero_point: i32,
    ) -> [i32; CHANNEL_BLOCK] {
        let offset = _mm512_set1_epi8((128 + zero_point) as u8 as i8);
        let mut sums = [0; CHANNEL_BLOCK];
        for (sum, row) in sums.iter_mut().zip(weight.chunks_exact(taps)) {
            let mut acc = _mm512_setzero_si512();
            for first in (0..taps).step_by(64) {
                let left = taps - first;
                let keep = if left >= 64 {
                    u64::MAX
                } else {
                    (1u64 << left) - 1
                };
                // SAFETY: the mask keeps the load to the row's taps from `first` on.
                let w = unsafe { _mm512_maskz_loadu_epi8(keep, row.as_ptr().add(first)) };
                acc = _mm512_dpbusd_epi32(acc, offset, w);
            }
            *sum = _mm512_reduce_add_epi32(acc);
        }
        sums
    }

    /// [`super::conv_sums`] for one block of `C` channels: every register of positions, three
    /// at a time, then one at a time.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW, VNNI and VBMI; `block.conv` fits; `block.planes` holds
    /// `planes_len()` values; `block.weight` is `C` channels' packed weights; `block.out` is
    /// `C` rows of `row_len()`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vbmi")]
    pub(super) unsafe fn block<const C: usize>(block: &mut Block<'_>, start: [i32; CHANNEL_BLOCK]) {
        const { assert!(C <= CHANNEL_BLOCK) };
        let conv = block.conv;
        // Byte 4p + j of a quad register is tap j of position p: for a row quad the input
        // p + j · (column dilation), for a column quad p + j · (row step).
        let index = |step: usize| {
            let mut index = [0u8; 64];
            for (i, index) in index.iter_mut().enumerate() {
                *index = ((i / 4 + i % 4 * step) % 128) as u8;
            }
            // SAFETY: `index` is 64 bytes; `loadu` takes any alignment.
            unsafe { _mm512_loadu_si512(index.as_ptr().cast()) }
        };
        let indices = Indices {
            row: index(conv.dilation.1),
            column: index(conv.dilation.0 * conv.plane_width),
        };
        let start: [i32; C] = core::array::from_fn(|c| start[c]);
        let registers = conv.row_len() / LANES;
        let whole = registers / POSITION_REGISTERS * POSITION_REGISTERS;
        for r in (0..whole).step_by(POSITION_REGISTERS) {
            // SAFETY: as the caller guarantees; `r` registers in, three more fit in a row.
            unsafe { tile::<C, POSITION_REGISTERS>(block, indices, start, r * LANES) };
        }
        for r in whole..registers {
            // SAFETY: as above, with one register.
            unsafe { tile::<C, 1>(block, indices, start, r * LANES) };
        }
    }

    /// The `vpermb` indices of the two kinds of quad.
    #[derive(Clone, Copy)]
    struct Indices {
        row: __m512i,
        column: __m512i,
    }

    /// `C` channels by `V` registers of positions from flat position `q0`: every quad of
    /// taps is built once from the input and multiplied by each channel's four weights.
    ///
    /// # Safety
    /// As [`block`], and `q0 + 16 · V <= row_len()`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vbmi")]
    unsafe fn tile<const C: usize, const V: usize>(
        block: &mut Block<'_>,
        indices: Indices,
        start: [i32; C],
        q0: usize,
    ) {
        let conv = block.conv;
        let packed_len = conv.packed_len();
        let mut acc = [[_mm512_setzero_si512(); V]; C];
        for (acc, &start) in acc.iter_mut().zip(&start) {
            *acc = [_mm512_set1_epi32(start); V];
        }
        let planes = block.planes.as_ptr();
        let weight = block.weight.as_ptr();
        let mut at = 0;
        conv.for_each_quad(|quad| {
            let keep = quad_mask(quad.taps.iter().filter(|t| t.is_some()).count());
            let from = quad.input + q0;
            let mut quads = [_mm512_setzero_si512(); V];
            for (v, quads) in quads.iter_mut().enumerate() {
                // SAFETY: `from + 16v + 127` is below `planes_len()` (the reach of the last
                // tap from the last register of a row, and two loads), which the caller
                // guarantees the planes hold.
                let load = |extra: usize| unsafe {
                    _mm512_loadu_si512(planes.add(from + LANES * v + extra).cast())
                };
                *quads = match quad.load {
                    Load::Row => _mm512_maskz_permutexvar_epi8(keep, indices.row, load(0)),
                    Load::Column { two_loads: false } => {
                        _mm512_maskz_permutexvar_epi8(keep, indices.column, load(0))
                    }
                    Load::Column { two_loads: true } => {
                        _mm512_maskz_permutex2var_epi8(keep, load(0), indices.column, load(64))
                    }
                };
            }
            for (c, acc) in acc.iter_mut().enumerate() {
                // SAFETY: quad `at` of channel `c` is inside the block's packed weights.
                let four = unsafe {
                    weight
                        .add(c * packed_len + at)
                        .cast::<i32>()
                        .read_unaligned()
                };
                let w = _mm512_set1_epi32(four);
                for (acc, &quads) in acc.iter_mut().zip(&quads) {
                    *acc = _mm512_dpbusd_epi32(*acc, quads, w);
                }
            }
            at += QUAD;
        });
        let row_len = conv.row_len();
        let out = block.out.as_mut_ptr();
        for (c, acc) in acc.iter().enumerate() {
            for (v, &acc) in acc.iter().enumerate() {
                // SAFETY: row `c` of `out` holds `row_len()` sums, and `q0 + 16(v + 1)` is
                // at most that (the caller's guarantee).
                unsafe { _mm512_storeu_si512(out.add(c * row_len + q0 + LANES * v).cast(), acc) };
            }
        }
    }

    /// The sums of four 16-lane registers, in the four lanes of one.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn sum4([a, b, c, d]: [__m512i; 4]) -> __m128i {
        // Within each 128-bit lane: pairs of a and b, of c and d, then one sum of each.
        let ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
        let cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
        let abcd = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
        // Then across the four 128-bit lanes.
        let half = _mm256_add_epi32(
            _mm512_castsi512_si256(abcd),
            _mm512_extracti64x4_epi64::<1>(abcd),
        );
        _mm_add_epi32(
            _mm256_castsi256_si128(half),
            _mm256_extracti128_si256::<1>(half),
        )
    }

    /// Σ w · inputs of weight rows `first..first + acc.len()` (each `n` long), in the lanes
    /// of `acc`; `inputs(k)` is chunk `k` (64 values) of the unsigned inputs.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW and VNNI; the rows are inside `weight`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn row_sums(
        weight: &[i8],
        n: usize,
        first: usize,
        acc: &mut [__m512i],
        inputs: impl Fn(usize) -> __m512i,
    ) {
        for k in 0..n.div_ceil(64) {
            let left = n - 64 * k;
            let keep = if left >= 64 {
                u64::MAX
            } else {
                (1u64 << left) - 1
            };
            let xs = inputs(k);
            for (r, acc) in acc.iter_mut().enumerate() {
                // SAFETY: row `first + r` is inside `weight` (the caller's guarantee), and the
                // mask keeps the load inside it; the lanes past it are zero, so the inputs
                // there multiply 0.
                let w = unsafe {
                    _mm512_maskz_loadu_epi8(keep, weight.as_ptr().add((first + r) * n + 64 * k))
                };
                *acc = _mm512_dpbusd_epi32(*acc, xs, w);
            }
        }
    }

    /// [`super::dense_sums`]: first each output's start, `bias − (128 + zp) · Σ w`, into the
    /// last sample's sums; then four samples by four outputs at a time, each register of
    /// inputs serving four outputs and each of weights four samples.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW, VNNI and VBMI; `bias` is not empty; `weight` is rows of
    /// `n > 0` values, one per output; `x` is `s > 0` samples of `n`; `out` is `s` rows of
    /// one per output; `zero_point` is an int8.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vbmi")]
    pub(super) unsafe fn dense(
        x: &[i8],
        zero_point: i32,
        weight: &[i8],
        bias: &[i32],
        out: &mut [i32],
    ) {
        let outputs = bias.len();
        let n = weight.len() / outputs;
        // (128 + zp) in every byte: its products with the weights are the correction.
        let offset = _mm512_set1_epi8((128 + zero_point) as u8 as i8);
        let (rest, last) = out.split_at_mut(out.len() - outputs);
        // The starts, in the last sample's row.
        let mut o = 0;
        while o < outputs {
            let rows = 4.min(outputs - o);
            let mut acc = [_mm512_setzero_si512(); 4];
            // SAFETY: rows `o..o + rows` are inside `weight` (the caller's guarantee).
            unsafe { row_sums(weight, n, o, &mut acc[..rows], |_| offset) };
            let mut lanes = [0i32; 4];
            // SAFETY: `lanes` is four `i32`s; `storeu` takes any alignment.
            unsafe { _mm_storeu_si128(lanes.as_mut_ptr().cast(), sum4(acc)) };
            for r in 0..rows {
                last[o + r] = bias[o + r].wrapping_sub(lanes[r]);
            }
            o += rows;
        }
        let samples = x.len() / n;
        // Four samples by four outputs: each register of weights serves four samples.
        let mut first = 0;
        while first < samples {
            let count = 4.min(samples - first);
            let mut o = 0;
            while o < outputs {
                let rows = 4.min(outputs - o);
                let mut acc = [[_mm512_setzero_si512(); 4]; 4];
                // SAFETY: samples `first..first + count` are inside `x` and rows
                // `o..o + rows` inside `weight` (the loops' bounds, the caller's lengths).
                unsafe { sample_sums(x, weight, n, (first, count), (o, rows), &mut acc) };
                // Read before the last sample's sums replace them.
                let starts: [i32; 4] =
                    core::array::from_fn(|r| if r < rows { last[o + r] } else { 0 });
                for (sample, acc) in (first..first + count).zip(acc) {
                    let mut lanes = [0i32; 4];
                    // SAFETY: `lanes` is four `i32`s; `storeu` takes any alignment.
                    unsafe { _mm_storeu_si128(lanes.as_mut_ptr().cast(), sum4(acc)) };
                    for r in 0..rows {
                        let sum = starts[r].wrapping_add(lanes[r]);
                        if sample + 1 < samples {
                            rest[sample * outputs + o + r] = sum;
                        } else {
                            last[o + r] = sum;
                        }
                    }
                }
                o += rows;
            }
            first += count;
        }
    }

    /// `Σ w · (x + 128)` of samples `first..first + count` (rows of `x`, `n` long) against
    /// weight rows `o..o + rows`, in the lanes of `acc[sample][row]`.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW and VNNI; `count` and `rows` are at most 4; the samples are
    /// inside `x` and the rows inside `weight`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn sample_sums(
        x: &[i8],
        weight: &[i8],
        n: usize,
        (first, count): (usize, usize),
        (o, rows): (usize, usize),
        acc: &mut [[__m512i; 4]; 4],
    ) {
        let flip = _mm512_set1_epi8(i8::MIN);
        for k in 0..n.div_ceil(64) {
            let left = n - 64 * k;
            let keep = if left >= 64 {
                u64::MAX
            } else {
                (1u64 << left) - 1
            };
            let mut xs = [_mm512_setzero_si512(); 4];
            for (s, xs) in xs.iter_mut().enumerate().take(count) {
                // SAFETY: the mask keeps the load to sample `first + s`'s inputs from `64k`
                // on; the lanes past them are zero (and meet zero weights).
                let raw = unsafe {
                    _mm512_maskz_loadu_epi8(keep, x.as_ptr().add((first + s) * n + 64 * k))
                };
                *xs = _mm512_xor_si512(raw, flip);
            }
            for r in 0..rows {
                // SAFETY: row `o + r` is inside `weight`, and the mask keeps the load inside
                // it; the lanes past it are zero, so the inputs there multiply 0.
                let w = unsafe {
                    _mm512_maskz_loadu_epi8(keep, weight.as_ptr().add((o + r) * n + 64 * k))
                };
                for (acc, &xs) in acc.iter_mut().zip(&xs).take(count) {
                    acc[r] = _mm512_dpbusd_epi32(acc[r], xs, w);
                }
            }
        }
    }

    /// The constants of a requantization, in registers.
    #[derive(Clone, Copy)]
    struct Requantizer {
        low_less: __m512i,
        high_less: __m512i,
        zero_point: __m512i,
        nudge: __m512i,
        one: __m512i,
        first_dwords: __m512i,
    }

    impl Requantizer {
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
        fn new(zero_point: i32, (low, high): (i32, i32)) -> Self {
            // zero_point + rounded, clamped: with an int8 zero point, clamping to the bounds
            // less the zero point before the add cannot overflow and is the saturating sum's
            // clamp.
            Self {
                low_less: _mm512_set1_epi32(low.saturating_sub(zero_point)),
                high_less: _mm512_set1_epi32(high.saturating_sub(zero_point)),
                zero_point: _mm512_set1_epi32(zero_point),
                nudge: _mm512_set1_epi64(1 << 30),
                one: _mm512_set1_epi32(1),
                // Dword 4i of a register to dword i.
                first_dwords: _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0),
            }
        }

        /// The mantissas and the two shifts of one multiplier in every lane.
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
        fn splat(m: Multiplier) -> [__m512i; 3] {
            [
                _mm512_set1_epi32(m.multiplier),
                _mm512_set1_epi32(m.shift.clamp(0, 31)),
                _mm512_set1_epi32((-m.shift).clamp(0, 31)),
            ]
        }

        /// Sixteen sums `x` to int8 by the lanes' multipliers `[mantissa, left, right]`.
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
        fn bytes(&self, x: __m512i, [m, left, right]: [__m512i; 3]) -> __m128i {
            let one = self.one;
            let x = _mm512_sllv_epi32(x, left);
            // The high multiply, floor((x·m + 2^30) / 2^31): 64-bit products of the even
            // lanes, then of the odd ones moved down; bits 31..62 of each sum are the result.
            let even = _mm512_mul_epi32(x, m);
            let even = _mm512_srli_epi64::<31>(_mm512_add_epi64(even, self.nudge));
            let odd = _mm512_mul_epi32(_mm512_srli_epi64::<32>(x), _mm512_srli_epi64::<32>(m));
            let odd = _mm512_srli_epi64::<31>(_mm512_add_epi64(odd, self.nudge));
            let product = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64::<32>(odd));
            // The rounding right shift: ties away from zero.
            let mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
            let remainder = _mm512_and_si512(product, mask);
            let negative = _mm512_srli_epi32::<31>(product);
            let threshold = _mm512_add_epi32(_mm512_srli_epi32::<1>(mask), negative);
            let shifted = _mm512_srav_epi32(product, right);
            let up = _mm512_cmpgt_epi32_mask(remainder, threshold);
            let rounded = _mm512_mask_add_epi32(shifted, up, shifted, one);
            let clamped = _mm512_max_epi32(rounded, self.low_less);
            let clamped = _mm512_min_epi32(clamped, self.high_less);
            let q = _mm512_add_epi32(clamped, self.zero_point);
            // The lanes as bytes, by saturating packs (the values are int8 already) and a
            // gather of the first four bytes of each 128-bit lane: written as a narrowing,
            // the compiler makes it a masked narrowing store (`vpmovdb`), which Zen 4 runs
            // slowly.
            let words = _mm512_packs_epi32(q, q);
            let packed = _mm512_packs_epi16(words, words);
            _mm512_castsi512_si128(_mm512_permutexvar_epi32(self.first_dwords, packed))
        }
    }

    /// [`super::requantize_rows`] and [`super::requantize_channels`]: row by row, sixteen
    /// lanes at a time, the last ones of a row masked. Per-sum factors index the columns.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW and VL; `width > 0`; every row of `width` sums from
    /// `r · stride` is inside `acc`, `out` is whole rows of `width`, and per-sum factors have
    /// `width`; no multiplier is `i32::MIN`; `zero_point` is an int8.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub(super) unsafe fn requantize(
        factors: Factors<'_>,
        zero_point: i32,
        clamp: (i32, i32),
        (acc, stride): (&[i32], usize),
        out: &mut [i8],
        width: usize,
    ) {
        let requantizer = Requantizer::new(zero_point, clamp);
        // The even and the odd `i32`s of two registers.
        let evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
        let odds = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
        let uniform = match factors {
            Factors::Uniform(m) => Some(Requantizer::splat(m)),
            Factors::PerSum(_) => None,
        };
        for (r, out_row) in out.chunks_exact_mut(width).enumerate() {
            let acc_row = &acc[r * stride..][..width];
            for first in (0..width).step_by(LANES) {
                let count = LANES.min(width - first);
                let keep = ((1u32 << count) - 1) as u16;
                let lanes = match (uniform, factors) {
                    (Some(lanes), _) => lanes,
                    (None, Factors::PerSum(multipliers)) => {
                        // `Multiplier` is two `i32`s, mantissa then shift (`repr(C)`): the
                        // lanes' pairs in two registers, split into evens and odds.
                        let pairs = multipliers[first..first + count].as_ptr().cast::<i32>();
                        let keep_low = ((1u32 << (2 * count).min(LANES)) - 1) as u16;
                        let keep_high = ((1u32 << (2 * count).saturating_sub(LANES)) - 1) as u16;
                        // SAFETY: the masks keep the loads to the `2 · count` `i32`s of the
                        // `count` multipliers from `first` on.
                        let (low, high) = unsafe {
                            (
                                _mm512_maskz_loadu_epi32(keep_low, pairs),
                                _mm512_maskz_loadu_epi32(keep_high, pairs.add(LANES)),
                            )
                        };
                        let mantissa = _mm512_permutex2var_epi32(low, evens, high);
                        let shift = _mm512_permutex2var_epi32(low, odds, high);
                        let zero = _mm512_setzero_si512();
                        let limit = _mm512_set1_epi32(31);
                        [
                            mantissa,
                            _mm512_min_epi32(_mm512_max_epi32(shift, zero), limit),
                            _mm512_min_epi32(
                                _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero),
                                limit,
                            ),
                        ]
                    }
                    (None, Factors::Uniform(m)) => Requantizer::splat(m),
                };
                // SAFETY: the mask keeps the load to the `count` sums from `first` on.
                let x = unsafe { _mm512_maskz_loadu_epi32(keep, acc_row.as_ptr().add(first)) };
                let bytes = requantizer.bytes(x, lanes);
                // SAFETY: the mask keeps the store to the `count` outputs from `first` on.
                unsafe { _mm_mask_storeu_epi8(out_row.as_mut_ptr().add(first), keep, bytes) };
            }
        }
    }

    /// [`super::requantize_pooled_rows`]: each pooled row from two rows of sums, sixteen
    /// maxima (32 sums of each row) at a time.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW and VL; `width > 0`; `out` is whole rows of `width`, and
    /// `2 · width` sums from `(2r + a) · stride` are inside `acc` for every row `r` and
    /// `a < 2`; the multiplier is not `i32::MIN`; `zero_point` is an int8.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub(super) unsafe fn requantize_pooled(
        multiplier: Multiplier,
        zero_point: i32,
        clamp: (i32, i32),
        (acc, stride): (&[i32], usize),
        out: &mut [i8],
        width: usize,
    ) {
        let requantizer = Requantizer::new(zero_point, clamp);
        let lanes = Requantizer::splat(multiplier);
        // The even and the odd sums of two registers.
        let evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
        let odds = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
        let iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        // The maxima wait in `pending` (its first `fill` lanes) until they fill a register, so
        // that rows narrower than sixteen share one requantization: the output is contiguous.
        let mut pending = _mm512_setzero_si512();
        let mut fill = 0;
        let mut written = 0;
        for r in 0..out.len() / width {
            let top = &acc[2 * r * stride..][..2 * width];
            let bottom = &acc[(2 * r + 1) * stride..][..2 * width];
            for first in (0..width).step_by(LANES) {
                let count = LANES.min(width - first);
                // The 2·count sums of each row, in two registers.
                let sums = 2 * count;
                let keep_low = ((1u32 << sums.min(LANES)) - 1) as u16;
                let keep_high = ((1u32 << sums.saturating_sub(LANES)) - 1) as u16;
                let load = |row: &[i32], keep: u16, at: usize| {
                    // SAFETY: the mask keeps the load to the sums of `row` from `at` on
                    // (`2 · width` of them from 0).
                    unsafe { _mm512_maskz_loadu_epi32(keep, row.as_ptr().add(at)) }
                };
                let low = _mm512_max_epi32(
                    load(top, keep_low, 2 * first),
                    load(bottom, keep_low, 2 * first),
                );
                let high = _mm512_max_epi32(
                    load(top, keep_high, 2 * first + LANES),
                    load(bottom, keep_high, 2 * first + LANES),
                );
                let maxima = _mm512_max_epi32(
                    _mm512_permutex2var_epi32(low, evens, high),
                    _mm512_permutex2var_epi32(low, odds, high),
                );
                // Lane i of `rotated` is maximum (i − fill) mod 16: lanes `fill..` continue
                // `pending`, and lanes `..fill` are what overflows into the next register.
                let rotated = _mm512_permutexvar_epi32(
                    _mm512_sub_epi32(iota, _mm512_set1_epi32(fill as i32)),
                    maxima,
                );
                let end = fill + count;
                let joins = (((1u32 << end.min(LANES)) - 1) & !((1u32 << fill) - 1)) as u16;
                pending = _mm512_mask_blend_epi32(joins, pending, rotated);
                if end >= LANES {
                    let bytes = requantizer.bytes(pending, lanes);
                    // SAFETY: sixteen outputs from `written` on: `written + 16` maxima have
                    // been taken, each of which has an output.
                    unsafe { _mm_storeu_si128(out.as_mut_ptr().add(written).cast(), bytes) };
                    written += LANES;
                    pending = rotated;
                    fill = end - LANES;
                } else {
                    fill = end;
                }
            }
        }
        if fill > 0 {
            let bytes = requantizer.bytes(pending, lanes);
            let keep = ((1u32 << fill) - 1) as u16;
            // SAFETY: the mask keeps the store to the last `fill` outputs.
            unsafe { _mm_mask_storeu_epi8(out.as_mut_ptr().add(written), keep, bytes) };
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;

    use crate::testing::int8_stream as bytes;

    /// Whether to run: the kernels need the CPU's VNNI and VBMI. Says so when skipping.
    fn here() -> bool {
        let here = available();
        if !here {
            std::eprintln!("skipped: this CPU lacks AVX-512 VNNI or VBMI");
        }
        here
    }

    #[test]
    fn flat_convolution_sums_are_the_reference_sums() {
        if !here() {
            return;
        }
        // (channels, plane rows, plane columns, kernel, dilation, output channels)
        let cases = [
            (1, 28, 28, (5, 5), (1, 1), 6),
            (6, 12, 12, (5, 5), (1, 1), 16),
            (3, 9, 7, (3, 3), (1, 1), 11),
            (2, 10, 13, (2, 4), (2, 3), 9),
            (4, 6, 20, (1, 9), (1, 2), 1),
            (1, 5, 5, (1, 1), (1, 1), 17),
            (2, 7, 40, (3, 1), (1, 16), 3),
            // Column quads two loads wide, over dilated rows; and over a 14-wide plane.
            (2, 16, 9, (7, 6), (2, 1), 5),
            (3, 14, 14, (7, 7), (1, 1), 4),
        ];
        let mut tails = Vec::new();
        for (i, (channels, rows, cols, kernel, dilation, outputs)) in cases.into_iter().enumerate()
        {
            let out = (
                rows - (kernel.0 - 1) * dilation.0,
                cols - (kernel.1 - 1) * dilation.1,
            );
            let conv = FlatConv {
                channels,
                plane_width: cols,
                plane_len: rows * cols,
                kernel,
                dilation,
                out,
            };
            assert!(conv.fits(), "{conv:?}");
            tails.push(conv.tail());
            let zero_point = [-128, -7, 0, 127][i % 4];
            let mut planes = bytes(conv.planes_len(), 3 + i as u64);
            // Extremes: the flip and the correction must hold at both ends.
            planes[0] = i8::MIN;
            planes[1] = i8::MAX;
            let unsigned: Vec<u8> = planes.iter().map(|&x| x as u8 ^ 0x80).collect();
            let taps = conv.taps();
            let mut weight = bytes(outputs * taps, 7 + i as u64);
            for w in &mut weight {
                *w = (*w).max(-127);
            }
            let bias: Vec<i32> = (0..outputs as i32).map(|o| 997 * o - 4000).collect();
            let row_len = conv.row_len();
            let mut sums = vec![0i32; outputs * row_len];
            let mut packed = vec![0i8; outputs * conv.packed_len()];
            conv.pack(&weight, &mut packed);
            conv_sums(&conv, &unsigned, zero_point, &packed, &bias, &mut sums);
            for o in 0..outputs {
                for r in 0..out.0 {
                    for c in 0..out.1 {
                        let q = r * cols + c;
                        let mut expected = bias[o];
                        for ch in 0..channels {
                            for kr in 0..kernel.0 {
                                for kc in 0..kernel.1 {
                                    let x = planes[ch * rows * cols
                                        + (r + kr * dilation.0) * cols
                                        + c
                                        + kc * dilation.1];
                                    let w = weight[o * taps + (ch * kernel.0 + kr) * kernel.1 + kc];
                                    expected = expected
                                        .wrapping_add(i32::from(w) * (i32::from(x) - zero_point));
                                }
                            }
                        }
                        assert_eq!(sums[o * row_len + q], expected, "case {i}, ({o}, {r}, {c})");
                    }
                }
            }
        }
        // Every way of taking a kernel's last columns ran.
        for tail in [
            Tail::None,
            Tail::Rows,
            Tail::Columns { two_loads: false },
            Tail::Columns { two_loads: true },
        ] {
            assert!(tails.contains(&tail), "no case with {tail:?}");
        }
    }

    #[test]
    fn dense_sums_are_the_reference_sums() {
        if !here() {
            return;
        }
        for (i, (inputs, outputs)) in [(256, 120), (37, 9), (64, 5), (1, 3), (130, 1), (70, 6)]
            .into_iter()
            .enumerate()
        {
            let zero_point = [-128, 12, 127][i % 3];
            let samples = [1, 3, 2, 5][i % 4];
            let mut x = bytes(samples * inputs, 11 + i as u64);
            x[0] = i8::MIN;
            let weight: Vec<i8> = bytes(inputs * outputs, 13 + i as u64)
                .into_iter()
                .map(|w| w.max(-127))
                .collect();
            let bias: Vec<i32> = (0..outputs as i32).map(|o| 31 * o - 500).collect();
            let mut sums = vec![0i32; samples * outputs];
            dense_sums(&x, zero_point, &weight, &bias, &mut sums);
            for (r, x) in x.chunks_exact(inputs).enumerate() {
                for o in 0..outputs {
                    let w = &weight[o * inputs..][..inputs];
                    let expected = x.iter().zip(w).fold(bias[o], |acc, (&x, &w)| {
                        acc.wrapping_add(i32::from(w) * (i32::from(x) - zero_point))
                    });
                    assert_eq!(sums[r * outputs + o], expected, "case {i}, ({r}, {o})");
                }
            }
        }
    }

    #[test]
    fn pooled_requantization_is_the_pool_of_the_requantized_sums() {
        if !here() {
            return;
        }
        // (pooled width, stride): a tail of 16, one register and a part, a row of one.
        for (width, stride) in [(12, 24), (20, 40), (3, 9), (1, 2), (16, 33)] {
            for (real, zero_point, clamp) in [
                (0.0002, -5, (-5, 127)),
                (0.7, 0, (i8::MIN, i8::MAX)),
                (3e-7, -100, (-128, 110)),
            ] {
                let m = Multiplier::from_real(real);
                assert!(m.is_monotone());
                // Sums that span the int8 range and a little past it once requantized.
                let span = (300.0 / real) as i64;
                let acc: Vec<i32> = (0..400i64)
                    .map(|i| ((i * 0x2468_ACE1 + 77) % (2 * span) - span) as i32)
                    .collect();
                let rows = (acc.len() - 2 * width) / stride / 2;
                let mut out = vec![0i8; rows * width];
                requantize_pooled_rows(m, zero_point, clamp, (&acc, stride), &mut out, width);
                for (i, &o) in out.iter().enumerate() {
                    let (r, j) = (i / width, i % width);
                    let window = [0, 1, stride, stride + 1]
                        .map(|d| acc[2 * r * stride + 2 * j + d])
                        .map(|a| requantize_one(m, zero_point, clamp, a));
                    let expected = window.into_iter().max().unwrap();
                    assert_eq!(o, expected, "width {width}, output {i}, real {real}");
                }
                assert!(
                    out.iter().any(|&o| o != out[0]),
                    "a constant output tests little: width {width}, real {real}, {out:?}"
                );
            }
        }
    }

    #[test]
    fn requantization_is_the_scalar_one_in_every_lane() {
        if !here() {
            return;
        }
        let acc: Vec<i32> = (0..37i64)
            .map(|i| (i * 0x2468_ACE1 % 0x7FFF_FFFF - 0x3FFF_FFFF) as i32)
            .chain([i32::MIN, i32::MAX, 0, -1, 1, 3, -3])
            .collect();
        let multipliers: Vec<Multiplier> = (0..acc.len())
            .map(|i| {
                Multiplier::from_real(
                    [0.0003, 0.71, 1.9, 3e-9, 0.5][i % 5] * (1.0 + i as f64 / 50.0),
                )
            })
            .collect();
        for (zero_point, clamp) in [
            (0, (i8::MIN, i8::MAX)),
            (-128, (-128, 127)),
            (17, (17, 100)),
        ] {
            let scalar = |m: Multiplier, a: i32| requantize_one(m, zero_point, clamp, a);
            let mut out = vec![0i8; acc.len()];
            requantize_channels(&multipliers, zero_point, clamp, &acc, &mut out);
            for (o, (&a, &m)) in acc.iter().zip(&multipliers).enumerate() {
                assert_eq!(out[o], scalar(m, a), "lane {o}, zero point {zero_point}");
            }
            // Rows of 7 and of 20 sums, 9 and 2 apart.
            for (&m, (width, gap)) in multipliers.iter().zip([(7, 9), (20, 2), (44, 0)]) {
                let rows = (acc.len() - width) / (width + gap) + 1;
                let mut out = vec![0i8; rows * width];
                requantize_rows(m, zero_point, clamp, (&acc, width + gap), &mut out, width);
                for (i, &o) in out.iter().enumerate() {
                    let a = acc[i / width * (width + gap) + i % width];
                    assert_eq!(o, scalar(m, a), "output {i}, zero point {zero_point}");
                }
            }
        }
    }
}
