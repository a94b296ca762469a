//! `Softmax<N>`: turns each row of `N` logits into probabilities.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::Tensor2;

/// Softmax over the `N` features of each sample: `y_i = e^{x_i} / Σ_j e^{x_j}`.
///
/// Computed as `e^{x_i − max x}` so large logits do not overflow. For training a classifier,
/// prefer raw logits with [`softmax_cross_entropy`](crate::loss::softmax_cross_entropy), which
/// is more stable than this layer followed by a log.
///
/// ```
/// use nn_core::layers::{Layer, Softmax};
/// use nn_core::tensor::Tensor2;
///
/// let x = Tensor2::<1, 2>::from_slice(&[0.0, 2.0_f32.ln()])?;
/// let mut y = Tensor2::<1, 2>::zeros();
/// Softmax::<2>.forward(&x, &mut y, &mut ());
/// assert!((y[[0, 0]] - 1.0 / 3.0).abs() < 1e-6 && (y[[0, 1]] - 2.0 / 3.0).abs() < 1e-6);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Softmax<const N: usize>;

/// Writes the softmax of `logits` into `probs` (both of one row's length).
pub(crate) use crate::math::softmax_row;

impl<const N: usize> HasParams for Softmax<N> {
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        _path: &ParamPath<'_>,
        _visitor: &mut V,
    ) {
    }
}

impl<const N: usize> Layer for Softmax<N> {
    type Input<const B: usize> = Tensor2<B, N>;
    type Output<const B: usize> = Tensor2<B, N>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(&self, x: &Tensor2<B, N>, y: &mut Tensor2<B, N>, _scratch: &mut ()) {
        for (xr, yr) in x
            .as_slice()
            .chunks_exact(N.max(1))
            .zip(y.as_mut_slice().chunks_exact_mut(N.max(1)))
        {
            softmax_row(xr, yr);
        }
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor2<B, N>,
        y: &mut Tensor2<B, N>,
        _cache: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor2<B, N>,
        y: &Tensor2<B, N>,
        _cache: &mut (),
        dy: &Tensor2<B, N>,
        dx: Option<&mut Tensor2<B, N>>,
    ) {
        // dx_i = y_i (dy_i − Σ_j dy_j y_j)
        let Some(dx) = dx else { return };
        let rows = y
            .as_slice()
            .chunks_exact(N.max(1))
            .zip(dy.as_slice().chunks_exact(N.max(1)));
        for ((yr, dyr), dxr) in rows.zip(dx.as_mut_slice().chunks_exact_mut(N.max(1))) {
            let dot: f32 = yr.iter().zip(dyr).map(|(a, b)| a * b).sum();
            for ((g, &yi), &dyi) in dxr.iter_mut().zip(yr).zip(dyr) {
                *g = yi * (dyi - dot);
            }
        }
    }
}

impl<const N: usize> Composable for Softmax<N> {
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
    fn forward_literal() {
        let x = Tensor2::<2, 3>::from_slice(&[1.0, 2.0, 3.0, 1000.0, 1000.0, 1000.0]).unwrap();
        let mut y = Tensor2::<2, 3>::zeros();
        Softmax::<3>.forward(&x, &mut y, &mut ());
        let want = [
            0.090_030_57,
            0.244_728_48,
            0.665_240_94,
            1.0 / 3.0,
            1.0 / 3.0,
            1.0 / 3.0,
        ];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(7);
        let x = random_tensor::<Tensor2<3, 5>>(&mut rng);
        check_gradients::<_, 3>(&mut Softmax::<5>, &x, 14).unwrap();
    }
}
