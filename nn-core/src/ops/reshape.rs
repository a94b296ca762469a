//! Reshape and flatten: the same row-major elements under another shape.

use crate::ops::axis::Batched;
use crate::tensor::Tensor;

/// Copies `x` into `y`, a tensor of another shape with the same number of elements, in
/// row-major order. The element counts are checked at build time by an inline const assert (see
/// the [module docs](crate::ops)).
///
/// ```
/// use nn_core::ops::reshape;
/// use nn_core::tensor::{Tensor2, Tensor3};
/// let x = Tensor2::<2, 6>::from_fn(|[r, c]| (r * 6 + c) as f32);
/// let mut y = Tensor3::<2, 3, 2>::zeros();
/// reshape(&x, &mut y);
/// assert_eq!(y[[1, 2, 1]], 11.0);
/// ```
///
/// ```compile_fail,E0080
/// # use nn_core::{ops::reshape, tensor::{Tensor2, Tensor3}};
/// let mut y = Tensor3::<2, 3, 3>::zeros();
/// reshape(&Tensor2::<2, 6>::zeros(), &mut y); // 12 elements into 18
/// ```
pub fn reshape<X: Tensor, Y: Tensor>(x: &X, y: &mut Y) {
    const {
        assert!(
            X::LEN == Y::LEN,
            "reshape: the element count must not change"
        )
    };
    y.as_mut_slice().copy_from_slice(x.as_slice());
}

/// The backward of [`reshape`]: the gradient takes the input's shape back.
///
/// ```
/// use nn_core::ops::reshape_backward;
/// use nn_core::tensor::{Tensor1, Tensor2};
/// let mut dx = Tensor2::<2, 2>::zeros();
/// reshape_backward(&Tensor1::<4>::from_slice(&[1.0, 2.0, 3.0, 4.0])?, &mut dx);
/// assert_eq!(dx.row(1), &[3.0, 4.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn reshape_backward<X: Tensor, Y: Tensor>(dy: &Y, dx: &mut X) {
    reshape(dy, dx);
}

/// Flattens a batch of samples of any shape into `F` features per sample: a `Tensor2<B, F>`
/// from a `Tensor2`, `Tensor3` or `Tensor4` batch ([`Batched`]). The batch is a type equality
/// (`X::Flat<F>` is `Tensor2<B, F>` for `x`'s `B`); `F` must be the product of the sample's
/// dims, checked at build time.
///
/// ```
/// use nn_core::ops::flatten;
/// use nn_core::tensor::{Tensor2, Tensor3, Tensor4};
/// let images = Tensor4::<2, 1, 2, 2>::from_fn(|[b, _, h, w]| (b * 4 + h * 2 + w) as f32);
/// let mut flat = Tensor2::<2, 4>::zeros();
/// flatten(&images, &mut flat);
/// assert_eq!(flat.row(1), &[4.0, 5.0, 6.0, 7.0]);
///
/// let sequences = Tensor3::<2, 3, 2>::from_fn(|[b, t, f]| (b * 6 + t * 2 + f) as f32);
/// let mut flat = Tensor2::<2, 6>::zeros();
/// flatten(&sequences, &mut flat);
/// assert_eq!(flat.row(0), &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
/// ```
///
/// ```compile_fail,E0080
/// # use nn_core::{ops::flatten, tensor::{Tensor2, Tensor4}};
/// let mut flat = Tensor2::<8, 400>::zeros();
/// flatten(&Tensor4::<8, 16, 4, 4>::zeros(), &mut flat); // 16·4·4 is 256
/// ```
///
/// ```compile_fail,E0308
/// # use nn_core::{ops::flatten, tensor::{Tensor2, Tensor4}};
/// let mut flat = Tensor2::<4, 256>::zeros();
/// flatten(&Tensor4::<8, 16, 4, 4>::zeros(), &mut flat); // expected `8`, found `4`
/// ```
pub fn flatten<X: Batched, const F: usize>(x: &X, y: &mut X::Flat<F>) {
    const {
        assert!(
            F == X::SAMPLE,
            "flatten: the width must be the product of the sample dims"
        )
    };
    y.as_mut_slice().copy_from_slice(x.as_slice());
}

