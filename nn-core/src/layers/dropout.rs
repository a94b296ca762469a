//! `Dropout<S>`: inverted dropout, PyTorch's `nn.Dropout`.

use core::marker::PhantomData;

use rand::{Rng as _, RngExt as _};

use crate::init::{Rng, seeded};
use crate::layers::{Composable, Decode, Layer, Shape, Shape2, WithoutMemory};
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::Tensor;

/// Inverted dropout on any per-sample [`Shape`] (PyTorch's `nn.Dropout(p)`).
///
/// - **Training** ([`Layer::forward_train`]) zeroes each element independently with
///   probability `p` and scales the survivors by `1 / (1 − p)`, so every element keeps its
///   expected value. The cache is the mask, `0` or `1 / (1 − p)` per element, and `backward`
///   is `dx = dy ⊙ mask`.
/// - **Inference** ([`Layer::forward`]) is the identity.
///
/// The layer owns its random generator (ChaCha8, like [`crate::init::Rng`]), seeded from the
/// generator it is built with, so a network built from `seeded(n)` drops the same elements on
/// every run. Each training forward draws a fresh mask from it. It has no parameters.
///
/// ```
/// use nn_core::layers::{Dropout, Features, Layer};
/// use nn_core::tensor::Tensor2;
///
/// let mut dropout = Dropout::<Features<1000>>::new(0.25, &mut nn_core::init::seeded(0));
/// let x = Tensor2::<1, 1000>::full(1.0);
/// let mut y = Tensor2::<1, 1000>::zeros();
/// let mut mask = Tensor2::<1, 1000>::zeros();
///
/// // Training: about a quarter of the elements are zeroed, the rest become 1 / 0.75.
/// dropout.forward_train(&x, &mut y, &mut mask);
/// let dropped = y.iter().filter(|&&v| v == 0.0).count();
/// assert!((200..300).contains(&dropped));
/// assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
///
/// // Inference: the identity.
/// dropout.forward(&x, &mut y, &mut ());
/// assert_eq!(y, x);
/// ```
#[derive(Clone, Debug)]
pub struct Dropout<S: Shape> {
    p: f32,
    rng: Rng,
    shape: PhantomData<S>,
}

impl<S: Shape> Dropout<S> {
    /// PyTorch's default drop probability, used by [`Composable::build`].
    pub const DEFAULT_P: f32 = 0.5;

    /// Dropout with drop probability `p`, its generator seeded from `rng` (which advances by
    /// one draw).
    ///
    /// # Panics
    /// Unless `0 ≤ p < 1`. `p = 0` keeps every element (the identity in training too); `p = 1`
    /// would zero everything and scale by infinity.
    pub fn new(p: f32, rng: &mut Rng) -> Self {
        assert!(
            (0.0..1.0).contains(&p),
            "Dropout probability must satisfy 0 <= p < 1, got {p}"
        );
        Self {
            p,
            rng: seeded(rng.next_u64()),
            shape: PhantomData,
        }
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// Restarts the layer's generator from `seed`: the masks that follow are the ones a layer
    /// reseeded with the same `seed` draws.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = seeded(seed);
    }
}

impl<S: Shape> HasParams for Dropout<S> {
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        _path: &ParamPath<'_>,
        _visitor: &mut V,
    ) {
    }

    fn param_count(&mut self) -> usize {
        0
    }
}

impl<S: Shape> Layer for Dropout<S> {
    type Input<const B: usize> = S::Batch<B>;
    type Output<const B: usize> = S::Batch<B>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = S::Batch<B>;

    fn forward<const B: usize>(&self, x: &S::Batch<B>, y: &mut S::Batch<B>, _scratch: &mut ()) {
        y.copy_from(x);
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &S::Batch<B>,
        y: &mut S::Batch<B>,
        mask: &mut S::Batch<B>,
    ) {
        if self.p == 0.0 {
            mask.fill(1.0);
            y.copy_from(x);
            return;
        }
        let (p, keep) = (self.p, 1.0 / (1.0 - self.p));
        let out = y.as_mut_slice().iter_mut().zip(mask.as_mut_slice());
        for ((y, m), &x) in out.zip(x.as_slice()) {
            // `random` is uniform on [0, 1), so an element is dropped with probability `p`.
            *m = if self.rng.random::<f32>() < p {
                0.0
            } else {
                keep
            };
            *y = x * *m;
        }
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &S::Batch<B>,
        _y: &S::Batch<B>,
        mask: &mut S::Batch<B>,
        dy: &S::Batch<B>,
        dx: Option<&mut S::Batch<B>>,
    ) {
        if let Some(dx) = dx {
            let grads = dx.as_mut_slice().iter_mut().zip(dy.as_slice());
            for ((g, &d), &m) in grads.zip(mask.as_slice()) {
                *g = d * m;
            }
        }
    }
}

