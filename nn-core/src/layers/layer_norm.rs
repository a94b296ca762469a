//! `LayerNorm<S, D>`: layer normalisation over the last axis of each sample (PyTorch's
//! `nn.LayerNorm(D)`).

use alloc::boxed::Box;
use alloc::vec;
use core::marker::PhantomData;

use crate::init::Rng;
use crate::layers::{Composable, Decode, Layer, Shape, Shape2, WithoutMemory};
use crate::linalg::norm;
use crate::param::{HasParams, Param, ParamPath, ParamRef, ParamRefVisitor, ParamVisitor};
use crate::tensor::{Tensor, Tensor1, Zeroed};

/// Layer normalisation over the last axis, of length `D`, of samples of shape `S`:
/// `y = (x − mean) / sqrt(var + eps) · weight + bias`, with the mean and the *biased* variance
/// of each run of `D` consecutive values (each row), PyTorch's `nn.LayerNorm(D)` with its
/// defaults (`elementwise_affine=True`).
///
/// A sample of shape `S` is `S::SIZE / D` rows, normalised separately: one row for
/// [`Features<D>`](super::Features), one per step for a sequence
/// [`Shape2<T, D>`](super::Shape2). Unlike batch norm, nothing is shared across the batch, so
/// training and inference compute the same thing and there are no running statistics.
///
/// The parameters are `weight` (starts at 1) and `bias` (starts at 0), both of length `D`;
/// `eps` defaults to `1e-5`. `D` must be the last axis of `S`, which is checked when the layer
/// is built or run (a build error).
///
/// ```
/// use nn_core::layers::{Layer, LayerNorm, Shape2};
/// use nn_core::tensor::Tensor3;
///
/// // Two steps of two features; each step is normalised on its own.
/// let norm = LayerNorm::<Shape2<2, 2>, 2>::new();
/// let x = Tensor3::<1, 2, 2>::from_slice(&[1.0, 3.0, 10.0, 10.0])?;
/// let mut y = Tensor3::<1, 2, 2>::zeros();
/// norm.forward(&x, &mut y, &mut ());
/// // Step 0 has mean 2 and variance 1; step 1 is constant, so it becomes the bias, 0.
/// let want = [-1.0, 1.0, 0.0, 0.0];
/// assert!(y.iter().zip(want).all(|(y, w)| (y - w).abs() < 1e-4));
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// A `D` that is not the last axis of `S` does not build:
///
/// ```compile_fail,E0080
/// use nn_core::layers::{LayerNorm, Shape2};
///
/// let norm = LayerNorm::<Shape2<4, 3>, 4>::new(); // the last axis is 3
/// ```
#[derive(Clone, Debug)]
pub struct LayerNorm<S: Shape, const D: usize> {
    weight: Tensor1<D>,
    bias: Tensor1<D>,
    weight_grad: Tensor1<D>,
    bias_grad: Tensor1<D>,
    eps: f32,
    shape: PhantomData<S>,
}

/// What [`LayerNorm`]'s training forward records for `backward`: the mean and
/// `1 / sqrt(var + eps)` of each of the `B · S::SIZE / D` rows of the batch, allocated once by
/// [`Zeroed::zeroed`].
pub struct LayerNormCache<const B: usize, S: Shape, const D: usize> {
    mean: Box<[f32]>,
    inv_std: Box<[f32]>,
    shape: PhantomData<fn() -> S>,
}

impl<const B: usize, S: Shape, const D: usize> LayerNormCache<B, S, D> {
    /// The mean of each row, in batch order.
    pub fn mean(&self) -> &[f32] {
        &self.mean
    }
    /// `1 / sqrt(var + eps)` of each row, with the biased variance `var`.
    pub fn inv_std(&self) -> &[f32] {
        &self.inv_std
    }
}

