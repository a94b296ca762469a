//! Dense products for a scalar FPU with fused multiply-add and no SIMD unit: the Cortex-M4F's
//! FPv4-SP (and the M7's and M33's FPv5), where [`affine`](super::affine) runs on
//! `thumbv7em-none-eabihf` and `thumbv8m.main-none-eabihf`.
//!
//! Why not the portable [`gemm`](super::gemm): its eight-lane arrays make 32 accumulators for
//! one batch row, which spill on the M4's 32 single-precision registers, and Rust does not
//! contract `a * b + c` into one `VFMA`, so every multiply-accumulate costs a `VMUL` and a
//! `VADD` besides the spills: 4.5 instructions per multiply-accumulate for the MNIST MLP, on
//! QEMU's Cortex-M4F. Here four output rows are computed together, four inputs at a time:
//! each group of four inputs is loaded once for the four rows, each weight is loaded once (the
//! weights stream through once per inference), and each product is one `VFMA` into one of four
//! accumulators, sixteen registers in all. The sums run over the inputs in order, then the bias
//! is added, as [`gemm`](super::gemm)'s kernels add a product to `c`.
//!
//! The inner loop is assembly on the device (see [`steps_fused`] for why); everywhere else the
//! same loops run in plain Rust, in the same order with an unfused multiply and add, and are
//! tested on the host.

/// Output rows computed together: four accumulators, and the four inputs of a step, loaded
/// once for all of them.
const ROWS: usize = 4;
/// Inputs per step of the inner loop.
const STEP: usize = 4;

/// `y = x · Wᵀ + b` for every row of `inputs` values of `x`, with `weight` of
/// `bias.len() × inputs`, row-major. The callers ([`affine`](super::affine)) check the lengths.
pub(super) fn affine(weight: &[f32], bias: &[f32], x: &[f32], y: &mut [f32], inputs: usize) {
    let out = bias.len();
    if inputs == 0 || out == 0 {
        for row in y.chunks_exact_mut(out.max(1)) {
            row.copy_from_slice(bias);
        }
        return;
    }
    for (x, y) in x.chunks_exact(inputs).zip(y.chunks_exact_mut(out)) {
        gemv(weight, bias, x, y);
    }
}

/// `y = W · x + b` for one sample `x`.
fn gemv(weight: &[f32], bias: &[f32], x: &[f32], y: &mut [f32]) {
    dots(weight, x, bias.len(), |o, sum| y[o] = bias[o] + sum);
}

/// `y += W · x` for one sample `x`, with `weight` of `y.len() × x.len()`, row-major: a
/// recurrent step's `h · W_hhᵀ` added to its gates ([`add_recurrent_row`]). The callers check
/// the lengths.
///
/// [`add_recurrent_row`]: super::recurrent::add_recurrent_row
pub(super) fn add_gemv(weight: &[f32], x: &[f32], y: &mut [f32]) {
    let out = y.len();
    if out == 0 {
        return;
    }
    dots(weight, x, out, |o, sum| y[o] += sum);
}

/// The dot product of each of the `out` rows of `weight` with `x`, given to `store` with its
/// row, four rows at a time. The last block of rows, when fewer than four are left, re-reads
/// the last row for the missing ones and keeps only the real sums.
#[inline(always)]
fn dots(weight: &[f32], x: &[f32], out: usize, mut store: impl FnMut(usize, f32)) {
    let k = x.len();
    for first in (0..out).step_by(ROWS) {
        let rows: [&[f32]; ROWS] = core::array::from_fn(|r| {
            let row = (first + r).min(out - 1);
            &weight[row * k..(row + 1) * k]
        });
        let sums = dot4(rows, x);
        for (r, &sum) in sums.iter().enumerate().take(out - first) {
            store(first + r, sum);
        }
    }
}

/// The dot products of four rows with `x`, each summed over the inputs in order.
#[inline(always)]
fn dot4(rows: [&[f32]; ROWS], x: &[f32]) -> [f32; ROWS] {
    let steps = x.len() / STEP;
    let mut acc = steps_fused(rows, x, steps);
    // The inputs past the last whole step (none for the MLPs and convs here).
    for i in steps * STEP..x.len() {
        for (acc, row) in acc.iter_mut().zip(rows) {
            *acc += row[i] * x[i];
        }
    }
    acc
}

