//! `GlobalAvgPool<C, H, W>`: the mean of each channel, `(C, H, W)` to `C` features;
//! `global_avg_pool` in `network!`.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::{Tensor2, Tensor4};

/// The mean over the `H × W` plane of each of `C` channels: `Tensor4<B, C, H, W>` to
/// `Tensor2<B, C>`, PyTorch's `nn.AdaptiveAvgPool2d(1)` followed by a flatten. No parameters.
///
/// ```
/// use nn_core::layers::{GlobalAvgPool, Layer};
/// use nn_core::tensor::{Tensor2, Tensor4};
///
/// let pool = GlobalAvgPool::<2, 2, 2>::default();
/// let x = Tensor4::<1, 2, 2, 2>::from_slice(&[1.0, 2.0, 3.0, 4.0, -1.0, -1.0, 0.0, 6.0])?;
/// let mut y = Tensor2::<1, 2>::zeros();
/// pool.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[2.5, 1.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GlobalAvgPool<const C: usize, const H: usize, const W: usize>;

/// `y[i]` = the mean of plane `i` of `x` (planes of `plane` values).
fn spread_means(plane: usize, dy: &[f32], dx: &mut [f32]) {
    let scale = 1.0 / plane as f32;
    for (&g, values) in dy.iter().zip(dx.chunks_exact_mut(plane)) {
        values.fill(g * scale);
    }
}

impl<const C: usize, const H: usize, const W: usize> HasParams for GlobalAvgPool<C, H, W> {
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        _path: &ParamPath<'_>,
        _visitor: &mut V,
    ) {
    }
}

impl<const C: usize, const H: usize, const W: usize> Layer for GlobalAvgPool<C, H, W> {
    type Input<const B: usize> = Tensor4<B, C, H, W>;
    type Output<const B: usize> = Tensor2<B, C>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(
        &self,
        x: &Tensor4<B, C, H, W>,
        y: &mut Tensor2<B, C>,
        _scratch: &mut (),
    ) {
        const { assert!(H * W > 0, "global_avg_pool: the plane must not be empty") };
        crate::linalg::pool::global_avg_pool_forward(H * W, x.as_slice(), y.as_mut_slice());
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor4<B, C, H, W>,
        y: &mut Tensor2<B, C>,
        _cache: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor4<B, C, H, W>,
        _y: &Tensor2<B, C>,
        _cache: &mut (),
        dy: &Tensor2<B, C>,
        dx: Option<&mut Tensor4<B, C, H, W>>,
    ) {
        const { assert!(H * W > 0, "global_avg_pool: the plane must not be empty") };
        if let Some(dx) = dx {
            spread_means(H * W, dy.as_slice(), dx.as_mut_slice());
        }
    }
}

impl<const C: usize, const H: usize, const W: usize> Composable for GlobalAvgPool<C, H, W> {
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
    fn forward_averages_each_plane() {
        // C == H == W: a transposed layout would average the wrong values.
        let pool = GlobalAvgPool::<3, 3, 3>;
        let x = Tensor4::<2, 3, 3, 3>::from_fn(|[b, c, h, w]| (b * 100 + c * 10 + h * w) as f32);
        let mut y = Tensor2::<2, 3>::zeros();
        pool.forward(&x, &mut y, &mut ());
        // Σ h·w over 3×3 is 9, so the mean adds 1.
        assert_eq!(y.as_slice(), &[1.0, 11.0, 21.0, 101.0, 111.0, 121.0]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(2);
        let mut pool = GlobalAvgPool::<2, 3, 4>;
        let x = random_tensor::<Tensor4<3, 2, 3, 4>>(&mut rng);
        assert_eq!(check_gradients::<_, 3>(&mut pool, &x, 3).unwrap(), 72);
    }
}
