//! Slice-level concat and split of per-sample chunks, and sums: the helpers `network!` calls
//! for its merges, in heap and baked networks alike (no `alloc` needed; re-exported by
//! `nn_core::ops`).

/// Interleaves chunks: for each of `outer` blocks, copies block `o` of every part, in order,
/// into `out`. Part `p` has `p.len() / outer` elements per block.
///
/// Concatenating row-major tensors along axis `k` is this with `outer` the product of the
/// dims before `k` (batch included). Stacking along a new axis after the batch is this with
/// `outer` the batch size.
///
/// ```
/// use nn_core::ops::concat_chunks;
/// // Two samples; part a has 2 features, part b has 1.
/// let (a, b) = ([1.0, 2.0, 3.0, 4.0], [10.0, 20.0]);
/// let mut out = [0.0; 6];
/// concat_chunks(2, &[&a, &b], &mut out);
/// assert_eq!(out, [1.0, 2.0, 10.0, 3.0, 4.0, 20.0]);
/// ```
///
/// # Panics
/// When a part's length is not a multiple of `outer`, or the parts do not fill `out` exactly.
/// Typed callers (the ops of this module and `network!`) derive every length from const dims.
pub fn concat_chunks(outer: usize, parts: &[&[f32]], out: &mut [f32]) {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    assert_eq!(
        total,
        out.len(),
        "concat_chunks: the parts must fill the output exactly"
    );
    if outer == 0 {
        return;
    }
    let mut at = 0;
    for o in 0..outer {
        for part in parts {
            let chunk = part.len() / outer;
            assert_eq!(chunk * outer, part.len(), "concat_chunks: uneven part");
            out[at..at + chunk].copy_from_slice(&part[o * chunk..(o + 1) * chunk]);
            at += chunk;
        }
    }
}

/// The inverse of [`concat_chunks`], and its backward: copies each block of `src` back into
/// the parts.
///
/// ```
/// use nn_core::ops::split_chunks;
/// let src = [1.0, 2.0, 10.0, 3.0, 4.0, 20.0];
/// let (mut a, mut b) = ([0.0; 4], [0.0; 2]);
/// split_chunks(2, &src, &mut [&mut a, &mut b]);
/// assert_eq!((a, b), ([1.0, 2.0, 3.0, 4.0], [10.0, 20.0]));
/// ```
///
/// # Panics
/// Under the same conditions as [`concat_chunks`].
pub fn split_chunks(outer: usize, src: &[f32], parts: &mut [&mut [f32]]) {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    assert_eq!(
        total,
        src.len(),
        "split_chunks: the parts must cover the source exactly"
    );
    if outer == 0 {
        return;
    }
    let mut at = 0;
    for o in 0..outer {
        for part in parts.iter_mut() {
            let chunk = part.len() / outer;
            assert_eq!(chunk * outer, part.len(), "split_chunks: uneven part");
            part[o * chunk..(o + 1) * chunk].copy_from_slice(&src[at..at + chunk]);
            at += chunk;
        }
    }
}

/// Writes the elementwise sum of `parts` into `out`: the forward of a residual `add` merge.
///
/// ```
/// use nn_core::ops::sum_into;
/// let mut out = [0.0; 2];
/// sum_into(&[&[1.0, 2.0], &[10.0, 20.0], &[100.0, 200.0]], &mut out);
/// assert_eq!(out, [111.0, 222.0]);
/// ```
///
/// # Panics
/// When a part's length differs from `out`'s.
pub fn sum_into(parts: &[&[f32]], out: &mut [f32]) {
    out.fill(0.0);
    for part in parts {
        accumulate(out, part);
    }
}

/// Adds `src` into `dst` elementwise: how a gradient that flows into one value along several
/// paths (a fork) is summed.
///
/// ```
/// use nn_core::ops::accumulate;
/// let mut grad = [1.0, 1.0];
/// accumulate(&mut grad, &[0.5, -1.0]);
/// assert_eq!(grad, [1.5, 0.0]);
/// ```
///
/// # Panics
/// When the lengths differ.
pub fn accumulate(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "accumulate: lengths differ");
    for (d, &s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{compare_gradients, numeric_gradient, weighted_loss};
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn concat_then_split_round_trips() {
        let a: Vec<f32> = (0..6).map(|v| v as f32).collect();
        let b: Vec<f32> = (10..19).map(|v| v as f32).collect();
        let mut joined = vec![0.0; 15];
        concat_chunks(3, &[&a, &b], &mut joined);
        assert_eq!(&joined[..5], &[0.0, 1.0, 10.0, 11.0, 12.0]);
        let (mut a2, mut b2) = (vec![0.0; 6], vec![0.0; 9]);
        split_chunks(3, &joined, &mut [&mut a2, &mut b2]);
        assert_eq!((a, b), (a2, b2));
    }

    #[test]
    #[should_panic(expected = "fill the output")]
    fn concat_chunks_rejects_a_short_output() {
        concat_chunks(1, &[&[1.0], &[2.0]], &mut [0.0; 3]);
    }

    #[test]
    fn split_is_the_gradient_of_concat() {
        let mut rng = crate::init::seeded(1);
        let mut x: Vec<f32> = (0..10)
            .map(|_| crate::init::uniform(&mut rng, -1.0, 1.0))
            .collect();
        let r: Vec<f32> = (0..10)
            .map(|_| crate::init::uniform(&mut rng, -1.0, 1.0))
            .collect();
        // x holds part a (2 × 3) then part b (2 × 2).
        let numeric = numeric_gradient(&mut x, |x| {
            let mut y = [0.0; 10];
            concat_chunks(2, &[&x[..6], &x[6..]], &mut y);
            weighted_loss(&y, &r)
        });
        let (mut da, mut db) = ([0.0; 6], [0.0; 4]);
        split_chunks(2, &r, &mut [&mut da, &mut db]);
        let analytic: Vec<f32> = da.iter().chain(&db).copied().collect();
        compare_gradients("concat_chunks", &analytic, &numeric).unwrap();
    }
}