/// The backward of [`flatten`]: the gradient takes the batch's shape back. `dx` fixes the
/// types, so a `dy` of another batch is a type mismatch (`E0271`) under `cargo check`.
///
/// ```
/// use nn_core::ops::flatten_backward;
/// use nn_core::tensor::{Tensor2, Tensor4};
/// let dy = Tensor2::<1, 4>::from_slice(&[1.0, 2.0, 3.0, 4.0])?;
/// let mut dx = Tensor4::<1, 1, 2, 2>::zeros();
/// flatten_backward(&dy, &mut dx);
/// assert_eq!(dx[[0, 0, 1, 0]], 3.0);
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn flatten_backward<X: Batched, const F: usize>(dy: &X::Flat<F>, dx: &mut X) {
    const {
        assert!(
            F == X::SAMPLE,
            "flatten: the width must be the product of the sample dims"
        )
    };
    dx.as_mut_slice().copy_from_slice(dy.as_slice());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Tensor2, Tensor3, Tensor4};
    use crate::testing::{compare_gradients, numeric_gradient, random_tensor, weighted_loss};

    #[test]
    fn reshape_keeps_row_major_order() {
        let x = Tensor3::<1, 2, 3>::from_fn(|[_, r, c]| (10 * r + c) as f32);
        let mut y = Tensor2::<3, 2>::zeros();
        reshape(&x, &mut y);
        assert_eq!(y.row(1), &[2.0, 10.0]);
    }

    /// Checks `$backward` against the central-difference gradient of `<$op(x), r>`.
    macro_rules! check_copy_op {
        ($seed:literal, $op:ident, $backward:ident, $x:ty => $y:ty) => {{
            let mut rng = crate::init::seeded($seed);
            let mut x = random_tensor::<$x>(&mut rng);
            let r = random_tensor::<$y>(&mut rng);
            let numeric = numeric_gradient(x.as_mut_slice(), |x| {
                let x = <$x>::from_slice(x).unwrap();
                let mut y = <$y>::zeros();
                $op(&x, &mut y);
                weighted_loss(y.as_slice(), r.as_slice())
            });
            let mut dx = <$x>::full(9.0);
            $backward(&r, &mut dx);
            compare_gradients(stringify!($op $x), dx.as_slice(), &numeric).unwrap();
        }};
    }

    #[test]
    fn gradients_match_central_differences() {
        check_copy_op!(7, flatten, flatten_backward, Tensor4<2, 2, 2, 3> => Tensor2<2, 12>);
        check_copy_op!(8, flatten, flatten_backward, Tensor3<2, 3, 2> => Tensor2<2, 6>);
        check_copy_op!(9, flatten, flatten_backward, Tensor2<3, 2> => Tensor2<3, 2>);
        check_copy_op!(10, reshape, reshape_backward, Tensor2<2, 6> => Tensor4<2, 3, 1, 2>);
    }

    #[test]
    fn flatten_is_a_reshape_that_keeps_the_batch() {
        let x = Tensor4::<2, 2, 2, 3>::from_fn(|[b, c, h, w]| (b + c + h + w) as f32);
        let (mut flat, mut reshaped) = (Tensor2::<2, 12>::zeros(), Tensor2::<2, 12>::zeros());
        flatten(&x, &mut flat);
        reshape(&x, &mut reshaped);
        assert_eq!(flat, reshaped);
        let (mut dx, mut dx2) = (
            Tensor4::<2, 2, 2, 3>::zeros(),
            Tensor4::<2, 2, 2, 3>::zeros(),
        );
        flatten_backward(&flat, &mut dx);
        reshape_backward(&flat, &mut dx2);
        assert_eq!((&dx, &dx2), (&x, &x));
    }
}
