//! Splitting and slicing along an existing axis: the inverses of concatenation.

use crate::linalg::chunks::{concat_chunks, split_chunks};
use crate::ops::axis::{Axis, HasAxis, Start};
use crate::ops::sizes;
use crate::tensor::Tensor;

/// Splits `x` along axis `K`: its first `A` entries there go to `a`, the other `C` to `c`. The
/// inverse of [`concat`](fn@crate::ops::concat).
///
/// The other axes of `a` and `c` are `x`'s, as types (`T::Resized<A>`, `T::Resized<C>`); that
/// `A + C` is `x`'s size along `K` is checked by an inline const assert when the call is built
/// (see the [module docs](crate::ops)).
///
/// ```
/// use nn_core::ops::{Axis, split};
/// use nn_core::tensor::{Tensor1, Tensor3};
/// let x = Tensor1::<5>::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0])?;
/// let (mut head, mut tail) = (Tensor1::<2>::zeros(), Tensor1::<3>::zeros());
/// split(Axis::<0>, &x, &mut head, &mut tail);
/// assert_eq!(tail.as_slice(), &[3.0, 4.0, 5.0]);
///
/// // The last time step of each sequence in a batch.
/// let x = Tensor3::<2, 3, 4>::from_fn(|[b, t, f]| (100 * b + 10 * t + f) as f32);
/// let (mut early, mut last) = (Tensor3::<2, 2, 4>::zeros(), Tensor3::<2, 1, 4>::zeros());
/// split(Axis::<1>, &x, &mut early, &mut last);
/// assert_eq!(last[[1, 0, 3]], 123.0);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// ```compile_fail,E0080
/// # use nn_core::{ops::{Axis, split}, tensor::Tensor1};
/// let (mut head, mut tail) = (Tensor1::<2>::zeros(), Tensor1::<2>::zeros());
/// split(Axis::<0>, &Tensor1::<5>::zeros(), &mut head, &mut tail); // 2 + 2 is not 5
/// ```
pub fn split<const K: usize, T: HasAxis<K>, const A: usize, const C: usize>(
    _axis: Axis<K>,
    x: &T,
    a: &mut T::Resized<A>,
    c: &mut T::Resized<C>,
) {
    const {
        if T::SIZE != A + C {
            let sizes = [T::SIZE, A, C];
            let m = sizes::parts("split", ["x", "a", "c"], K, T::SHAPE, sizes);
            panic!("{}", m.as_str())
        }
    };
    split_chunks(
        T::OUTER,
        x.as_slice(),
        &mut [a.as_mut_slice(), c.as_mut_slice()],
    );
}

/// The backward of [`split`]: joins the parts' gradients `da` and `dc` along axis `K` into the
/// input gradient `dx`. The sizes are checked as in `split`.
///
/// ```
/// use nn_core::ops::{Axis, split_backward};
/// use nn_core::tensor::Tensor2;
/// let (da, dc) = (Tensor2::<2, 1>::full(1.0), Tensor2::<2, 2>::full(2.0));
/// let mut dx = Tensor2::<2, 3>::zeros();
/// split_backward(Axis::<1>, &da, &dc, &mut dx);
/// assert_eq!(dx.row(1), &[1.0, 2.0, 2.0]);
/// ```
pub fn split_backward<const K: usize, T: HasAxis<K>, const C: usize, const N: usize>(
    _axis: Axis<K>,
    da: &T,
    dc: &T::Resized<C>,
    dx: &mut T::Resized<N>,
) {
    const {
        if N != T::SIZE + C {
            let sizes = [T::SIZE, C, N];
            let m = sizes::join("split_backward", ["da", "dc", "dx"], K, T::SHAPE, sizes);
            panic!("{}", m.as_str())
        }
    };
    concat_chunks(T::OUTER, &[da.as_slice(), dc.as_slice()], dx.as_mut_slice());
}

