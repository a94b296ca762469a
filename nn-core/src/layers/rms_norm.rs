//! `RmsNorm<S, D>`: root-mean-square normalisation over the last axis of each sample
//! (PyTorch's `nn.RMSNorm(D)`).

use alloc::boxed::Box;
use alloc::vec;
use core::marker::PhantomData;

use crate::init::Rng;
use crate::layers::layer_norm::{last_axis_is, rows_per_batch};
use crate::layers::{Composable, Decode, Layer, Shape, Shape2, WithoutMemory};
use crate::linalg::norm;
use crate::param::{HasParams, Param, ParamPath, ParamRef, ParamRefVisitor, ParamVisitor};
use crate::tensor::{Tensor, Tensor1, Zeroed};

/// Root-mean-square normalisation over the last axis, of length `D`, of samples of shape `S`:
/// `y = x / sqrt(mean(x²) + eps) · weight`, over each run of `D` consecutive values (each row),
/// PyTorch's `nn.RMSNorm(D)` with its defaults (Zhang & Sennrich, 2019).
///
/// Unlike [`LayerNorm`](super::LayerNorm), a row is not centred and there is no bias. A sample
/// of shape `S` is `S::SIZE / D` rows, normalised separately; nothing is shared across the
/// batch, so training and inference compute the same thing.
///
/// The one parameter is `weight` (length `D`, starts at 1). `eps` defaults to
/// [`f32::EPSILON`], what PyTorch uses for `float32` when `eps=None`. `D` must be the last axis
/// of `S`, which is checked when the layer is built or run (a build error).
///
/// ```
/// use nn_core::layers::{Features, Layer, RmsNorm};
/// use nn_core::tensor::Tensor2;
///
/// let norm = RmsNorm::<Features<2>, 2>::new();
/// let x = Tensor2::<2, 2>::from_slice(&[3.0, 4.0, 0.0, -2.0])?;
/// let mut y = Tensor2::<2, 2>::zeros();
/// norm.forward(&x, &mut y, &mut ());
/// // Row 0: mean(x²) = 12.5; row 1: mean(x²) = 2.
/// let (r0, r1) = (12.5f32.sqrt(), 2.0f32.sqrt());
/// let want = [3.0 / r0, 4.0 / r0, 0.0, -2.0 / r1];
/// assert!(y.iter().zip(want).all(|(y, w)| (y - w).abs() < 1e-6));
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RmsNorm<S: Shape, const D: usize> {
    weight: Tensor1<D>,
    weight_grad: Tensor1<D>,
    eps: f32,
    shape: PhantomData<S>,
}

/// What [`RmsNorm`]'s training forward records for `backward`: `1 / sqrt(mean(x²) + eps)` of
/// each of the `B · S::SIZE / D` rows of the batch, allocated once by [`Zeroed::zeroed`].
pub struct RmsNormCache<const B: usize, S: Shape, const D: usize> {
    inv_rms: Box<[f32]>,
    shape: PhantomData<fn() -> S>,
}

impl<const B: usize, S: Shape, const D: usize> RmsNormCache<B, S, D> {
    /// `1 / sqrt(mean(x²) + eps)` of each row, in batch order.
    pub fn inv_rms(&self) -> &[f32] {
        &self.inv_rms
    }
}

impl<const B: usize, S: Shape, const D: usize> Zeroed for RmsNormCache<B, S, D> {
    fn zeroed() -> Self {
        Self {
            inv_rms: vec![0.0; rows_per_batch::<S>(B, D)].into_boxed_slice(),
            shape: PhantomData,
        }
    }
}

// By hand: a derive would ask `S`, a marker, for `Clone` and `Debug`.
impl<const B: usize, S: Shape, const D: usize> Clone for RmsNormCache<B, S, D> {
    fn clone(&self) -> Self {
        Self {
            inv_rms: self.inv_rms.clone(),
            shape: PhantomData,
        }
    }
}

impl<const B: usize, S: Shape, const D: usize> core::fmt::Debug for RmsNormCache<B, S, D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RmsNormCache")
            .field("rows", &self.inv_rms.len())
            .finish()
    }
}

impl<S: Shape, const D: usize> RmsNorm<S, D> {
    /// The number of scalar parameters: `D` (the weight).
    pub const PARAM_COUNT: usize = D;
    /// PyTorch's `eps` for `float32` when none is given: the machine epsilon.
    pub const DEFAULT_EPS: f32 = norm::RMS_NORM_EPS;

    /// Evaluated where the layer is built or run.
    const CHECK: () = assert!(
        last_axis_is::<S>(D),
        "RmsNorm<S, D>: D must be the last axis of the sample shape S (and not 0)"
    );

