//! The int8 dot products of `quant`'s dense and convolution kernels: a row of input offsets,
//! widened to `i16`, against int8 weight rows, summed in int32 (wrapping, as TensorFlow
//! Lite's reference kernels' sums do; the order of the sum changes no bit).
//!
//! On the Cortex-M4F the loop is `SMLAD`, two 16-bit multiply-accumulates in one instruction,
//! through `asm!` (Rust's Arm DSP intrinsics are unstable): four weights load as one word and
//! `SXTB16` sign-extends its even and its odd bytes into two halfword pairs. The inputs must
//! then come in the same pairs, so each group of four is stored `x0, x2, x1, x3`
//! ([`interleave`]); a row's last `len % 4` values keep their order. Everywhere else the
//! layout is the natural one and the loop plain Rust.

/// Whether this target runs the `SMLAD` loop.
const DSP: bool = cfg!(all(
    target_arch = "arm",
    target_os = "none",
    target_abi = "eabihf"
));

/// Lays `values` out as [`dot`] reads them on this target (in place; nothing to do off the
/// Cortex-M4F).
#[inline]
pub fn interleave(values: &mut [i16]) {
    if DSP {
        for group in values.chunks_exact_mut(4) {
            group.swap(1, 2);
        }
    }
}

/// `bias + Σ a[i] · w[i]`, for `a` laid out by [`interleave`].
///
/// # Panics
/// When the lengths differ.
#[inline]
pub fn dot(bias: i32, a: &[i16], w: &[i8]) -> i32 {
    assert_eq!(a.len(), w.len(), "a dot product of unequal lengths");
    let groups = a.len() / 4;
    let mut acc = dot_groups(bias, &a[..groups * 4], &w[..groups * 4]);
    for (&a, &w) in a[groups * 4..].iter().zip(&w[groups * 4..]) {
        acc = acc.wrapping_add(i32::from(a) * i32::from(w));
    }
    acc
}

/// [`dot`] of one `a` against two weight rows.
///
/// # Panics
/// When the lengths differ.
#[inline]
pub fn dot2(bias: [i32; 2], a: &[i16], w: [&[i8]; 2]) -> [i32; 2] {
    assert!(
        w.iter().all(|w| w.len() == a.len()),
        "a dot product of unequal lengths"
    );
    let groups = a.len() / 4;
    let mut acc = dot2_groups(
        bias,
        &a[..groups * 4],
        [&w[0][..groups * 4], &w[1][..groups * 4]],
    );
    for (k, w) in w.iter().enumerate() {
        for (&a, &w) in a[groups * 4..].iter().zip(&w[groups * 4..]) {
            acc[k] = acc[k].wrapping_add(i32::from(a) * i32::from(w));
        }
    }
    acc
}

/// Whole groups of four, off the device: four partial sums, so that the products do not wait
/// on one another.
#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
#[inline]
fn dot_groups(bias: i32, a: &[i16], w: &[i8]) -> i32 {
    let mut sums = [0i32; 4];
    for (a, w) in a.chunks_exact(4).zip(w.chunks_exact(4)) {
        for k in 0..4 {
            sums[k] = sums[k].wrapping_add(i32::from(a[k]) * i32::from(w[k]));
        }
    }
    sums.iter().fold(bias, |acc, &s| acc.wrapping_add(s))
}

#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
#[inline]
fn dot2_groups(bias: [i32; 2], a: &[i16], w: [&[i8]; 2]) -> [i32; 2] {
    [dot_groups(bias[0], a, w[0]), dot_groups(bias[1], a, w[1])]
}

