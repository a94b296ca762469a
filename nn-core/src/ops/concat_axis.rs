//! Concatenation of rank-3 and rank-4 tensors along a chosen axis, and its inverse, splitting.
//! Every axis but the joined one is a shared const parameter, so a mismatch there is a type
//! error under `cargo check`; the joined size is named by the caller and checked at build time,
//! as for [`concat`](fn@crate::ops::concat).

use crate::ops::chunks::{concat_chunks, split_chunks};
use crate::tensor::{Tensor3, Tensor4};

/// Writes a typed concat along one axis and its backward (a split), then the split as an op of
/// its own with its backward (a concat), from the tensor type, the names of the dims before the
/// joined axis, the joined axis' three sizes, and the dims after it.
macro_rules! concat_along {
    (
        $(#[$doc:meta])*
        $name:ident, $backward:ident, $split:ident, $split_backward:ident, $tensor:ident,
        [$($before:ident),*], [$a:ident, $c:ident, $n:ident], [$($after:ident),*]
    ) => {
        $(#[$doc])*
        pub fn $name<$(const $before: usize,)* const $a: usize, const $c: usize, const $n: usize $(, const $after: usize)*>(
            a: &$tensor<$($before,)* $a $(, $after)*>,
            c: &$tensor<$($before,)* $c $(, $after)*>,
            out: &mut $tensor<$($before,)* $n $(, $after)*>,
        ) {
            const { assert!($n == $a + $c, "concat: the joined axis of the output must be the sum of the inputs'") };
            concat_chunks(1 $(* $before)*, &[a.as_slice(), c.as_slice()], out.as_mut_slice());
        }

        #[doc = concat!("The backward of [`", stringify!($name), "`]: splits `dy` along the same axis into `da` and `dc`.")]
        pub fn $backward<$(const $before: usize,)* const $a: usize, const $c: usize, const $n: usize $(, const $after: usize)*>(
            dy: &$tensor<$($before,)* $n $(, $after)*>,
            da: &mut $tensor<$($before,)* $a $(, $after)*>,
            dc: &mut $tensor<$($before,)* $c $(, $after)*>,
        ) {
            const { assert!($n == $a + $c, "concat: the joined axis of the output must be the sum of the inputs'") };
            split_chunks(1 $(* $before)*, dy.as_slice(), &mut [da.as_mut_slice(), dc.as_mut_slice()]);
        }

        #[doc = concat!("Splits `x` along the axis [`", stringify!($name), "`] joins: its first `", stringify!($a), "` entries there go to `a`, the rest to `c`. The inverse of [`", stringify!($name), "`]; the sizes must add up, checked at build time.")]
        pub fn $split<$(const $before: usize,)* const $a: usize, const $c: usize, const $n: usize $(, const $after: usize)*>(
            x: &$tensor<$($before,)* $n $(, $after)*>,
            a: &mut $tensor<$($before,)* $a $(, $after)*>,
            c: &mut $tensor<$($before,)* $c $(, $after)*>,
        ) {
            $backward(x, a, c);
        }

        #[doc = concat!("The backward of [`", stringify!($split), "`]: joins `da` and `dc` into `dx`.")]
        pub fn $split_backward<$(const $before: usize,)* const $a: usize, const $c: usize, const $n: usize $(, const $after: usize)*>(
            da: &$tensor<$($before,)* $a $(, $after)*>,
            dc: &$tensor<$($before,)* $c $(, $after)*>,
            dx: &mut $tensor<$($before,)* $n $(, $after)*>,
        ) {
            $name(da, dc, dx);
        }
    };
}

concat_along!(
    /// Joins two `Tensor3`s along axis 1 (e.g. the time steps of a batch of sequences).
    ///
    /// ```
    /// use nn_core::ops::concat3_axis1;
    /// use nn_core::tensor::Tensor3;
    /// let a = Tensor3::<2, 1, 2>::full(1.0);
    /// let c = Tensor3::<2, 2, 2>::full(2.0);
    /// let mut out = Tensor3::<2, 3, 2>::zeros();
    /// concat3_axis1(&a, &c, &mut out);
    /// assert_eq!(out[[1, 0, 1]], 1.0);
    /// assert_eq!(out[[1, 2, 1]], 2.0);
    /// ```
    ///
    /// The other axes must agree, as types:
    ///
    /// ```compile_fail,E0308
    /// # use nn_core::{ops::concat3_axis1, tensor::Tensor3};
    /// let mut out = Tensor3::<2, 3, 2>::zeros();
    /// concat3_axis1(&Tensor3::<2, 1, 2>::zeros(), &Tensor3::<2, 2, 5>::zeros(), &mut out);
    /// ```
    concat3_axis1, concat3_axis1_backward, split3_axis1, split3_axis1_backward, Tensor3, [D0], [A, C, N], [D2]
);
concat_along!(
    /// Joins two `Tensor3`s along axis 2, the last (e.g. the features of each time step).
    ///
    /// ```compile_fail,E0080
    /// # use nn_core::{ops::concat3_axis2, tensor::Tensor3};
    /// let mut out = Tensor3::<2, 3, 4>::zeros(); // 2 + 3 is 5
    /// concat3_axis2(&Tensor3::<2, 3, 2>::zeros(), &Tensor3::<2, 3, 3>::zeros(), &mut out);
    /// ```
    concat3_axis2, concat3_axis2_backward, split3_axis2, split3_axis2_backward, Tensor3, [D0, D1], [A, C, N], []
);
concat_along!(
    /// Joins two `Tensor4`s along axis 1 (e.g. the channels of a batch of images).
    concat4_axis1, concat4_axis1_backward, split4_axis1, split4_axis1_backward, Tensor4, [D0], [A, C, N], [D2, D3]
);
concat_along!(
    /// Joins two `Tensor4`s along axis 2 (e.g. the rows of a batch of images).
    concat4_axis2, concat4_axis2_backward, split4_axis2, split4_axis2_backward, Tensor4, [D0, D1], [A, C, N], [D3]
);
concat_along!(
    /// Joins two `Tensor4`s along axis 3, the last (e.g. the columns of a batch of images).
    concat4_axis3, concat4_axis3_backward, split4_axis3, split4_axis3_backward, Tensor4, [D0, D1, D2], [A, C, N], []
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{compare_gradients, numeric_gradient, random_tensor, weighted_loss};
    use alloc::vec::Vec;

    #[test]
    fn every_element_lands_where_its_index_says() {
        let a = Tensor4::<2, 3, 2, 2>::from_fn(|[b, ch, h, w]| {
            (1000 * b + 100 * ch + 10 * h + w) as f32
        });
        let c =
            Tensor4::<2, 1, 2, 2>::from_fn(|[b, _, h, w]| -((1000 * b + 10 * h + w) as f32) - 1.0);
        let mut out = Tensor4::<2, 4, 2, 2>::zeros();
        concat4_axis1(&a, &c, &mut out);
        assert_eq!(out[[1, 2, 1, 0]], a[[1, 2, 1, 0]]);
        assert_eq!(out[[1, 3, 0, 1]], c[[1, 0, 0, 1]]);

        let mut rows = Tensor4::<2, 3, 4, 2>::zeros();
        concat4_axis2(&a, &a, &mut rows);
        assert_eq!(rows[[0, 1, 3, 1]], a[[0, 1, 1, 1]]);

        let mut cols = Tensor4::<2, 3, 2, 4>::zeros();
        concat4_axis3(&a, &a, &mut cols);
        assert_eq!(cols[[1, 2, 1, 2]], a[[1, 2, 1, 0]]);

        let s = Tensor3::<2, 2, 3>::from_fn(|[b, t, f]| (100 * b + 10 * t + f) as f32);
        let mut wide = Tensor3::<2, 2, 6>::zeros();
        concat3_axis2(&s, &s, &mut wide);
        assert_eq!(wide[[1, 1, 4]], s[[1, 1, 1]]);
    }

    #[test]
    fn split_inverts_concat_on_every_axis() {
        let x =
            Tensor4::<2, 3, 4, 5>::from_fn(|[b, c, h, w]| (1000 * b + 100 * c + 10 * h + w) as f32);
        let (mut a, mut c) = (
            Tensor4::<2, 1, 4, 5>::zeros(),
            Tensor4::<2, 2, 4, 5>::zeros(),
        );
        split4_axis1(&x, &mut a, &mut c);
        assert_eq!(c[[1, 0, 3, 4]], x[[1, 1, 3, 4]]);
        let mut joined = Tensor4::<2, 3, 4, 5>::zeros();
        concat4_axis1(&a, &c, &mut joined);
        assert_eq!(joined.as_slice(), x.as_slice());

        let (mut top, mut bottom) = (
            Tensor4::<2, 3, 3, 5>::zeros(),
            Tensor4::<2, 3, 1, 5>::zeros(),
        );
        split4_axis2(&x, &mut top, &mut bottom);
        assert_eq!(bottom[[0, 2, 0, 1]], x[[0, 2, 3, 1]]);
        let (mut left, mut right) = (
            Tensor4::<2, 3, 4, 2>::zeros(),
            Tensor4::<2, 3, 4, 3>::zeros(),
        );
        split4_axis3(&x, &mut left, &mut right);
        assert_eq!(right[[1, 1, 2, 0]], x[[1, 1, 2, 2]]);

        let s = Tensor3::<2, 3, 4>::from_fn(|[b, t, f]| (100 * b + 10 * t + f) as f32);
        let (mut early, mut late) = (Tensor3::<2, 1, 4>::zeros(), Tensor3::<2, 2, 4>::zeros());
        split3_axis1(&s, &mut early, &mut late);
        assert_eq!(late[[1, 1, 3]], s[[1, 2, 3]]);
        let (mut f1, mut f2) = (Tensor3::<2, 3, 3>::zeros(), Tensor3::<2, 3, 1>::zeros());
        split3_axis2(&s, &mut f1, &mut f2);
        assert_eq!(f2[[0, 2, 0]], s[[0, 2, 3]]);
    }

    #[test]
    fn split_gradient_matches_central_differences() {
        // Loss: a weighted sum of both parts, so its gradient flows back through the split.
        let mut rng = crate::init::seeded(21);
        let x = random_tensor::<Tensor3<2, 3, 2>>(&mut rng);
        let ra = random_tensor::<Tensor3<2, 1, 2>>(&mut rng);
        let rc = random_tensor::<Tensor3<2, 2, 2>>(&mut rng);
        let mut flat: Vec<f32> = x.iter().copied().collect();
        let numeric = numeric_gradient(&mut flat, |flat| {
            let x = Tensor3::<2, 3, 2>::from_slice(flat).unwrap();
            let (mut a, mut c) = (Tensor3::<2, 1, 2>::zeros(), Tensor3::<2, 2, 2>::zeros());
            split3_axis1(&x, &mut a, &mut c);
            weighted_loss(a.as_slice(), ra.as_slice()) + weighted_loss(c.as_slice(), rc.as_slice())
        });
        let mut dx = Tensor3::<2, 3, 2>::zeros();
        split3_axis1_backward(&ra, &rc, &mut dx);
        compare_gradients("split3_axis1", dx.as_slice(), &numeric).unwrap();
    }

    #[test]
    fn axis1_gradient_matches_central_differences() {
        let mut rng = crate::init::seeded(20);
        let a = random_tensor::<Tensor3<2, 2, 3>>(&mut rng);
        let c = random_tensor::<Tensor3<2, 1, 3>>(&mut rng);
        let r = random_tensor::<Tensor3<2, 3, 3>>(&mut rng);
        let mut x: Vec<f32> = a.iter().chain(c.iter()).copied().collect();
        let numeric = numeric_gradient(&mut x, |x| {
            let a = Tensor3::<2, 2, 3>::from_slice(&x[..12]).unwrap();
            let c = Tensor3::<2, 1, 3>::from_slice(&x[12..]).unwrap();
            let mut y = Tensor3::<2, 3, 3>::zeros();
            concat3_axis1(&a, &c, &mut y);
            weighted_loss(y.as_slice(), r.as_slice())
        });
        let (mut da, mut dc) = (Tensor3::<2, 2, 3>::zeros(), Tensor3::<2, 1, 3>::zeros());
        concat3_axis1_backward(&r, &mut da, &mut dc);
        let analytic: Vec<f32> = da.iter().chain(dc.iter()).copied().collect();
        compare_gradients("concat3_axis1", &analytic, &numeric).unwrap();
    }

    #[test]
    fn rank_four_backward_is_the_adjoint() {
        let mut rng = crate::init::seeded(21);
        let a = random_tensor::<Tensor4<2, 2, 2, 3>>(&mut rng);
        let c = random_tensor::<Tensor4<2, 2, 2, 1>>(&mut rng);
        let dy = random_tensor::<Tensor4<2, 2, 2, 4>>(&mut rng);
        let mut y = Tensor4::<2, 2, 2, 4>::zeros();
        concat4_axis3(&a, &c, &mut y);
        let (mut da, mut dc) = (
            Tensor4::<2, 2, 2, 3>::zeros(),
            Tensor4::<2, 2, 2, 1>::zeros(),
        );
        concat4_axis3_backward(&dy, &mut da, &mut dc);
        let lhs = weighted_loss(y.as_slice(), dy.as_slice());
        let rhs =
            weighted_loss(a.as_slice(), da.as_slice()) + weighted_loss(c.as_slice(), dc.as_slice());
        assert!((lhs - rhs).abs() < 1e-6, "{lhs} vs {rhs}");
    }
}
