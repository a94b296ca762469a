//! `MaxPool2d<C, H, W, OH, OW, K, STRIDE>`: the maximum of each window of each channel;
//! `max_pool(..)` in `network!`.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::linalg::pool::{PoolShape, max_pool_backward, max_pool_forward};
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::Tensor4;

/// Max pooling of `C` channels of `H × W` to `OH × OW` with `K × K` windows moved by `STRIDE`,
/// no padding: PyTorch's `nn.MaxPool2d(K, stride=STRIDE)`. No parameters.
///
/// `OH` must be `(H − K) / STRIDE + 1` rounded down (PyTorch's rule), likewise `OW`, with
/// `H, W ≥ K ≥ 1` and `STRIDE ≥ 1`: an inline const assert checks it where forward or backward
/// is instantiated. Windows may overlap (`STRIDE < K`); their gradients add up.
///
/// Backward routes each window's gradient to its first maximal element in row-major order
/// (PyTorch's rule for ties; a NaN counts as maximal), found again by comparing the input with
/// the output, so the cache is `()`.
///
/// ```
/// use nn_core::layers::{Layer, MaxPool2d};
/// use nn_core::tensor::Tensor4;
///
/// let pool = MaxPool2d::<1, 2, 4, 1, 2, 2, 2>::default();
/// let x = Tensor4::<1, 1, 2, 4>::from_slice(&[1.0, 5.0, 2.0, 0.0, 3.0, 4.0, -1.0, 1.5])?;
/// let mut y = Tensor4::<1, 1, 1, 2>::zeros();
/// pool.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[5.0, 2.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MaxPool2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const STRIDE: usize,
>;

impl<
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const STRIDE: usize,
> MaxPool2d<C, H, W, OH, OW, K, STRIDE>
{
    const SHAPE: PoolShape = PoolShape {
        h: H,
        w: W,
        oh: OH,
        ow: OW,
        k: K,
        stride: STRIDE,
    };

    /// Evaluated where forward and backward are instantiated: the sizes agree.
    const CHECK: () = assert!(
        Self::SHAPE.is_valid(),
        "max_pool: needs H, W >= K >= 1, STRIDE >= 1, \
         OH == (H - K) / STRIDE + 1 and OW == (W - K) / STRIDE + 1"
    );
}

impl<
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const STRIDE: usize,
> HasParams for MaxPool2d<C, H, W, OH, OW, K, STRIDE>
{
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        _path: &ParamPath<'_>,
        _visitor: &mut V,
    ) {
    }
}

impl<
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const STRIDE: usize,
> Layer for MaxPool2d<C, H, W, OH, OW, K, STRIDE>
{
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

impl<
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const STRIDE: usize,
> Composable for MaxPool2d<C, H, W, OH, OW, K, STRIDE>
{
    const PARAM_COUNT: usize = 0;

    fn build(_rng: &mut Rng) -> Self {
        Self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_gradients;

    /// A shuffled ramp: values a window compares differ by far more than the check's step, so
    /// no step moves the maximum.
    fn shuffled_ramp<const B: usize, const C: usize, const H: usize, const W: usize>(
        seed: u64,
    ) -> Tensor4<B, C, H, W> {
        let mut x = Tensor4::<B, C, H, W>::from_fn(|[b, c, h, w]| {
            ((((b * C + c) * H + h) * W + w) as f32) * 0.1
        });
        let mut rng = crate::init::seeded(seed);
        let values = x.as_mut_slice();
        for i in (1..values.len()).rev() {
            let j = (crate::init::uniform(&mut rng, 0.0, 1.0) * (i + 1) as f32) as usize;
            values.swap(i, j.min(i));
        }
        x
    }

    #[test]
    fn forward_picks_each_window_maximum() {
        // C == H == W, stride 1, overlapping windows.
        let pool = MaxPool2d::<3, 3, 3, 2, 2, 2, 1>;
        let x = Tensor4::<1, 3, 3, 3>::from_fn(|[_, c, h, w]| (c * 9 + h * 3 + w) as f32);
        let mut y = Tensor4::<1, 3, 2, 2>::zeros();
        pool.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice()[..4], [4.0, 5.0, 7.0, 8.0]);
        assert_eq!(y.as_slice()[8..], [22.0, 23.0, 25.0, 26.0]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut pool = MaxPool2d::<2, 4, 6, 2, 3, 2, 2>;
        check_gradients::<_, 2>(&mut pool, &shuffled_ramp(1), 2).unwrap();
        // Overlapping windows accumulate; floor rule leaves the last row and column out.
        let mut overlapping = MaxPool2d::<3, 6, 5, 2, 2, 3, 2>;
        check_gradients::<_, 2>(&mut overlapping, &shuffled_ramp(3), 4).unwrap();
        let mut square = MaxPool2d::<3, 3, 3, 1, 1, 3, 1>;
        check_gradients::<_, 1>(&mut square, &shuffled_ramp(5), 6).unwrap();
        let mut unit = MaxPool2d::<2, 3, 4, 3, 4, 1, 1>;
        check_gradients::<_, 2>(&mut unit, &shuffled_ramp(7), 8).unwrap();
    }

    #[test]
    fn overlapping_windows_add_up() {
        let mut pool = MaxPool2d::<1, 3, 3, 2, 2, 2, 1>;
        let mut x = Tensor4::<1, 1, 3, 3>::zeros();
        x[[0, 0, 1, 1]] = 1.0; // the centre is the maximum of all four windows
        let (y, dy) = (Tensor4::full(1.0), Tensor4::<1, 1, 2, 2>::full(1.0));
        let mut dx = Tensor4::<1, 1, 3, 3>::full(f32::NAN);
        pool.backward(&x, &y, &mut (), &dy, Some(&mut dx));
        assert_eq!(dx[[0, 0, 1, 1]], 4.0);
        assert_eq!(dx.iter().sum::<f32>(), 4.0);
    }
}
