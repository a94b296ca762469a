//! Concatenation along an existing axis: (3,) and (3,) give (6,); `(B, 2, 4, 4)` and
//! `(B, 3, 4, 4)` images give `(B, 5, 4, 4)` along the channels.

use crate::linalg::chunks::{concat_chunks, split_chunks};
use crate::ops::axis::{Axis, HasAxis};
use crate::ops::sizes;
use crate::tensor::Tensor;

/// Joins `a` and `c` along axis `K`: `out` holds, for each index of the axes before `K`, the
/// entries of `a` and then those of `c`.
///
/// The other axes of `c` and `out` must equal `a`'s: that is in their types
/// (`T::Resized<C>`, `T::Resized<N>`: `a`'s type with another size along `K`), so a mismatch
/// is a type error under `cargo check`. The joined size `N` is named by the caller and must be
/// `a`'s size plus `C`; an inline const assert checks it when the call is built (`cargo build`,
/// not `cargo check`; see the [module docs](crate::ops)).
///
/// `K` may be 0 for a `Tensor1`, and any axis but the batch for a `Tensor2`, `Tensor3` or
/// `Tensor4` ([`HasAxis`]).
///
/// ```
/// use nn_core::ops::{Axis, concat};
/// use nn_core::tensor::{Tensor1, Tensor2, Tensor4};
/// // Two vectors.
/// let a = Tensor1::<3>::from_slice(&[1.0, 2.0, 3.0])?;
/// let b = Tensor1::<3>::from_slice(&[4.0, 5.0, 6.0])?;
/// let mut out = Tensor1::<6>::zeros();
/// concat(Axis::<0>, &a, &b, &mut out);
/// assert_eq!(out.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
///
/// // The features of a batch of 2: each row is a's row, then c's.
/// let a = Tensor2::<2, 1>::from_slice(&[1.0, 2.0])?;
/// let c = Tensor2::<2, 2>::from_slice(&[10.0, 11.0, 20.0, 21.0])?;
/// let mut out = Tensor2::<2, 3>::zeros();
/// concat(Axis::<1>, &a, &c, &mut out);
/// assert_eq!(out.as_slice(), &[1.0, 10.0, 11.0, 2.0, 20.0, 21.0]);
///
/// // The channels of a batch of images.
/// let a = Tensor4::<2, 1, 2, 2>::full(1.0);
/// let c = Tensor4::<2, 2, 2, 2>::full(2.0);
/// let mut out = Tensor4::<2, 3, 2, 2>::zeros();
/// concat(Axis::<1>, &a, &c, &mut out);
/// assert_eq!((out[[1, 0, 1, 1]], out[[1, 2, 1, 1]]), (1.0, 2.0));
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// A wrong joined size fails the build:
///
/// ```compile_fail,E0080
/// # use nn_core::{ops::{Axis, concat}, tensor::Tensor3};
/// let mut out = Tensor3::<2, 3, 4>::zeros(); // 2 + 3 is 5
/// concat(Axis::<2>, &Tensor3::<2, 3, 2>::zeros(), &Tensor3::<2, 3, 3>::zeros(), &mut out);
/// ```
///
/// Other axes that differ, the batch among them, do not type-check:
///
/// ```compile_fail,E0308
/// # use nn_core::{ops::{Axis, concat}, tensor::Tensor2};
/// let mut out = Tensor2::<2, 6>::zeros();
/// // expected `2`, found `4`
/// concat(Axis::<1>, &Tensor2::<2, 3>::zeros(), &Tensor2::<4, 3>::zeros(), &mut out);
/// ```
///
/// Nor does an axis the tensor does not have, or the batch:
///
/// ```compile_fail,E0277
/// # use nn_core::{ops::{Axis, concat}, tensor::Tensor2};
/// let mut out = Tensor2::<4, 3>::zeros();
/// concat(Axis::<0>, &Tensor2::<2, 3>::zeros(), &Tensor2::<2, 3>::zeros(), &mut out);
/// ```
pub fn concat<const K: usize, T: HasAxis<K>, const C: usize, const N: usize>(
    _axis: Axis<K>,
    a: &T,
    c: &T::Resized<C>,
    out: &mut T::Resized<N>,
) {
    const {
        if N != T::SIZE + C {
            let sizes = [T::SIZE, C, N];
            let m = sizes::join("concat", ["a", "c", "out"], K, T::SHAPE, sizes);
            panic!("{}", m.as_str())
        }
    };
    concat_chunks(T::OUTER, &[a.as_slice(), c.as_slice()], out.as_mut_slice());
}

