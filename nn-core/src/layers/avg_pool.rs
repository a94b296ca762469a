//! `AvgPool2d<..>`: the mean of each window of each channel, with rectangular windows, strides
//! and padding per axis; `avg_pool(..)` in `network!`. [`SquareAvgPool2d`] names the common
//! unpadded square case.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::linalg::conv::ConvAxis;
use crate::linalg::pool::{PoolShape, avg_pool_backward, avg_pool_forward};
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::Tensor4;

/// Average pooling of `C` channels of `H × W` to `OH × OW` with `KH × KW` windows moved by
/// `(SH, SW)`: PyTorch's `nn.AvgPool2d((KH, KW), stride=(SH, SW), padding=..,
/// count_include_pad=COUNT_PAD)`. No parameters.
///
/// | parameter | meaning |
/// |---|---|
/// | `KH`, `KW` | the window's height and width |
/// | `SH`, `SW` | the strides down and across |
/// | `PT`, `PB`, `PL`, `PR` | zeros padded on top, bottom, left and right (PyTorch pads both sides alike; TensorFlow's `same` at stride 2 may put one more after) |
/// | `COUNT_PAD` | whether a window divides by all its `KH · KW` places, padding included (PyTorch's default), or only by those inside the input (TensorFlow's rule) |
///
/// No padding may exceed half its window (PyTorch's rule: every window keeps an input value).
/// `OH` must be `(H + PT + PB − KH) / SH + 1` rounded down (PyTorch's rule), likewise `OW`: an
/// inline const assert checks it where forward or backward is instantiated. Windows may
/// overlap (`SH < KH`); their gradients add up.
///
/// Backward spreads each window's gradient evenly over its inputs, by the same divisor.
///
/// ```
/// use nn_core::layers::{AvgPool2d, Layer};
/// use nn_core::tensor::Tensor4;
///
/// // 1 × 3 windows at stride 1 over one row of 3, padded by 1 on the left and right.
/// let counting = AvgPool2d::<1, 1, 3, 1, 3, 1, 3, 1, 1, 0, 0, 1, 1, true>;
/// let x = Tensor4::<1, 1, 1, 3>::from_slice(&[3.0, 6.0, 9.0])?;
/// let mut y = Tensor4::<1, 1, 1, 3>::zeros();
/// counting.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[3.0, 6.0, 5.0]);
///
/// // The same without counting the padding: the edges average two values.
/// let inside = AvgPool2d::<1, 1, 3, 1, 3, 1, 3, 1, 1, 0, 0, 1, 1, false>;
/// inside.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[4.5, 6.0, 7.5]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AvgPool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PB: usize,
    const PL: usize,
    const PR: usize,
    const COUNT_PAD: bool,
>;

/// PyTorch's `nn.AvgPool2d(K, stride=STRIDE)`: square `K × K` windows, one stride on both axes,
/// no padding. `OH` and `OW` as in [`AvgPool2d`].
///
/// ```
/// use nn_core::layers::{Layer, SquareAvgPool2d};
/// use nn_core::tensor::Tensor4;
///
/// let pool = SquareAvgPool2d::<1, 2, 4, 1, 2, 2, 2>::default();
/// let x = Tensor4::<1, 1, 2, 4>::from_slice(&[1.0, 5.0, 2.0, 0.0, 3.0, 3.0, -1.0, 1.0])?;
/// let mut y = Tensor4::<1, 1, 1, 2>::zeros();
/// pool.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[3.0, 0.5]);
/// # Ok::<(), nn_core::Error>(())
/// ```
pub type SquareAvgPool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const STRIDE: usize,
> = AvgPool2d<C, H, W, OH, OW, K, K, STRIDE, STRIDE, 0, 0, 0, 0, true>;

macro_rules! avg_pool_impl {
    ($($body:tt)*) => {
        impl<
            const C: usize,
            const H: usize,
            const W: usize,
            const OH: usize,
            const OW: usize,
            const KH: usize,
            const KW: usize,
            const SH: usize,
            const SW: usize,
            const PT: usize,
            const PB: usize,
            const PL: usize,
            const PR: usize,
            const COUNT_PAD: bool,
        > $($body)*
    };
}

avg_pool_impl! {
AvgPool2d<C, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR, COUNT_PAD> {
    /// The sizes, as the kernels take them.
    pub const SHAPE: PoolShape = PoolShape {
        height: ConvAxis { size: H, out: OH, kernel: KH, stride: SH, dilation: 1, pad_before: PT, pad_after: PB },
        width: ConvAxis { size: W, out: OW, kernel: KW, stride: SW, dilation: 1, pad_before: PL, pad_after: PR },
        count_include_pad: COUNT_PAD,
    };

    /// Evaluated where forward and backward are instantiated: the sizes agree.
    const CHECK: () = assert!(
        Self::SHAPE.is_valid(),
        "avg_pool: needs H, W >= 1, KH, KW, SH, SW >= 1, padding at most half the window, \
         OH == (H + PT + PB - KH) / SH + 1 and OW == (W + PL + PR - KW) / SW + 1"
    );
}
}