/// Copies entries `START .. START + LEN` along axis `K` of `x` into `out`, for every index of
/// the other axes: e.g. some features of every sample, or some channels of every image.
///
/// `out`'s other axes are `x`'s, as types (`T::Resized<LEN>`); that the slice ends within `x`
/// (`START + LEN` at most `x`'s size along `K`) is checked by an inline const assert when the
/// call is built.
///
/// ```
/// use nn_core::ops::{Axis, Start, slice};
/// use nn_core::tensor::{Tensor2, Tensor4};
/// let x = Tensor2::<2, 4>::from_slice(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])?;
/// let mut middle = Tensor2::<2, 2>::zeros();
/// slice(Axis::<1>, Start::<1>, &x, &mut middle); // features 1 and 2 of each sample
/// assert_eq!(middle.as_slice(), &[1.0, 2.0, 5.0, 6.0]);
///
/// // The last channel of a batch of 3-channel images.
/// let images = Tensor4::<2, 3, 2, 2>::from_fn(|[_, c, _, _]| c as f32);
/// let mut blue = Tensor4::<2, 1, 2, 2>::zeros();
/// slice(Axis::<1>, Start::<2>, &images, &mut blue);
/// assert!(blue.iter().all(|&v| v == 2.0));
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// ```compile_fail,E0080
/// # use nn_core::{ops::{Axis, Start, slice}, tensor::Tensor2};
/// let mut out = Tensor2::<2, 2>::zeros();
/// slice(Axis::<1>, Start::<3>, &Tensor2::<2, 4>::zeros(), &mut out); // features 3..5 of 4
/// ```
pub fn slice<const K: usize, const START: usize, T: HasAxis<K>, const LEN: usize>(
    _axis: Axis<K>,
    _start: Start<START>,
    x: &T,
    out: &mut T::Resized<LEN>,
) {
    const {
        if START + LEN > T::SIZE {
            let m = sizes::window("slice", ["out", "x"], K, [START, LEN, T::SIZE]);
            panic!("{}", m.as_str())
        }
    };
    let (block, part) = (T::SIZE * T::INNER, LEN * T::INNER);
    let offset = START * T::INNER;
    // `max(1)`: a zero-sized block means an empty tensor, whose loop is empty anyway.
    let sources = x.as_slice().chunks_exact(block.max(1));
    for (src, dst) in sources.zip(out.as_mut_slice().chunks_exact_mut(part.max(1))) {
        dst.copy_from_slice(&src[offset..offset + part]);
    }
}

