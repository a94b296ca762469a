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

/// The `i16` values a block of four columns of `len` taps takes ([`pack_column`], [`dot4`]):
/// each column rounded up to whole groups of four.
pub const fn block_len(len: usize) -> usize {
    len.div_ceil(4) * 4 * 4
}

/// Where [`interleave`] puts value `e` of a group of four on this target.
const fn slot(e: usize) -> usize {
    if DSP { [0, 2, 1, 3][e] } else { e }
}

/// Stores `column` (the natural order) as column `c` of a block of four that [`dot4`] reads:
/// group by group, the four columns' groups side by side (`block[(4·j + c)·4 + e]` is value
/// `e` of group `j` of column `c`), each whole group laid out by [`interleave`], the last
/// partial one in order and padded with zeros.
///
/// # Panics
/// When `c` is not below 4 or `block` is not [`block_len`]`(column.len())` long.
#[inline]
pub fn pack_column(block: &mut [i16], c: usize, column: &[i16]) {
    assert!(
        c < 4 && block.len() == block_len(column.len()),
        "a block holds four columns of the column's length"
    );
    let groups = column.chunks_exact(4);
    let tail = groups.remainder();
    let whole = column.len() / 4;
    for (j, group) in groups.enumerate() {
        let to = &mut block[(4 * j + c) * 4..][..4];
        for (e, to) in to.iter_mut().enumerate() {
            *to = group[slot(e)];
        }
    }
    if !tail.is_empty() {
        let to = &mut block[(4 * whole + c) * 4..][..4];
        to.fill(0);
        to[..tail.len()].copy_from_slice(tail);
    }
}

/// The windows of four output positions, widened to offsets from `zero_point`, straight into a
/// block of four as [`pack_column`] lays it out: tap `t` of window `k` is
/// `source[corners[k] + offsets[t]]`. `offsets` (one per tap, `u16` bits in `i16` storage, so
/// that it can share the caller's scratch) is the same for every window, so each tap costs one
/// table load for four values.
///
/// # Panics
/// When `block` is not [`block_len`]`(offsets.len())` long, or a window reaches past `source`.
pub fn gather4(
    source: &[i8],
    corners: [usize; 4],
    offsets: &[i16],
    zero_point: i32,
    block: &mut [i16],
) {
    assert_eq!(
        block.len(),
        block_len(offsets.len()),
        "a block of four windows of the offsets' length"
    );
    let reach = offsets.iter().map(|&o| usize::from(o as u16)).max();
    let Some(reach) = reach else { return };
    assert!(
        corners.iter().all(|&c| c + reach < source.len()),
        "a window reaches past its source"
    );
    let whole = offsets.len() / 4;
    let widen = |corner: usize, offset: i16| {
        // SAFETY: `offset <= reach` and `corner + reach < source.len()`, asserted above for
        // every corner and offset.
        let v = unsafe { *source.get_unchecked(corner + usize::from(offset as u16)) };
        (i32::from(v) - zero_point) as i16
    };
    for (group, taps) in block.chunks_exact_mut(16).zip(offsets.chunks_exact(4)) {
        for (e, &offset) in taps.iter().enumerate() {
            let at = [0, 2, 1, 3][e];
            let at = if DSP { at } else { e };
            for (k, &corner) in corners.iter().enumerate() {
                group[4 * k + at] = widen(corner, offset);
            }
        }
    }
    let tail = &offsets[whole * 4..];
    if !tail.is_empty() {
        let group = &mut block[whole * 16..];
        group.fill(0);
        for (e, &offset) in tail.iter().enumerate() {
            for (k, &corner) in corners.iter().enumerate() {
                group[4 * k + e] = widen(corner, offset);
            }
        }
    }
}

/// `bias + Σ column_c[i] · w[i]` for each of the four columns of `block` ([`pack_column`]):
/// each word of weights loads once for four outputs. On the Cortex-M4F, eight `SMLAD` per
/// group of four taps, under one instruction a multiply-accumulate.
///
/// # Panics
/// When `block` is not [`block_len`]`(w.len())` long.
#[inline]
pub fn dot4(bias: i32, block: &[i16], w: &[i8]) -> [i32; 4] {
    assert_eq!(
        block.len(),
        block_len(w.len()),
        "a block of four columns as long as the weight row"
    );
    let whole = w.len() / 4;
    let mut acc = dot4_groups([bias; 4], &block[..whole * 16], &w[..whole * 4]);
    let tail = &w[whole * 4..];
    if tail.is_empty() {
        return acc;
    }
    for (c, acc) in acc.iter_mut().enumerate() {
        let values = &block[(4 * whole + c) * 4..][..tail.len()];
        for (&a, &w) in values.iter().zip(tail) {
            *acc = acc.wrapping_add(i32::from(a) * i32::from(w));
        }
    }
    acc
}

/// Whole groups of four of [`dot4`], off the device.
#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
#[inline]
fn dot4_groups(mut acc: [i32; 4], block: &[i16], w: &[i8]) -> [i32; 4] {
    for (columns, w) in block.chunks_exact(16).zip(w.chunks_exact(4)) {
        for (acc, a) in acc.iter_mut().zip(columns.chunks_exact(4)) {
            for e in 0..4 {
                *acc = acc.wrapping_add(i32::from(a[e]) * i32::from(w[slot(e)]));
            }
        }
    }
    acc
}

