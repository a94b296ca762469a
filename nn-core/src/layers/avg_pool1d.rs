//! `AvgPool1d<C, L, OL, K, S, PL, PR, COUNT_PAD>`: the mean of each window of each channel of
//! a `(B, C, L)` batch; `avg_pool1d(..)` in `network!`.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::linalg::conv::ConvAxis;
use crate::linalg::pool::{PoolShape, avg_pool_backward, avg_pool_forward};
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::Tensor3;

/// Average pooling of `C` channels of length `L` to `OL` with windows of `K` moved by `S`,
/// over the input padded by `PL` zeros in front and `PR` behind: PyTorch's
/// `nn.AvgPool1d(K, stride=S, padding=P, count_include_pad=COUNT_PAD)` with `PL = PR = P`. No
/// parameters.
///
/// Batches are `(B, C, L)` as in PyTorch. With `COUNT_PAD` a window divides by `K` (PyTorch's
/// default); without, by its positions inside the input (TensorFlow's rule). No padding may
/// exceed `K / 2`, and `OL` must be `(L + PL + PR − K) / S + 1` rounded down: an inline const
/// assert checks it where forward or backward is instantiated. It runs on the 2-D kernels as
/// a pooling of one row.
///
/// ```
/// use nn_core::layers::{AvgPool1d, Layer};
/// use nn_core::tensor::Tensor3;
///
/// // Windows of 2 at stride 2: 4 positions become 2.
/// let pool = AvgPool1d::<1, 4, 2, 2, 2, 0, 0, true>;
/// let x = Tensor3::<1, 1, 4>::from_slice(&[1.0, 3.0, -2.0, 4.0])?;
/// let mut y = Tensor3::<1, 1, 2>::zeros();
/// pool.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[2.0, 1.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AvgPool1d<
    const C: usize,
    const L: usize,
    const OL: usize,
    const K: usize,
    const S: usize,
    const PL: usize,
    const PR: usize,
    const COUNT_PAD: bool,
>;

macro_rules! avg_pool1d_impl {
    ($($body:tt)*) => {
        impl<
            const C: usize,
            const L: usize,
            const OL: usize,
            const K: usize,
            const S: usize,
            const PL: usize,
            const PR: usize,
            const COUNT_PAD: bool,
        > $($body)*
    };
}

avg_pool1d_impl! {
AvgPool1d<C, L, OL, K, S, PL, PR, COUNT_PAD> {
    /// The sizes, as the kernels take them: one row.
    pub const SHAPE: PoolShape = PoolShape {
        height: ConvAxis::unit(),
        width: ConvAxis { size: L, out: OL, kernel: K, stride: S, dilation: 1, pad_before: PL, pad_after: PR },
        count_include_pad: COUNT_PAD,
    };

    /// Evaluated where forward and backward are instantiated: the sizes agree.
    const CHECK: () = assert!(
        Self::SHAPE.is_valid(),
        "avg_pool1d: needs L, K, S >= 1, PL and PR at most K / 2, and OL == (L + PL + PR - K) / S + 1"
    );
}
}

avg_pool1d_impl! {
HasParams for AvgPool1d<C, L, OL, K, S, PL, PR, COUNT_PAD> {
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        _path: &ParamPath<'_>,
        _visitor: &mut V,
    ) {
    }
}
}

avg_pool1d_impl! {
Layer for AvgPool1d<C, L, OL, K, S, PL, PR, COUNT_PAD> {
    type Input<const B: usize> = Tensor3<B, C, L>;
    type Output<const B: usize> = Tensor3<B, C, OL>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(&self, x: &Tensor3<B, C, L>, y: &mut Tensor3<B, C, OL>, _scratch: &mut ()) {
        const { Self::CHECK };
        avg_pool_forward(&Self::SHAPE, x.as_slice(), y.as_mut_slice());
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, C, L>,
        y: &mut Tensor3<B, C, OL>,
        _cache: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor3<B, C, L>,
        _y: &Tensor3<B, C, OL>,
        _cache: &mut (),
        dy: &Tensor3<B, C, OL>,
        dx: Option<&mut Tensor3<B, C, L>>,
    ) {
        const { Self::CHECK };
        if let Some(dx) = dx {
            avg_pool_backward(&Self::SHAPE, dy.as_slice(), dx.as_mut_slice());
        }
    }
}
}

avg_pool1d_impl! {
Composable for AvgPool1d<C, L, OL, K, S, PL, PR, COUNT_PAD> {
    const PARAM_COUNT: usize = 0;

    fn build(_rng: &mut Rng) -> Self {
        Self
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_gradients, random_tensor};

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(1);
        let mut pool = AvgPool1d::<3, 8, 4, 2, 2, 0, 0, true>;
        check_gradients::<_, 2>(&mut pool, &random_tensor(&mut rng), 2).unwrap();
        let mut counting = AvgPool1d::<2, 7, 4, 3, 2, 1, 1, true>;
        check_gradients::<_, 2>(&mut counting, &random_tensor(&mut rng), 4).unwrap();
        let mut inside = AvgPool1d::<2, 7, 4, 3, 2, 1, 1, false>;
        check_gradients::<_, 2>(&mut inside, &random_tensor(&mut rng), 6).unwrap();
    }

    #[test]
    fn the_edges_count_the_padding_or_not() {
        let x = Tensor3::<1, 1, 3>::from_slice(&[3.0, 6.0, 9.0]).unwrap();
        let mut y = Tensor3::<1, 1, 3>::zeros();
        AvgPool1d::<1, 3, 3, 3, 1, 1, 1, true>.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice(), &[3.0, 6.0, 5.0]);
        AvgPool1d::<1, 3, 3, 3, 1, 1, 1, false>.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice(), &[4.5, 6.0, 7.5]);
    }
}
