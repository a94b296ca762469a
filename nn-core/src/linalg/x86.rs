//! AVX-512 and AVX2 registers for the kernels, and the `#[target_feature]` entry points that
//! instantiate the kernels with them.

use core::arch::x86_64::*;

use super::kernels::{self, Gemm};
use super::simd::Simd;

/// Sixteen lanes in a `zmm` register (AVX-512F).
pub(super) struct Avx512;

impl Simd for Avx512 {
    const LANES: usize = 16;
    type V = __m512;

    #[inline(always)]
    unsafe fn zero() -> __m512 {
        // SAFETY (all methods of this impl): the caller guarantees AVX-512F is available, which
        // is all these intrinsics need; pointer contracts are the trait's.
        unsafe { _mm512_setzero_ps() }
    }

    #[inline(always)]
    unsafe fn splat(x: f32) -> __m512 {
        unsafe { _mm512_set1_ps(x) }
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        unsafe { _mm512_loadu_ps(p) }
    }

    #[inline(always)]
    unsafe fn load_first(p: *const f32, count: usize) -> __m512 {
        // Masked-off lanes are not read and cannot fault.
        unsafe { _mm512_maskz_loadu_ps(lane_mask(count), p) }
    }

    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        unsafe { _mm512_storeu_ps(p, v) }
    }

    #[inline(always)]
    unsafe fn store_first(p: *mut f32, v: __m512, count: usize) {
        unsafe { _mm512_mask_storeu_ps(p, lane_mask(count), v) }
    }

    #[inline(always)]
    unsafe fn mul_add(a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }

    #[inline(always)]
    unsafe fn mul(a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mul_ps(a, b) }
    }

    #[inline(always)]
    unsafe fn sum(v: __m512) -> f32 {
        unsafe { _mm512_reduce_add_ps(v) }
    }
}

/// The mask selecting lanes `0..count` of sixteen.
#[inline(always)]
fn lane_mask(count: usize) -> __mmask16 {
    debug_assert!(count <= 16);
    ((1u32 << count) - 1) as __mmask16
}

/// Eight lanes in a `ymm` register (AVX2 with FMA).
pub(super) struct Avx2;

impl Avx2 {
    /// Lane `i` is all ones when `i < count`: the mask `vmaskmovps` wants.
    #[inline(always)]
    unsafe fn lane_mask(count: usize) -> __m256i {
        // SAFETY: AVX2 is available (the caller's contract).
        unsafe {
            _mm256_cmpgt_epi32(
                _mm256_set1_epi32(count as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            )
        }
    }
}

impl Simd for Avx2 {
    const LANES: usize = 8;
    type V = __m256;

    #[inline(always)]
    unsafe fn zero() -> __m256 {
        // SAFETY (all methods of this impl): the caller guarantees AVX2 and FMA are available,
        // which is all these intrinsics need; pointer contracts are the trait's.
        unsafe { _mm256_setzero_ps() }
    }

    #[inline(always)]
    unsafe fn splat(x: f32) -> __m256 {
        unsafe { _mm256_set1_ps(x) }
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        unsafe { _mm256_loadu_ps(p) }
    }

    #[inline(always)]
    unsafe fn load_first(p: *const f32, count: usize) -> __m256 {
        // Masked-off lanes are not read and cannot fault.
        unsafe { _mm256_maskload_ps(p, Self::lane_mask(count)) }
    }

    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m256) {
        unsafe { _mm256_storeu_ps(p, v) }
    }

    #[inline(always)]
    unsafe fn store_first(p: *mut f32, v: __m256, count: usize) {
        unsafe { _mm256_maskstore_ps(p, Self::lane_mask(count), v) }
    }

    #[inline(always)]
    unsafe fn mul_add(a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }

    #[inline(always)]
    unsafe fn mul(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_mul_ps(a, b) }
    }

    #[inline(always)]
    unsafe fn sum(v: __m256) -> f32 {
        unsafe {
            let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
            _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps::<0b01>(pair, pair)))
        }
    }
}

/// Runs `gemm` with 16-lane registers. Tiles: 8 × 32 for the broadcast kernel (16 accumulators
/// of the 32 `zmm` registers; 16 × 16 for a product 16 wide), 4 × 4 dot products for the dot
/// kernel.
///
/// # Safety
/// The CPU supports AVX-512F, and `gemm`'s operands satisfy [`Gemm`]'s invariants.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemm_avx512(gemm: &mut Gemm<'_>) {
    // A single-row product, not a one-row band of a larger one: the tree of shuffles sums in
    // another order than the dot tiles, and the bands must give the whole product's bits.
    if gemm.whole_m == 1 && gemm.kernel() == kernels::Kernel::Dot {
        // SAFETY: forwarded from this function's contract; the layout is the one it needs.
        return unsafe { gemv_avx512(gemm) };
    }
    // SAFETY: forwarded from this function's contract.
    unsafe { kernels::run::<Avx512, 8, 16, 4, 4, 8>(gemm) }
}

