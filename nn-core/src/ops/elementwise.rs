//! Elementwise add and multiply. Both operands and the output have one type, so any shape
//! difference is a type error under `cargo check`.

use crate::tensor::Tensor;

/// `out = a + b`, elementwise.
///
/// ```
/// use nn_core::ops::add;
/// use nn_core::tensor::Tensor1;
/// let (a, b) = (Tensor1::<2>::full(1.0), Tensor1::<2>::full(2.0));
/// let mut out = Tensor1::<2>::zeros();
/// add(&a, &b, &mut out);
/// assert_eq!(out.as_slice(), &[3.0, 3.0]);
/// ```
///
/// ```compile_fail,E0308
/// # use nn_core::{ops::add, tensor::Tensor1};
/// let mut out = Tensor1::<3>::zeros();
/// add(&Tensor1::<3>::zeros(), &Tensor1::<4>::zeros(), &mut out); // expected `3`, found `4`
/// ```
pub fn add<T: Tensor>(a: &T, b: &T, out: &mut T) {
    let pairs = a.as_slice().iter().zip(b.as_slice());
    for (o, (&x, &y)) in out.as_mut_slice().iter_mut().zip(pairs) {
        *o = x + y;
    }
}

/// The backward of [`add`]: both operands get `dy`.
pub fn add_backward<T: Tensor>(dy: &T, da: &mut T, db: &mut T) {
    da.copy_from(dy);
    db.copy_from(dy);
}

/// `out = a ⊙ b`, elementwise.
///
/// ```
/// use nn_core::ops::mul;
/// use nn_core::tensor::Tensor1;
/// let a = Tensor1::<2>::from_slice(&[2.0, 3.0])?;
/// let mut out = Tensor1::<2>::zeros();
/// mul(&a, &a, &mut out);
/// assert_eq!(out.as_slice(), &[4.0, 9.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn mul<T: Tensor>(a: &T, b: &T, out: &mut T) {
    let pairs = a.as_slice().iter().zip(b.as_slice());
    for (o, (&x, &y)) in out.as_mut_slice().iter_mut().zip(pairs) {
        *o = x * y;
    }
}

/// The backward of [`mul`]: `da = dy ⊙ b`, `db = dy ⊙ a`.
pub fn mul_backward<T: Tensor>(a: &T, b: &T, dy: &T, da: &mut T, db: &mut T) {
    mul(dy, b, da);
    mul(dy, a, db);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor3;
    use crate::testing::{compare_gradients, numeric_gradient, random_tensor, weighted_loss};
    use alloc::vec::Vec;

    type T = Tensor3<2, 2, 3>;

    fn check(op: fn(&T, &T, &mut T), backward: impl Fn(&T, &T, &T, &mut T, &mut T), seed: u64) {
        let mut rng = crate::init::seeded(seed);
        let (a, b, r) = (
            random_tensor::<T>(&mut rng),
            random_tensor::<T>(&mut rng),
            random_tensor::<T>(&mut rng),
        );
        let mut x: Vec<f32> = a.iter().chain(b.iter()).copied().collect();
        let numeric = numeric_gradient(&mut x, |x| {
            let (a, b) = (
                T::from_slice(&x[..12]).unwrap(),
                T::from_slice(&x[12..]).unwrap(),
            );
            let mut y = T::zeros();
            op(&a, &b, &mut y);
            weighted_loss(y.as_slice(), r.as_slice())
        });
        let (mut da, mut db) = (T::zeros(), T::zeros());
        backward(&a, &b, &r, &mut da, &mut db);
        let analytic: Vec<f32> = da.iter().chain(db.iter()).copied().collect();
        compare_gradients("elementwise", &analytic, &numeric).unwrap();
    }

    #[test]
    fn add_gradient_matches_central_differences() {
        check(add, |_, _, dy, da, db| add_backward(dy, da, db), 8);
    }

    #[test]
    fn mul_gradient_matches_central_differences() {
        check(mul, mul_backward, 9);
    }

    #[test]
    fn add_and_mul_literal() {
        let a = T::from_fn(|[i, j, k]| (i + j + k) as f32);
        let b = T::full(2.0);
        let (mut s, mut p) = (T::zeros(), T::zeros());
        add(&a, &b, &mut s);
        mul(&a, &b, &mut p);
        assert_eq!(s[[1, 1, 2]], 6.0);
        assert_eq!(p[[1, 1, 2]], 8.0);
    }
}