/// The first `steps · 4` products of each row, one `VFMA.F32` each.
///
/// Stable Rust has no single-precision register class for `asm!` on Arm (the FPU's target
/// features are unstable), and does not contract `a * b + c`, so the whole loop is assembly
/// that names its FPU registers itself, saves the ones it uses and restores them, and takes
/// only pointers and a count from Rust. Per step: five `VLDM` (the four inputs, then four
/// weights of each row), sixteen `VFMA`, a decrement and a branch: 1.4 instructions per
/// multiply-accumulate.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
#[inline(always)]
fn steps_fused(rows: [&[f32]; ROWS], x: &[f32], steps: usize) -> [f32; ROWS] {
    let mut sums = [0.0f32; ROWS];
    if steps == 0 {
        return sums;
    }
    assert!(rows.iter().all(|row| row.len() >= steps * STEP) && x.len() >= steps * STEP);
    let [w0, w1, w2, w3] = rows.map(<[f32]>::as_ptr);
    // SAFETY: the loop reads `steps · 4` values from `x` and from each row, which the assert
    // above keeps in bounds, and writes the four sums to `sums`. Every FPU register it uses
    // (s0–s19) is pushed first and popped last, so the compiler's values in them survive;
    // the pointers and the count it advances are `inout` operands, and the flags it sets are
    // not marked preserved.
    unsafe {
        core::arch::asm!(
            "vpush {{s0-s19}}",
            "movs {zero}, #0",
            "vmov s16, {zero}",
            "vmov s17, {zero}",
            "vmov s18, {zero}",
            "vmov s19, {zero}",
            "2:",
            "vldmia {x}!, {{s0-s3}}",
            "vldmia {w0}!, {{s4-s7}}",
            "vfma.f32 s16, s4, s0",
            "vfma.f32 s16, s5, s1",
            "vfma.f32 s16, s6, s2",
            "vfma.f32 s16, s7, s3",
            "vldmia {w1}!, {{s8-s11}}",
            "vfma.f32 s17, s8, s0",
            "vfma.f32 s17, s9, s1",
            "vfma.f32 s17, s10, s2",
            "vfma.f32 s17, s11, s3",
            "vldmia {w2}!, {{s12-s15}}",
            "vfma.f32 s18, s12, s0",
            "vfma.f32 s18, s13, s1",
            "vfma.f32 s18, s14, s2",
            "vfma.f32 s18, s15, s3",
            "vldmia {w3}!, {{s4-s7}}",
            "vfma.f32 s19, s4, s0",
            "vfma.f32 s19, s5, s1",
            "vfma.f32 s19, s6, s2",
            "vfma.f32 s19, s7, s3",
            "subs {steps}, {steps}, #1",
            "bne 2b",
            "vstmia {out}, {{s16-s19}}",
            "vpop {{s0-s19}}",
            x = inout(reg) x.as_ptr() => _,
            w0 = inout(reg) w0 => _,
            w1 = inout(reg) w1 => _,
            w2 = inout(reg) w2 => _,
            w3 = inout(reg) w3 => _,
            steps = inout(reg) steps => _,
            out = in(reg) sums.as_mut_ptr(),
            zero = out(reg) _,
        );
    }
    sums
}

/// The first `steps · 4` products of each row, in the order of the assembly above (with an
/// unfused multiply and add): how the loops run, and are tested, on every other target.
#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
#[inline(always)]
fn steps_fused(rows: [&[f32]; ROWS], x: &[f32], steps: usize) -> [f32; ROWS] {
    let mut acc = [0.0f32; ROWS];
    for i in 0..steps * STEP {
        for (acc, row) in acc.iter_mut().zip(rows) {
            *acc += row[i] * x[i];
        }
    }
    acc
}

/// Output channels and positions of one block of [`conv`]: sixteen accumulators.
const CHANNELS: usize = 4;
const POSITIONS: usize = 4;

