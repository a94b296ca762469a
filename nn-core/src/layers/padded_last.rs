//! `PaddedLast<T, H, PAD, HI>`: the last step of a sequence that is not padding, the steps
//! whose token id (packed after the features) is `PAD` being padding.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::linalg::sequence::last_kept_step;
use crate::param::{HasParams, ParamPath, ParamRefVisitor, ParamVisitor};
use crate::tensor::{Tensor2, Tensor3};

/// The last of the `T` steps of a batch-first sequence of `H` features whose token id is not
/// `PAD`: what `last(key_padding = PAD)` declares.
///
/// After a recurrent layer over right-padded sequences this is the state at each sequence's
/// own end, what PyTorch's `pack_padded_sequence` gives as `h_n`; a plain [`Last`](super::Last)
/// would take the state after the padding. The input is the sequence with each step's token
/// id after its features, `HI = H + 1` values per step, which the `network!` macro packs from
/// the network's `input(T) tokens`. A sample whose every step is padding gives 0. The gradient
/// reaches the chosen step only. No parameters.
///
/// ```
/// use nn_core::layers::{Layer, PaddedLast};
/// use nn_core::tensor::{Tensor2, Tensor3};
///
/// // Three steps of two features, each followed by its id; the last is padding (id 0).
/// let x = Tensor3::<1, 3, 3>::from_slice(&[1.0, 10.0, 5.0, 3.0, 30.0, 7.0, 9.0, 9.0, 0.0])?;
/// let mut y = Tensor2::<1, 2>::zeros();
/// PaddedLast::<3, 2, 0, 3>::default().forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[3.0, 30.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaddedLast<const T: usize, const H: usize, const PAD: usize, const HI: usize>;

impl<const T: usize, const H: usize, const PAD: usize, const HI: usize> PaddedLast<T, H, PAD, HI> {
    /// Evaluated where the layer runs: the packed width is the features and one id.
    const CHECK: () = assert!(
        HI == H + 1,
        "PaddedLast<T, H, PAD, HI>: each step is H features and one token id, HI = H + 1"
    );
}

impl<const T: usize, const H: usize, const PAD: usize, const HI: usize> HasParams
    for PaddedLast<T, H, PAD, HI>
{
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: ParamRefVisitor>(&self, _path: &ParamPath<'_>, _visitor: &mut V) {}
}

impl<const T: usize, const H: usize, const PAD: usize, const HI: usize> Layer
    for PaddedLast<T, H, PAD, HI>
{
    type Input<const B: usize> = Tensor3<B, T, HI>;
    type Output<const B: usize> = Tensor2<B, H>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(&self, x: &Tensor3<B, T, HI>, y: &mut Tensor2<B, H>, _: &mut ()) {
        const { Self::CHECK };
        if H == 0 {
            return; // no features to take
        }
        let samples = x.as_slice().chunks_exact((T * HI).max(1));
        for (out, sample) in y.as_mut_slice().chunks_exact_mut(H).zip(samples) {
            match last_kept_step(sample, H, PAD) {
                Some(step) => out.copy_from_slice(&sample[step * HI..][..H]),
                None => out.fill(0.0),
            }
        }
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, HI>,
        y: &mut Tensor2<B, H>,
        _: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, HI>,
        _y: &Tensor2<B, H>,
        _: &mut (),
        dy: &Tensor2<B, H>,
        dx: Option<&mut Tensor3<B, T, HI>>,
    ) {
        const { Self::CHECK };
        let Some(dx) = dx else { return };
        dx.as_mut_slice().fill(0.0);
        if H == 0 {
            return;
        }
        let samples = x.as_slice().chunks_exact((T * HI).max(1));
        let grads = dx.as_mut_slice().chunks_exact_mut((T * HI).max(1));
        for ((sample, grad), d) in samples.zip(grads).zip(dy.as_slice().chunks_exact(H)) {
            if let Some(step) = last_kept_step(sample, H, PAD) {
                grad[step * HI..][..H].copy_from_slice(d);
            }
        }
    }
}

impl<const T: usize, const H: usize, const PAD: usize, const HI: usize> Composable
    for PaddedLast<T, H, PAD, HI>
{
    const PARAM_COUNT: usize = 0;

    fn build(_rng: &mut Rng) -> Self {
        Self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Last;
    use crate::testing::{check_gradients, random_tensor};

    /// Steps of `H = 2` features, each followed by the id from `ids`.
    fn packed<const B: usize, const T: usize>(features: &[f32], ids: &[usize]) -> Tensor3<B, T, 3> {
        Tensor3::from_fn(|[b, t, f]| match f {
            2 => ids[b * T + t] as f32,
            _ => features[(b * T + t) * 2 + f],
        })
    }

    #[test]
    fn takes_each_samples_last_step_that_is_not_padding() {
        let features: alloc::vec::Vec<f32> = (0..12).map(|v| v as f32).collect();
        // Sample 0 ends at step 1 (a padded tail); sample 1's padding is inside, so step 2.
        let x = packed::<2, 3>(&features, &[4, 9, 0, 0, 3, 5]);
        let mut y = Tensor2::<2, 2>::zeros();
        PaddedLast::<3, 2, 0, 3>.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice(), &[2.0, 3.0, 10.0, 11.0]);
    }

    #[test]
    fn without_padding_it_is_the_last_step() {
        let mut rng = crate::init::seeded(9);
        let features = random_tensor::<Tensor3<2, 4, 2>>(&mut rng);
        let x = packed::<2, 4>(features.as_slice(), &[1; 8]);
        let (mut padded, mut plain) = (Tensor2::<2, 2>::zeros(), Tensor2::<2, 2>::zeros());
        PaddedLast::<4, 2, 0, 3>.forward(&x, &mut padded, &mut ());
        Last::<4, 2>.forward(&features, &mut plain, &mut ());
        assert_eq!(padded.as_slice(), plain.as_slice());
    }

    #[test]
    fn an_all_padding_sample_gives_zero_and_gets_no_gradient() {
        let x = packed::<1, 2>(&[1.0, 2.0, 3.0, 4.0], &[7, 7]);
        let mut y = Tensor2::<1, 2>::full(9.0);
        let mut last = PaddedLast::<2, 2, 7, 3>;
        last.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice(), &[0.0; 2]);
        let mut dx = Tensor3::<1, 2, 3>::full(9.0);
        last.backward(&x, &y, &mut (), &Tensor2::<1, 2>::full(1.0), Some(&mut dx));
        assert_eq!(dx.as_slice(), &[0.0; 6]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(75);
        let features = random_tensor::<Tensor3<3, 4, 2>>(&mut rng);
        let ids = [2, 3, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1];
        let x = packed::<3, 4>(features.as_slice(), &ids);
        let mut last = <PaddedLast<4, 2, 0, 3> as Composable>::build(&mut rng);
        assert_eq!(check_gradients::<_, 3>(&mut last, &x, 76).unwrap(), 36);
    }

    #[test]
    fn serves_threads() {
        fn send_sync<L: Layer + Send + Sync>() {}
        send_sync::<PaddedLast<28, 16, 0, 17>>();
    }
}