/// Runs a product by a [`super::pack`]ed `b` with 16-lane registers, in 8-row tiles.
///
/// # Safety
/// The CPU supports AVX-512F, and `gemm` satisfies [`kernels::broadcast_prepacked`]'s contract
/// for [`Avx512`].
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemm_prepacked_avx512(gemm: &mut Gemm<'_>) {
    // SAFETY: forwarded from this function's contract.
    unsafe { kernels::broadcast_prepacked::<Avx512, 8>(gemm) }
}

/// Runs a product by a [`super::pack`]ed `b` with 8-lane registers, in 6-row tiles.
///
/// # Safety
/// The CPU supports AVX2 and FMA, and `gemm` satisfies [`kernels::broadcast_prepacked`]'s
/// contract for [`Avx2`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemm_prepacked_avx2(gemm: &mut Gemm<'_>) {
    // SAFETY: forwarded from this function's contract.
    unsafe { kernels::broadcast_prepacked::<Avx2, 6>(gemm) }
}

/// `c = alpha · a · bᵀ + beta · c` for a single row `a` (`1 × k`) and `b` stored as `n` rows of
/// `k` contiguous values: a matrix-vector product, such as a batch-1 recurrent step's
/// `h · W_hhᵀ`. Sixteen rows of `b` at a time are dotted with `a`, one register of partial sums
/// each, and the sixteen registers are then summed across lanes together by a transposing
/// tree of shuffles (45 instructions for sixteen sums, where one `reduce_add` each takes
/// about eight), ending in one vector of the sixteen outputs.
///
/// # Safety
/// The CPU supports AVX-512F; `gemm` satisfies [`Gemm`]'s invariants with `m == 1`,
/// `a_col_stride == 1` and `b_row_stride == 1`.
#[inline(always)]
unsafe fn gemv_avx512(gemm: &mut Gemm<'_>) {
    const ROWS: usize = 16;
    const HALF: usize = ROWS / 2;
    let (n, k) = (gemm.n, gemm.k);
    let (a, b, c) = (gemm.a.as_ptr(), gemm.b.as_ptr(), gemm.c.as_mut_ptr());
    let (full_steps, tail) = (k / 16, k % 16);
    for col in (0..n).step_by(ROWS) {
        let cols = ROWS.min(n - col);
        // Rows past the edge re-read the last valid one; their sums are never stored.
        let rows: [*const f32; ROWS] = core::array::from_fn(|q| {
            // SAFETY: column `col + min(q, cols - 1) < n` of `op(b)` starts a run of `k` values.
            unsafe { b.add((col + q.min(cols - 1)) * gemm.b_col_stride) }
        });
        // SAFETY: AVX-512F is available (the caller's contract). `a` and every `rows[q]` hold
        // `k` contiguous values, of which the loads read `full_steps · 16 + tail = k`; the
        // store writes `c[col..col + cols]`, inside `c` (`m == 1`, `c.len() == n`).
        unsafe {
            let mut acc = [_mm512_setzero_ps(); ROWS];
            // Two passes of eight rows: sixteen row pointers would not fit in the general
            // registers beside the loop's own, and reloading them from the stack cost a tenth.
            for half in 0..2 {
                let rows = &rows[half * HALF..][..HALF];
                let acc = &mut acc[half * HALF..][..HALF];
                for step in 0..full_steps {
                    let x = _mm512_loadu_ps(a.add(step * 16));
                    for q in 0..HALF {
                        let w = _mm512_loadu_ps(rows[q].add(step * 16));
                        acc[q] = _mm512_fmadd_ps(x, w, acc[q]);
                    }
                }
                if tail > 0 {
                    let offset = full_steps * 16;
                    let mask = lane_mask(tail);
                    let x = _mm512_maskz_loadu_ps(mask, a.add(offset));
                    for q in 0..HALF {
                        let w = _mm512_maskz_loadu_ps(mask, rows[q].add(offset));
                        acc[q] = _mm512_fmadd_ps(x, w, acc[q]);
                    }
                }
            }
            let mut sums = transpose_sum16(&acc);
            sums = _mm512_mul_ps(_mm512_set1_ps(gemm.alpha), sums);
            let mask = lane_mask(cols);
            let out = c.add(col);
            // beta == 0 ignores `c`, so stale NaNs in it cannot leak through.
            if gemm.beta != 0.0 {
                let from = gemm
                    .c_start
                    .map_or(out.cast_const(), |start| start[col..].as_ptr());
                let old = _mm512_maskz_loadu_ps(mask, from);
                sums = _mm512_fmadd_ps(_mm512_set1_ps(gemm.beta), old, sums);
            }
            _mm512_mask_storeu_ps(out, mask, sums);
        }
    }
}

