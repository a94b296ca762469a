//! Concatenation along an existing axis: (3,) and (3,) give (6,).

use crate::ops::chunks::{concat_chunks, split_chunks};
use crate::tensor::{Tensor1, Tensor2};

/// Concatenates two vectors: `out = [a, b]`.
///
/// The output size `N` is named by the caller and must be `A + C`; this is checked by an
/// inline const assert when the call is built (`cargo build`, not `cargo check`; see the
/// [module docs](crate::ops)).
///
/// ```
/// use nn_core::ops::concat;
/// use nn_core::tensor::Tensor1;
/// let a = Tensor1::<3>::from_slice(&[1.0, 2.0, 3.0])?;
/// let b = Tensor1::<3>::from_slice(&[4.0, 5.0, 6.0])?;
/// let mut out = Tensor1::<6>::zeros();
/// concat(&a, &b, &mut out);
/// assert_eq!(out.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// A wrong output size fails the build:
///
/// ```compile_fail,E0080
/// # use nn_core::{ops::concat, tensor::Tensor1};
/// let mut out = Tensor1::<5>::zeros();
/// concat(&Tensor1::<3>::zeros(), &Tensor1::<3>::zeros(), &mut out);
/// ```
pub fn concat<const A: usize, const C: usize, const N: usize>(
    a: &Tensor1<A>,
    b: &Tensor1<C>,
    out: &mut Tensor1<N>,
) {
    const {
        assert!(
            N == A + C,
            "concat: the output size must be the sum of the input sizes"
        )
    };
    concat_chunks(1, &[a.as_slice(), b.as_slice()], out.as_mut_slice());
}

/// The backward of [`concat`](fn@concat): splits the output gradient `dy` into the gradients of `a` and
/// `b` (overwriting them).
///
/// ```
/// use nn_core::ops::concat_backward;
/// use nn_core::tensor::Tensor1;
/// let dy = Tensor1::<3>::from_slice(&[1.0, 2.0, 3.0])?;
/// let (mut da, mut db) = (Tensor1::<1>::zeros(), Tensor1::<2>::zeros());
/// concat_backward(&dy, &mut da, &mut db);
/// assert_eq!((da.as_slice(), db.as_slice()), (&[1.0][..], &[2.0, 3.0][..]));
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn concat_backward<const A: usize, const C: usize, const N: usize>(
    dy: &Tensor1<N>,
    da: &mut Tensor1<A>,
    db: &mut Tensor1<C>,
) {
    const {
        assert!(
            N == A + C,
            "concat: the output size must be the sum of the input sizes"
        )
    };
    split_chunks(
        1,
        dy.as_slice(),
        &mut [da.as_mut_slice(), db.as_mut_slice()],
    );
}

/// Concatenates two batches along the feature axis: `Tensor2<B, A>` and `Tensor2<B, C>` give
/// `Tensor2<B, N>` with `N = A + C`. The batch is a type equality; `N` is checked at build time
/// like [`concat`](fn@concat)'s.
///
/// ```
/// use nn_core::ops::concat_features;
/// use nn_core::tensor::Tensor2;
/// let a = Tensor2::<2, 1>::from_slice(&[1.0, 2.0])?;
/// let b = Tensor2::<2, 2>::from_slice(&[10.0, 11.0, 20.0, 21.0])?;
/// let mut out = Tensor2::<2, 3>::zeros();
/// concat_features(&a, &b, &mut out);
/// assert_eq!(out.as_slice(), &[1.0, 10.0, 11.0, 2.0, 20.0, 21.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// Batches of different sizes do not type-check:
///
/// ```compile_fail,E0308
/// # use nn_core::{ops::concat_features, tensor::Tensor2};
/// let mut out = Tensor2::<2, 6>::zeros();
/// concat_features(&Tensor2::<2, 3>::zeros(), &Tensor2::<4, 3>::zeros(), &mut out);
/// ```
pub fn concat_features<const B: usize, const A: usize, const C: usize, const N: usize>(
    a: &Tensor2<B, A>,
    b: &Tensor2<B, C>,
    out: &mut Tensor2<B, N>,
) {
    const {
        assert!(
            N == A + C,
            "concat_features: the output width must be the sum of the input widths"
        )
    };
    concat_chunks(B, &[a.as_slice(), b.as_slice()], out.as_mut_slice());
}

/// The backward of [`concat_features`]: splits `dy` column-wise into `da` and `db`.
pub fn concat_features_backward<const B: usize, const A: usize, const C: usize, const N: usize>(
    dy: &Tensor2<B, N>,
    da: &mut Tensor2<B, A>,
    db: &mut Tensor2<B, C>,
) {
    const {
        assert!(
            N == A + C,
            "concat_features: the output width must be the sum of the input widths"
        )
    };
    split_chunks(
        B,
        dy.as_slice(),
        &mut [da.as_mut_slice(), db.as_mut_slice()],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;
    use crate::testing::{compare_gradients, numeric_gradient, random_tensor, weighted_loss};
    use alloc::vec::Vec;

    #[test]
    fn vectors_concatenate_in_order() {
        let a = Tensor1::<2>::from_slice(&[1.0, 2.0]).unwrap();
        let b = Tensor1::<1>::from_slice(&[3.0]).unwrap();
        let mut out = Tensor1::<3>::zeros();
        concat(&a, &b, &mut out);
        assert_eq!(out.as_slice(), &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn feature_concat_gradient_matches_central_differences() {
        let mut rng = crate::init::seeded(2);
        let a = random_tensor::<Tensor2<3, 2>>(&mut rng);
        let b = random_tensor::<Tensor2<3, 4>>(&mut rng);
        let r = random_tensor::<Tensor2<3, 6>>(&mut rng);
        let mut x: Vec<f32> = a.iter().chain(b.iter()).copied().collect();
        let numeric = numeric_gradient(&mut x, |x| {
            let a = Tensor2::<3, 2>::from_slice(&x[..6]).unwrap();
            let b = Tensor2::<3, 4>::from_slice(&x[6..]).unwrap();
            let mut y = Tensor2::<3, 6>::zeros();
            concat_features(&a, &b, &mut y);
            weighted_loss(y.as_slice(), r.as_slice())
        });
        let (mut da, mut db) = (Tensor2::<3, 2>::zeros(), Tensor2::<3, 4>::zeros());
        concat_features_backward(&r, &mut da, &mut db);
        let analytic: Vec<f32> = da.iter().chain(db.iter()).copied().collect();
        compare_gradients("concat_features", &analytic, &numeric).unwrap();
    }

    #[test]
    fn vector_concat_backward_is_its_adjoint() {
        let mut rng = crate::init::seeded(3);
        let (a, b) = (
            random_tensor::<Tensor1<3>>(&mut rng),
            random_tensor::<Tensor1<2>>(&mut rng),
        );
        let dy = random_tensor::<Tensor1<5>>(&mut rng);
        let mut y = Tensor1::<5>::zeros();
        concat(&a, &b, &mut y);
        let (mut da, mut db) = (Tensor1::<3>::zeros(), Tensor1::<2>::zeros());
        concat_backward(&dy, &mut da, &mut db);
        // <concat(a, b), dy> == <a, da> + <b, db> for a linear op and its adjoint.
        let lhs = weighted_loss(y.as_slice(), dy.as_slice());
        let rhs =
            weighted_loss(a.as_slice(), da.as_slice()) + weighted_loss(b.as_slice(), db.as_slice());
        assert!((lhs - rhs).abs() < 1e-6, "{lhs} vs {rhs}");
        assert_eq!(<Tensor1<5> as Tensor>::LEN, 5);
    }
}