impl<const B: usize, S: Shape, const D: usize> Zeroed for LayerNormCache<B, S, D> {
    fn zeroed() -> Self {
        let rows = rows_per_batch::<S>(B, D);
        Self {
            mean: vec![0.0; rows].into_boxed_slice(),
            inv_std: vec![0.0; rows].into_boxed_slice(),
            shape: PhantomData,
        }
    }
}

// By hand: a derive would ask `S`, a marker, for `Clone` and `Debug`.
impl<const B: usize, S: Shape, const D: usize> Clone for LayerNormCache<B, S, D> {
    fn clone(&self) -> Self {
        Self {
            mean: self.mean.clone(),
            inv_std: self.inv_std.clone(),
            shape: PhantomData,
        }
    }
}

impl<const B: usize, S: Shape, const D: usize> core::fmt::Debug for LayerNormCache<B, S, D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LayerNormCache")
            .field("rows", &self.mean.len())
            .finish()
    }
}

/// The number of rows of `d` values in a batch of `batch` samples of shape `S`.
pub(super) fn rows_per_batch<S: Shape>(batch: usize, d: usize) -> usize {
    (batch * S::SIZE).checked_div(d).unwrap_or(0)
}

/// Whether `d` is the (non-empty) last axis of the per-sample shape `S`, so that a sample is
/// whole rows of `d` values.
pub(super) const fn last_axis_is<S: Shape>(d: usize) -> bool {
    let shape = <S::Batch<1> as Tensor>::SHAPE;
    d > 0 && shape[shape.len() - 1] == d && S::SIZE.is_multiple_of(d)
}

impl<S: Shape, const D: usize> LayerNorm<S, D> {
    /// The number of scalar parameters: `2 · D` (weight and bias).
    pub const PARAM_COUNT: usize = 2 * D;
    /// PyTorch's default `eps`, added to the variance before the square root.
    pub const DEFAULT_EPS: f32 = norm::LAYER_NORM_EPS;

    /// Evaluated where the layer is built or run.
    const CHECK: () = assert!(
        last_axis_is::<S>(D),
        "LayerNorm<S, D>: D must be the last axis of the sample shape S (and not 0)"
    );

    /// A layer with weight 1, bias 0 and PyTorch's default eps, `1e-5`.
    pub fn new() -> Self {
        Self::with_eps(Self::DEFAULT_EPS)
    }

    /// Like [`LayerNorm::new`], with the given eps (PyTorch's `eps` argument).
    ///
    /// # Panics
    /// Unless `eps` is positive and finite.
    pub fn with_eps(eps: f32) -> Self {
        const { Self::CHECK };
        assert!(
            eps > 0.0 && eps.is_finite(),
            "LayerNorm eps must be positive and finite, got {eps}"
        );
        Self {
            weight: Tensor1::full(1.0),
            bias: Tensor1::zeros(),
            weight_grad: Tensor1::zeros(),
            bias_grad: Tensor1::zeros(),
            eps,
            shape: PhantomData,
        }
    }

    /// The `eps` added to the variance.
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
    /// The shift of each of the `D` positions of a row.
    pub fn bias(&self) -> &Tensor1<D> {
        &self.bias
    }
    /// The shift, mutably.
    pub fn bias_mut(&mut self) -> &mut Tensor1<D> {
        &mut self.bias
    }
    /// The accumulated weight gradient.
    pub fn weight_grad(&self) -> &Tensor1<D> {
        &self.weight_grad
    }
    /// The accumulated bias gradient.
    pub fn bias_grad(&self) -> &Tensor1<D> {
        &self.bias_grad
    }

    /// `y = (x − mean) · inv_std · weight + bias` over one row ([`norm::layer_norm_row`]).
    fn normalise_row(&self, x: &[f32], y: &mut [f32], mean: f32, inv_std: f32) {
        norm::layer_norm_row(
            self.weight.as_slice(),
            self.bias.as_slice(),
            x,
            y,
            mean,
            inv_std,
        );
    }
}

