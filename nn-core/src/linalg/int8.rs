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
/// `e` of group `j` of column `c`), each group laid out by [`interleave`], the last one padded
/// with zeros first (so that [`dot4`] takes it as a whole group).
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
        let mut padded = [0i16; 4];
        padded[..tail.len()].copy_from_slice(tail);
        let to = &mut block[(4 * whole + c) * 4..][..4];
        for (e, to) in to.iter_mut().enumerate() {
            *to = padded[slot(e)];
        }
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
                group[4 * k + slot(e)] = widen(corner, offset);
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
    let acc = dot4_groups([bias; 4], &block[..whole * 16], &w[..whole * 4]);
    let tail = &w[whole * 4..];
    if tail.is_empty() {
        return acc;
    }
    // The last taps as one more group, their weights padded with zeros as the block's are.
    // (Element by element: a copy of one to three bytes would be a `memcpy` call on the device.)
    let padded = [0, 1, 2, 3].map(|i| tail.get(i).copied().unwrap_or(0));
    dot4_groups(acc, &block[whole * 16..][..16], &padded)
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

/// [`dot`] of one `a` against three weight rows: each pair of inputs loads once for the three.
///
/// # Panics
/// When the lengths differ.
#[inline]
pub fn dot3(bias: [i32; 3], a: &[i16], w: [&[i8]; 3]) -> [i32; 3] {
    assert!(
        w.iter().all(|w| w.len() == a.len()),
        "a dot product of unequal lengths"
    );
    let groups = a.len() / 4;
    let rows = [0, 1, 2].map(|k| &w[k][..groups * 4]);
    let mut acc = dot3_groups(bias, &a[..groups * 4], rows);
    for (k, w) in w.iter().enumerate() {
        for (&a, &w) in a[groups * 4..].iter().zip(&w[groups * 4..]) {
            acc[k] = acc[k].wrapping_add(i32::from(a) * i32::from(w));
        }
    }
    acc
}

#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
#[inline]
fn dot3_groups(bias: [i32; 3], a: &[i16], w: [&[i8]; 3]) -> [i32; 3] {
    [0, 1, 2].map(|k| dot_groups(bias[k], a, w[k]))
}

/// Whole groups of four of [`dot3`] on the Cortex-M4F: per group, two words of interleaved
/// inputs, then for each row a word of weights, `SXTB16` of its even and odd bytes and two
/// `SMLAD`; 12 multiply-accumulates in 19 instructions, every register `asm!` may use taken.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
#[inline]
fn dot3_groups(bias: [i32; 3], a: &[i16], w: [&[i8]; 3]) -> [i32; 3] {
    let groups = a.len() / 4;
    if groups == 0 {
        return bias;
    }
    assert!(a.len() == groups * 4 && w.iter().all(|w| w.len() == groups * 4));
    let [mut acc0, mut acc1, mut acc2] = bias;
    // SAFETY: as in `dot2_groups`: `groups · 8` bytes of `a` and `groups · 4` of each row, their
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
            "ldr {w}, [{w2}], #4",
            "sxtb16 {t}, {w}",
            "smlad {acc2}, {a02}, {t}, {acc2}",
            "sxtb16 {t}, {w}, ror #8",
            "smlad {acc2}, {a13}, {t}, {acc2}",
            "subs {n}, {n}, #1",
            "bne 2b",
            w0 = inout(reg) w[0].as_ptr() => _,
            w1 = inout(reg) w[1].as_ptr() => _,
            w2 = inout(reg) w[2].as_ptr() => _,
            ap = inout(reg) a.as_ptr() => _,
            n = inout(reg) groups => _,
            acc0 = inout(reg) acc0,
            acc1 = inout(reg) acc1,
            acc2 = inout(reg) acc2,
            w = out(reg) _,
            a02 = out(reg) _,
            a13 = out(reg) _,
            t = out(reg) _,
            options(nostack, readonly),
        );
    }
    [acc0, acc1, acc2]
}