/// `c += a · bᵀ` for a single row `a` (`k` values) and `b` (`n × k`) as
/// [`super::pack_rows`] left it: blocks of sixteen rows, each a run of 16-value pieces, the
/// sixteen rows' first pieces, then their second, and so on. The loads are then one
/// sequential stream, which the prefetchers follow; read in place, each row of a recurrent
/// `W_hh` is only eight cache lines, too short a stream for them.
///
/// # Safety
/// The CPU supports AVX-512F; `a` holds `k` values, `c` holds `n`, and `b` holds
/// `n.div_ceil(16) · 16 · k.div_ceil(16) · 16` values in that layout.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemv_rows_packed_avx512(a: &[f32], b: &[f32], c: &mut [f32], k: usize) {
    const ROWS: usize = 16;
    let n = c.len();
    let steps = k.div_ceil(16);
    let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    for (block, col) in (0..n).step_by(ROWS).enumerate() {
        let cols = ROWS.min(n - col);
        // SAFETY: AVX-512F is available (the caller's contract). Block `block` spans
        // `steps · 16 · 16` values of `b` from `block · steps · 256`, inside it; the loads of `a`
        // are masked to its `k` values; the store writes `c[col..col + cols]`, inside `c`.
        unsafe {
            let base = b.add(block * steps * ROWS * 16);
            let mut acc = [_mm512_setzero_ps(); ROWS];
            for step in 0..steps {
                let offset = step * 16;
                let x = _mm512_maskz_loadu_ps(lane_mask((k - offset).min(16)), a.add(offset));
                let pieces = base.add(step * ROWS * 16);
                for (q, sum) in acc.iter_mut().enumerate() {
                    *sum = _mm512_fmadd_ps(x, _mm512_loadu_ps(pieces.add(q * 16)), *sum);
                }
            }
            let mask = lane_mask(cols);
            let out = c.add(col);
            let sums = _mm512_add_ps(transpose_sum16(&acc), _mm512_maskz_loadu_ps(mask, out));
            _mm512_mask_storeu_ps(out, mask, sums);
        }
    }
}

/// [`gemv_rows_packed_avx512`] with 8-lane registers: each 16-value piece is two loads, and a
/// block of sixteen rows is done as two passes of eight, whose eight registers of partial sums
/// leave room in the 16 `ymm` registers for the two halves of `a`'s piece. Without it, an AVX2
/// machine ran a batch-1 LSTM at 2.6 times PyTorch's time.
///
/// # Safety
/// The CPU supports AVX2 and FMA; `a` holds `k` values, `c` holds `n`, and `b` holds
/// `n.div_ceil(16) · 16 · k.div_ceil(16) · 16` values in [`super::pack_rows`]'s layout.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemv_rows_packed_avx2(a: &[f32], b: &[f32], c: &mut [f32], k: usize) {
    const ROWS: usize = 16;
    const HALF: usize = ROWS / 2;
    let n = c.len();
    let steps = k.div_ceil(16);
    let full_steps = k / 16;
    // The last, partial piece of `a`, zero-padded (the packed rows are zero past column `k`).
    let mut tail = [0.0f32; 16];
    tail[..k % 16].copy_from_slice(&a[full_steps * 16..]);
    let (a, tail, b) = (a.as_ptr(), tail.as_ptr(), b.as_ptr());
    for (block, col) in (0..n).step_by(ROWS).enumerate() {
        let cols = ROWS.min(n - col);
        for half in 0..2 {
            if half * HALF >= cols {
                break;
            }
            // SAFETY: AVX2 and FMA are available (the caller's contract). Block `block` spans
            // `steps · 16 · 16` values of `b` from `block · steps · 256`, inside it, and the
            // loads read rows `half · 8 .. half · 8 + 8` of each of its `steps` pieces; the loads
            // of `a` read its `full_steps · 16` values, then the 16 of `tail`.
            let sums = unsafe {
                let base = b.add(block * steps * ROWS * 16 + half * HALF * 16);
                let mut acc = [_mm256_setzero_ps(); HALF];
                for step in 0..steps {
                    let x = if step < full_steps {
                        a.add(step * 16)
                    } else {
                        tail
                    };
                    let (x_low, x_high) = (_mm256_loadu_ps(x), _mm256_loadu_ps(x.add(8)));
                    let pieces = base.add(step * ROWS * 16);
                    for (q, sum) in acc.iter_mut().enumerate() {
                        let row = pieces.add(q * 16);
                        *sum = _mm256_fmadd_ps(x_low, _mm256_loadu_ps(row), *sum);
                        *sum = _mm256_fmadd_ps(x_high, _mm256_loadu_ps(row.add(8)), *sum);
                    }
                }
                let mut sums = [0.0f32; HALF];
                _mm256_storeu_ps(sums.as_mut_ptr(), transpose_sum8(&acc));
                sums
            };
            let start = col + half * HALF;
            let valid = HALF.min(cols - half * HALF);
            for (out, sum) in c[start..start + valid].iter_mut().zip(sums) {
                *out += sum;
            }
        }
    }
}