impl<S: Shape, const D: usize> Default for LayerNorm<S, D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Shape, const D: usize> HasParams for LayerNorm<S, D> {
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        let weight = Param {
            value: self.weight.as_mut_slice(),
            grad: self.weight_grad.as_mut_slice(),
            shape: &[D],
        };
        visitor.visit(&path.child("weight"), weight);
        let bias = Param {
            value: self.bias.as_mut_slice(),
            grad: self.bias_grad.as_mut_slice(),
            shape: &[D],
        };
        visitor.visit(&path.child("bias"), bias);
    }

    fn visit_params_ref<V: ParamRefVisitor>(&self, path: &ParamPath<'_>, visitor: &mut V) {
        let weight = ParamRef {
            value: self.weight.as_slice(),
            shape: &[D],
        };
        visitor.visit(&path.child("weight"), weight);
        let bias = ParamRef {
            value: self.bias.as_slice(),
            shape: &[D],
        };
        visitor.visit(&path.child("bias"), bias);
    }

    fn param_count(&mut self) -> usize {
        Self::PARAM_COUNT
    }
}

impl<S: Shape, const D: usize> Layer for LayerNorm<S, D> {
    type Input<const B: usize> = S::Batch<B>;
    type Output<const B: usize> = S::Batch<B>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = LayerNormCache<B, S, D>;

    fn forward<const B: usize>(&self, x: &S::Batch<B>, y: &mut S::Batch<B>, _scratch: &mut ()) {
        const { Self::CHECK };
        // The kernel of a baked network's `layer_norm`.
        norm::layer_norm(
            self.weight.as_slice(),
            self.bias.as_slice(),
            self.eps,
            x.as_slice(),
            y.as_mut_slice(),
        );
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &S::Batch<B>,
        y: &mut S::Batch<B>,
        cache: &mut LayerNormCache<B, S, D>,
    ) {
        const { Self::CHECK };
        let rows = x.as_slice().chunks_exact(D);
        let rows = rows.zip(y.as_mut_slice().chunks_exact_mut(D));
        let stats = cache.mean.iter_mut().zip(cache.inv_std.iter_mut());
        for ((x, y), (cached_mean, cached_inv_std)) in rows.zip(stats) {
            let (mean, inv_std) = norm::layer_norm_stats(x, self.eps);
            (*cached_mean, *cached_inv_std) = (mean, inv_std);
            self.normalise_row(x, y, mean, inv_std);
        }
    }

    fn backward<const B: usize>(
        &mut self,
        x: &S::Batch<B>,
        _y: &S::Batch<B>,
        cache: &mut LayerNormCache<B, S, D>,
        dy: &S::Batch<B>,
        dx: Option<&mut S::Batch<B>>,
    ) {
        const { Self::CHECK };
        let n = D as f32;
        let weight = self.weight.as_slice();
        let (weight_grad, bias_grad) = (
            self.weight_grad.as_mut_slice(),
            self.bias_grad.as_mut_slice(),
        );
        let mut dx_rows = dx.map(|dx| dx.as_mut_slice().chunks_exact_mut(D));
        let rows = x
            .as_slice()
            .chunks_exact(D)
            .zip(dy.as_slice().chunks_exact(D));
        let stats = cache.mean.iter().zip(cache.inv_std.iter());
        for ((x, dy), (&mean, &inv_std)) in rows.zip(stats) {
            let grads = weight_grad.iter_mut().zip(bias_grad.iter_mut());
            for ((&x, &dy), (dw, db)) in x.iter().zip(dy).zip(grads) {
                *db += dy;
                *dw += dy * ((x - mean) * inv_std);
            }
            let (sum_g, sum_g_xhat) = gradient_sums(x, dy, weight, mean, inv_std);
            // dx = inv_std · (g − mean(g) − x̂ · mean(g · x̂)): the row's mean and variance
            // depend on every x of the row, hence the two mean terms.
            if let Some(dx) = dx_rows.as_mut().and_then(Iterator::next) {
                let (mean_g, mean_g_xhat) = (sum_g / n, sum_g_xhat / n);
                for (((dx, &x), &dy), &w) in dx.iter_mut().zip(x).zip(dy).zip(weight) {
                    let x_hat = (x - mean) * inv_std;
                    *dx = inv_std * (dy * w - mean_g - x_hat * mean_g_xhat);
                }
            }
        }
    }
}

