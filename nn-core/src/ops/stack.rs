//! Stacking along a new axis: two (3,) tensors give (2, 3).

use crate::ops::chunks::{concat_chunks, split_chunks};
use crate::tensor::{Tensor1, Tensor2, Tensor3};

/// Stacks `K` vectors of `N` elements into a `K × N` matrix, part `k` in row `k`.
///
/// Every part has the same type, so parts of different sizes are a type error under
/// `cargo check`, and the new axis is the array length: no size is computed, so nothing is
/// left to a build-time assert.
///
/// ```
/// use nn_core::ops::stack;
/// use nn_core::tensor::{Tensor1, Tensor2};
/// let a = Tensor1::<3>::from_slice(&[1.0, 2.0, 3.0])?;
/// let b = Tensor1::<3>::from_slice(&[4.0, 5.0, 6.0])?;
/// let mut out = Tensor2::<2, 3>::zeros();
/// stack([&a, &b], &mut out);
/// assert_eq!(out[[1, 0]], 4.0);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// ```compile_fail,E0308
/// # use nn_core::{ops::stack, tensor::{Tensor1, Tensor2}};
/// let mut out = Tensor2::<2, 3>::zeros();
/// stack([&Tensor1::<3>::zeros(), &Tensor1::<4>::zeros()], &mut out); // expected `3`, found `4`
/// ```
pub fn stack<const K: usize, const N: usize>(parts: [&Tensor1<N>; K], out: &mut Tensor2<K, N>) {
    let slices = parts.map(Tensor1::as_slice);
    concat_chunks(1, &slices, out.as_mut_slice());
}

/// The backward of [`stack`]: row `k` of `dy` is the gradient of part `k`.
pub fn stack_backward<const K: usize, const N: usize>(
    dy: &Tensor2<K, N>,
    mut parts: [&mut Tensor1<N>; K],
) {
    for (k, part) in parts.iter_mut().enumerate() {
        part.as_mut_slice().copy_from_slice(dy.row(k));
    }
}

/// Stacks `K` batches of `N` features into a `Tensor3<B, K, N>`: sample `b` of the output is
/// the `K × N` matrix of sample `b` of every part. This is `network!`'s `stack` merge.
///
/// ```
/// use nn_core::ops::stack_batch;
/// use nn_core::tensor::{Tensor2, Tensor3};
/// let a = Tensor2::<2, 1>::from_slice(&[1.0, 2.0])?;
/// let b = Tensor2::<2, 1>::from_slice(&[10.0, 20.0])?;
/// let mut out = Tensor3::<2, 2, 1>::zeros();
/// stack_batch([&a, &b], &mut out);
/// assert_eq!(out.as_slice(), &[1.0, 10.0, 2.0, 20.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn stack_batch<const K: usize, const B: usize, const N: usize>(
    parts: [&Tensor2<B, N>; K],
    out: &mut Tensor3<B, K, N>,
) {
    let slices = parts.map(Tensor2::as_slice);
    concat_chunks(B, &slices, out.as_mut_slice());
}

/// The backward of [`stack_batch`]: splits `dy` back into one gradient per part.
pub fn stack_batch_backward<const K: usize, const B: usize, const N: usize>(
    dy: &Tensor3<B, K, N>,
    parts: [&mut Tensor2<B, N>; K],
) {
    let mut slices = parts.map(Tensor2::as_mut_slice);
    split_chunks(B, dy.as_slice(), &mut slices);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{compare_gradients, numeric_gradient, random_tensor, weighted_loss};
    use alloc::vec::Vec;

    #[test]
    fn two_vectors_stack_into_rows() {
        let a = Tensor1::<3>::from_slice(&[1.0, 2.0, 3.0]).unwrap();
        let b = Tensor1::<3>::from_slice(&[4.0, 5.0, 6.0]).unwrap();
        let mut out = Tensor2::<2, 3>::zeros();
        stack([&a, &b], &mut out);
        assert_eq!(out.shape(), [2, 3]);
        assert_eq!(out.row(0), a.as_slice());
        assert_eq!(out.row(1), b.as_slice());
        let (mut da, mut db) = (Tensor1::<3>::zeros(), Tensor1::<3>::zeros());
        stack_backward(&out, [&mut da, &mut db]);
        assert_eq!((da, db), (a, b));
    }

    #[test]
    fn batch_stack_gradient_matches_central_differences() {
        let mut rng = crate::init::seeded(4);
        let parts: [Tensor2<2, 3>; 3] = core::array::from_fn(|_| random_tensor(&mut rng));
        let r = random_tensor::<Tensor3<2, 3, 3>>(&mut rng);
        let mut x: Vec<f32> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        let numeric = numeric_gradient(&mut x, |x| {
            let parts: [Tensor2<2, 3>; 3] =
                core::array::from_fn(|k| Tensor2::from_slice(&x[k * 6..(k + 1) * 6]).unwrap());
            let mut y = Tensor3::<2, 3, 3>::zeros();
            stack_batch([&parts[0], &parts[1], &parts[2]], &mut y);
            weighted_loss(y.as_slice(), r.as_slice())
        });
        let mut grads: [Tensor2<2, 3>; 3] = core::array::from_fn(|_| Tensor2::zeros());
        let [g0, g1, g2] = &mut grads;
        stack_batch_backward(&r, [g0, g1, g2]);
        let analytic: Vec<f32> = grads.iter().flat_map(|g| g.iter().copied()).collect();
        compare_gradients("stack_batch", &analytic, &numeric).unwrap();
        // Sample 1, part 2, feature 0 of the output is element 3 of part 2.
        let mut y = Tensor3::<2, 3, 3>::zeros();
        stack_batch([&parts[0], &parts[1], &parts[2]], &mut y);
        assert_eq!(y[[1, 2, 0]], parts[2][[1, 0]]);
    }
}