impl<S: Shape> Composable for Dropout<S> {
    const PARAM_COUNT: usize = 0;

    fn build(rng: &mut Rng) -> Self {
        Self::new(Self::DEFAULT_P, rng)
    }
}

/// The identity, as at inference.
impl<const T: usize, const F: usize> WithoutMemory for Dropout<Shape2<T, F>> {}

impl<const T: usize, const F: usize> Decode for Dropout<Shape2<T, F>> {
    const STEPS: usize = T;
    const STEP_INPUTS: usize = F;
    const STEP_OUTPUTS: usize = F;
    type DecodeState = ();

    fn decode_state(&self) {}

    fn decode_step(&self, x: &[f32], y: &mut [f32], _: &mut (), position: usize) {
        assert!(position < T, "position {position} of {T} steps");
        y.copy_from_slice(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Features, Shape3};
    use crate::tensor::{Tensor2, Tensor4, Zeroed};
    use crate::testing::{check_gradients, random_tensor};

    /// Dropout that restarts its generator before every training forward, so `forward_train`
    /// is deterministic, as `check_gradients` requires, while still dropping elements.
    struct Reseeded<S: Shape>(Dropout<S>, u64);

    impl<S: Shape> HasParams for Reseeded<S> {
        fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
            self.0.visit_params(path, visitor);
        }
    }

    impl<S: Shape> Layer for Reseeded<S> {
        type Input<const B: usize> = S::Batch<B>;
        type Output<const B: usize> = S::Batch<B>;
        type Scratch<const B: usize> = ();
        type Cache<const B: usize> = S::Batch<B>;

        fn forward<const B: usize>(&self, x: &S::Batch<B>, y: &mut S::Batch<B>, s: &mut ()) {
            self.0.forward(x, y, s);
        }

        fn forward_train<const B: usize>(
            &mut self,
            x: &S::Batch<B>,
            y: &mut S::Batch<B>,
            mask: &mut S::Batch<B>,
        ) {
            self.0.reseed(self.1);
            self.0.forward_train(x, y, mask);
        }

        fn backward<const B: usize>(
            &mut self,
            x: &S::Batch<B>,
            y: &S::Batch<B>,
            mask: &mut S::Batch<B>,
            dy: &S::Batch<B>,
            dx: Option<&mut S::Batch<B>>,
        ) {
            self.0.backward(x, y, mask, dy, dx);
        }
    }

    fn mask_of<S: Shape, const B: usize>(dropout: &mut Dropout<S>) -> S::Batch<B> {
        let mut x = S::Batch::<B>::zeroed();
        x.fill(1.0);
        let (mut y, mut mask) = (S::Batch::<B>::zeroed(), S::Batch::<B>::zeroed());
        dropout.forward_train(&x, &mut y, &mut mask);
        assert_eq!(y.as_slice(), mask.as_slice(), "y = x ⊙ mask with x = 1");
        mask
    }

    #[test]
    fn gradients_match_central_differences_with_elements_dropped() {
        let mut rng = seeded(31);
        let x = random_tensor::<Tensor2<4, 6>>(&mut rng);
        let mut layer = Reseeded(Dropout::<Features<6>>::new(0.5, &mut rng), 32);
        // The check is only meaningful if some elements are dropped and some kept.
        let mut mask = Tensor2::<4, 6>::zeros();
        layer.forward_train(&x, &mut Tensor2::zeros(), &mut mask);
        assert!(mask.iter().any(|&m| m == 0.0) && mask.iter().any(|&m| m == 2.0));
        check_gradients::<_, 4>(&mut layer, &x, 33).unwrap();

        let mut identity = Reseeded(Dropout::<Shape3<2, 2, 2>>::new(0.0, &mut rng), 34);
        let x = random_tensor::<Tensor4<2, 2, 2, 2>>(&mut rng);
        check_gradients::<_, 2>(&mut identity, &x, 35).unwrap();
    }