/// `y = W · col + b` for a convolution lowered to a product: `weight` is
/// `c_out × taps` (PyTorch's `(OUT, IN, KH, KW)` flattened), `col` is `taps × positions`
/// (`im2col`'s layout: one row per tap, across the output positions), and output channel `o`
/// goes to `y[o · y_stride..][..positions]`: `y_stride = positions` for a whole
/// `c_out × positions` output, the output's full row length for a tile of positions written
/// straight into its place (nothing else in `y` changes).
///
/// Blocks of four channels by four positions: per tap, four weights (one per channel) and four
/// consecutive values of `col` are loaded, and sixteen `VFMA`s run. A last block of fewer than
/// four channels re-reads the last channel's weights, and a last block of positions starts four
/// before the end (overlapping the block before it, whose sums it recomputes exactly), so every
/// block is whole. Fewer than four positions take the plain loop.
pub(super) fn conv(
    weight: &[f32],
    col: &[f32],
    bias: &[f32],
    y: &mut [f32],
    positions: usize,
    y_stride: usize,
) {
    let c_out = bias.len();
    let taps = col.len() / positions.max(1);
    assert_eq!(weight.len(), c_out * taps, "a c_out × taps weight");
    assert_eq!(col.len(), taps * positions, "a taps × positions col");
    assert!(
        y_stride >= positions && c_out > 0 && y.len() >= (c_out - 1) * y_stride + positions,
        "c_out rows of positions, y_stride apart"
    );
    if positions < POSITIONS || taps == 0 {
        for (o, &b) in bias.iter().enumerate() {
            for (p, y) in y[o * y_stride..][..positions].iter_mut().enumerate() {
                let sum = (0..taps).fold(0.0, |acc, t| {
                    acc + weight[o * taps + t] * col[t * positions + p]
                });
                *y = b + sum;
            }
        }
        return;
    }
    for first in (0..c_out).step_by(CHANNELS) {
        let channels: [usize; CHANNELS] = core::array::from_fn(|c| (first + c).min(c_out - 1));
        let rows = channels.map(|o| &weight[o * taps..(o + 1) * taps]);
        if first + CHANNELS <= c_out {
            // A whole block of channels: every block of positions in one call, the sums stored
            // with their biases straight into `y`; a last partial block overlaps the one before.
            let bias = &bias[first..first + CHANNELS];
            let out = &mut y[first * y_stride..];
            let blocks = positions / POSITIONS;
            conv_blocks_store(rows, col, positions, taps, blocks, bias, out, y_stride);
            if !positions.is_multiple_of(POSITIONS) {
                let p = positions - POSITIONS;
                let out = &mut out[p..];
                conv_blocks_store(rows, &col[p..], positions, taps, 1, bias, out, y_stride);
            }
            continue;
        }
        // The last, partial block of channels (its missing rows re-read the last channel): one
        // block of positions at a time into a 4 × 4 scratch, whose real rows are copied out.
        let bias: [f32; CHANNELS] = channels.map(|o| bias[o]);
        let mut block = [0.0f32; CHANNELS * POSITIONS];
        let mut start = 0;
        while start < positions {
            let p = start.min(positions - POSITIONS);
            conv_blocks_store(
                rows,
                &col[p..],
                positions,
                taps,
                1,
                &bias,
                &mut block,
                POSITIONS,
            );
            for (c, sums) in block
                .chunks_exact(POSITIONS)
                .enumerate()
                .take(c_out - first)
            {
                y[(first + c) * y_stride + p..][..POSITIONS].copy_from_slice(sums);
            }
            start += POSITIONS;
        }
    }
}

/// Sixteen zeros, the accumulators' start in [`conv_blocks_store`] (one `VLDM` instead of
/// sixteen moves).
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
static ZEROS: [f32; CHANNELS * POSITIONS] = [0.0; CHANNELS * POSITIONS];