    /// A layer with weight 1 and PyTorch's default eps, [`f32::EPSILON`].
    pub fn new() -> Self {
        Self::with_eps(Self::DEFAULT_EPS)
    }

    /// Like [`RmsNorm::new`], with the given eps (PyTorch's `eps` argument).
    ///
    /// # Panics
    /// Unless `eps` is positive and finite.
    pub fn with_eps(eps: f32) -> Self {
        const { Self::CHECK };
        assert!(
            eps > 0.0 && eps.is_finite(),
            "RmsNorm eps must be positive and finite, got {eps}"
        );
        Self {
            weight: Tensor1::full(1.0),
            weight_grad: Tensor1::zeros(),
            eps,
            shape: PhantomData,
        }
    }

    /// The `eps` added to the mean square.
    pub fn eps(&self) -> f32 {
        self.eps
    }
    /// The scale of each of the `D` positions of a row.
    pub fn weight(&self) -> &Tensor1<D> {
        &self.weight
    }
    /// The scale, mutably.
    pub fn weight_mut(&mut self) -> &mut Tensor1<D> {
        &mut self.weight
    }
    /// The accumulated weight gradient.
    pub fn weight_grad(&self) -> &Tensor1<D> {
        &self.weight_grad
    }

    /// `y = x · inv_rms · weight` over one row ([`norm::rms_norm_row`]).
    fn scale_row(&self, x: &[f32], y: &mut [f32], inv_rms: f32) {
        norm::rms_norm_row(self.weight.as_slice(), x, y, inv_rms);
    }
}

impl<S: Shape, const D: usize> Default for RmsNorm<S, D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Shape, const D: usize> HasParams for RmsNorm<S, D> {
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        let weight = Param {
            value: self.weight.as_mut_slice(),
            grad: self.weight_grad.as_mut_slice(),
            shape: &[D],
        };
        visitor.visit(&path.child("weight"), weight);
    }

    fn visit_params_ref<V: ParamRefVisitor>(&self, path: &ParamPath<'_>, visitor: &mut V) {
        let weight = ParamRef {
            value: self.weight.as_slice(),
            shape: &[D],
        };
        visitor.visit(&path.child("weight"), weight);
    }

    fn param_count(&mut self) -> usize {
        Self::PARAM_COUNT
    }
}

impl<S: Shape, const D: usize> Layer for RmsNorm<S, D> {
    type Input<const B: usize> = S::Batch<B>;
    type Output<const B: usize> = S::Batch<B>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = RmsNormCache<B, S, D>;

    fn forward<const B: usize>(&self, x: &S::Batch<B>, y: &mut S::Batch<B>, _scratch: &mut ()) {
        const { Self::CHECK };
        // The kernel of a baked network's `rms_norm`.
        norm::rms_norm(
            self.weight.as_slice(),
            self.eps,
            x.as_slice(),
            y.as_mut_slice(),
        );
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &S::Batch<B>,
        y: &mut S::Batch<B>,
        cache: &mut RmsNormCache<B, S, D>,
    ) {
        const { Self::CHECK };
        let rows = x.as_slice().chunks_exact(D);
        let rows = rows.zip(y.as_mut_slice().chunks_exact_mut(D));
        for ((x, y), cached) in rows.zip(cache.inv_rms.iter_mut()) {
            *cached = norm::rms_norm_inv(x, self.eps);
            self.scale_row(x, y, *cached);
        }
    }

    fn backward<const B: usize>(
        &mut self,
        x: &S::Batch<B>,
        _y: &S::Batch<B>,
        cache: &mut RmsNormCache<B, S, D>,
        dy: &S::Batch<B>,
        dx: Option<&mut S::Batch<B>>,
    ) {
        const { Self::CHECK };
        let n = D as f32;
        let weight = self.weight.as_slice();
        let weight_grad = self.weight_grad.as_mut_slice();
        let mut dx_rows = dx.map(|dx| dx.as_mut_slice().chunks_exact_mut(D));
        let rows = x
            .as_slice()
            .chunks_exact(D)
            .zip(dy.as_slice().chunks_exact(D));
        for ((x, dy), &inv_rms) in rows.zip(cache.inv_rms.iter()) {
            // Σ g · x̂ over the row, with g = dy · weight and x̂ = x · inv_rms.
            let mut sum_g_xhat = 0.0f32;
            for (((&x, &dy), &w), dw) in x.iter().zip(dy).zip(weight).zip(weight_grad.iter_mut()) {
                let x_hat = x * inv_rms;
                *dw += dy * x_hat;
                sum_g_xhat += dy * w * x_hat;
            }
            // dx = inv_rms · (g − x̂ · mean(g · x̂)): the second term is the path through the
            // row's mean square, which depends on every x of the row.
            if let Some(dx) = dx_rows.as_mut().and_then(Iterator::next) {
                let mean_g_xhat = sum_g_xhat / n;
                for (((dx, &x), &dy), &w) in dx.iter_mut().zip(x).zip(dy).zip(weight) {
                    *dx = inv_rms * (dy * w - x * inv_rms * mean_g_xhat);
                }
            }
        }
    }
}

