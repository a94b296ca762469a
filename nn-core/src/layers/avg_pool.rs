//! `AvgPool2d<C, H, W, OH, OW, K, STRIDE>`: the mean of each window of each channel;
//! `avg_pool(..)` in `network!`.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::linalg::pool::{PoolShape, avg_pool_backward, avg_pool_forward};
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::Tensor4;

/// Average pooling of `C` channels of `H × W` to `OH × OW` with `K × K` windows moved by `STRIDE`,
/// no padding: PyTorch's `nn.AvgPool2d(K, stride=STRIDE)`. No parameters.
///
/// `OH` must be `(H − K) / STRIDE + 1` rounded down (PyTorch's rule), likewise `OW`, with
/// `H, W ≥ K ≥ 1` and `STRIDE ≥ 1`: an inline const assert checks it where forward or backward
/// is instantiated. Windows may overlap (`STRIDE < K`); their gradients add up.
///
/// Each output is the mean of its `K · K` inputs; backward spreads each window's gradient
/// evenly over them.
///
/// ```
/// use nn_core::layers::{Layer, AvgPool2d};
/// use nn_core::tensor::Tensor4;
///
/// let pool = AvgPool2d::<1, 2, 4, 1, 2, 2, 2>::default();
/// let x = Tensor4::<1, 1, 2, 4>::from_slice(&[1.0, 5.0, 2.0, 0.0, 3.0, 3.0, -1.0, 1.0])?;
/// let mut y = Tensor4::<1, 1, 1, 2>::zeros();
/// pool.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[3.0, 0.5]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AvgPool2d<
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
> AvgPool2d<C, H, W, OH, OW, K, STRIDE>
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
        "avg_pool: needs H, W >= K >= 1, STRIDE >= 1, \
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
> HasParams for AvgPool2d<C, H, W, OH, OW, K, STRIDE>
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
> Layer for AvgPool2d<C, H, W, OH, OW, K, STRIDE>
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

impl<
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const STRIDE: usize,
> Composable for AvgPool2d<C, H, W, OH, OW, K, STRIDE>
{
    const PARAM_COUNT: usize = 0;

    fn build(_rng: &mut Rng) -> Self {
        Self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_gradients, random_tensor};

    #[test]
    fn forward_takes_each_window_mean() {
        // C == H == W, stride 1, overlapping windows.
        let pool = AvgPool2d::<3, 3, 3, 2, 2, 2, 1>;
        let x = Tensor4::<1, 3, 3, 3>::from_fn(|[_, c, h, w]| (c * 9 + h * 3 + w) as f32);
        let mut y = Tensor4::<1, 3, 2, 2>::zeros();
        pool.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice()[..4], [2.0, 3.0, 5.0, 6.0]);
        assert_eq!(y.as_slice()[8..], [20.0, 21.0, 23.0, 24.0]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(1);
        let mut pool = AvgPool2d::<2, 4, 6, 2, 3, 2, 2>;
        check_gradients::<_, 2>(&mut pool, &random_tensor(&mut rng), 2).unwrap();
        // Overlapping windows accumulate; floor rule leaves the last row and column out.
        let mut overlapping = AvgPool2d::<3, 6, 5, 2, 2, 3, 2>;
        check_gradients::<_, 2>(&mut overlapping, &random_tensor(&mut rng), 4).unwrap();
        let mut square = AvgPool2d::<3, 3, 3, 1, 1, 3, 1>;
        check_gradients::<_, 1>(&mut square, &random_tensor(&mut rng), 6).unwrap();
    }

    #[test]
    fn overlapping_windows_add_up() {
        let mut pool = AvgPool2d::<1, 3, 3, 2, 2, 2, 1>;
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
