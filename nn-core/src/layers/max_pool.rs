//! `MaxPool2d<..>`: the maximum of each window of each channel, with rectangular windows,
//! strides and padding per axis; `max_pool(..)` in `network!`. [`SquareMaxPool2d`] names the
//! common unpadded square case.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::linalg::conv::ConvAxis;
use crate::linalg::pool::{PoolShape, max_pool_backward, max_pool_forward};
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::Tensor4;

/// Max pooling of `C` channels of `H × W` to `OH × OW` with `KH × KW` windows moved by
/// `(SH, SW)`: PyTorch's `nn.MaxPool2d((KH, KW), stride=(SH, SW), padding=..)`. No
/// parameters.
///
/// | parameter | meaning |
/// |---|---|
/// | `KH`, `KW` | the window's height and width |
/// | `SH`, `SW` | the strides down and across |
/// | `PT`, `PB`, `PL`, `PR` | padding on top, bottom, left and right (PyTorch pads both sides alike; TensorFlow's `same` at stride 2 may put one more after) |
///
/// The padding is −∞: it is never a window's maximum. No padding may exceed half its window
/// (PyTorch's rule: every window keeps an input value). `OH` must be
/// `(H + PT + PB − KH) / SH + 1` rounded down (PyTorch's rule), likewise `OW`: an inline const
/// assert checks it where forward or backward is instantiated. Windows may overlap
/// (`SH < KH`); their gradients add up.
///
/// Backward routes each window's gradient to its first maximal element in row-major order
/// (PyTorch's rule for ties; a NaN counts as maximal), found again by comparing the input with
/// the output, so the cache is `()`.
///
/// ```
/// use nn_core::layers::{Layer, MaxPool2d};
/// use nn_core::tensor::Tensor4;
///
/// // 3 × 3 windows at stride 2 over a 2 × 4 plane padded by 1 on every side.
/// let pool = MaxPool2d::<1, 2, 4, 1, 2, 3, 3, 2, 2, 1, 1, 1, 1>;
/// let x = Tensor4::<1, 1, 2, 4>::from_slice(&[-1.0, -5.0, -2.0, -0.5, -3.0, -4.0, -1.5, -2.5])?;
/// let mut y = Tensor4::<1, 1, 1, 2>::zeros();
/// pool.forward(&x, &mut y, &mut ());
/// // The padding never wins, even over negative values.
/// assert_eq!(y.as_slice(), &[-1.0, -0.5]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MaxPool2d<
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
>;

/// PyTorch's `nn.MaxPool2d(K, stride=STRIDE)`: square `K × K` windows, one stride on both axes,
/// no padding. `OH` and `OW` as in [`MaxPool2d`].
///
/// ```
/// use nn_core::layers::{Layer, SquareMaxPool2d};
/// use nn_core::tensor::Tensor4;
///
/// let pool = SquareMaxPool2d::<1, 2, 4, 1, 2, 2, 2>::default();
/// let x = Tensor4::<1, 1, 2, 4>::from_slice(&[1.0, 5.0, 2.0, 0.0, 3.0, 4.0, -1.0, 1.5])?;
/// let mut y = Tensor4::<1, 1, 1, 2>::zeros();
/// pool.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[5.0, 2.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// Sizes that disagree fail to build:
///
/// ```compile_fail,E0080
/// use nn_core::layers::{Layer, SquareMaxPool2d};
/// use nn_core::tensor::Tensor4;
/// // 2 × 2 windows at stride 2 halve 24 × 24 to 12 × 12, not 11 × 11.
/// let pool = SquareMaxPool2d::<1, 24, 24, 11, 11, 2, 2>::default();
/// pool.forward(&Tensor4::<1, 1, 24, 24>::zeros(), &mut Tensor4::zeros(), &mut ());
/// ```
pub type SquareMaxPool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const STRIDE: usize,
> = MaxPool2d<C, H, W, OH, OW, K, K, STRIDE, STRIDE, 0, 0, 0, 0>;

macro_rules! max_pool_impl {
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
        > $($body)*
    };
}

max_pool_impl! {
MaxPool2d<C, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR> {
    /// The sizes, as the kernels take them.
    pub const SHAPE: PoolShape = PoolShape {
        height: ConvAxis { size: H, out: OH, kernel: KH, stride: SH, dilation: 1, pad_before: PT, pad_after: PB },
        width: ConvAxis { size: W, out: OW, kernel: KW, stride: SW, dilation: 1, pad_before: PL, pad_after: PR },
        count_include_pad: true,
    };

    /// Evaluated where forward and backward are instantiated: the sizes agree.
    const CHECK: () = assert!(
        Self::SHAPE.is_valid(),
        "max_pool: needs H, W >= 1, KH, KW, SH, SW >= 1, padding at most half the window, \
         OH == (H + PT + PB - KH) / SH + 1 and OW == (W + PL + PR - KW) / SW + 1"
    );
}
}