/// The backward of [`slice`](fn@slice): `dx` gets `dy` at the sliced entries and zero
/// elsewhere. The sizes are checked as in `slice`.
///
/// ```
/// use nn_core::ops::{Axis, Start, slice_backward};
/// use nn_core::tensor::Tensor2;
/// let dy = Tensor2::<1, 2>::from_slice(&[5.0, 6.0])?;
/// let mut dx = Tensor2::<1, 4>::full(9.0);
/// slice_backward(Axis::<1>, Start::<1>, &dy, &mut dx);
/// assert_eq!(dx.as_slice(), &[0.0, 5.0, 6.0, 0.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn slice_backward<const K: usize, const START: usize, T: HasAxis<K>, const N: usize>(
    _axis: Axis<K>,
    _start: Start<START>,
    dy: &T,
    dx: &mut T::Resized<N>,
) {
    const {
        if START + T::SIZE > N {
            let m = sizes::window("slice_backward", ["dy", "dx"], K, [START, T::SIZE, N]);
            panic!("{}", m.as_str())
        }
    };
    let (part, block) = (T::SIZE * T::INNER, N * T::INNER);
    let offset = START * T::INNER;
    dx.fill(0.0);
    let targets = dx.as_mut_slice().chunks_exact_mut(block.max(1));
    for (dst, src) in targets.zip(dy.as_slice().chunks_exact(part.max(1))) {
        dst[offset..offset + part].copy_from_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Tensor1, Tensor2, Tensor3, Tensor4};
    use crate::testing::{compare_gradients, numeric_gradient, random_tensor, weighted_loss};

    /// Checks `split_backward` against the central-difference gradient of
    /// `<a, ra> + <c, rc>` with `(a, c) = split(x)`, for `x: $x` split along `$k`.
    macro_rules! check_split {
        ($seed:literal, $k:literal, $x:ty => $a:ty, $c:ty) => {{
            let mut rng = crate::init::seeded($seed);
            let mut x = random_tensor::<$x>(&mut rng);
            let (ra, rc) = (random_tensor::<$a>(&mut rng), random_tensor::<$c>(&mut rng));
            let numeric = numeric_gradient(x.as_mut_slice(), |x| {
                let x = <$x>::from_slice(x).unwrap();
                let (mut a, mut c) = (<$a>::zeros(), <$c>::zeros());
                split(Axis::<$k>, &x, &mut a, &mut c);
                weighted_loss(a.as_slice(), ra.as_slice())
                    + weighted_loss(c.as_slice(), rc.as_slice())
            });
            let mut dx = <$x>::full(9.0);
            split_backward(Axis::<$k>, &ra, &rc, &mut dx);
            compare_gradients(stringify!(split $k $x), dx.as_slice(), &numeric).unwrap();
        }};
    }

    /// Checks `slice_backward` against the central-difference gradient of `<slice(x), r>`.
    macro_rules! check_slice {
        ($seed:literal, $k:literal, $start:literal, $x:ty => $out:ty) => {{
            let mut rng = crate::init::seeded($seed);
            let mut x = random_tensor::<$x>(&mut rng);
            let r = random_tensor::<$out>(&mut rng);
            let numeric = numeric_gradient(x.as_mut_slice(), |x| {
                let x = <$x>::from_slice(x).unwrap();
                let mut y = <$out>::zeros();
                slice(Axis::<$k>, Start::<$start>, &x, &mut y);
                weighted_loss(y.as_slice(), r.as_slice())
            });
            let mut dx = <$x>::full(9.0); // stale values must be overwritten
            slice_backward(Axis::<$k>, Start::<$start>, &r, &mut dx);
            compare_gradients(stringify!(slice $k $x), dx.as_slice(), &numeric).unwrap();
        }};
    }

    #[test]
    fn split_gradient_matches_central_differences_on_every_axis() {
        check_split!(11, 0, Tensor1<5> => Tensor1<2>, Tensor1<3>);
        check_split!(12, 1, Tensor2<2, 5> => Tensor2<2, 4>, Tensor2<2, 1>);
        check_split!(13, 1, Tensor3<2, 3, 2> => Tensor3<2, 1, 2>, Tensor3<2, 2, 2>);
        check_split!(14, 2, Tensor3<2, 3, 2> => Tensor3<2, 3, 1>, Tensor3<2, 3, 1>);
        check_split!(15, 1, Tensor4<2, 3, 2, 2> => Tensor4<2, 2, 2, 2>, Tensor4<2, 1, 2, 2>);
        check_split!(16, 2, Tensor4<2, 2, 3, 2> => Tensor4<2, 2, 1, 2>, Tensor4<2, 2, 2, 2>);
        check_split!(17, 3, Tensor4<2, 2, 2, 3> => Tensor4<2, 2, 2, 2>, Tensor4<2, 2, 2, 1>);
    }

    #[test]
    fn slice_gradient_matches_central_differences_on_every_axis() {
        check_slice!(21, 0, 1, Tensor1<5> => Tensor1<3>);
        check_slice!(22, 1, 2, Tensor2<3, 5> => Tensor2<3, 2>);
        check_slice!(23, 1, 1, Tensor3<2, 4, 2> => Tensor3<2, 2, 2>);
        check_slice!(24, 2, 0, Tensor3<2, 2, 3> => Tensor3<2, 2, 2>);
        check_slice!(25, 1, 2, Tensor4<2, 3, 2, 2> => Tensor4<2, 1, 2, 2>);
        check_slice!(26, 2, 1, Tensor4<2, 2, 3, 2> => Tensor4<2, 2, 2, 2>);
        check_slice!(27, 3, 1, Tensor4<2, 2, 2, 3> => Tensor4<2, 2, 2, 1>);
    }

    #[test]
    fn split_inverts_concat_on_every_axis() {
        use crate::ops::concat;
        let x =
            Tensor4::<2, 3, 4, 5>::from_fn(|[b, c, h, w]| (1000 * b + 100 * c + 10 * h + w) as f32);
        let (mut a, mut c) = (
            Tensor4::<2, 1, 4, 5>::zeros(),
            Tensor4::<2, 2, 4, 5>::zeros(),
        );
        split(Axis::<1>, &x, &mut a, &mut c);
        assert_eq!(c[[1, 0, 3, 4]], x[[1, 1, 3, 4]]);
        let mut joined = Tensor4::<2, 3, 4, 5>::zeros();
        concat(Axis::<1>, &a, &c, &mut joined);
        assert_eq!(joined.as_slice(), x.as_slice());

        let (mut top, mut bottom) = (
            Tensor4::<2, 3, 3, 5>::zeros(),
            Tensor4::<2, 3, 1, 5>::zeros(),
        );
        split(Axis::<2>, &x, &mut top, &mut bottom);
        assert_eq!(bottom[[0, 2, 0, 1]], x[[0, 2, 3, 1]]);
        let (mut left, mut right) = (
            Tensor4::<2, 3, 4, 2>::zeros(),
            Tensor4::<2, 3, 4, 3>::zeros(),
        );
        split(Axis::<3>, &x, &mut left, &mut right);
        assert_eq!(right[[1, 1, 2, 0]], x[[1, 1, 2, 2]]);

        let s = Tensor3::<2, 3, 4>::from_fn(|[b, t, f]| (100 * b + 10 * t + f) as f32);
        let (mut f1, mut f2) = (Tensor3::<2, 3, 3>::zeros(), Tensor3::<2, 3, 1>::zeros());
        split(Axis::<2>, &s, &mut f1, &mut f2);
        assert_eq!(f2[[0, 2, 0]], s[[0, 2, 3]]);
        let mut back = Tensor3::<2, 3, 4>::zeros();
        concat(Axis::<2>, &f1, &f2, &mut back);
        assert_eq!(back, s);
    }

    #[test]
    fn slice_takes_the_entries_its_start_and_length_say() {
        let x =
            Tensor4::<2, 3, 4, 5>::from_fn(|[b, c, h, w]| (1000 * b + 100 * c + 10 * h + w) as f32);
        let mut rows = Tensor4::<2, 3, 2, 5>::zeros();
        slice(Axis::<2>, Start::<1>, &x, &mut rows);
        assert_eq!(rows[[1, 2, 0, 4]], x[[1, 2, 1, 4]]);
        assert_eq!(rows[[0, 1, 1, 0]], x[[0, 1, 2, 0]]);
        let mut cols = Tensor4::<2, 3, 4, 1>::zeros();
        slice(Axis::<3>, Start::<4>, &x, &mut cols);
        assert_eq!(cols[[1, 1, 3, 0]], x[[1, 1, 3, 4]]);
        // The whole axis is a copy.
        let mut all = Tensor4::<2, 3, 4, 5>::zeros();
        slice(Axis::<1>, Start::<0>, &x, &mut all);
        assert_eq!(all, x);
        let mut dx = Tensor4::<2, 3, 4, 5>::zeros();
        slice_backward(Axis::<3>, Start::<4>, &cols, &mut dx);
        assert_eq!(dx[[1, 1, 3, 4]], x[[1, 1, 3, 4]]);
        assert_eq!(dx[[1, 1, 3, 3]], 0.0);
    }
}