impl<S: Shape, const D: usize> Composable for RmsNorm<S, D> {
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(_rng: &mut Rng) -> Self {
        Self::new()
    }
}

/// Each step is one row, normalised on its own.
impl<const T: usize, const D: usize> WithoutMemory for RmsNorm<Shape2<T, D>, D> {}

impl<const T: usize, const D: usize> Decode for RmsNorm<Shape2<T, D>, D> {
    const STEPS: usize = T;
    const STEP_INPUTS: usize = D;
    const STEP_OUTPUTS: usize = D;
    type DecodeState = ();

    fn decode_state(&self) {}

    fn decode_step(&self, x: &[f32], y: &mut [f32], _: &mut (), position: usize) {
        assert!(position < T, "position {position} of {T} steps");
        norm::rms_norm(self.weight.as_slice(), self.eps, x, y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::{seeded, uniform};
    use crate::layers::{Features, Shape2, Shape3};
    use crate::tensor::{Tensor2, Tensor3, Tensor4};
    use crate::testing::{check_gradients, random_tensor};
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;

    #[track_caller]
    fn assert_close(got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len());
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol, "[{i}]: {g} vs {w}");
        }
    }

    fn layer_1_2_half_minus_1() -> RmsNorm<Features<4>, 4> {
        let mut norm = RmsNorm::<Features<4>, 4>::new();
        norm.weight_mut()
            .as_mut_slice()
            .copy_from_slice(&[1.0, 2.0, 0.5, -1.0]);
        norm
    }

    #[test]
    fn forward_matches_hand_computed_values() {
        let norm = layer_1_2_half_minus_1();
        let x = Tensor2::<2, 4>::from_slice(&[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 2.0, -2.0]).unwrap();
        let mut y = Tensor2::<2, 4>::zeros();
        norm.forward(&x, &mut y, &mut ());
        // Row 0: mean(x²) = 30 / 4 = 7.5; row 1: 8 / 4 = 2.
        let (s0, s1) = (1.0 / 7.5f32.sqrt(), 1.0 / 2.0f32.sqrt());
        let want = [s0, 4.0 * s0, 1.5 * s0, -4.0 * s0, 0.0, 0.0, s1, 2.0 * s1];
        assert_close(y.as_slice(), &want, 1e-6);
    }

    // PyTorch 2.x: `nn.RMSNorm(4)` (eps=None) with this weight, `y.backward(dy)`.
    #[test]
    fn forward_and_backward_match_pytorch() {
        let mut norm = layer_1_2_half_minus_1();
        let x = Tensor2::<2, 4>::from_slice(&[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 2.0, -2.0]).unwrap();
        let dy = Tensor2::<2, 4>::from_slice(&[1.0, -1.0, 0.5, 2.0, 0.3, 0.1, -0.2, 1.0]).unwrap();
        let (mut y, mut dx) = (Tensor2::<2, 4>::zeros(), Tensor2::<2, 4>::zeros());
        let mut cache = RmsNormCache::zeroed();
        norm.forward_train(&x, &mut y, &mut cache);
        norm.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
        let y_torch = [
            0.365_148_37,
            1.460_593_5,
            0.547_722_6,
            -1.460_593_5,
            0.0,
            0.0,
            core::f32::consts::FRAC_1_SQRT_2,
            core::f32::consts::SQRT_2,
        ];
        let dx_torch = [
            0.489_907_38,
            -0.480_778_7,
            0.465_564_13,
            -0.231_260_66,
            0.212_132_04,
            0.141_421_36,
            -0.388_908_7,
            -0.388_908_74,
        ];
        assert_close(y.as_slice(), &y_torch, 1e-5);
        assert_close(dx.as_slice(), &dx_torch, 1e-5);
        let dw_torch = [0.365_148_37, -0.730_296_7, 0.264_879_85, 1.506_973_4];
        assert_close(norm.weight_grad().as_slice(), &dw_torch, 1e-5);
        assert_eq!(norm.eps(), f32::EPSILON);
    }

    #[test]
    fn each_step_of_a_sequence_is_its_own_row() {
        let norm = RmsNorm::<Shape2<3, 2>, 2>::with_eps(1e-6);
        // Steps (b, t): [k, −k] with k = 10b + t + 1, so every row becomes (1, −1).
        let x = Tensor3::<2, 3, 2>::from_fn(|[b, t, f]| {
            (10 * b + t + 1) as f32 * if f == 0 { 1.0 } else { -1.0 }
        });
        let mut y = Tensor3::<2, 3, 2>::zeros();
        norm.forward(&x, &mut y, &mut ());
        for row in y.as_slice().chunks_exact(2) {
            assert_close(row, &[1.0, -1.0], 1e-5);
        }
    }

    #[test]
    fn a_zero_row_stays_zero() {
        let norm = RmsNorm::<Features<3>, 3>::new();
        let x = Tensor2::<1, 3>::zeros();
        let mut y = Tensor2::<1, 3>::full(1.0);
        norm.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice(), &[0.0; 3]);
    }

    fn random_layer<S: Shape, const D: usize>(rng: &mut Rng) -> RmsNorm<S, D> {
        let mut norm = RmsNorm::<S, D>::new();
        norm.weight_mut()
            .iter_mut()
            .for_each(|w| *w = uniform(rng, 0.5, 2.0));
        norm
    }

    #[test]
    fn gradients_match_central_differences_on_features() {
        let mut rng = seeded(41);
        let mut norm = random_layer::<Features<5>, 5>(&mut rng);
        let x = random_tensor::<Tensor2<3, 5>>(&mut rng);
        check_gradients::<_, 3>(&mut norm, &x, 42).unwrap();
    }

    #[test]
    fn gradients_match_central_differences_on_sequences() {
        let mut rng = seeded(43);
        let mut norm = random_layer::<Shape2<3, 4>, 4>(&mut rng);
        let x = random_tensor::<Tensor3<2, 3, 4>>(&mut rng);
        assert_eq!(check_gradients::<_, 2>(&mut norm, &x, 44).unwrap(), 24 + 4);
    }

    #[test]
    fn gradients_match_central_differences_on_images() {
        let mut rng = seeded(45);
        let mut norm = random_layer::<Shape3<2, 3, 3>, 3>(&mut rng);
        let x = random_tensor::<Tensor4<2, 2, 3, 3>>(&mut rng);
        check_gradients::<_, 2>(&mut norm, &x, 46).unwrap();
    }

    #[test]
    fn cache_holds_one_row_per_step() {
        let cache = RmsNormCache::<4, Shape2<3, 5>, 5>::zeroed();
        assert_eq!(cache.inv_rms().len(), 12);
    }

    #[test]
    fn params_are_visited_by_name_and_build_through_composable() {
        let mut norm = <RmsNorm<Shape2<2, 3>, 3> as Composable>::build(&mut seeded(0));
        let root = ParamPath::root();
        let path = root.child("norm");
        let mut params: Vec<(String, Vec<f32>, Vec<usize>)> = Vec::new();
        norm.visit_params(&path, &mut |p: &ParamPath<'_>, param: Param<'_>| {
            params.push((p.to_string(), param.value.to_vec(), param.shape.to_vec()));
        });
        let mut read: Vec<(String, Vec<f32>, Vec<usize>)> = Vec::new();
        norm.visit_params_ref(&path, &mut |p: &ParamPath<'_>, param: ParamRef<'_>| {
            read.push((p.to_string(), param.value.to_vec(), param.shape.to_vec()));
        });
        let want = [(
            "norm.weight".to_string(),
            alloc::vec![1.0; 3],
            alloc::vec![3],
        )];
        assert_eq!(params, want);
        assert_eq!(read, want);
        assert_eq!(norm.param_count(), 3);
        assert_eq!(<RmsNorm<Shape2<2, 3>, 3> as Composable>::PARAM_COUNT, 3);
    }

    #[test]
    fn backward_accumulates_until_zeroed() {
        let mut norm = RmsNorm::<Features<2>, 2>::with_eps(1e-6);
        let x = Tensor2::<1, 2>::from_slice(&[3.0, -3.0]).unwrap();
        let mut y = Tensor2::<1, 2>::zeros();
        let mut cache = RmsNormCache::zeroed();
        norm.forward_train(&x, &mut y, &mut cache);
        let dy = Tensor2::<1, 2>::full(1.0);
        norm.backward(&x, &y, &mut cache, &dy, None);
        norm.backward(&x, &y, &mut cache, &dy, None);
        // x̂ = (1, −1) per pass.
        assert_close(norm.weight_grad().as_slice(), &[2.0, -2.0], 1e-5);
        norm.zero_grad();
        assert_eq!(norm.weight_grad().as_slice(), &[0.0, 0.0]);
    }

    #[test]
    fn serves_threads() {
        fn send_sync<L: Layer + Send + Sync>() {}
        send_sync::<RmsNorm<Shape2<4, 8>, 8>>();
    }

    #[test]
    #[should_panic(expected = "eps must be positive")]
    fn non_positive_eps_panics() {
        let _ = RmsNorm::<Features<2>, 2>::with_eps(-1.0);
    }
}