/// Whole groups of four of [`dot4`] on the Cortex-M4F. Per group: one word of weights and
/// `SXTB16` of its even and odd bytes, two `LDM` of two columns' interleaved pairs each, eight
/// `SMLAD`. Two groups per pass; an odd count enters at the second. The registers are fixed,
/// because `LDM` fills them in ascending order, and the end of the weights waits on the stack:
/// every register Rust lets `asm!` use is taken.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
#[inline]
fn dot4_groups(acc: [i32; 4], block: &[i16], w: &[i8]) -> [i32; 4] {
    let groups = w.len() / 4;
    if groups == 0 {
        return acc;
    }
    assert!(w.len() == groups * 4 && block.len() == groups * 16);
    let [mut acc0, mut acc1, mut acc2, mut acc3] = acc;
    let end = w.as_ptr().wrapping_add(w.len());
    // SAFETY: the loop reads `groups · 4` bytes of `w` and `groups · 32` of `block`, their
    // whole lengths as asserted above (`LDR` and `LDM`, the latter word-aligned: `block` is
    // `i16` and the kernel is entered only at a multiple of 16 values, so its start must be
    // aligned to 4, which the assert below checks). It writes only registers it declares, and
    // four bytes of stack below `sp` that it pops before it ends. `groups >= 1`, so the loop
    // meets `end`. The flags are not marked preserved.
    assert!(
        block.as_ptr().cast::<u32>().is_aligned(),
        "LDM reads whole words"
    );
    unsafe {
        core::arch::asm!(
            "push {{r8}}",
            "tst r9, #1",
            "bne 3f",
            "2:",
            "ldr r4, [r12], #4",
            "ldm lr!, {{r8, r9, r10, r11}}",
            "sxtb16 r5, r4",
            "sxtb16 r4, r4, ror #8",
            "smlad r0, r8, r5, r0",
            "smlad r0, r9, r4, r0",
            "smlad r1, r10, r5, r1",
            "smlad r1, r11, r4, r1",
            "ldm lr!, {{r8, r9, r10, r11}}",
            "smlad r2, r8, r5, r2",
            "smlad r2, r9, r4, r2",
            "smlad r3, r10, r5, r3",
            "smlad r3, r11, r4, r3",
            "3:",
            "ldr r4, [r12], #4",
            "ldm lr!, {{r8, r9, r10, r11}}",
            "sxtb16 r5, r4",
            "sxtb16 r4, r4, ror #8",
            "smlad r0, r8, r5, r0",
            "smlad r0, r9, r4, r0",
            "smlad r1, r10, r5, r1",
            "smlad r1, r11, r4, r1",
            "ldm lr!, {{r8, r9, r10, r11}}",
            "smlad r2, r8, r5, r2",
            "smlad r2, r9, r4, r2",
            "smlad r3, r10, r5, r3",
            "smlad r3, r11, r4, r3",
            "ldr r8, [sp]",
            "cmp r12, r8",
            "bne 2b",
            "add sp, sp, #4",
            inout("r0") acc0,
            inout("r1") acc1,
            inout("r2") acc2,
            inout("r3") acc3,
            out("r4") _,
            out("r5") _,
            inout("r8") end => _,
            inout("r9") groups => _,
            out("r10") _,
            out("r11") _,
            inout("r12") w.as_ptr() => _,
            inout("lr") block.as_ptr() => _,
            options(readonly),
        );
    }
    [acc0, acc1, acc2, acc3]
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
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;

    #[test]
    fn four_columns_are_four_dot_products() {
        for len in [0usize, 1, 3, 4, 5, 8, 12, 25, 400] {
            let columns: Vec<Vec<i16>> = (0..4)
                .map(|c| {
                    (0..len)
                        .map(|i| ((i * 31 + c * 97) % 511) as i16 - 255)
                        .collect()
                })
                .collect();
            let w: Vec<i8> = (0..len)
                .map(|i| (i as i32 * 53 % 255 - 127) as i8)
                .collect();
            let mut block = vec![1i16; block_len(len)];
            for (c, column) in columns.iter().enumerate() {
                pack_column(&mut block, c, column);
            }
            let expected = columns.iter().map(|column| {
                column
                    .iter()
                    .zip(&w)
                    .fold(-9i32, |acc, (&a, &w)| acc + i32::from(a) * i32::from(w))
            });
            assert_eq!(
                dot4(-9, &block, &w).to_vec(),
                expected.collect::<Vec<_>>(),
                "{len}"
            );
        }
    }

    #[test]
    fn gathered_blocks_are_packed_columns() {
        let source: Vec<i8> = (0..200).map(|i| (i * 37 % 256) as u8 as i8).collect();
        for len in [1usize, 4, 6, 9, 25] {
            let offsets: Vec<i16> = (0..len).map(|t| (t * 7 % 50 + t / 3) as i16).collect();
            let corners = [0, 3, 60, 120];
            let mut expected = vec![5i16; block_len(len)];
            for (k, &corner) in corners.iter().enumerate() {
                let column: Vec<i16> = offsets
                    .iter()
                    .map(|&o| i16::from(source[corner + o as usize]) + 3)
                    .collect();
                pack_column(&mut expected, k, &column);
            }
            let mut block = vec![5i16; block_len(len)];
            gather4(&source, corners, &offsets, -3, &mut block);
            assert_eq!(block, expected, "{len}");
        }
    }

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