/// Whole groups of four on the Cortex-M4F, per group: a word of four weights, `SXTB16` of its
/// even and (rotated) odd bytes, two `SMLAD` with the interleaved input pairs.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
#[inline]
fn dot_groups(bias: i32, a: &[i16], w: &[i8]) -> i32 {
    let groups = a.len() / 4;
    if groups == 0 {
        return bias;
    }
    assert!(a.len() == groups * 4 && w.len() == groups * 4);
    let mut acc = bias;
    // SAFETY: the loop reads `groups · 8` bytes of `a` and `groups · 4` of `w`, their whole
    // lengths as asserted above, with `LDR`, which the Cortex-M4 allows unaligned (the
    // default, which `embedded/board` keeps). It writes only register operands; `groups` is at
    // least 1, so the count reaches 0 and the loop ends. The flags it sets are not marked
    // preserved.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldr {w}, [{wp}], #4",
            "ldr {a02}, [{ap}], #4",
            "ldr {a13}, [{ap}], #4",
            "sxtb16 {w02}, {w}",
            "sxtb16 {w13}, {w}, ror #8",
            "smlad {acc}, {a02}, {w02}, {acc}",
            "smlad {acc}, {a13}, {w13}, {acc}",
            "subs {n}, {n}, #1",
            "bne 2b",
            wp = inout(reg) w.as_ptr() => _,
            ap = inout(reg) a.as_ptr() => _,
            n = inout(reg) groups => _,
            acc = inout(reg) acc,
            w = out(reg) _,
            a02 = out(reg) _,
            a13 = out(reg) _,
            w02 = out(reg) _,
            w13 = out(reg) _,
            options(nostack, readonly),
        );
    }
    acc
}

/// [`dot_groups`] against two rows: the input pairs load once for both.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
#[inline]
fn dot2_groups(bias: [i32; 2], a: &[i16], w: [&[i8]; 2]) -> [i32; 2] {
    let groups = a.len() / 4;
    if groups == 0 {
        return bias;
    }
    assert!(a.len() == groups * 4 && w.iter().all(|w| w.len() == groups * 4));
    let [mut acc0, mut acc1] = bias;
    // SAFETY: as in `dot_groups`: `groups · 8` bytes of `a` and `groups · 4` of each row, their
    // asserted lengths, read with `LDR` (unaligned allowed); register operands only written;
    // `groups >= 1`; the flags are not marked preserved.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldr {a02}, [{ap}], #4",
            "ldr {a13}, [{ap}], #4",
            "ldr {w}, [{w0}], #4",
            "sxtb16 {t}, {w}",
            "smlad {acc0}, {a02}, {t}, {acc0}",
            "sxtb16 {t}, {w}, ror #8",
            "smlad {acc0}, {a13}, {t}, {acc0}",
            "ldr {w}, [{w1}], #4",
            "sxtb16 {t}, {w}",
            "smlad {acc1}, {a02}, {t}, {acc1}",
            "sxtb16 {t}, {w}, ror #8",
            "smlad {acc1}, {a13}, {t}, {acc1}",
            "subs {n}, {n}, #1",
            "bne 2b",
            w0 = inout(reg) w[0].as_ptr() => _,
            w1 = inout(reg) w[1].as_ptr() => _,
            ap = inout(reg) a.as_ptr() => _,
            n = inout(reg) groups => _,
            acc0 = inout(reg) acc0,
            acc1 = inout(reg) acc1,
            w = out(reg) _,
            a02 = out(reg) _,
            a13 = out(reg) _,
            t = out(reg) _,
            options(nostack, readonly),
        );
    }
    [acc0, acc1]
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;

    #[test]
    fn dot_products_are_exact_in_the_interleaved_layout() {
        for len in [0usize, 1, 3, 4, 7, 8, 25, 400] {
            let natural: Vec<i16> = (0..len).map(|i| (i as i16 * 37 % 511) - 255).collect();
            let w0: Vec<i8> = (0..len)
                .map(|i| (i as i32 * 53 % 255 - 127) as i8)
                .collect();
            let w1: Vec<i8> = w0.iter().map(|&w| w.wrapping_neg() / 2).collect();
            let expected = |w: &[i8]| {
                natural
                    .iter()
                    .zip(w)
                    .fold(7i32, |acc, (&a, &w)| acc + i32::from(a) * i32::from(w))
            };
            let mut a = natural.clone();
            interleave(&mut a);
            assert_eq!(dot(7, &a, &w0), expected(&w0), "{len}");
            assert_eq!(
                dot2([7, 7], &a, [&w0, &w1]),
                [expected(&w0), expected(&w1)],
                "{len}"
            );
        }
    }
}