avg_pool_impl! {
HasParams for AvgPool2d<C, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR, COUNT_PAD> {
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        _path: &ParamPath<'_>,
        _visitor: &mut V,
    ) {
    }
}
}

avg_pool_impl! {
Layer for AvgPool2d<C, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR, COUNT_PAD> {
    type Input<const B: usize> = Tensor4<B, C, H, W>;
    type Output<const B: usize> = Tensor4<B, C, OH, OW>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(
        &self,
        x: &Tensor4<B, C, H, W>,
        y: &mut Tensor4<B, C, OH, OW>,
        _scratch: &mut (),
    ) {
        const { Self::CHECK };
        avg_pool_forward(&Self::SHAPE, x.as_slice(), y.as_mut_slice());
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor4<B, C, H, W>,
        y: &mut Tensor4<B, C, OH, OW>,
        _cache: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor4<B, C, H, W>,
        _y: &Tensor4<B, C, OH, OW>,
        _cache: &mut (),
        dy: &Tensor4<B, C, OH, OW>,
        dx: Option<&mut Tensor4<B, C, H, W>>,
    ) {
        const { Self::CHECK };
        if let Some(dx) = dx {
            avg_pool_backward(&Self::SHAPE, dy.as_slice(), dx.as_mut_slice());
        }
    }
}
}

avg_pool_impl! {
Composable for AvgPool2d<C, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR, COUNT_PAD> {
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
    fn forward_takes_each_window_mean() {
        // C == H == W, stride 1, overlapping windows.
        let pool = SquareAvgPool2d::<3, 3, 3, 2, 2, 2, 1>::default();
        let x = Tensor4::<1, 3, 3, 3>::from_fn(|[_, c, h, w]| (c * 9 + h * 3 + w) as f32);
        let mut y = Tensor4::<1, 3, 2, 2>::zeros();
        pool.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice()[..4], [2.0, 3.0, 5.0, 6.0]);
        assert_eq!(y.as_slice()[8..], [20.0, 21.0, 23.0, 24.0]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(1);
        let mut pool = SquareAvgPool2d::<2, 4, 6, 2, 3, 2, 2>::default();
        check_gradients::<_, 2>(&mut pool, &random_tensor(&mut rng), 2).unwrap();
        // Overlapping windows accumulate; floor rule leaves the last row and column out.
        let mut overlapping = SquareAvgPool2d::<3, 6, 5, 2, 2, 3, 2>::default();
        check_gradients::<_, 2>(&mut overlapping, &random_tensor(&mut rng), 4).unwrap();
        let mut square = SquareAvgPool2d::<3, 3, 3, 1, 1, 3, 1>::default();
        check_gradients::<_, 1>(&mut square, &random_tensor(&mut rng), 6).unwrap();
        // Padded, counting the padding or not; rectangular; TensorFlow's `same` at stride 2.
        let mut counting = AvgPool2d::<2, 5, 5, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, true>;
        check_gradients::<_, 2>(&mut counting, &random_tensor(&mut rng), 8).unwrap();
        let mut inside = AvgPool2d::<2, 5, 5, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, false>;
        check_gradients::<_, 2>(&mut inside, &random_tensor(&mut rng), 10).unwrap();
        let mut rectangular = AvgPool2d::<2, 4, 6, 4, 3, 3, 2, 1, 2, 1, 1, 0, 0, true>;
        check_gradients::<_, 2>(&mut rectangular, &random_tensor(&mut rng), 12).unwrap();
        let mut same = AvgPool2d::<2, 5, 5, 3, 3, 2, 2, 2, 2, 0, 1, 0, 1, false>;
        check_gradients::<_, 2>(&mut same, &random_tensor(&mut rng), 14).unwrap();
    }

    #[test]
    fn overlapping_windows_add_up() {
        let mut pool = SquareAvgPool2d::<1, 3, 3, 2, 2, 2, 1>::default();
        let (x, y) = (Tensor4::<1, 1, 3, 3>::zeros(), Tensor4::zeros());
        let dy = Tensor4::<1, 1, 2, 2>::full(1.0);
        let mut dx = Tensor4::<1, 1, 3, 3>::full(f32::NAN);
        pool.backward(&x, &y, &mut (), &dy, Some(&mut dx));
        assert_eq!(
            dx.as_slice(),
            &[0.25, 0.5, 0.25, 0.5, 1.0, 0.5, 0.25, 0.5, 0.25]
        );
    }
}