/// The sums over all taps of four channels' weights (`rows`) times four consecutive positions
/// of `col` (whose rows are `stride` apart), each over the taps in order, for `blocks`
/// consecutive blocks of four positions
/// (block `b` at `col[4b..]`), each followed by
/// `out[c · y_stride + 4b + q] = bias[c] + sums[c][q]` for the four channels `c` and positions
/// `q`, all in the assembly: the sums never leave the registers, and a block costs its taps
/// and about fifty instructions. The same additions as [`conv`]'s (`bias + sum`), so the same
/// bits.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
#[inline(always)]
#[allow(
    clippy::too_many_arguments,
    reason = "a block's operands, its count, and where and how its sums are stored"
)]
fn conv_blocks_store(
    rows: [&[f32]; CHANNELS],
    col: &[f32],
    stride: usize,
    taps: usize,
    blocks: usize,
    bias: &[f32],
    out: &mut [f32],
    y_stride: usize,
) {
    if blocks == 0 {
        return;
    }
    let span = blocks * POSITIONS;
    assert!(taps >= 1 && rows.iter().all(|row| row.len() >= taps));
    assert!(col.len() >= (taps - 1) * stride + span);
    assert!(bias.len() >= CHANNELS && y_stride >= span);
    assert!(out.len() >= (CHANNELS - 1) * y_stride + span);
    let [w0, w1, w2, w3] = rows.map(<[f32]>::as_ptr);
    let word = core::mem::size_of::<f32>();
    // What the assembly keeps in memory, out of its nine registers: read at every block, and
    // the block's `out` and `col` pointers and the count of blocks left, advanced there.
    let mut state = [
        bias.as_ptr() as usize,
        out.as_mut_ptr() as usize,
        y_stride * word,
        ZEROS.as_ptr() as usize,
        taps,
        col.as_ptr() as usize,
        taps * word,
        blocks,
    ];
    // SAFETY: block `b < blocks` reads, per tap `t`, one weight of each row (`taps` in all, in
    // bounds by the first assert; the weight pointers are rewound by `taps` after each block)
    // and four values of `col` at `t · stride + 4b` (in bounds by the second). It then reads
    // the sixteen `ZEROS`, four values of `bias` (the third assert) and writes four values at
    // `out + 4b + c · y_stride` for `c < 4` (in bounds by the fourth; `out` is borrowed
    // mutably, so nothing else sees them). It reads and writes the eight words of `state`,
    // a local array. Every FPU register (s0–s31) is pushed first and popped last, so the
    // compiler's values survive; the registers it changes are `inout` or `out` operands, and
    // the flags it sets are not marked preserved.
    unsafe {
        core::arch::asm!(
            "vpush {{s0-s31}}",
            "3:",
            "ldr {tmp}, [{state}, #12]",
            "vldmia {tmp}, {{s16-s31}}",
            "ldr {taps}, [{state}, #16]",
            "ldr {col}, [{state}, #20]",
            "2:",
            "vldmia {col}, {{s0-s3}}",
            "add {col}, {col}, {stride}",
            "vldmia {w0}!, {{s4}}",
            "vfma.f32 s16, s4, s0",
            "vfma.f32 s17, s4, s1",
            "vfma.f32 s18, s4, s2",
            "vfma.f32 s19, s4, s3",
            "vldmia {w1}!, {{s5}}",
            "vfma.f32 s20, s5, s0",
            "vfma.f32 s21, s5, s1",
            "vfma.f32 s22, s5, s2",
            "vfma.f32 s23, s5, s3",
            "vldmia {w2}!, {{s6}}",
            "vfma.f32 s24, s6, s0",
            "vfma.f32 s25, s6, s1",
            "vfma.f32 s26, s6, s2",
            "vfma.f32 s27, s6, s3",
            "vldmia {w3}!, {{s7}}",
            "vfma.f32 s28, s7, s0",
            "vfma.f32 s29, s7, s1",
            "vfma.f32 s30, s7, s2",
            "vfma.f32 s31, s7, s3",
            "subs {taps}, {taps}, #1",
            "bne 2b",
            "ldr {tmp}, [{state}, #24]",
            "sub {w0}, {w0}, {tmp}",
            "sub {w1}, {w1}, {tmp}",
            "sub {w2}, {w2}, {tmp}",
            "sub {w3}, {w3}, {tmp}",
            "ldr {tmp}, [{state}]",
            "vldmia {tmp}, {{s0-s3}}",
            "vadd.f32 s16, s0, s16",
            "vadd.f32 s17, s0, s17",
            "vadd.f32 s18, s0, s18",
            "vadd.f32 s19, s0, s19",
            "vadd.f32 s20, s1, s20",
            "vadd.f32 s21, s1, s21",
            "vadd.f32 s22, s1, s22",
            "vadd.f32 s23, s1, s23",
            "vadd.f32 s24, s2, s24",
            "vadd.f32 s25, s2, s25",
            "vadd.f32 s26, s2, s26",
            "vadd.f32 s27, s2, s27",
            "vadd.f32 s28, s3, s28",
            "vadd.f32 s29, s3, s29",
            "vadd.f32 s30, s3, s30",
            "vadd.f32 s31, s3, s31",
            "ldr {col}, [{state}, #4]",
            "ldr {tmp}, [{state}, #8]",
            "vstmia {col}, {{s16-s19}}",
            "add {col}, {col}, {tmp}",
            "vstmia {col}, {{s20-s23}}",
            "add {col}, {col}, {tmp}",
            "vstmia {col}, {{s24-s27}}",
            "add {col}, {col}, {tmp}",
            "vstmia {col}, {{s28-s31}}",
            "ldr {col}, [{state}, #4]",
            "adds {col}, {col}, #16",
            "str {col}, [{state}, #4]",
            "ldr {col}, [{state}, #20]",
            "adds {col}, {col}, #16",
            "str {col}, [{state}, #20]",
            "ldr {tmp}, [{state}, #28]",
            "subs {tmp}, {tmp}, #1",
            "str {tmp}, [{state}, #28]",
            "bne 3b",
            "vpop {{s0-s31}}",
            stride = in(reg) stride * word,
            w0 = inout(reg) w0 => _,
            w1 = inout(reg) w1 => _,
            w2 = inout(reg) w2 => _,
            w3 = inout(reg) w3 => _,
            state = in(reg) state.as_mut_ptr(),
            col = out(reg) _,
            taps = out(reg) _,
            tmp = out(reg) _,
        );
    }
}