/// The backward of [`concat`](fn@concat): splits the output gradient `dy` along axis `K` into
/// the gradients of `a` and `c` (overwriting them). The sizes are checked as in `concat`.
///
/// ```
/// use nn_core::ops::{Axis, concat_backward};
/// use nn_core::tensor::Tensor1;
/// let dy = Tensor1::<3>::from_slice(&[1.0, 2.0, 3.0])?;
/// let (mut da, mut dc) = (Tensor1::<1>::zeros(), Tensor1::<2>::zeros());
/// concat_backward(Axis::<0>, &dy, &mut da, &mut dc);
/// assert_eq!((da.as_slice(), dc.as_slice()), (&[1.0][..], &[2.0, 3.0][..]));
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn concat_backward<const K: usize, T: HasAxis<K>, const A: usize, const C: usize>(
    _axis: Axis<K>,
    dy: &T,
    da: &mut T::Resized<A>,
    dc: &mut T::Resized<C>,
) {
    const {
        if T::SIZE != A + C {
            let sizes = [T::SIZE, A, C];
            let m = sizes::parts("concat_backward", ["dy", "da", "dc"], K, T::SHAPE, sizes);
            panic!("{}", m.as_str())
        }
    };
    split_chunks(
        T::OUTER,
        dy.as_slice(),
        &mut [da.as_mut_slice(), dc.as_mut_slice()],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Tensor1, Tensor2, Tensor3, Tensor4};
    use crate::testing::{compare_gradients, numeric_gradient, random_tensor, weighted_loss};
    use alloc::vec::Vec;

    /// Checks `concat_backward` against the central-difference gradient of
    /// `<concat(a, c), r>` with respect to `a` and `c`, for parts of types `$a` and `$c` joined
    /// along axis `$k` into `$out`. A macro rather than a generic function: the backward's
    /// types are `dy`'s, and a generic caller cannot show the compiler that resizing `$out`
    /// back gives `$a`.
    macro_rules! check_concat {
        ($seed:literal, $k:literal, $a:ty, $c:ty => $out:ty) => {{
            let mut rng = crate::init::seeded($seed);
            let (a, c) = (random_tensor::<$a>(&mut rng), random_tensor::<$c>(&mut rng));
            let r = random_tensor::<$out>(&mut rng);
            let mut x: Vec<f32> = a.iter().chain(c.iter()).copied().collect();
            let numeric = numeric_gradient(&mut x, |x| {
                let a = <$a>::from_slice(&x[..<$a>::LEN]).unwrap();
                let c = <$c>::from_slice(&x[<$a>::LEN..]).unwrap();
                let mut y = <$out>::zeros();
                concat(Axis::<$k>, &a, &c, &mut y);
                weighted_loss(y.as_slice(), r.as_slice())
            });
            let (mut da, mut dc) = (<$a>::full(9.0), <$c>::full(9.0)); // stale values go
            concat_backward(Axis::<$k>, &r, &mut da, &mut dc);
            let analytic: Vec<f32> = da.iter().chain(dc.iter()).copied().collect();
            compare_gradients(stringify!(concat $k $out), &analytic, &numeric).unwrap();
        }};
    }

    #[test]
    fn gradient_matches_central_differences_on_every_axis() {
        check_concat!(1, 0, Tensor1<3>, Tensor1<2> => Tensor1<5>);
        check_concat!(2, 1, Tensor2<3, 2>, Tensor2<3, 4> => Tensor2<3, 6>);
        check_concat!(3, 1, Tensor3<2, 2, 3>, Tensor3<2, 1, 3> => Tensor3<2, 3, 3>);
        check_concat!(4, 2, Tensor3<2, 2, 3>, Tensor3<2, 2, 2> => Tensor3<2, 2, 5>);
        check_concat!(5, 1, Tensor4<2, 1, 2, 3>, Tensor4<2, 2, 2, 3> => Tensor4<2, 3, 2, 3>);
        check_concat!(6, 2, Tensor4<2, 2, 1, 3>, Tensor4<2, 2, 2, 3> => Tensor4<2, 2, 3, 3>);
        check_concat!(7, 3, Tensor4<2, 2, 2, 3>, Tensor4<2, 2, 2, 1> => Tensor4<2, 2, 2, 4>);
    }

    #[test]
    fn every_element_lands_where_its_index_says() {
        // Each value encodes its index, so a misplaced element shows where it came from.
        let a = Tensor4::<2, 3, 2, 2>::from_fn(|[b, ch, h, w]| {
            (1000 * b + 100 * ch + 10 * h + w) as f32
        });
        let c =
            Tensor4::<2, 1, 2, 2>::from_fn(|[b, _, h, w]| -((1000 * b + 10 * h + w) as f32) - 1.0);
        let mut out = Tensor4::<2, 4, 2, 2>::zeros();
        concat(Axis::<1>, &a, &c, &mut out);
        assert_eq!(out[[1, 2, 1, 0]], a[[1, 2, 1, 0]]);
        assert_eq!(out[[1, 3, 0, 1]], c[[1, 0, 0, 1]]);

        let mut rows = Tensor4::<2, 3, 4, 2>::zeros();
        concat(Axis::<2>, &a, &a, &mut rows);
        assert_eq!(rows[[0, 1, 3, 1]], a[[0, 1, 1, 1]]);

        let mut cols = Tensor4::<2, 3, 2, 4>::zeros();
        concat(Axis::<3>, &a, &a, &mut cols);
        assert_eq!(cols[[1, 2, 1, 2]], a[[1, 2, 1, 0]]);

        let s = Tensor3::<2, 2, 3>::from_fn(|[b, t, f]| (100 * b + 10 * t + f) as f32);
        let mut steps = Tensor3::<2, 4, 3>::zeros();
        concat(Axis::<1>, &s, &s, &mut steps);
        assert_eq!(steps[[1, 3, 2]], s[[1, 1, 2]]);
        let mut wide = Tensor3::<2, 2, 6>::zeros();
        concat(Axis::<2>, &s, &s, &mut wide);
        assert_eq!(wide[[1, 1, 4]], s[[1, 1, 1]]);

        let (x, y) = (Tensor1::<2>::full(1.0), Tensor1::<1>::full(3.0));
        let mut v = Tensor1::<3>::zeros();
        concat(Axis::<0>, &x, &y, &mut v);
        assert_eq!(v.as_slice(), &[1.0, 1.0, 3.0]);
    }

    #[test]
    fn backward_is_the_adjoint() {
        // <concat(a, c), dy> == <a, da> + <c, dc> for a linear op and its adjoint.
        let mut rng = crate::init::seeded(21);
        let a = random_tensor::<Tensor4<2, 2, 2, 3>>(&mut rng);
        let c = random_tensor::<Tensor4<2, 2, 2, 1>>(&mut rng);
        let dy = random_tensor::<Tensor4<2, 2, 2, 4>>(&mut rng);
        let mut y = Tensor4::<2, 2, 2, 4>::zeros();
        concat(Axis::<3>, &a, &c, &mut y);
        let (mut da, mut dc) = (
            Tensor4::<2, 2, 2, 3>::zeros(),
            Tensor4::<2, 2, 2, 1>::zeros(),
        );
        concat_backward(Axis::<3>, &dy, &mut da, &mut dc);
        let lhs = weighted_loss(y.as_slice(), dy.as_slice());
        let rhs =
            weighted_loss(a.as_slice(), da.as_slice()) + weighted_loss(c.as_slice(), dc.as_slice());
        assert!((lhs - rhs).abs() < 1e-6, "{lhs} vs {rhs}");
    }
}
