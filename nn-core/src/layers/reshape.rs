//! `Reshape<I, O>`: the same elements of each sample under another per-sample shape; `flatten`
//! and `reshape(..)` in `network!`.

use core::marker::PhantomData;

use crate::init::Rng;
use crate::layers::{Composable, Layer, Shape};
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::Tensor;

/// Views each sample of per-sample shape `I` as shape `O`, e.g. `Shape3<16, 4, 4>` as
/// `Features<256>` (a flatten). No parameters.
///
/// `I::SIZE == O::SIZE` is checked at build time by an inline const assert; `network!` computes
/// both shapes from the literal dims and reports a mismatch on the layer long before that.
///
/// ```
/// use nn_core::layers::{Features, Layer, Reshape, Shape2};
/// use nn_core::tensor::{Tensor2, Tensor3};
///
/// let flatten = Reshape::<Shape2<2, 3>, Features<6>>::default();
/// let x = Tensor3::<1, 2, 3>::from_fn(|[_, r, c]| (r * 3 + c) as f32);
/// let mut y = Tensor2::<1, 6>::zeros();
/// flatten.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
/// ```
///
/// ```compile_fail,E0080
/// use nn_core::layers::{Features, Layer, Reshape, Shape2};
/// use nn_core::tensor::{Tensor2, Tensor3};
/// let bad = Reshape::<Shape2<2, 3>, Features<5>>::default(); // 6 elements into 5
/// bad.forward(&Tensor3::<1, 2, 3>::zeros(), &mut Tensor2::<1, 5>::zeros(), &mut ());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Reshape<I: Shape, O: Shape> {
    shapes: PhantomData<(I, O)>,
}

impl<I: Shape, O: Shape> HasParams for Reshape<I, O> {
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        _path: &ParamPath<'_>,
        _visitor: &mut V,
    ) {
    }
}

impl<I: Shape, O: Shape> Layer for Reshape<I, O> {
    type Input<const B: usize> = I::Batch<B>;
    type Output<const B: usize> = O::Batch<B>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(&self, x: &I::Batch<B>, y: &mut O::Batch<B>, _scratch: &mut ()) {
        const {
            assert!(
                I::SIZE == O::SIZE,
                "reshape: the element count must not change"
            )
        };
        y.as_mut_slice().copy_from_slice(x.as_slice());
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &I::Batch<B>,
        y: &mut O::Batch<B>,
        _cache: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &I::Batch<B>,
        _y: &O::Batch<B>,
        _cache: &mut (),
        dy: &O::Batch<B>,
        dx: Option<&mut I::Batch<B>>,
    ) {
        const {
            assert!(
                I::SIZE == O::SIZE,
                "reshape: the element count must not change"
            )
        };
        if let Some(dx) = dx {
            dx.as_mut_slice().copy_from_slice(dy.as_slice());
        }
    }
}

impl<I: Shape, O: Shape> Composable for Reshape<I, O>
where
    Self: Default,
{
    const PARAM_COUNT: usize = 0;

    fn build(_rng: &mut Rng) -> Self {
        Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Features, Shape3};
    use crate::tensor::{Tensor2, Tensor4};
    use crate::testing::{check_gradients, random_tensor};

    #[test]
    fn flatten_keeps_row_major_order() {
        let layer = Reshape::<Shape3<2, 1, 2>, Features<4>>::default();
        let x = Tensor4::<2, 2, 1, 2>::from_fn(|[b, c, _, w]| (b * 10 + c * 2 + w) as f32);
        let mut y = Tensor2::<2, 4>::zeros();
        layer.forward(&x, &mut y, &mut ());
        assert_eq!(y.row(1), &[10.0, 11.0, 12.0, 13.0]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(10);
        let mut layer = Reshape::<Shape3<2, 2, 3>, Features<12>>::default();
        let x = random_tensor::<Tensor4<3, 2, 2, 3>>(&mut rng);
        let checked = check_gradients::<_, 3>(&mut layer, &x, 4).unwrap();
        assert_eq!(checked, 36);
    }
}
