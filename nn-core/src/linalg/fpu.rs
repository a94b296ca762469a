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

/// `y = W · x + b` for one sample `x`. The last block of rows, when fewer than four are left,
/// re-reads the last row for the missing ones and keeps only the real sums.
fn gemv(weight: &[f32], bias: &[f32], x: &[f32], y: &mut [f32]) {
    let k = x.len();
    let out = bias.len();
    for first in (0..out).step_by(ROWS) {
        let rows: [&[f32]; ROWS] = core::array::from_fn(|r| {
            let row = (first + r).min(out - 1);
            &weight[row * k..(row + 1) * k]
        });
        let sums = dot4(rows, x);
        for (r, sum) in sums.iter().enumerate().take(out - first) {
            y[first + r] = bias[first + r] + sum;
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
    fn no_inputs_gives_the_bias() {
        let mut y = [0.0; 4];
        affine(&[], &[1.0, 2.0], &[], &mut y[..2], 0);
        assert_eq!(&y[..2], &[1.0, 2.0]);
    }
}