/// `Σ g` and `Σ g · x̂` over one row, with `g = dy · weight` and `x̂ = (x − mean) · inv_std`,
/// in [`norm::LANES`] partial sums so that the loop vectorizes.
fn gradient_sums(x: &[f32], dy: &[f32], weight: &[f32], mean: f32, inv_std: f32) -> (f32, f32) {
    const LANES: usize = norm::LANES;
    let (mut sum_g, mut sum_g_xhat) = ([0.0f32; LANES], [0.0f32; LANES]);
    let chunks = x.chunks_exact(LANES).zip(dy.chunks_exact(LANES));
    for ((x, dy), w) in chunks.zip(weight.chunks_exact(LANES)) {
        for lane in 0..LANES {
            let g = dy[lane] * w[lane];
            sum_g[lane] += g;
            sum_g_xhat[lane] += g * ((x[lane] - mean) * inv_std);
        }
    }
    let (mut tail_g, mut tail_g_xhat) = (0.0f32, 0.0f32);
    for i in x.len() / LANES * LANES..x.len() {
        let g = dy[i] * weight[i];
        tail_g += g;
        tail_g_xhat += g * ((x[i] - mean) * inv_std);
    }
    (
        norm::tree_sum(sum_g) + tail_g,
        norm::tree_sum(sum_g_xhat) + tail_g_xhat,
    )
}

impl<S: Shape, const D: usize> Composable for LayerNorm<S, D> {
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(_rng: &mut Rng) -> Self {
        Self::new()
    }
}

/// Each step is one row, normalised on its own.
impl<const T: usize, const D: usize> WithoutMemory for LayerNorm<Shape2<T, D>, D> {}

impl<const T: usize, const D: usize> Decode for LayerNorm<Shape2<T, D>, D> {
    const STEPS: usize = T;
    const STEP_INPUTS: usize = D;
    const STEP_OUTPUTS: usize = D;
    type DecodeState = ();

    fn decode_state(&self) {}

