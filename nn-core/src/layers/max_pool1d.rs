//! `MaxPool1d<C, L, OL, K, S, PL, PR>`: the maximum of each window of each channel of a
//! `(B, C, L)` batch; `max_pool1d(..)` in `network!`.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::linalg::conv::ConvAxis;
use crate::linalg::pool::{PoolShape, max_pool_backward, max_pool_forward};
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::Tensor3;

/// Max pooling of `C` channels of length `L` to `OL` with windows of `K` moved by `S`, over
/// the input padded by `PL` in front and `PR` behind: PyTorch's `nn.MaxPool1d(K, stride=S,
/// padding=P)` with `PL = PR = P`. No parameters.
///
/// Batches are `(B, C, L)` as in PyTorch (and as [`Conv1d`](crate::layers::Conv1d) takes
/// them). The padding is −∞: it is never a window's maximum. No padding may exceed `K / 2`,
/// and `OL` must be `(L + PL + PR − K) / S + 1` rounded down: an inline const assert checks
/// it where forward or backward is instantiated. It runs on the 2-D kernels as a pooling of
/// one row; ties and gradients follow [`MaxPool2d`](crate::layers::MaxPool2d).
///
/// ```
/// use nn_core::layers::{Layer, MaxPool1d};
/// use nn_core::tensor::Tensor3;
///
/// // Windows of 3 at stride 2, padded by 1 on each side: 5 positions become 3.
/// let pool = MaxPool1d::<1, 5, 3, 3, 2, 1, 1>;
/// let x = Tensor3::<1, 1, 5>::from_slice(&[-4.0, 1.0, 0.0, 2.0, -1.0])?;
/// let mut y = Tensor3::<1, 1, 3>::zeros();
/// pool.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[1.0, 2.0, 2.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MaxPool1d<
    const C: usize,
    const L: usize,
    const OL: usize,
    const K: usize,
    const S: usize,
    const PL: usize,
    const PR: usize,
>;

macro_rules! max_pool1d_impl {
    ($($body:tt)*) => {
        impl<
            const C: usize,
            const L: usize,
            const OL: usize,
            const K: usize,
            const S: usize,
            const PL: usize,
            const PR: usize,
        > $($body)*
    };
}

max_pool1d_impl! {
MaxPool1d<C, L, OL, K, S, PL, PR> {
    /// The sizes, as the kernels take them: one row.
    pub const SHAPE: PoolShape = PoolShape {
        height: ConvAxis::unit(),
        width: ConvAxis { size: L, out: OL, kernel: K, stride: S, dilation: 1, pad_before: PL, pad_after: PR },
        count_include_pad: true,
    };

    /// Evaluated where forward and backward are instantiated: the sizes agree.
    const CHECK: () = assert!(
        Self::SHAPE.is_valid(),
        "max_pool1d: needs L, K, S >= 1, PL and PR at most K / 2, and OL == (L + PL + PR - K) / S + 1"
    );
}
}

max_pool1d_impl! {
HasParams for MaxPool1d<C, L, OL, K, S, PL, PR> {
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        _path: &ParamPath<'_>,
        _visitor: &mut V,
    ) {
    }
}
}

max_pool1d_impl! {
Layer for MaxPool1d<C, L, OL, K, S, PL, PR> {
    type Input<const B: usize> = Tensor3<B, C, L>;
    type Output<const B: usize> = Tensor3<B, C, OL>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(&self, x: &Tensor3<B, C, L>, y: &mut Tensor3<B, C, OL>, _scratch: &mut ()) {
        const { Self::CHECK };
        max_pool_forward(&Self::SHAPE, x.as_slice(), y.as_mut_slice());
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
        x: &Tensor3<B, C, L>,
        y: &Tensor3<B, C, OL>,
        _cache: &mut (),
        dy: &Tensor3<B, C, OL>,
        dx: Option<&mut Tensor3<B, C, L>>,
    ) {
        const { Self::CHECK };
        if let Some(dx) = dx {
            max_pool_backward(&Self::SHAPE, x.as_slice(), y.as_slice(), dy.as_slice(), dx.as_mut_slice());
        }
    }
}
}

max_pool1d_impl! {
Composable for MaxPool1d<C, L, OL, K, S, PL, PR> {
    const PARAM_COUNT: usize = 0;

    fn build(_rng: &mut Rng) -> Self {
        Self
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::max_pool::tests::shuffled_ramp;
    use crate::testing::check_gradients;

    #[test]
    fn gradients_match_central_differences() {
        let mut pool = MaxPool1d::<3, 8, 4, 2, 2, 0, 0>;
        check_gradients::<_, 2>(&mut pool, &shuffled_ramp(1), 2).unwrap();
        let mut padded = MaxPool1d::<2, 7, 4, 3, 2, 1, 1>;
        check_gradients::<_, 2>(&mut padded, &shuffled_ramp(3), 4).unwrap();
        // TensorFlow's `same` at stride 2 on an odd length: the odd pad behind.
        let mut same = MaxPool1d::<2, 7, 4, 2, 2, 0, 1>;
        check_gradients::<_, 2>(&mut same, &shuffled_ramp(5), 6).unwrap();
    }

    #[test]
    fn pools_each_channel_of_each_sample_alone() {
        let pool = MaxPool1d::<2, 4, 2, 2, 2, 0, 0>;
        let x = Tensor3::<2, 2, 4>::from_fn(|[b, c, t]| (100 * b + 10 * c + t) as f32);
        let mut y = Tensor3::<2, 2, 2>::zeros();
        pool.forward(&x, &mut y, &mut ());
        assert_eq!(
            y.as_slice(),
            &[1.0, 3.0, 11.0, 13.0, 101.0, 103.0, 111.0, 113.0]
        );
    }
}