    #[test]
    fn drops_a_fraction_p_and_preserves_the_mean() {
        for p in [0.1, 0.5, 0.8] {
            let mut dropout = Dropout::<Features<10_000>>::new(p, &mut seeded(40));
            let mask = mask_of::<_, 10>(&mut dropout);
            let n = mask.as_slice().len() as f32;
            let dropped = mask.iter().filter(|&&m| m == 0.0).count() as f32 / n;
            let mean = mask.iter().sum::<f32>() / n;
            // 100 000 draws: the standard error of the fraction is below 0.002.
            assert!((dropped - p).abs() < 0.01, "p = {p}: dropped {dropped}");
            assert!((mean - 1.0).abs() < 0.05, "p = {p}: mean {mean}");
            let keep = 1.0 / (1.0 - p);
            assert!(mask.iter().all(|&m| m == 0.0 || m == keep));
        }
    }

    #[test]
    fn eval_is_the_identity() {
        let mut rng = seeded(41);
        let dropout = Dropout::<Shape3<2, 3, 3>>::new(0.9, &mut rng);
        let x = random_tensor::<Tensor4<3, 2, 3, 3>>(&mut rng);
        let mut y = Tensor4::<3, 2, 3, 3>::zeros();
        dropout.forward(&x, &mut y, &mut ());
        assert_eq!(y, x);
    }

    #[test]
    fn p_zero_is_the_identity_in_training() {
        let mut rng = seeded(42);
        let mut dropout = Dropout::<Features<5>>::new(0.0, &mut rng);
        let x = random_tensor::<Tensor2<3, 5>>(&mut rng);
        let (mut y, mut mask) = (Tensor2::<3, 5>::zeros(), Tensor2::<3, 5>::zeros());
        dropout.forward_train(&x, &mut y, &mut mask);
        assert_eq!(y, x);
        assert!(mask.iter().all(|&m| m == 1.0));
        let dy = random_tensor::<Tensor2<3, 5>>(&mut rng);
        let mut dx = Tensor2::<3, 5>::zeros();
        dropout.backward(&x, &y, &mut mask, &dy, Some(&mut dx));
        assert_eq!(dx, dy);
    }

    #[test]
    fn the_same_seed_gives_the_same_masks() {
        let mut a = Dropout::<Features<64>>::new(0.5, &mut seeded(7));
        let mut b = Dropout::<Features<64>>::new(0.5, &mut seeded(7));
        let (a1, a2) = (mask_of::<_, 4>(&mut a), mask_of::<_, 4>(&mut a));
        let (b1, b2) = (mask_of::<_, 4>(&mut b), mask_of::<_, 4>(&mut b));
        assert_eq!(a1, b1);
        assert_eq!(a2, b2);
        // Each forward draws a fresh mask.
        assert_ne!(a1, a2);
        // Another seed, another mask.
        let mut c = Dropout::<Features<64>>::new(0.5, &mut seeded(8));
        assert_ne!(mask_of::<_, 4>(&mut c), a1);
        // Reseeding replays.
        a.reseed(99);
        b.reseed(99);
        assert_eq!(mask_of::<_, 4>(&mut a), mask_of::<_, 4>(&mut b));
    }

    #[test]
    fn build_uses_the_default_probability() {
        let built = <Dropout<Features<3>> as Composable>::build(&mut seeded(0));
        assert_eq!(built.p(), 0.5);
        assert_eq!(Dropout::<Features<3>>::new(0.2, &mut seeded(0)).p(), 0.2);
    }

    #[test]
    #[should_panic(expected = "0 <= p < 1, got 1")]
    fn p_one_panics() {
        let _ = Dropout::<Features<3>>::new(1.0, &mut seeded(0));
    }

    #[test]
    #[should_panic(expected = "0 <= p < 1, got -0.1")]
    fn negative_p_panics() {
        let _ = Dropout::<Features<3>>::new(-0.1, &mut seeded(0));
    }

    #[test]
    #[should_panic(expected = "0 <= p < 1, got NaN")]
    fn nan_p_panics() {
        let _ = Dropout::<Features<3>>::new(f32::NAN, &mut seeded(0));
    }
}
