//! Reshape and flatten: the same row-major elements under another shape.

use crate::tensor::{Tensor, Tensor2, Tensor4};

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
pub fn reshape_backward<X: Tensor, Y: Tensor>(dy: &Y, dx: &mut X) {
    reshape(dy, dx);
}

/// Flattens a batch of `C × H × W` samples into `F` features per sample, `F = C·H·W` checked at
/// build time. The batch is a type equality.
///
/// ```
/// use nn_core::ops::flatten;
/// use nn_core::tensor::{Tensor2, Tensor4};
/// let images = Tensor4::<2, 1, 2, 2>::from_fn(|[b, _, h, w]| (b * 4 + h * 2 + w) as f32);
/// let mut flat = Tensor2::<2, 4>::zeros();
/// flatten(&images, &mut flat);
/// assert_eq!(flat.row(1), &[4.0, 5.0, 6.0, 7.0]);
/// ```
///
/// ```compile_fail,E0080
/// # use nn_core::{ops::flatten, tensor::{Tensor2, Tensor4}};
/// let mut flat = Tensor2::<8, 400>::zeros();
/// flatten(&Tensor4::<8, 16, 4, 4>::zeros(), &mut flat); // 16·4·4 is 256
/// ```
pub fn flatten<const B: usize, const C: usize, const H: usize, const W: usize, const F: usize>(
    x: &Tensor4<B, C, H, W>,
    y: &mut Tensor2<B, F>,
) {
    const {
        assert!(
            F == C * H * W,
            "flatten: the width must be the product of the sample dims"
        )
    };
    y.as_mut_slice().copy_from_slice(x.as_slice());
}

/// The backward of [`flatten`].
pub fn flatten_backward<
    const B: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const F: usize,
>(
    dy: &Tensor2<B, F>,
    dx: &mut Tensor4<B, C, H, W>,
) {
    const {
        assert!(
            F == C * H * W,
            "flatten: the width must be the product of the sample dims"
        )
    };
    dx.as_mut_slice().copy_from_slice(dy.as_slice());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor3;
    use crate::testing::{compare_gradients, numeric_gradient, random_tensor, weighted_loss};

    #[test]
    fn reshape_keeps_row_major_order() {
        let x = Tensor3::<1, 2, 3>::from_fn(|[_, r, c]| (10 * r + c) as f32);
        let mut y = Tensor2::<3, 2>::zeros();
        reshape(&x, &mut y);
        assert_eq!(y.row(1), &[2.0, 10.0]);
    }

    #[test]
    fn flatten_gradient_matches_central_differences() {
        let mut rng = crate::init::seeded(7);
        let mut x = random_tensor::<Tensor4<2, 2, 2, 3>>(&mut rng);
        let r = random_tensor::<Tensor2<2, 12>>(&mut rng);
        let numeric = numeric_gradient(x.as_mut_slice(), |x| {
            let x = Tensor4::<2, 2, 2, 3>::from_slice(x).unwrap();
            let mut y = Tensor2::<2, 12>::zeros();
            flatten(&x, &mut y);
            weighted_loss(y.as_slice(), r.as_slice())
        });
        let mut dx = Tensor4::<2, 2, 2, 3>::zeros();
        flatten_backward(&r, &mut dx);
        compare_gradients("flatten", dx.as_slice(), &numeric).unwrap();
        let mut dx2 = Tensor4::<2, 2, 2, 3>::zeros();
        reshape_backward(&r, &mut dx2);
        assert_eq!(dx, dx2);
    }
}
