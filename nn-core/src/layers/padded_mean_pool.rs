//! `PaddedMeanPool<T, F, PAD, FI>`: the mean over the steps of a sequence that are not
//! padding, the steps whose token id (packed after the features) is `PAD`.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::linalg::sequence::mean_over_kept_steps;
use crate::param::{HasParams, ParamPath, ParamRefVisitor, ParamVisitor};
use crate::tensor::{Tensor2, Tensor3};

/// The mean over the `T` steps of a batch-first sequence of `F` features, leaving out the steps
/// whose token id is `PAD`: what `mean_pool(key_padding = PAD)` declares.
///
/// Keras's `GlobalAveragePooling1D` under the mask of `Embedding(mask_zero=True)`; in PyTorch,
/// `(x * keep).sum(1) / keep.sum(1)` with `keep = ids != PAD`. A plain
/// [`MeanPool`](super::MeanPool) would average the padding steps in too, and a padded batch
/// would then give other outputs than the same sequences unpadded.
///
/// The input is the sequence with each step's token id after its features, `FI = F + 1`
/// values per step, which the `network!` macro packs from the network's `input(T) tokens`.
/// A sample whose every step is padding pools to 0. Steps that are left out get no gradient
/// (nor does the id column). No parameters.
///
/// ```
/// use nn_core::layers::{Layer, PaddedMeanPool};
/// use nn_core::tensor::{Tensor2, Tensor3};
///
/// // Three steps of two features, each followed by its id; the last is padding (id 0).
/// let x = Tensor3::<1, 3, 3>::from_slice(&[1.0, 10.0, 5.0, 3.0, 30.0, 7.0, 9.0, 9.0, 0.0])?;
/// let mut y = Tensor2::<1, 2>::zeros();
/// PaddedMeanPool::<3, 2, 0, 3>::default().forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[2.0, 20.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaddedMeanPool<const T: usize, const F: usize, const PAD: usize, const FI: usize>;

impl<const T: usize, const F: usize, const PAD: usize, const FI: usize>
    PaddedMeanPool<T, F, PAD, FI>
{
    /// Evaluated where the layer runs: the packed width is the features and one id.
    const CHECK: () = assert!(
        FI == F + 1,
        "PaddedMeanPool<T, F, PAD, FI>: each step is F features and one token id, FI = F + 1"
    );
}