    fn decode_step(&self, x: &[f32], y: &mut [f32], _: &mut (), position: usize) {
        assert!(position < T, "position {position} of {T} steps");
        norm::layer_norm(self.weight.as_slice(), self.bias.as_slice(), self.eps, x, y);
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

    fn layer_1_2_half_minus_1() -> LayerNorm<Features<4>, 4> {
        let mut norm = LayerNorm::<Features<4>, 4>::new();
        norm.weight_mut()
            .as_mut_slice()
            .copy_from_slice(&[1.0, 2.0, 0.5, -1.0]);
        norm.bias_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.0, 1.0, 0.0, 0.5]);
        norm
    }

    #[test]
    fn forward_matches_hand_computed_values() {
        let norm = layer_1_2_half_minus_1();
        let x = Tensor2::<2, 4>::from_slice(&[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 2.0, -2.0]).unwrap();
        let mut y = Tensor2::<2, 4>::zeros();
        norm.forward(&x, &mut y, &mut ());
        // Row 0: mean 2.5, variance 1.25; row 1: mean 0, variance 2.
        let (s0, s1) = (1.0 / (1.25f32 + 1e-5).sqrt(), 1.0 / (2.0f32 + 1e-5).sqrt());
        let want = [
            -1.5 * s0,
            2.0 * -0.5 * s0 + 1.0,
            0.5 * 0.5 * s0,
            -1.5 * s0 + 0.5,
            0.0,
            1.0,
            0.5 * 2.0 * s1,
            2.0 * s1 + 0.5,
        ];
        assert_close(y.as_slice(), &want, 1e-6);
    }

    // PyTorch 2.x: `nn.LayerNorm(4)` with this weight and bias, `y.backward(dy)`.
    #[test]
    fn forward_and_backward_match_pytorch() {
        let mut norm = layer_1_2_half_minus_1();
        let x = Tensor2::<2, 4>::from_slice(&[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 2.0, -2.0]).unwrap();
        let dy = Tensor2::<2, 4>::from_slice(&[1.0, -1.0, 0.5, 2.0, 0.3, 0.1, -0.2, 1.0]).unwrap();
        let (mut y, mut dx) = (Tensor2::<2, 4>::zeros(), Tensor2::<2, 4>::zeros());
        let mut cache = LayerNormCache::zeroed();
        norm.forward_train(&x, &mut y, &mut cache);
        norm.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
        let y_torch = [
            -1.341_635_5,
            0.105_576_34,
            0.223_605_92,
            -0.841_635_5,
            0.0,
            1.0,
            0.707_105,
            1.914_21,
        ];
        let dx_torch = [
            0.603_743_1,
            -1.475_796_7,
            1.140_387_8,
            -0.268_334_27,
            0.318_197_25,
            0.247_486_75,
            -0.282_840_37,
            -0.282_843_62,
        ];
        assert_close(y.as_slice(), &y_torch, 1e-5);
        assert_close(dx.as_slice(), &dx_torch, 1e-5);
        let dw_torch = [-1.341_635_5, 0.447_211_86, -0.059_236_11, 1.269_061];
        assert_close(norm.weight_grad().as_slice(), &dw_torch, 1e-5);
        assert_close(norm.bias_grad().as_slice(), &[1.3, -0.9, 0.3, 3.0], 1e-6);
        assert_close(cache.mean(), &[2.5, 0.0], 1e-7);
    }

    #[test]
    fn each_step_of_a_sequence_is_its_own_row() {
        let norm = LayerNorm::<Shape2<3, 2>, 2>::new();
        // Steps (b, t): [10b + t, 10b + t + 2], so every row normalises to (−1, 1).
        let x = Tensor3::<2, 3, 2>::from_fn(|[b, t, f]| (10 * b + t + 2 * f) as f32);
        let mut y = Tensor3::<2, 3, 2>::zeros();
        norm.forward(&x, &mut y, &mut ());
        for row in y.as_slice().chunks_exact(2) {
            assert_close(row, &[-1.0, 1.0], 1e-5);
        }
    }

    #[test]
    fn a_constant_row_becomes_the_bias() {
        let mut norm = LayerNorm::<Features<3>, 3>::with_eps(1e-3);
        norm.bias_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.5, -0.5, 2.0]);
        let x = Tensor2::<1, 3>::full(7.0);
        let mut y = Tensor2::<1, 3>::zeros();
        norm.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice(), &[0.5, -0.5, 2.0]);
        assert_eq!(norm.eps(), 1e-3);
    }

    fn random_layer<S: Shape, const D: usize>(rng: &mut Rng) -> LayerNorm<S, D> {
        let mut norm = LayerNorm::<S, D>::new();
        norm.weight_mut()
            .iter_mut()
            .for_each(|w| *w = uniform(rng, 0.5, 2.0));
        norm.bias_mut()
            .iter_mut()
            .for_each(|b| *b = uniform(rng, -1.0, 1.0));
        norm
    }

    #[test]
    fn gradients_match_central_differences_on_features() {
        let mut rng = seeded(31);
        let mut norm = random_layer::<Features<5>, 5>(&mut rng);
        let x = random_tensor::<Tensor2<3, 5>>(&mut rng);
        check_gradients::<_, 3>(&mut norm, &x, 32).unwrap();
    }

    #[test]
    fn gradients_match_central_differences_on_sequences() {
        let mut rng = seeded(33);
        let mut norm = random_layer::<Shape2<3, 4>, 4>(&mut rng);
        let x = random_tensor::<Tensor3<2, 3, 4>>(&mut rng);
        assert_eq!(check_gradients::<_, 2>(&mut norm, &x, 34).unwrap(), 24 + 8);
    }

    #[test]
    fn gradients_match_central_differences_on_images() {
        let mut rng = seeded(35);
        let mut norm = random_layer::<Shape3<2, 3, 3>, 3>(&mut rng);
        let x = random_tensor::<Tensor4<2, 2, 3, 3>>(&mut rng);
        check_gradients::<_, 2>(&mut norm, &x, 36).unwrap();
    }

    #[test]
    fn cache_holds_one_row_per_step() {
        let cache = LayerNormCache::<4, Shape2<3, 5>, 5>::zeroed();
        assert_eq!((cache.mean().len(), cache.inv_std().len()), (12, 12));
    }

    #[test]
    fn params_are_visited_by_name_and_build_through_composable() {
        let mut norm = <LayerNorm<Shape2<2, 3>, 3> as Composable>::build(&mut seeded(0));
        let root = ParamPath::root();
        let path = root.child("ln");
        let mut params: Vec<(String, Vec<f32>, Vec<usize>)> = Vec::new();
        norm.visit_params(&path, &mut |p: &ParamPath<'_>, param: Param<'_>| {
            params.push((p.to_string(), param.value.to_vec(), param.shape.to_vec()));
        });
        let mut read: Vec<(String, Vec<f32>, Vec<usize>)> = Vec::new();
        norm.visit_params_ref(&path, &mut |p: &ParamPath<'_>, param: ParamRef<'_>| {
            read.push((p.to_string(), param.value.to_vec(), param.shape.to_vec()));
        });
        let want = [
            ("ln.weight".to_string(), alloc::vec![1.0; 3], alloc::vec![3]),
            ("ln.bias".to_string(), alloc::vec![0.0; 3], alloc::vec![3]),
        ];
        assert_eq!(params, want);
        assert_eq!(read, want);
        assert_eq!(norm.param_count(), 6);
        assert_eq!(<LayerNorm<Shape2<2, 3>, 3> as Composable>::PARAM_COUNT, 6);
        assert_eq!(norm.eps(), 1e-5);
    }

    #[test]
    fn backward_accumulates_until_zeroed() {
        let mut norm = LayerNorm::<Features<2>, 2>::new();
        let x = Tensor2::<2, 2>::from_slice(&[1.0, 3.0, -1.0, 1.0]).unwrap();
        let mut y = Tensor2::<2, 2>::zeros();
        let mut cache = LayerNormCache::zeroed();
        norm.forward_train(&x, &mut y, &mut cache);
        let dy = Tensor2::<2, 2>::full(1.0);
        norm.backward(&x, &y, &mut cache, &dy, None);
        norm.backward(&x, &y, &mut cache, &dy, None);
        assert_eq!(norm.bias_grad().as_slice(), &[4.0, 4.0]);
        // x̂ is (−1, 1) on both rows, so Σ dy · x̂ is −2 and 2 per pass.
        assert_close(norm.weight_grad().as_slice(), &[-4.0, 4.0], 1e-4);
        norm.zero_grad();
        assert_eq!(norm.weight_grad().as_slice(), &[0.0, 0.0]);
    }

    #[test]
    fn serves_threads() {
        fn send_sync<L: Layer + Send + Sync>() {}
        send_sync::<LayerNorm<Shape2<4, 8>, 8>>();
    }

    #[test]
    #[should_panic(expected = "eps must be positive")]
    fn non_positive_eps_panics() {
        let _ = LayerNorm::<Features<2>, 2>::with_eps(0.0);
    }
}
