//! Stacking along a new axis: two (3,) tensors give (2, 3).

use crate::linalg::chunks::{concat_chunks, split_chunks};
use crate::ops::axis::{Axis, InsertAxis};
use crate::tensor::Tensor;

/// Stacks `P` tensors of one type along a new axis `K`: `out` has the parts' dims with `P`
/// inserted at position `K`, and index `p` there holds part `p`.
///
/// Every part has the same type, so parts of different shapes are a type error under
/// `cargo check`; the new axis is the array's length and `out`'s type follows from the parts
/// (`T::Stacked<P>`), so no size is computed and nothing is left to a build-time assert.
///
/// `K` may be 0 or 1 for `Tensor1` parts, and 1 up to the rank for `Tensor2` and `Tensor3`
/// batches (after the batch, which stays first; [`InsertAxis`]).
///
/// ```
/// use nn_core::ops::{Axis, stack};
/// use nn_core::tensor::{Tensor1, Tensor2, Tensor3};
/// // Two vectors as the rows of a matrix.
/// let a = Tensor1::<3>::from_slice(&[1.0, 2.0, 3.0])?;
/// let b = Tensor1::<3>::from_slice(&[4.0, 5.0, 6.0])?;
/// let mut out = Tensor2::<2, 3>::zeros();
/// stack(Axis::<0>, [&a, &b], &mut out);
/// assert_eq!(out[[1, 0]], 4.0);
///
/// // Two batches of (1) as one batch of (2, 1): `network!`'s `stack` merge.
/// let a = Tensor2::<2, 1>::from_slice(&[1.0, 2.0])?;
/// let b = Tensor2::<2, 1>::from_slice(&[10.0, 20.0])?;
/// let mut out = Tensor3::<2, 2, 1>::zeros();
/// stack(Axis::<1>, [&a, &b], &mut out);
/// assert_eq!(out.as_slice(), &[1.0, 10.0, 2.0, 20.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// ```compile_fail,E0308
/// # use nn_core::{ops::{Axis, stack}, tensor::{Tensor1, Tensor2}};
/// let mut out = Tensor2::<2, 3>::zeros();
/// // expected `3`, found `4`
/// stack(Axis::<0>, [&Tensor1::<3>::zeros(), &Tensor1::<4>::zeros()], &mut out);
/// ```
pub fn stack<const K: usize, T: InsertAxis<K>, const P: usize>(
    _axis: Axis<K>,
    parts: [&T; P],
    out: &mut T::Stacked<P>,
) {
    let slices = parts.map(T::as_slice);
    concat_chunks(T::OUTER, &slices, out.as_mut_slice());
}