max_pool_impl! {
HasParams for MaxPool2d<C, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR> {
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        _path: &ParamPath<'_>,
        _visitor: &mut V,
    ) {
    }
}
}

max_pool_impl! {
Layer for MaxPool2d<C, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR> {
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
        max_pool_forward(&Self::SHAPE, x.as_slice(), y.as_mut_slice());
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
        x: &Tensor4<B, C, H, W>,
        y: &Tensor4<B, C, OH, OW>,
        _cache: &mut (),
        dy: &Tensor4<B, C, OH, OW>,
        dx: Option<&mut Tensor4<B, C, H, W>>,
    ) {
        const { Self::CHECK };
        if let Some(dx) = dx {
            max_pool_backward(
                &Self::SHAPE,
                x.as_slice(),
                y.as_slice(),
                dy.as_slice(),
                dx.as_mut_slice(),
            );
        }
    }
}
}

max_pool_impl! {
Composable for MaxPool2d<C, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR> {
    const PARAM_COUNT: usize = 0;

    fn build(_rng: &mut Rng) -> Self {
        Self
    }
}
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tensor::Tensor;
    use crate::testing::check_gradients;

    /// A shuffled ramp: values a window compares differ by far more than the check's step, so
    /// no step moves the maximum.
    pub(crate) fn shuffled_ramp<T: Tensor>(seed: u64) -> T {
        let mut x = T::zeros();
        let values = x.as_mut_slice();
        for (i, v) in values.iter_mut().enumerate() {
            *v = i as f32 * 0.1 - 1.0;
        }
        let mut rng = crate::init::seeded(seed);
        for i in (1..values.len()).rev() {
            let j = (crate::init::uniform(&mut rng, 0.0, 1.0) * (i + 1) as f32) as usize;
            values.swap(i, j.min(i));
        }
        x
    }

    #[test]
    fn forward_picks_each_window_maximum() {
        // C == H == W, stride 1, overlapping windows.
        let pool = SquareMaxPool2d::<3, 3, 3, 2, 2, 2, 1>::default();
        let x = Tensor4::<1, 3, 3, 3>::from_fn(|[_, c, h, w]| (c * 9 + h * 3 + w) as f32);
        let mut y = Tensor4::<1, 3, 2, 2>::zeros();
        pool.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice()[..4], [4.0, 5.0, 7.0, 8.0]);
        assert_eq!(y.as_slice()[8..], [22.0, 23.0, 25.0, 26.0]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut pool = SquareMaxPool2d::<2, 4, 6, 2, 3, 2, 2>::default();
        check_gradients::<_, 2>(&mut pool, &shuffled_ramp(1), 2).unwrap();
        // Overlapping windows accumulate; floor rule leaves the last row and column out.
        let mut overlapping = SquareMaxPool2d::<3, 6, 5, 2, 2, 3, 2>::default();
        check_gradients::<_, 2>(&mut overlapping, &shuffled_ramp(3), 4).unwrap();
        let mut square = SquareMaxPool2d::<3, 3, 3, 1, 1, 3, 1>::default();
        check_gradients::<_, 1>(&mut square, &shuffled_ramp(5), 6).unwrap();
        let mut unit = SquareMaxPool2d::<2, 3, 4, 3, 4, 1, 1>::default();
        check_gradients::<_, 2>(&mut unit, &shuffled_ramp(7), 8).unwrap();
        // Padded (PyTorch's `padding=1`), rectangular, and TensorFlow's `same` at stride 2.
        let mut padded = MaxPool2d::<2, 5, 5, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1>;
        check_gradients::<_, 2>(&mut padded, &shuffled_ramp(9), 10).unwrap();
        let mut rectangular = MaxPool2d::<2, 4, 6, 4, 3, 3, 2, 1, 2, 1, 1, 0, 0>;
        check_gradients::<_, 2>(&mut rectangular, &shuffled_ramp(11), 12).unwrap();
        let mut same = MaxPool2d::<2, 5, 5, 3, 3, 2, 2, 2, 2, 0, 1, 0, 1>;
        check_gradients::<_, 2>(&mut same, &shuffled_ramp(13), 14).unwrap();
    }

    #[test]
    fn overlapping_windows_add_up() {
        let mut pool = SquareMaxPool2d::<1, 3, 3, 2, 2, 2, 1>::default();
        let mut x = Tensor4::<1, 1, 3, 3>::zeros();
        x[[0, 0, 1, 1]] = 1.0; // the centre is the maximum of all four windows
        let (y, dy) = (Tensor4::full(1.0), Tensor4::<1, 1, 2, 2>::full(1.0));
        let mut dx = Tensor4::<1, 1, 3, 3>::full(f32::NAN);
        pool.backward(&x, &y, &mut (), &dy, Some(&mut dx));
        assert_eq!(dx[[0, 0, 1, 1]], 4.0);
        assert_eq!(dx.iter().sum::<f32>(), 4.0);
    }
}