/// Whole groups of four, off the device: a plain sum of products, which the compiler turns
/// into `pmaddwd` (`vpmaddwd` inside [`super::vectorized`]); int32 addition wraps, so its
/// order changes no bit.
#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
#[inline]
fn dot_groups(bias: i32, a: &[i16], w: &[i8]) -> i32 {
    a.iter().zip(w).fold(bias, |acc, (&a, &w)| {
        acc.wrapping_add(i32::from(a) * i32::from(w))
    })
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

/// Inputs per group of the paired layout ([`pair_rows`]): a row pair's words and the input
/// words go by in fours, eight inputs each.
pub const PAIRED_GROUP: usize = 8;

/// Inputs per chunk of [`paired_dot`] between two extractions: with offsets `|x| ≤ 255` and
/// weights `|w| ≤ 128`, a chunk's first-row sum stays under `2²³`, so `256·R` fits in int32.
pub const PAIRED_CHUNK: usize = 256;

/// The input words of one row of `inputs` values in the paired layout: one word per pair of
/// inputs, the count rounded up to whole groups of [`PAIRED_GROUP`] inputs.
pub const fn paired_input_words(inputs: usize) -> usize {
    inputs.div_ceil(PAIRED_GROUP) * PAIRED_GROUP / 2
}

/// The words of `outputs × inputs` weights in the paired layout ([`pair_rows`]): a row pair
/// per [`paired_input_words`]`(inputs)`, an odd last row paired with a row of zeros.
pub const fn paired_weight_words(outputs: usize, inputs: usize) -> usize {
    outputs.div_ceil(2) * paired_input_words(inputs)
}

/// Lays out the rows of `weight` (`outputs × inputs`, row-major int8) in pairs, as
/// [`paired_dot`] reads them: for rows `a = 2p` and `b = 2p + 1` and inputs `j = 2k`,
/// `j + 1`, word `k` of pair `p` holds the bytes `b[j] + 128, a[j], b[j+1] + 128, a[j+1]`
/// (lowest first). Each halfword is then `256·a[j] + (b[j] + 128)`, two weights of two rows
/// for one input, so one `SMLAD` makes four products (see [`paired_dot`]). Missing inputs and
/// the row after an odd last one are zeros; the words come out with `paired_weight_words`
/// of them in `out`.
///
/// # Panics
/// When `weight` is not `outputs` rows, or `out` is not [`paired_weight_words`] long.
pub fn pair_rows(weight: &[i8], outputs: usize, out: &mut [u32]) {
    assert!(
        outputs > 0 && weight.len().is_multiple_of(outputs),
        "the weight is outputs × inputs"
    );
    let inputs = weight.len() / outputs;
    let words = paired_input_words(inputs);
    assert_eq!(
        out.len(),
        paired_weight_words(outputs, inputs),
        "the paired words' length"
    );
    let at = |row: usize, j: usize| -> i8 {
        if row < outputs && j < inputs {
            weight[row * inputs + j]
        } else {
            0
        }
    };
    for (p, pair) in out.chunks_exact_mut(words).enumerate() {
        let (a, b) = (2 * p, 2 * p + 1);
        for (k, word) in pair.iter_mut().enumerate() {
            let (j0, j1) = (2 * k, 2 * k + 1);
            let bytes = [
                (at(b, j0) as u8) ^ 0x80,
                at(a, j0) as u8,
                (at(b, j1) as u8) ^ 0x80,
                at(a, j1) as u8,
            ];
            *word = u32::from_le_bytes(bytes);
        }
    }
}

/// `x − zero_point` of one row of int8 inputs as the paired layout's input words: word `k`
/// holds inputs `2k` (low half) and `2k + 1` (high half) as `i16`, zeros past the end of `x`.
/// Returns the sum of the offsets, which [`paired_dot`] needs.
///
/// # Panics
/// When `words` is not [`paired_input_words`]`(x.len())` long.
pub fn pair_inputs(x: &[i8], zero_point: i32, words: &mut [u32]) -> i32 {
    assert_eq!(
        words.len(),
        paired_input_words(x.len()),
        "the input words' length"
    );
    let pack = |a: i32, b: i32| u32::from(a as u16) | (u32::from(b as u16) << 16);
    let mut sum = 0i32;
    let pairs = x.chunks_exact(2);
    let last = pairs.remainder().first();
    let mut words = words.iter_mut();
    // The pairs first: `zip` takes from its first side before it learns the second has ended.
    for (pair, word) in pairs.zip(&mut words) {
        let (a, b) = (
            i32::from(pair[0]) - zero_point,
            i32::from(pair[1]) - zero_point,
        );
        sum += a + b;
        *word = pack(a, b);
    }
    if let Some(&last) = last {
        let a = i32::from(last) - zero_point;
        sum += a;
        if let Some(word) = words.next() {
            *word = pack(a, 0);
        }
    }
    words.for_each(|word| *word = 0);
    sum
}

/// The two sums of a row pair's paired words `w` ([`pair_rows`]) with the input words `x`
/// ([`pair_inputs`]): `bias[0] + Σ x·a` and `bias[1] + Σ x·b` over the pair's rows `a` and
/// `b`. `input_sum` is the sum of the inputs, which [`pair_inputs`] returns.
///
/// Each word times its inputs' word is one `SMLAD` on the raw halfwords,
/// `S = Σ x·(256·a + b + 128) = 256·Σ x·a + U`, and one on the low bytes alone (`UXTB16`),
/// `U = Σ x·(b + 128)`: three instructions for four products, where sign-extending both
/// halves of four int8 weights (`SXTB16` twice) and two `SMLAD` take four. So
/// `Σ x·a = (S − U) / 256`, exact over a chunk of [`PAIRED_CHUNK`] inputs, and
/// `Σ x·b = U − 128·Σ x`. All sums wrap, as TensorFlow Lite's int32 sums do.
///
/// # Panics
/// When the lengths differ or are not whole groups of [`PAIRED_GROUP`] inputs.
#[inline]
pub fn paired_dot(bias: [i32; 2], x: &[u32], w: &[u32], input_sum: i32) -> [i32; 2] {
    assert_eq!(x.len(), w.len(), "a row pair of the inputs' length");
    assert!(
        x.len().is_multiple_of(PAIRED_GROUP / 2),
        "whole groups of inputs"
    );
    let (mut first, mut u_total) = (0i32, 0i32);
    let chunk = PAIRED_CHUNK / 2;
    for (x, w) in x.chunks(chunk).zip(w.chunks(chunk)) {
        let (s, u) = paired_sums(x, w);
        // `s − u = 256·Σ x·a` exactly within the chunk, so the shift is exact.
        first = first.wrapping_add(s.wrapping_sub(u) >> 8);
        u_total = u_total.wrapping_add(u);
    }
    let second = u_total.wrapping_sub(input_sum.wrapping_mul(128));
    [bias[0].wrapping_add(first), bias[1].wrapping_add(second)]
}

/// `(S, U)` of [`paired_dot`] over one chunk, in plain Rust: the products `SMLAD` makes.
#[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
#[inline]
fn paired_sums(x: &[u32], w: &[u32]) -> (i32, i32) {
    let (mut s, mut u) = (0i32, 0i32);
    for (&x, &w) in x.iter().zip(w) {
        let (x0, x1) = (i32::from(x as i16), i32::from((x >> 16) as i16));
        let (h0, h1) = (i32::from(w as i16), i32::from((w >> 16) as i16));
        let (l0, l1) = ((w & 0xff) as i32, ((w >> 16) & 0xff) as i32);
        s = s.wrapping_add(x0 * h0 + x1 * h1);
        u = u.wrapping_add(x0 * l0 + x1 * l1);
    }
    (s, u)
}

/// `(S, U)` of [`paired_dot`] over one chunk on the Cortex-M4F. Per group of eight inputs: an
/// `LDM` of four input words, an `LDM` of the pair's four weight words, and per word `SMLAD`
/// on the raw halfwords, `UXTB16` and `SMLAD` on the low bytes: 16 products in 14
/// instructions. Two groups per pass, an odd count entering at the second; the end of the
/// weights waits on the stack, as in `dot4_groups`, every register `asm!` may use being taken.
#[cfg(all(target_arch = "arm", target_os = "none", target_abi = "eabihf"))]
#[inline]
fn paired_sums(x: &[u32], w: &[u32]) -> (i32, i32) {
    let groups = w.len() / 4;
    if groups == 0 {
        return (0, 0);
    }
    assert!(x.len() == groups * 4 && w.len() == groups * 4);
    let (mut s, mut u) = (0i32, 0i32);
    let end = w.as_ptr().wrapping_add(w.len());
    // SAFETY: the loop reads `groups · 16` bytes of `x` and of `w`, their whole lengths as
    // asserted above, with `LDM`, whose addresses are word-aligned as `u32` slices are. It
    // writes only registers it declares, and four bytes of stack below `sp` that it pops
    // before it ends. `groups >= 1`, so the loop meets `end`. The flags are not marked
    // preserved.
    unsafe {
        core::arch::asm!(
            "push {{r8}}",
            "tst r9, #1",
            "bne 3f",
            "2:",
            "ldm r12!, {{r2, r3, r4, r5}}",
            "ldm lr!, {{r8, r9, r10, r11}}",
            "smlad r0, r8, r2, r0",
            "uxtb16 r8, r8",
            "smlad r1, r8, r2, r1",
            "smlad r0, r9, r3, r0",
            "uxtb16 r9, r9",
            "smlad r1, r9, r3, r1",
            "smlad r0, r10, r4, r0",
            "uxtb16 r10, r10",
            "smlad r1, r10, r4, r1",
            "smlad r0, r11, r5, r0",
            "uxtb16 r11, r11",
            "smlad r1, r11, r5, r1",
            "3:",
            "ldm r12!, {{r2, r3, r4, r5}}",
            "ldm lr!, {{r8, r9, r10, r11}}",
            "smlad r0, r8, r2, r0",
            "uxtb16 r8, r8",
            "smlad r1, r8, r2, r1",
            "smlad r0, r9, r3, r0",
            "uxtb16 r9, r9",
            "smlad r1, r9, r3, r1",
            "smlad r0, r10, r4, r0",
            "uxtb16 r10, r10",
            "smlad r1, r10, r4, r1",
            "smlad r0, r11, r5, r0",
            "uxtb16 r11, r11",
            "smlad r1, r11, r5, r1",
            "ldr r8, [sp]",
            "cmp lr, r8",
            "bne 2b",
            "add sp, sp, #4",
            inout("r0") s,
            inout("r1") u,
            out("r2") _,
            out("r3") _,
            out("r4") _,
            out("r5") _,
            inout("r8") end => _,
            inout("r9") groups => _,
            out("r10") _,
            out("r11") _,
            inout("r12") x.as_ptr() => _,
            inout("lr") w.as_ptr() => _,
            options(readonly),
        );
    }
    (s, u)
}

/// The two weights of tap pair `j` of a row, `(w[2j], w[2j+1])`, as the one `i32` whose low
/// and high halves [`madd8`] multiplies with a pair of inputs (a missing last tap of an odd
/// count is 0). `out` takes one word per pair.
///
/// # Panics
/// When `out` is not `w.len().div_ceil(2)` long.
pub fn pack_pairs(w: &[i8], out: &mut [i32]) {
    assert_eq!(
        out.len(),
        w.len().div_ceil(2),
        "one word per pair of weights"
    );
    for (pair, out) in w.chunks(2).zip(out) {
        let low = i32::from(pair[0]) as u16;
        let high = pair.get(1).map_or(0, |&w| i32::from(w) as u16);
        *out = (u32::from(low) | (u32::from(high) << 16)) as i32;
    }
}

/// For `C` weight rows (each packed by [`pack_pairs`]) and eight positions `p0..p0 + 8`:
/// `bias[c] + Σ_j (pairs[j·stride + 2p] · low(packed[c][j]) + pairs[j·stride + 2p + 1] ·
/// high(packed[c][j]))`, wrapping. `pairs` holds the inputs of two taps side by side for every
/// position, tap pair `j` at offset `j · stride`. With AVX2 each step is one `vpmaddwd` per row
/// on eight positions.
///
/// # Panics
/// When a row is longer than `pairs` has pairs for, or the eight positions run past it.
#[inline]
pub fn madd8<const C: usize>(
    pairs: &[i16],
    stride: usize,
    p0: usize,
    packed: [&[i32]; C],
    bias: [i32; C],
) -> [[i32; 8]; C] {
    let count = packed.first().map_or(0, |p| p.len());
    assert!(
        packed.iter().all(|p| p.len() == count),
        "rows of one length"
    );
    if count > 0 {
        let last = (count - 1) * stride + 2 * p0 + 16;
        assert!(last <= pairs.len(), "the positions run past the pairs");
    }
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    if super::supports(super::InstructionSet::Avx2) {
        // SAFETY: the CPU has AVX2 (checked), and every load is inside `pairs` and `packed`
        // (asserted above).
        return unsafe { x86::madd8_avx2(pairs, stride, p0, packed, bias) };
    }
    madd8_portable(pairs, stride, p0, packed, bias)
}

/// [`madd8`] in plain Rust.
fn madd8_portable<const C: usize>(
    pairs: &[i16],
    stride: usize,
    p0: usize,
    packed: [&[i32]; C],
    bias: [i32; C],
) -> [[i32; 8]; C] {
    let mut acc: [[i32; 8]; C] = core::array::from_fn(|c| [bias[c]; 8]);
    for (acc, row) in acc.iter_mut().zip(packed) {
        for (j, &w) in row.iter().enumerate() {
            let (w0, w1) = (i32::from(w as i16), i32::from((w >> 16) as i16));
            let inputs = &pairs[j * stride + 2 * p0..][..16];
            for (acc, pair) in acc.iter_mut().zip(inputs.chunks_exact(2)) {
                let term = w0 * i32::from(pair[0]) + w1 * i32::from(pair[1]);
                *acc = acc.wrapping_add(term);
            }
        }
    }
    acc
}

/// Eight sums of one channel back to int8: TensorFlow Lite's double-rounding requantization
/// by `(multiplier, shift)` (gemmlowp's saturating rounding doubling high multiply, then a
/// rounding right shift), plus `zero_point`, clamped to `(low, high)`. With AVX2, eight lanes
/// at once. [`crate::quant::Multiplier::apply`] is the scalar form; the tests compare them.
///
/// # Panics
/// When `out` is not eight values.
#[inline]
pub fn requantize8(
    factor: (i32, i32),
    zero_point: i32,
    clamp: (i32, i32),
    acc: &[i32; 8],
    out: &mut [i8],
) {
    assert_eq!(out.len(), 8, "eight outputs");
    requantize_run(factor, zero_point, clamp, acc, out);
}

/// [`requantize8`] over a run of one channel's sums of any length, into `out`.
///
/// # Panics
/// When `out` is not as long as `acc`.
pub fn requantize_run(
    (multiplier, shift): (i32, i32),
    zero_point: i32,
    (low, high): (i32, i32),
    acc: &[i32],
    out: &mut [i8],
) {
    assert_eq!(out.len(), acc.len(), "one output per sum");
    // The one multiplier the high multiply saturates for, and zero points outside int8 (which
    // the lane form's clamp does not cover), go the scalar way.
    let lane_form = multiplier != i32::MIN && (-128..=127).contains(&zero_point);
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    if lane_form && super::supports(super::InstructionSet::Avx2) {
        // SAFETY: the CPU has AVX2 (checked); the multiplier and zero point are the lane
        // form's (checked); `out` is as long as `acc` (asserted).
        unsafe {
            x86::requantize_run_avx2((multiplier, shift), zero_point, (low, high), acc, out);
        }
        return;
    }
    let _ = lane_form;
    for (out, &a) in out.iter_mut().zip(acc) {
        *out = requantize_scalar((multiplier, shift), zero_point, (low, high), a);
    }
}

/// One value of [`requantize8`]: `quant::Multiplier::apply`, the zero point, the clamp.
fn requantize_scalar(
    (multiplier, shift): (i32, i32),
    zero_point: i32,
    (low, high): (i32, i32),
    acc: i32,
) -> i8 {
    let m = crate::quant::Multiplier { multiplier, shift };
    zero_point.saturating_add(m.apply(acc)).clamp(low, high) as i8
}

/// The AVX2 forms of [`madd8`] and [`requantize8`].
#[cfg(all(target_arch = "x86_64", feature = "std"))]
mod x86 {
    use core::arch::x86_64::*;

    /// [`super::madd8`] with `vpmaddwd`.
    ///
    /// # Safety
    /// The CPU has AVX2; for every row `j < packed[c].len()`, `pairs[j·stride + 2·p0 ..][..16]`
    /// is inside `pairs`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn madd8_avx2<const C: usize>(
        pairs: &[i16],
        stride: usize,
        p0: usize,
        packed: [&[i32]; C],
        bias: [i32; C],
    ) -> [[i32; 8]; C] {
        let mut acc: [__m256i; C] = core::array::from_fn(|c| _mm256_set1_epi32(bias[c]));
        let count = packed.first().map_or(0, |p| p.len());
        let base = pairs.as_ptr().wrapping_add(2 * p0);
        for j in 0..count {
            // SAFETY: the caller guarantees these 16 values are inside `pairs`; `loadu`
            // takes any alignment.
            let inputs = unsafe { _mm256_loadu_si256(base.add(j * stride).cast()) };
            for (acc, row) in acc.iter_mut().zip(&packed) {
                let w = _mm256_set1_epi32(row[j]);
                *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(inputs, w));
            }
        }
        let mut out = [[0i32; 8]; C];
        for (out, acc) in out.iter_mut().zip(acc) {
            // SAFETY: `out` is eight `i32`s, 32 bytes; `storeu` takes any alignment.
            unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), acc) };
        }
        out
    }

    /// [`super::requantize_run`] eight lanes at a time, the constants made once; a last
    /// run shorter than eight through a padded eight.
    ///
    /// # Safety
    /// The CPU has AVX2; `multiplier != i32::MIN`; `zero_point` is an int8; `out` is as long
    /// as `acc`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn requantize_run_avx2(
        (multiplier, shift): (i32, i32),
        zero_point: i32,
        (low, high): (i32, i32),
        acc: &[i32],
        out: &mut [i8],
    ) {
        let left = _mm_cvtsi32_si128(shift.clamp(0, 31));
        let right_count = (-shift).clamp(0, 31);
        let right = _mm_cvtsi32_si128(right_count);
        let m = _mm256_set1_epi32(multiplier);
        let nudge = _mm256_set1_epi64x(1 << 30);
        let mask = ((1u32 << right_count) - 1) as i32;
        let (mask, half) = (_mm256_set1_epi32(mask), _mm256_set1_epi32(mask >> 1));
        // Clamping before adding the zero point, to the bounds less it: with an int8 zero
        // point that cannot overflow, and gives the saturating sum's clamp.
        let low_less = _mm256_set1_epi32(low.saturating_sub(zero_point));
        let high_less = _mm256_set1_epi32(high.saturating_sub(zero_point));
        let zero_point = _mm256_set1_epi32(zero_point);
        for (acc, out) in acc.chunks(8).zip(out.chunks_mut(8)) {
            let mut lanes = [0i32; 8];
            lanes[..acc.len()].copy_from_slice(acc);
            // SAFETY: `lanes` is eight `i32`s; `loadu` takes any alignment.
            let x = unsafe { _mm256_loadu_si256(lanes.as_ptr().cast()) };
            let x = _mm256_sll_epi32(x, left);
            // The high multiply, floor((x·m + 2^30) / 2^31): 64-bit products of the even
            // lanes, then of the odd ones moved down; bits 31..62 of each sum are the result
            // (the saturating case, m = i32::MIN, is the caller's to avoid).
            let even = _mm256_srli_epi64::<31>(_mm256_add_epi64(_mm256_mul_epi32(x, m), nudge));
            let odd_x = _mm256_srli_epi64::<32>(x);
            let odd = _mm256_srli_epi64::<31>(_mm256_add_epi64(_mm256_mul_epi32(odd_x, m), nudge));
            let product = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
            // The rounding right shift: ties away from zero.
            let remainder = _mm256_and_si256(product, mask);
            let threshold = _mm256_add_epi32(half, _mm256_srli_epi32::<31>(product));
            let shifted = _mm256_sra_epi32(product, right);
            // `cmpgt` is −1 where the remainder passes the threshold: subtracting adds one.
            let rounded = _mm256_sub_epi32(shifted, _mm256_cmpgt_epi32(remainder, threshold));
            let clamped = _mm256_min_epi32(_mm256_max_epi32(rounded, low_less), high_less);
            let q = _mm256_add_epi32(clamped, zero_point);
            // SAFETY: `lanes` is eight `i32`s; `storeu` takes any alignment.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), q) };
            for (out, q) in out.iter_mut().zip(lanes) {
                *out = q as i8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;

    /// Every pair of rows against the plain sums, with the extreme offsets and weights (the
    /// chunk bound is tightest at `|x| = 255`, `w = −128`), odd row counts, input counts that
    /// are not whole groups, and several chunks.
    #[test]
    fn paired_rows_are_two_dot_products() {
        for (outputs, inputs) in [
            (1, 1),
            (2, 8),
            (3, 5),
            (4, 16),
            (5, 257),
            (2, 784),
            (7, 600),
        ] {
            for extreme in [false, true] {
                let weight: Vec<i8> = (0..outputs * inputs)
                    .map(|i| {
                        if extreme {
                            if i % 3 == 0 { 127 } else { -128 }
                        } else {
                            (i as i32 * 53 % 255 - 127) as i8
                        }
                    })
                    .collect();
                let x: Vec<i8> = (0..inputs)
                    .map(|i| {
                        if extreme {
                            if i % 2 == 0 { -128 } else { 127 }
                        } else {
                            (i as i32 * 31 % 256 - 128) as i8
                        }
                    })
                    .collect();
                let zero_point = if extreme { 127 } else { -3 };
                let mut words = vec![0u32; paired_weight_words(outputs, inputs)];
                pair_rows(&weight, outputs, &mut words);
                let mut pairs = vec![0u32; paired_input_words(inputs)];
                let sum = pair_inputs(&x, zero_point, &mut pairs);
                let per_pair = paired_input_words(inputs);
                for p in 0..outputs.div_ceil(2) {
                    let bias = [p as i32 * 7 - 3, 11 - p as i32];
                    let got = paired_dot(bias, &pairs, &words[p * per_pair..][..per_pair], sum);
                    for k in 0..2 {
                        let row = 2 * p + k;
                        if row >= outputs {
                            continue;
                        }
                        let want = (0..inputs).fold(bias[k], |acc, i| {
                            let v = i32::from(x[i]) - zero_point;
                            acc.wrapping_add(v * i32::from(weight[row * inputs + i]))
                        });
                        assert_eq!(got[k], want, "{outputs} × {inputs}, row {row}, {extreme}");
                    }
                }
            }
        }
    }

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
    fn paired_products_are_the_same_on_every_instruction_set() {
        let stride = 2 * 24;
        let pairs: Vec<i16> = (0..7 * stride)
            .map(|i| ((i * 73 % 511) as i16) - 255)
            .collect();
        let rows: Vec<Vec<i8>> = (0..3)
            .map(|c| (0..13).map(|t| ((t * 31 + c * 17) % 255) as i8).collect())
            .collect();
        let packed: Vec<Vec<i32>> = rows
            .iter()
            .map(|w| {
                let mut p = vec![0; w.len().div_ceil(2)];
                pack_pairs(w, &mut p);
                p
            })
            .collect();
        for p0 in [0, 5, 16] {
            let got = madd8(
                &pairs,
                stride,
                p0,
                [&packed[0], &packed[1], &packed[2]],
                [1, -2, 3],
            );
            let portable = madd8_portable(
                &pairs,
                stride,
                p0,
                [&packed[0], &packed[1], &packed[2]],
                [1, -2, 3],
            );
            assert_eq!(got, portable);
            for (c, w) in rows.iter().enumerate() {
                for i in 0..8 {
                    let expected = w
                        .iter()
                        .enumerate()
                        .fold([1, -2, 3][c], |acc: i32, (t, &w)| {
                            acc + i32::from(w)
                                * i32::from(pairs[t / 2 * stride + 2 * (p0 + i) + t % 2])
                        });
                    assert_eq!(got[c][i], expected, "channel {c}, position {}", p0 + i);
                }
            }
        }
    }

    #[test]
    fn requantization_is_the_same_on_every_instruction_set() {
        let sums = [
            [0, 1, -1, 1000, -1000, i32::MAX, i32::MIN, 12345],
            [77, -77, 1 << 20, -(1 << 20), 3, -3, 65535, -65536],
        ];
        for (multiplier, shift) in [
            (1 << 30, 0),
            (1_395_864_371, -7),
            (2_147_000_000, -31),
            (1_073_741_825, 3),
            (1_500_000_000, 30),
            (i32::MIN, -1),
        ] {
            for zero_point in [-128, -5, 0, 127] {
                for (low, high) in [(-128, 127), (zero_point.max(-128), 127)] {
                    for acc in &sums {
                        let mut got = [0i8; 8];
                        requantize8((multiplier, shift), zero_point, (low, high), acc, &mut got);
                        for (i, &a) in acc.iter().enumerate() {
                            let want =
                                requantize_scalar((multiplier, shift), zero_point, (low, high), a);
                            assert_eq!(
                                got[i], want,
                                "{a} by ({multiplier}, {shift}) + {zero_point}"
                            );
                        }
                    }
                }
            }
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
            let w2: Vec<i8> = w0.iter().map(|&w| w.wrapping_mul(3)).collect();
            assert_eq!(
                dot3([7, 7, 7], &a, [&w0, &w1, &w2]),
                [expected(&w0), expected(&w1), expected(&w2)],
                "{len}"
            );
        }
    }
}
