//! Matrix multiplication: one small safe wrapper over `matrixmultiply::sgemm`.
//!
//! This is the only module of nn-core with `unsafe`. Every other module denies it.
//!
//! Operands are row-major slices. A transposed operand is read through swapped strides, so
//! `a · bᵀ` and `aᵀ · b` never copy (matrixmultiply packs its panels either way).

/// Whether an operand is read as stored or as its transpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Use the matrix as stored.
    Plain,
    /// Use the transpose of the stored matrix.
    Transposed,
}

/// A read-only view of a row-major matrix of `rows × cols`, as stored.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

impl<'a> MatRef<'a> {
    /// Views `data` as a row-major `rows × cols` matrix.
    ///
    /// # Panics
    /// When `data.len() != rows * cols`. Typed callers pass tensors whose length is fixed by
    /// their type, so this never fires for them.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "a {rows}x{cols} matrix needs {} elements",
            rows * cols
        );
        Self { data, rows, cols }
    }
}

/// `c = alpha · op(a) · op(b) + beta · c`, where `c` is row-major `m × n`.
///
/// When `beta == 0`, `c`'s old contents are ignored (NaNs in it do not leak through).
///
/// # Panics
/// When the operand shapes do not line up with each other or with `c`'s length.
///
/// ```
/// use nn_core::linalg::{gemm, MatRef, Op};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [1.0, 0.0, 1.0, 1.0]; // [[1, 0], [1, 1]]
/// let mut c = [0.0; 4];
/// gemm(1.0, MatRef::new(&a, 2, 2), Op::Plain, MatRef::new(&b, 2, 2), Op::Transposed, 0.0, &mut c, 2);
/// assert_eq!(c, [1.0, 3.0, 3.0, 7.0]); // a · bᵀ
/// ```
#[allow(
    clippy::too_many_arguments,
    reason = "mirrors BLAS gemm's signature on purpose"
)]
pub fn gemm(
    alpha: f32,
    a: MatRef<'_>,
    op_a: Op,
    b: MatRef<'_>,
    op_b: Op,
    beta: f32,
    c: &mut [f32],
    n: usize,
) {
    // (rows, cols, row stride, col stride) of op(x), read from row-major storage.
    let view = |x: MatRef<'_>, op: Op| match op {
        Op::Plain => (x.rows, x.cols, x.cols as isize, 1isize),
        Op::Transposed => (x.cols, x.rows, 1isize, x.cols as isize),
    };
    let (m, k, rsa, csa) = view(a, op_a);
    let (kb, nb, rsb, csb) = view(b, op_b);
    assert_eq!(k, kb, "gemm inner dims differ: {m}x{k} times {kb}x{nb}");
    assert_eq!(n, nb, "gemm output has {n} columns but op(b) has {nb}");
    assert_eq!(c.len(), m * n, "gemm output needs {m}x{n} elements");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // matrixmultiply handles k == 0, but be explicit: c = beta · c.
        if beta == 0.0 {
            c.fill(0.0);
        } else {
            c.iter_mut().for_each(|v| *v *= beta);
        }
        return;
    }
    // SAFETY: `a` holds `m * k` elements (checked in `MatRef::new`, and `k == kb` above), and
    // its strides (rsa, csa) address exactly that row-major block, plain or transposed; the same
    // holds for `b` with `k * n` elements. `c` holds `m * n` elements (asserted above) and is
    // addressed with row stride `n` and column stride 1. `c` is a unique `&mut` borrow, so it
    // cannot alias `a` or `b`, which are shared borrows.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr(),
            rsa,
            csa,
            b.data.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// The dot product of two equal-length slices.
///
/// Sixteen independent partial sums let the compiler vectorize the loop; small-batch dense
/// layers use this instead of [`gemm`], which would repack the whole weight for one row.
///
/// ```
/// assert_eq!(nn_core::linalg::dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
/// ```
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut partial = [0.0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            partial[lane] += x[lane] * y[lane];
        }
    }
    partial.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> alloc::vec::Vec<f32> {
        let mut c = alloc::vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    fn transpose(x: &[f32], rows: usize, cols: usize) -> alloc::vec::Vec<f32> {
        let mut t = alloc::vec![0.0; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                t[c * rows + r] = x[r * cols + c];
            }
        }
        t
    }

    #[test]
    fn every_transpose_combination_matches_naive() {
        let (m, k, n) = (5, 7, 3);
        let a: alloc::vec::Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: alloc::vec::Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let want = naive(&a, &b, m, k, n);
        let at = transpose(&a, m, k);
        let bt = transpose(&b, k, n);
        for (a_data, a_rows, a_cols, op_a) in [(&a, m, k, Op::Plain), (&at, k, m, Op::Transposed)] {
            for (b_data, b_rows, b_cols, op_b) in
                [(&b, k, n, Op::Plain), (&bt, n, k, Op::Transposed)]
            {
                let mut c = alloc::vec![f32::NAN; m * n];
                gemm(
                    1.0,
                    MatRef::new(a_data, a_rows, a_cols),
                    op_a,
                    MatRef::new(b_data, b_rows, b_cols),
                    op_b,
                    0.0,
                    &mut c,
                    n,
                );
                for (got, want) in c.iter().zip(&want) {
                    assert!(
                        (got - want).abs() < 1e-5,
                        "{op_a:?} {op_b:?}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn beta_one_accumulates() {
        let a = [1.0, 2.0];
        let b = [3.0, 4.0];
        let mut c = [10.0];
        gemm(
            1.0,
            MatRef::new(&a, 1, 2),
            Op::Plain,
            MatRef::new(&b, 2, 1),
            Op::Plain,
            1.0,
            &mut c,
            1,
        );
        assert_eq!(c, [21.0]);
    }

    #[test]
    #[should_panic(expected = "inner dims differ")]
    fn mismatched_inner_dims_panic() {
        let a = [0.0; 6];
        let mut c = [0.0; 4];
        gemm(
            1.0,
            MatRef::new(&a, 2, 3),
            Op::Plain,
            MatRef::new(&a, 3, 2),
            Op::Transposed,
            0.0,
            &mut c,
            2,
        );
    }
}