/// [`conv_blocks_store`] in plain Rust, in the same order with an unfused multiply and add.
#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
#[inline(always)]
#[allow(
    clippy::too_many_arguments,
    reason = "a block's operands, its count, and where and how its sums are stored"
)]
fn conv_blocks_store(
    rows: [&[f32]; CHANNELS],
    col: &[f32],
    stride: usize,
    taps: usize,
    blocks: usize,
    bias: &[f32],
    out: &mut [f32],
    y_stride: usize,
) {
    for b in 0..blocks {
        let p = b * POSITIONS;
        let mut sums = [[0.0f32; POSITIONS]; CHANNELS];
        for t in 0..taps {
            let values = &col[p + t * stride..][..POSITIONS];
            for (sums, row) in sums.iter_mut().zip(rows) {
                for (sum, &value) in sums.iter_mut().zip(values) {
                    *sum += row[t] * value;
                }
            }
        }
        for (c, sums) in sums.iter().enumerate() {
            for (y, sum) in out[c * y_stride + p..][..POSITIONS].iter_mut().zip(sums) {
                *y = bias[c] + sum;
            }
        }
    }
}

/// `rows` output rows of `lead + len + trail` values each, one after another in `dst`: each is
/// `lead` zeros, `len` values of `src` (row `i` from `src[i · src_stride..]`), then `trail`
/// zeros. The padded runs of a convolution's column matrix
/// ([`im2col_plain`](super::conv)), a few dozen values each.
///
/// # Panics
/// When `dst` is not `rows · (lead + len + trail)` long or a run lies outside `src`.
pub(super) fn padded_rows(
    dst: &mut [f32],
    src: &[f32],
    src_stride: usize,
    rows: usize,
    [lead, len, trail]: [usize; 3],
) {
    assert_eq!(
        dst.len(),
        rows * (lead + len + trail),
        "rows of lead + len + trail"
    );
    if rows == 0 {
        return;
    }
    assert!(
        src_stride >= len && src.len() >= (rows - 1) * src_stride + len,
        "a run lies outside src"
    );
    padded_rows_unchecked(dst, src, src_stride, rows, [lead, len, trail]);
}