/// Lane `q` of the result is the sum of all lanes of `v[q]`.
///
/// # Safety
/// The CPU supports AVX (implied by AVX2).
#[inline(always)]
unsafe fn transpose_sum8(v: &[__m256; 8]) -> __m256 {
    // SAFETY: AVX is available (the caller's contract); register operations only.
    unsafe {
        // Per 128-bit half: [v0 0+1, v0 2+3, v1 0+1, v1 2+3], and so on for each pair.
        let pairs: [__m256; 4] = core::array::from_fn(|i| _mm256_hadd_ps(v[2 * i], v[2 * i + 1]));
        // Per half: the half's sums of v[4i], v[4i+1], v[4i+2], v[4i+3].
        let low = _mm256_hadd_ps(pairs[0], pairs[1]);
        let high = _mm256_hadd_ps(pairs[2], pairs[3]);
        // Lanes 0-3 from v[0..4], 4-7 from v[4..8]: the two halves of each, added.
        _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(low, high),
            _mm256_permute2f128_ps::<0x31>(low, high),
        )
    }
}

/// Lane `q` of the result is the sum of all lanes of `v[q]`.
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn transpose_sum16(v: &[__m512; 16]) -> __m512 {
    // SAFETY: AVX-512F is available (the caller's contract); register operations only.
    unsafe {
        // Per 128-bit quarter: [v0 lanes 0+2, v1 0+2, v0 1+3, v1 1+3].
        let pairs: [__m512; 8] = core::array::from_fn(|i| {
            let (x, y) = (v[2 * i], v[2 * i + 1]);
            _mm512_add_ps(_mm512_unpacklo_ps(x, y), _mm512_unpackhi_ps(x, y))
        });
        // Per quarter: the quarter's sums of v[4i], v[4i+1], v[4i+2], v[4i+3].
        let quads: [__m512; 4] = core::array::from_fn(|i| {
            let (x, y) = (pairs[2 * i], pairs[2 * i + 1]);
            _mm512_add_ps(
                _mm512_shuffle_ps::<0x44>(x, y),
                _mm512_shuffle_ps::<0xEE>(x, y),
            )
        });
        // Quarters [q0+q1, q2+q3] of quads[2i], then of quads[2i+1].
        let halves: [__m512; 2] = core::array::from_fn(|i| {
            let (x, y) = (quads[2 * i], quads[2 * i + 1]);
            _mm512_add_ps(
                _mm512_shuffle_f32x4::<0x88>(x, y),
                _mm512_shuffle_f32x4::<0xDD>(x, y),
            )
        });
        let (x, y) = (halves[0], halves[1]);
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0x88>(x, y),
            _mm512_shuffle_f32x4::<0xDD>(x, y),
        )
    }
}

/// Runs `gemm` with 8-lane registers. Tiles: 6 × 16 for the broadcast kernel (12 × 8 for a
/// product 8 wide) and 2 × 4 dot products, all leaving room in the 16 `ymm` registers.
///
/// # Safety
/// The CPU supports AVX2 and FMA, and `gemm`'s operands satisfy [`Gemm`]'s invariants.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemm_avx2(gemm: &mut Gemm<'_>) {
    // SAFETY: forwarded from this function's contract.
    unsafe { kernels::run::<Avx2, 6, 12, 2, 4, 8>(gemm) }
}

/// Runs `f` with AVX-512F enabled (see [`super::vectorized`]).
///
/// # Safety
/// The CPU supports AVX-512F.
#[target_feature(enable = "avx512f")]
#[inline(never)]
pub(super) unsafe fn wide_avx512<W: super::Vectorize>(work: W) -> W::Output {
    work.run()
}

/// Runs `f` with AVX2 and FMA enabled (see [`super::vectorized`]).
///
/// # Safety
/// The CPU supports AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
#[inline(never)]
pub(super) unsafe fn wide_avx2<W: super::Vectorize>(work: W) -> W::Output {
    work.run()
}