/// The backward of [`stack`]: index `p` of `dy` along axis `K` is the gradient of part `p`.
///
/// The parts fix the types here, so a `dy` of another shape is a type mismatch (`E0271`, which
/// names both sizes) under `cargo check`.
///
/// ```
/// use nn_core::ops::{Axis, stack_backward};
/// use nn_core::tensor::{Tensor1, Tensor2};
/// let dy = Tensor2::<3, 2>::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// let (mut da, mut db) = (Tensor1::<3>::zeros(), Tensor1::<3>::zeros());
/// stack_backward(Axis::<1>, &dy, [&mut da, &mut db]); // the columns
/// assert_eq!((da.as_slice(), db.as_slice()), (&[1.0, 3.0, 5.0][..], &[2.0, 4.0, 6.0][..]));
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn stack_backward<const K: usize, T: InsertAxis<K>, const P: usize>(
    _axis: Axis<K>,
    dy: &T::Stacked<P>,
    parts: [&mut T; P],
) {
    let mut slices = parts.map(T::as_mut_slice);
    split_chunks(T::OUTER, dy.as_slice(), &mut slices);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Tensor1, Tensor2, Tensor3, Tensor4};
    use crate::testing::{compare_gradients, numeric_gradient, random_tensor, weighted_loss};
    use alloc::vec::Vec;

    /// Checks `stack_backward` against the central-difference gradient of
    /// `<stack(parts), r>` for three parts of type `$part` stacked at axis `$k` into `$out`.
    macro_rules! check_stack {
        ($seed:literal, $k:literal, $part:ty => $out:ty) => {{
            let mut rng = crate::init::seeded($seed);
            let parts: [$part; 3] = core::array::from_fn(|_| random_tensor(&mut rng));
            let r = random_tensor::<$out>(&mut rng);
            let mut x: Vec<f32> = parts.iter().flat_map(|p| p.iter().copied()).collect();
            let n = <$part>::LEN;
            let numeric = numeric_gradient(&mut x, |x| {
                let parts: [$part; 3] =
                    core::array::from_fn(|k| <$part>::from_slice(&x[k * n..(k + 1) * n]).unwrap());
                let mut y = <$out>::zeros();
                stack(Axis::<$k>, [&parts[0], &parts[1], &parts[2]], &mut y);
                weighted_loss(y.as_slice(), r.as_slice())
            });
            let mut grads: [$part; 3] = core::array::from_fn(|_| <$part>::full(9.0));
            let [g0, g1, g2] = &mut grads;
            stack_backward(Axis::<$k>, &r, [g0, g1, g2]);
            let analytic: Vec<f32> = grads.iter().flat_map(|g| g.iter().copied()).collect();
            compare_gradients(stringify!(stack $k $part), &analytic, &numeric).unwrap();
        }};
    }

    #[test]
    fn gradient_matches_central_differences_on_every_new_axis() {
        check_stack!(31, 0, Tensor1<2> => Tensor2<3, 2>);
        check_stack!(32, 1, Tensor1<2> => Tensor2<2, 3>);
        check_stack!(33, 1, Tensor2<2, 3> => Tensor3<2, 3, 3>);
        check_stack!(34, 2, Tensor2<2, 3> => Tensor3<2, 3, 3>);
        check_stack!(35, 1, Tensor3<2, 2, 2> => Tensor4<2, 3, 2, 2>);
        check_stack!(36, 2, Tensor3<2, 2, 2> => Tensor4<2, 2, 3, 2>);
        check_stack!(37, 3, Tensor3<2, 2, 2> => Tensor4<2, 2, 2, 3>);
    }

    #[test]
    fn part_p_lands_at_index_p_of_the_new_axis() {
        let a = Tensor1::<3>::from_slice(&[1.0, 2.0, 3.0]).unwrap();
        let b = Tensor1::<3>::from_slice(&[4.0, 5.0, 6.0]).unwrap();
        let mut out = Tensor2::<2, 3>::zeros();
        stack(Axis::<0>, [&a, &b], &mut out);
        assert_eq!(out.shape(), [2, 3]);
        assert_eq!((out.row(0), out.row(1)), (a.as_slice(), b.as_slice()));
        let (mut da, mut db) = (Tensor1::<3>::zeros(), Tensor1::<3>::zeros());
        stack_backward(Axis::<0>, &out, [&mut da, &mut db]);
        assert_eq!((&da, &db), (&a, &b));

        // Sequences of (2, 3) stacked at each axis after the batch.
        let parts: [Tensor3<2, 2, 3>; 2] = core::array::from_fn(|p| {
            Tensor3::from_fn(|[b, t, f]| (1000 * p + 100 * b + 10 * t + f) as f32)
        });
        let [p0, p1] = &parts;
        let mut at1 = Tensor4::<2, 2, 2, 3>::zeros();
        stack(Axis::<1>, [p0, p1], &mut at1);
        assert_eq!(at1[[1, 1, 0, 2]], p1[[1, 0, 2]]);
        let mut at2 = Tensor4::<2, 2, 2, 3>::zeros();
        stack(Axis::<2>, [p0, p1], &mut at2);
        assert_eq!(at2[[1, 0, 1, 2]], p1[[1, 0, 2]]);
        let mut at3 = Tensor4::<2, 2, 3, 2>::zeros();
        stack(Axis::<3>, [p0, p1], &mut at3);
        assert_eq!(at3[[1, 1, 2, 0]], p0[[1, 1, 2]]);
        assert_eq!(at3[[1, 1, 2, 1]], p1[[1, 1, 2]]);
    }
}