/// [`padded_rows`] after its checks, in assembly: the zeros are single-register `VSTM`s of a
/// zeroed register, the values four at a time through one `VLDM` and one `VSTM`, so a row of
/// 28 costs about 40 instructions, where a `memcpy` call and the fills around it cost several
/// times that. `s0`–`s4` are pushed first and popped last.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
#[inline(always)]
fn padded_rows_unchecked(
    dst: &mut [f32],
    src: &[f32],
    src_stride: usize,
    rows: usize,
    [lead, len, trail]: [usize; 3],
) {
    // SAFETY: `padded_rows` checked that `rows ≥ 1`, that `dst` holds exactly `rows` rows of
    // `lead + len + trail` values, which the loop writes in order through `dst` (advanced by
    // each store), and that run `i` of `src`, `src[i · src_stride..][..len]`, is in bounds: the
    // loop reads `len` values from `src`, then skips `src_stride − len` to the next run. It
    // writes nothing else; the FPU registers it uses (s0–s4) are pushed first and popped last;
    // the pointers and counts it changes are `inout` or `out` operands, and the flags it sets
    // are not marked preserved.
    unsafe {
        core::arch::asm!(
            "vpush {{s0-s4}}",
            "movs {n}, #0",
            "vmov s4, {n}",
            "2:",
            "subs {n}, {lead}, #0",
            "beq 4f",
            "3:",
            "vstmia {dst}!, {{s4}}",
            "subs {n}, {n}, #1",
            "bne 3b",
            "4:",
            "lsrs {n}, {len}, #2",
            "beq 6f",
            "5:",
            "vldmia {src}!, {{s0-s3}}",
            "vstmia {dst}!, {{s0-s3}}",
            "subs {n}, {n}, #1",
            "bne 5b",
            "6:",
            "ands {n}, {len}, #3",
            "beq 8f",
            "7:",
            "vldmia {src}!, {{s0}}",
            "vstmia {dst}!, {{s0}}",
            "subs {n}, {n}, #1",
            "bne 7b",
            "8:",
            "subs {n}, {trail}, #0",
            "beq 10f",
            "9:",
            "vstmia {dst}!, {{s4}}",
            "subs {n}, {n}, #1",
            "bne 9b",
            "10:",
            "add {src}, {src}, {skip}",
            "subs {rows}, {rows}, #1",
            "bne 2b",
            "vpop {{s0-s4}}",
            dst = inout(reg) dst.as_mut_ptr() => _,
            src = inout(reg) src.as_ptr() => _,
            skip = in(reg) (src_stride - len) * core::mem::size_of::<f32>(),
            rows = inout(reg) rows => _,
            lead = in(reg) lead,
            len = in(reg) len,
            trail = in(reg) trail,
            n = out(reg) _,
        );
    }
}

