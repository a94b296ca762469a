//! Opt-in threading (feature `threading`): a large product is cut into bands of rows of `c`, one
//! per thread, run under [`std::thread::scope`].
//!
//! Spawning costs tens of microseconds and allocates each thread's stack, so only products of at
//! least [`MIN_FLOPS`] are split; smaller ones, such as the MLP's at batch 64, stay on the
//! calling thread and allocate nothing.

use std::sync::OnceLock;

use super::InstructionSet;
use super::kernels::Gemm;

/// The smallest product worth splitting, in floating-point operations: the MNIST MLP's first
/// layer at batch 256 (`2 · 256 · 784 · 128 ≈ 51 M`) qualifies, batch 64 (`≈ 13 M`) does not.
const MIN_FLOPS: usize = 32_000_000;

/// Rows of `c` per band, at least: a band thinner than a few kernel tiles wastes the split.
const MIN_ROWS_PER_THREAD: usize = 32;

/// How many threads products may use: `MATMUL_NUM_THREADS` if set to a positive integer, else
/// every core. Read once.
pub fn thread_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        std::env::var("MATMUL_NUM_THREADS")
            .ok()
            .and_then(|value| value.trim().parse::<usize>().ok())
            .filter(|&count| count > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// Runs `product` with `run`, split across threads when it is large enough.
pub(super) fn run_split(
    isa: InstructionSet,
    product: &mut Gemm<'_>,
    run: fn(InstructionSet, &mut Gemm<'_>),
) {
    let flops = 2 * product.m * product.n * product.k;
    let threads = thread_count().min(product.m / MIN_ROWS_PER_THREAD);
    if threads < 2 || flops < MIN_FLOPS {
        return run(isa, product);
    }
    // `gemm`, the only caller, gives a contiguous `c`: bands of whole rows.
    debug_assert_eq!(product.c_row_stride, product.n);
    let rows_per_band = product.m.div_ceil(threads);
    let (n, a_row_stride) = (product.n, product.a_row_stride);
    std::thread::scope(|scope| {
        let bands = product.c.chunks_mut(rows_per_band * n).enumerate();
        for (band, c) in bands {
            let first_row = band * rows_per_band;
            // Row `i` of the band is row `first_row + i` of `op(a)`: the same strides over `a`
            // shifted by `first_row` rows keep `Gemm`'s invariants for the band's `m`.
            let mut part = Gemm {
                m: c.len() / n,
                a: &product.a[first_row * a_row_stride..],
                c,
                ..*product
            };
            if first_row + part.m == product.m {
                // The last band runs here instead of waiting idle.
                run(isa, &mut part);
            } else {
                scope.spawn(move || run(isa, &mut part));
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::{MatRef, Op, gemm, instruction_set};

    #[test]
    fn a_split_product_equals_the_unsplit_one() {
        let (m, k, n) = (300, 784, 130);
        let mut rng = crate::init::seeded(3);
        let mut random = |len: usize| -> alloc::vec::Vec<f32> {
            (0..len)
                .map(|_| crate::init::uniform(&mut rng, -1.0, 1.0))
                .collect()
        };
        let (a, b) = (random(m * k), random(n * k));
        assert!(
            2 * m * n * k >= MIN_FLOPS,
            "the product must be large enough to split"
        );
        for op_a in [Op::Plain, Op::Transposed] {
            let a_view = if op_a == Op::Plain {
                MatRef::new(&a, m, k)
            } else {
                MatRef::new(&a, k, m)
            };
            let mut split = alloc::vec![0.0; m * n];
            gemm(
                1.0,
                a_view,
                op_a,
                MatRef::new(&b, n, k),
                Op::Transposed,
                0.0,
                &mut split,
                n,
            );
            let mut whole = alloc::vec![0.0; m * n];
            let mut product = Gemm {
                m,
                n,
                k,
                alpha: 1.0,
                beta: 0.0,
                a: &a,
                a_row_stride: if op_a == Op::Plain { k } else { 1 },
                a_col_stride: if op_a == Op::Plain { 1 } else { m },
                b: &b,
                b_row_stride: 1,
                b_col_stride: k,
                c: &mut whole,
                c_row_stride: n,
            };
            crate::linalg::run_on(instruction_set(), &mut product);
            assert_eq!(split, whole, "{op_a:?}");
        }
    }
}
