//! Splitting and slicing along the feature axis.

use crate::ops::chunks::{concat_chunks, split_chunks};
use crate::tensor::{Tensor1, Tensor2};

/// Splits a vector of `N` elements into its first `A` and last `C`: the inverse of
/// [`concat`](fn@crate::ops::concat). `N == A + C` is checked at build time by an inline const
/// assert (see the [module docs](crate::ops)).
///
/// ```
/// use nn_core::ops::split;
/// use nn_core::tensor::Tensor1;
/// let x = Tensor1::<5>::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0])?;
/// let (mut head, mut tail) = (Tensor1::<2>::zeros(), Tensor1::<3>::zeros());
/// split(&x, &mut head, &mut tail);
/// assert_eq!(tail.as_slice(), &[3.0, 4.0, 5.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// ```compile_fail,E0080
/// # use nn_core::{ops::split, tensor::Tensor1};
/// let (mut head, mut tail) = (Tensor1::<2>::zeros(), Tensor1::<2>::zeros());
/// split(&Tensor1::<5>::zeros(), &mut head, &mut tail); // 2 + 2 is not 5
/// ```
pub fn split<const N: usize, const A: usize, const C: usize>(
    x: &Tensor1<N>,
    a: &mut Tensor1<A>,
    c: &mut Tensor1<C>,
) {
    const {
        assert!(
            N == A + C,
            "split: the part sizes must add up to the input size"
        )
    };
    split_chunks(1, x.as_slice(), &mut [a.as_mut_slice(), c.as_mut_slice()]);
}

/// The backward of [`split`]: joins the parts' gradients into the input gradient.
pub fn split_backward<const N: usize, const A: usize, const C: usize>(
    da: &Tensor1<A>,
    dc: &Tensor1<C>,
    dx: &mut Tensor1<N>,
) {
    const {
        assert!(
            N == A + C,
            "split: the part sizes must add up to the input size"
        )
    };
    concat_chunks(1, &[da.as_slice(), dc.as_slice()], dx.as_mut_slice());
}

/// Copies features `START .. START + LEN` of every sample: a slice along the feature axis.
/// `START + LEN <= N` is checked at build time by an inline const assert.
///
/// ```
/// use nn_core::ops::slice_features;
/// use nn_core::tensor::Tensor2;
/// let x = Tensor2::<2, 4>::from_slice(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])?;
/// let mut middle = Tensor2::<2, 2>::zeros();
/// slice_features::<2, 4, 1, 2>(&x, &mut middle);
/// assert_eq!(middle.as_slice(), &[1.0, 2.0, 5.0, 6.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// ```compile_fail,E0080
/// # use nn_core::{ops::slice_features, tensor::Tensor2};
/// let mut out = Tensor2::<2, 2>::zeros();
/// slice_features::<2, 4, 3, 2>(&Tensor2::zeros(), &mut out); // features 3..5 of 4
/// ```
pub fn slice_features<const B: usize, const N: usize, const START: usize, const LEN: usize>(
    x: &Tensor2<B, N>,
    out: &mut Tensor2<B, LEN>,
) {
    const {
        assert!(
            START + LEN <= N,
            "slice_features: the slice runs past the last feature"
        )
    };
    for (row, out_row) in x
        .rows()
        .zip(out.as_mut_slice().chunks_exact_mut(LEN.max(1)))
    {
        out_row.copy_from_slice(&row[START..START + LEN]);
    }
}

/// The backward of [`slice_features`]: `dx` gets `dy` at the sliced features and zero elsewhere.
pub fn slice_features_backward<
    const B: usize,
    const N: usize,
    const START: usize,
    const LEN: usize,
>(
    dy: &Tensor2<B, LEN>,
    dx: &mut Tensor2<B, N>,
) {
    const {
        assert!(
            START + LEN <= N,
            "slice_features: the slice runs past the last feature"
        )
    };
    dx.as_mut_slice().fill(0.0);
    for (r, dy_row) in dy.as_slice().chunks_exact(LEN.max(1)).enumerate().take(B) {
        dx.row_mut(r)[START..START + LEN].copy_from_slice(dy_row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{compare_gradients, numeric_gradient, random_tensor, weighted_loss};

    #[test]
    fn split_gradient_matches_central_differences() {
        let mut rng = crate::init::seeded(5);
        let mut x = random_tensor::<Tensor1<5>>(&mut rng);
        let (ra, rc) = (
            random_tensor::<Tensor1<2>>(&mut rng),
            random_tensor::<Tensor1<3>>(&mut rng),
        );
        let numeric = numeric_gradient(x.as_mut_slice(), |x| {
            let x = Tensor1::<5>::from_slice(x).unwrap();
            let (mut a, mut c) = (Tensor1::<2>::zeros(), Tensor1::<3>::zeros());
            split(&x, &mut a, &mut c);
            weighted_loss(a.as_slice(), ra.as_slice()) + weighted_loss(c.as_slice(), rc.as_slice())
        });
        let mut dx = Tensor1::<5>::zeros();
        split_backward(&ra, &rc, &mut dx);
        compare_gradients("split", dx.as_slice(), &numeric).unwrap();
    }

    #[test]
    fn slice_gradient_matches_central_differences() {
        let mut rng = crate::init::seeded(6);
        let mut x = random_tensor::<Tensor2<3, 5>>(&mut rng);
        let r = random_tensor::<Tensor2<3, 2>>(&mut rng);
        let numeric = numeric_gradient(x.as_mut_slice(), |x| {
            let x = Tensor2::<3, 5>::from_slice(x).unwrap();
            let mut y = Tensor2::<3, 2>::zeros();
            slice_features::<3, 5, 2, 2>(&x, &mut y);
            weighted_loss(y.as_slice(), r.as_slice())
        });
        let mut dx = Tensor2::<3, 5>::full(9.0); // stale values must be overwritten
        slice_features_backward::<3, 5, 2, 2>(&r, &mut dx);
        compare_gradients("slice_features", dx.as_slice(), &numeric).unwrap();
        assert_eq!(dx.row(0)[0], 0.0);
        assert_eq!(dx.row(2)[3], r.row(2)[1]);
    }
}
