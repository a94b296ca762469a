//! `MeanPool<T, F>`: the mean over the steps of a sequence, `(T, F)` to `F` features.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::param::{HasParams, ParamPath, ParamRefVisitor, ParamVisitor};
use crate::tensor::{Tensor2, Tensor3};

/// The mean over the `T` steps of a batch-first sequence of `F` features: `Tensor3<B, T, F>`
/// in, `Tensor2<B, F>` out.
///
/// PyTorch's `x.mean(dim=1)`, Keras's `GlobalAveragePooling1D` on steps-first sequences: one
/// vector per sequence for a classifier head, which, unlike [`Last`](super::Last), every step
/// contributes to (and gets `dy / T` of the gradient). No parameters.
///
/// ```
/// use nn_core::layers::{Layer, MeanPool};
/// use nn_core::tensor::{Tensor2, Tensor3};
///
/// let x = Tensor3::<1, 3, 2>::from_slice(&[1.0, 10.0, 2.0, 20.0, 6.0, 0.0])?;
/// let mut y = Tensor2::<1, 2>::zeros();
/// MeanPool::<3, 2>::default().forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[3.0, 10.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeanPool<const T: usize, const F: usize>;

impl<const T: usize, const F: usize> MeanPool<T, F> {
    /// Evaluated where the layer runs: the mean of no steps is undefined.
    const CHECK: () = assert!(
        T >= 1,
        "mean_pool: the sequence needs at least one step (T >= 1)"
    );
}

impl<const T: usize, const F: usize> HasParams for MeanPool<T, F> {
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: ParamRefVisitor>(&self, _path: &ParamPath<'_>, _visitor: &mut V) {}
}

impl<const T: usize, const F: usize> Layer for MeanPool<T, F> {
    type Input<const B: usize> = Tensor3<B, T, F>;
    type Output<const B: usize> = Tensor2<B, F>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(&self, x: &Tensor3<B, T, F>, y: &mut Tensor2<B, F>, _: &mut ()) {
        const { Self::CHECK };
        let samples = x.as_slice().chunks_exact((T * F).max(1));
        for (out, sample) in y.as_mut_slice().chunks_exact_mut(F.max(1)).zip(samples) {
            // The kernel of a baked network's `mean_pool`.
            crate::linalg::sequence::mean_over_steps(sample, out);
        }
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, F>,
        y: &mut Tensor2<B, F>,
        _: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor3<B, T, F>,
        _y: &Tensor2<B, F>,
        _: &mut (),
        dy: &Tensor2<B, F>,
        dx: Option<&mut Tensor3<B, T, F>>,
    ) {
        const { Self::CHECK };
        let Some(dx) = dx else { return };
        let scale = 1.0 / T as f32;
        let samples = dx.as_mut_slice().chunks_exact_mut((T * F).max(1));
        for (sample, d) in samples.zip(dy.as_slice().chunks_exact(F.max(1))) {
            for step in sample.chunks_exact_mut(F.max(1)) {
                for (g, &d) in step.iter_mut().zip(d) {
                    *g = d * scale;
                }
            }
        }
    }
}

impl<const T: usize, const F: usize> Composable for MeanPool<T, F> {
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
    fn averages_the_steps_of_each_sample() {
        // T == F: a transposed layout would average the wrong values.
        let x = Tensor3::<2, 3, 3>::from_fn(|[b, t, f]| (100 * b + 10 * f + t * t) as f32);
        let mut y = Tensor2::<2, 3>::zeros();
        MeanPool::<3, 3>.forward(&x, &mut y, &mut ());
        // (0 + 1 + 4) / 3 = 5/3 on top of 100·b + 10·f.
        let third = 5.0 / 3.0;
        let want = [
            third,
            10.0 + third,
            20.0 + third,
            100.0 + third,
            110.0 + third,
            120.0 + third,
        ];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{g} vs {w}");
        }
    }

    #[test]
    fn backward_spreads_dy_over_the_steps() {
        let x = Tensor3::<2, 2, 2>::zeros();
        let y = Tensor2::<2, 2>::zeros();
        let dy = Tensor2::<2, 2>::from_slice(&[2.0, 4.0, -6.0, 8.0]).unwrap();
        let mut dx = Tensor3::<2, 2, 2>::full(9.0);
        MeanPool::<2, 2>.backward(&x, &y, &mut (), &dy, Some(&mut dx));
        assert_eq!(dx.as_slice(), &[1.0, 2.0, 1.0, 2.0, -3.0, 4.0, -3.0, 4.0]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(71);
        let x = random_tensor::<Tensor3<3, 5, 4>>(&mut rng);
        let mut pool = <MeanPool<5, 4> as Composable>::build(&mut rng);
        assert_eq!(check_gradients::<_, 3>(&mut pool, &x, 72).unwrap(), 60);
        assert_eq!(pool.param_count(), 0);
    }

    #[test]
    fn serves_threads() {
        fn send_sync<L: Layer + Send + Sync>() {}
        send_sync::<MeanPool<28, 16>>();
    }
}