impl<const T: usize, const F: usize, const PAD: usize, const FI: usize> HasParams
    for PaddedMeanPool<T, F, PAD, FI>
{
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: ParamRefVisitor>(&self, _path: &ParamPath<'_>, _visitor: &mut V) {}
}

impl<const T: usize, const F: usize, const PAD: usize, const FI: usize> Layer
    for PaddedMeanPool<T, F, PAD, FI>
{
    type Input<const B: usize> = Tensor3<B, T, FI>;
    type Output<const B: usize> = Tensor2<B, F>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(&self, x: &Tensor3<B, T, FI>, y: &mut Tensor2<B, F>, _: &mut ()) {
        const { Self::CHECK };
        if F == 0 {
            return; // no features to pool
        }
        let samples = x.as_slice().chunks_exact((T * FI).max(1));
        for (out, sample) in y.as_mut_slice().chunks_exact_mut(F).zip(samples) {
            mean_over_kept_steps(sample, PAD, out);
        }
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, FI>,
        y: &mut Tensor2<B, F>,
        _: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, FI>,
        _y: &Tensor2<B, F>,
        _: &mut (),
        dy: &Tensor2<B, F>,
        dx: Option<&mut Tensor3<B, T, FI>>,
    ) {
        const { Self::CHECK };
        let Some(dx) = dx else { return };
        dx.as_mut_slice().fill(0.0);
        if F == 0 {
            return;
        }
        let pad = PAD as f32;
        let samples = x.as_slice().chunks_exact((T * FI).max(1));
        let grads = dx.as_mut_slice().chunks_exact_mut((T * FI).max(1));
        for ((sample, grad), d) in samples.zip(grads).zip(dy.as_slice().chunks_exact(F)) {
            let kept = sample.chunks_exact(FI).filter(|s| s[F] != pad).count();
            if kept == 0 {
                continue; // the output was 0 whatever the input
            }
            let scale = 1.0 / kept as f32;
            for (step, g) in sample.chunks_exact(FI).zip(grad.chunks_exact_mut(FI)) {
                if step[F] != pad {
                    for (g, &d) in g[..F].iter_mut().zip(d) {
                        *g = d * scale;
                    }
                }
            }
        }
    }
}

impl<const T: usize, const F: usize, const PAD: usize, const FI: usize> Composable
    for PaddedMeanPool<T, F, PAD, FI>
{
    const PARAM_COUNT: usize = 0;

    fn build(_rng: &mut Rng) -> Self {
        Self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::MeanPool;
    use crate::testing::{check_gradients, random_tensor};

    /// `rows` steps of `F = 3` features, each followed by the id from `ids`.
    fn packed<const B: usize, const T: usize>(features: &[f32], ids: &[usize]) -> Tensor3<B, T, 4> {
        Tensor3::from_fn(|[b, t, f]| match f {
            3 => ids[b * T + t] as f32,
            _ => features[(b * T + t) * 3 + f],
        })
    }

    #[test]
    fn leaves_out_the_padding_steps_of_each_sample() {
        let features: alloc::vec::Vec<f32> = (0..18).map(|v| v as f32).collect();
        // Sample 0 keeps steps 0 and 2 (a pad inside), sample 1 keeps all three.
        let x = packed::<2, 3>(&features, &[4, 0, 9, 1, 2, 3]);
        let mut y = Tensor2::<2, 3>::zeros();
        PaddedMeanPool::<3, 3, 0, 4>.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice(), &[3.0, 4.0, 5.0, 12.0, 13.0, 14.0]);
    }

    #[test]
    fn without_padding_it_is_the_plain_mean() {
        let mut rng = crate::init::seeded(5);
        let features = random_tensor::<Tensor3<2, 5, 3>>(&mut rng);
        let x = packed::<2, 5>(features.as_slice(), &[1; 10]);
        let (mut padded, mut plain) = (Tensor2::<2, 3>::zeros(), Tensor2::<2, 3>::zeros());
        PaddedMeanPool::<5, 3, 0, 4>.forward(&x, &mut padded, &mut ());
        MeanPool::<5, 3>.forward(&features, &mut plain, &mut ());
        for (p, q) in padded.iter().zip(plain.iter()) {
            assert!((p - q).abs() < 1e-6, "{p} vs {q}");
        }
    }

    #[test]
    fn an_all_padding_sample_pools_to_zero_and_gets_no_gradient() {
        let x = packed::<1, 2>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[7, 7]);
        let mut y = Tensor2::<1, 3>::full(9.0);
        let mut pool = PaddedMeanPool::<2, 3, 7, 4>;
        pool.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice(), &[0.0; 3]);
        let mut dx = Tensor3::<1, 2, 4>::full(9.0);
        let dy = Tensor2::<1, 3>::full(1.0);
        pool.backward(&x, &y, &mut (), &dy, Some(&mut dx));
        assert_eq!(dx.as_slice(), &[0.0; 8]);
    }

    #[test]
    fn backward_spreads_dy_over_the_kept_steps_only() {
        let x = packed::<1, 3>(&[0.0; 9], &[5, 0, 5]);
        let y = Tensor2::<1, 3>::zeros();
        let dy = Tensor2::<1, 3>::from_slice(&[2.0, -4.0, 6.0]).unwrap();
        let mut dx = Tensor3::<1, 3, 4>::full(9.0);
        PaddedMeanPool::<3, 3, 0, 4>.backward(&x, &y, &mut (), &dy, Some(&mut dx));
        let kept = [1.0, -2.0, 3.0, 0.0];
        let want: alloc::vec::Vec<f32> = [kept, [0.0; 4], kept].concat();
        assert_eq!(dx.as_slice(), &want[..]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(73);
        let features = random_tensor::<Tensor3<3, 5, 3>>(&mut rng);
        // A pad inside, a padded tail, none; the ids stay away from the finite steps' nudges.
        let ids = [2, 0, 3, 4, 5, 6, 7, 8, 0, 0, 1, 1, 1, 1, 1];
        let x = packed::<3, 5>(features.as_slice(), &ids);
        let mut pool = <PaddedMeanPool<5, 3, 0, 4> as Composable>::build(&mut rng);
        // Every input value is checked: the kept features against their share of dy, the
        // padded ones and the ids against a gradient of 0 (a small nudge changes no id).
        assert_eq!(check_gradients::<_, 3>(&mut pool, &x, 74).unwrap(), 60);
        assert_eq!(pool.param_count(), 0);
    }

    #[test]
    fn serves_threads() {
        fn send_sync<L: Layer + Send + Sync>() {}
        send_sync::<PaddedMeanPool<28, 16, 0, 17>>();
    }
}