/// [`padded_rows`] after its checks, in plain Rust: how it runs, and is tested, off the device.
#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
#[inline(always)]
fn padded_rows_unchecked(
    dst: &mut [f32],
    src: &[f32],
    src_stride: usize,
    rows: usize,
    [lead, len, trail]: [usize; 3],
) {
    let width = lead + len + trail;
    for (i, row) in dst.chunks_exact_mut(width).take(rows).enumerate() {
        let (zeros, rest) = row.split_at_mut(lead);
        let (run, more_zeros) = rest.split_at_mut(len);
        zeros.fill(0.0);
        run.copy_from_slice(&src[i * src_stride..][..len]);
        more_zeros.fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    /// `x · Wᵀ + b`, in f64.
    fn naive(weight: &[f32], bias: &[f32], x: &[f32], inputs: usize) -> Vec<f64> {
        let out = bias.len();
        x.chunks(inputs)
            .flat_map(|x| {
                (0..out).map(move |o| {
                    let dot: f64 = (0..inputs)
                        .map(|i| f64::from(weight[o * inputs + i]) * f64::from(x[i]))
                        .sum();
                    dot + f64::from(bias[o])
                })
            })
            .collect()
    }

    #[test]
    fn matches_the_naive_product_on_every_edge() {
        // Rows and inputs that are and are not multiples of 4, and more than one sample.
        for (samples, out, inputs) in [
            (1, 4, 4),
            (1, 10, 128),
            (1, 7, 5),
            (3, 13, 31),
            (2, 1, 1),
            (1, 128, 784),
        ] {
            let values = |n: usize, seed: usize| -> Vec<f32> {
                (0..n)
                    .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0)
                    .collect()
            };
            let weight = values(out * inputs, 1);
            let bias = values(out, 2);
            let x = values(samples * inputs, 3);
            let mut y = vec![f32::NAN; samples * out];
            affine(&weight, &bias, &x, &mut y, inputs);
            for (got, want) in y.iter().zip(naive(&weight, &bias, &x, inputs)) {
                let tolerance = 1e-5 * (1.0 + inputs as f64);
                assert!(
                    (f64::from(*got) - want).abs() < tolerance,
                    "{samples}x{out}x{inputs}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn convolution_products_match_the_naive_product_on_every_edge() {
        // Channels and positions that are and are not multiples of 4, and fewer than 4.
        for (c_out, taps, positions) in [
            (4, 1, 4),
            (6, 25, 784),
            (16, 400, 196),
            (5, 9, 7),
            (3, 4, 2),
            (1, 3, 9),
        ] {
            let values = |n: usize, seed: usize| -> Vec<f32> {
                (0..n)
                    .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0)
                    .collect()
            };
            let weight = values(c_out * taps, 1);
            let col = values(taps * positions, 2);
            let bias = values(c_out, 3);
            let mut y = vec![f32::NAN; c_out * positions];
            conv(&weight, &col, &bias, &mut y, positions, positions);
            for o in 0..c_out {
                for p in 0..positions {
                    let want: f64 = f64::from(bias[o])
                        + (0..taps)
                            .map(|t| {
                                f64::from(weight[o * taps + t]) * f64::from(col[t * positions + p])
                            })
                            .sum::<f64>();
                    let got = f64::from(y[o * positions + p]);
                    let tolerance = 1e-5 * (1.0 + taps as f64);
                    assert!(
                        (got - want).abs() < tolerance,
                        "{c_out}x{taps}x{positions} at ({o}, {p}): {got} vs {want}"
                    );
                }
            }
        }
    }

    /// With a row stride wider than the positions, each channel's outputs land at their row's
    /// start and the values between rows are left alone; the same bits as the contiguous output.
    #[test]
    fn convolution_products_write_rows_a_stride_apart() {
        for (c_out, taps, positions, stride) in [(8, 72, 28, 196), (6, 25, 4, 24), (5, 9, 3, 7)] {
            let values = |n: usize, seed: usize| -> Vec<f32> {
                (0..n)
                    .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0)
                    .collect()
            };
            let (weight, col, bias) = (
                values(c_out * taps, 1),
                values(taps * positions, 2),
                values(c_out, 3),
            );
            let mut want = vec![f32::NAN; c_out * positions];
            conv(&weight, &col, &bias, &mut want, positions, positions);
            let mut y = vec![f32::NAN; (c_out - 1) * stride + positions];
            conv(&weight, &col, &bias, &mut y, positions, stride);
            for (i, v) in y.iter().enumerate() {
                let (o, p) = (i / stride, i % stride);
                if p < positions {
                    assert_eq!(v.to_bits(), want[o * positions + p].to_bits(), "at {i}");
                } else {
                    assert!(v.is_nan(), "{i}, between rows, changed");
                }
            }
        }
    }

    #[test]
    fn added_products_match_the_naive_product() {
        for (out, inputs) in [(512, 128), (7, 5), (1, 1), (13, 31)] {
            let values = |n: usize, seed: usize| -> Vec<f32> {
                (0..n)
                    .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0)
                    .collect()
            };
            let (weight, x, start) = (values(out * inputs, 1), values(inputs, 2), values(out, 3));
            let mut y = start.clone();
            add_gemv(&weight, &x, &mut y);
            for (got, want) in y.iter().zip(naive(&weight, &start, &x, inputs)) {
                let tolerance = 1e-5 * (1.0 + inputs as f64);
                assert!(
                    (f64::from(*got) - want).abs() < tolerance,
                    "{out}x{inputs}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn no_inputs_gives_the_bias() {
        let mut y = [0.0; 4];
        affine(&[], &[1.0, 2.0], &[], &mut y[..2], 0);
        assert_eq!(&y[..2], &[1.0, 2.0]);
    }
}
