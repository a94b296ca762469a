//! `BatchNorm<C, S>`: batch normalisation over the batch and spatial axes of each channel
//! (PyTorch's `BatchNorm1d` on `(B, N)`, `BatchNorm2d` on `(B, C, H, W)`).

use core::marker::PhantomData;

use crate::init::Rng;
use crate::layers::{Composable, Features, Layer, Shape, Shape3};
use crate::param::{BufferVisitor, HasParams, Param, ParamPath, ParamVisitor};
use crate::tensor::{Tensor, Tensor1, Zeroed};

/// A per-sample shape that batch norm can normalise: `CHANNELS` channels of `SPATIAL` values
/// each, laid out channel-major (`[channel][spatial]`) within a sample.
///
/// - [`Features<N>`]: `N` channels of one value, a `(B, N)` batch (PyTorch's `BatchNorm1d`).
/// - [`Shape3<C, H, W>`]: `C` channels of `H · W` values, an NCHW batch (`BatchNorm2d`).
pub trait PerChannel: Shape {
    /// The number of channels (normalised separately).
    const CHANNELS: usize;
    /// The number of values of one channel in one sample.
    const SPATIAL: usize;
}

impl<const N: usize> PerChannel for Features<N> {
    const CHANNELS: usize = N;
    const SPATIAL: usize = 1;
}

impl<const C: usize, const H: usize, const W: usize> PerChannel for Shape3<C, H, W> {
    const CHANNELS: usize = C;
    const SPATIAL: usize = H * W;
}

/// Batch norm on `(B, N)` batches of `N` features, PyTorch's `nn.BatchNorm1d(N)`.
pub type BatchNorm1d<const N: usize> = BatchNorm<N, Features<N>>;

/// Batch norm on `(B, C, H, W)` batches of images, PyTorch's `nn.BatchNorm2d(C)`.
pub type BatchNorm2d<const C: usize, const H: usize, const W: usize> =
    BatchNorm<C, Shape3<C, H, W>>;

/// Batch normalisation of `C` channels of per-sample shape `S` (see [`PerChannel`]):
/// `y = γ · (x − mean) / sqrt(var + eps) + β`, per channel.
///
/// PyTorch's semantics (`nn.BatchNorm1d` / `nn.BatchNorm2d` with their defaults):
/// - **Training** ([`Layer::forward_train`]) normalises each channel with the mean and the
///   *biased* variance of its `n = B · SPATIAL` values in the batch, and updates the running
///   statistics as `running = (1 − momentum) · running + momentum · batch`, using the
///   *unbiased* variance (`· n / (n − 1)`) for `running_var`.
/// - **Inference** ([`Layer::forward`]) normalises with the running statistics and changes
///   nothing.
///
/// The parameters are `weight` (γ, starts at 1) and `bias` (β, starts at 0); the running mean
/// (starts at 0) and variance (starts at 1) are buffers, visited as `running_mean` and
/// `running_var` by [`HasParams::visit_buffers`], so optimizers do not touch them. The
/// defaults are `eps = 1e-5` and `momentum = 0.1`. PyTorch's `momentum=None` (a cumulative
/// average) and `track_running_stats=False` are not offered.
///
/// Training with one value per channel (`B · SPATIAL == 1`, e.g. a `BatchNorm1d` at batch
/// size 1) is a build error, raised when `forward_train` is instantiated for that batch size:
/// the unbiased variance is undefined there, and PyTorch raises at run time. Inference at batch
/// size 1 is fine.
///
/// ```
/// use nn_core::layers::{BatchNorm1d, Layer};
/// use nn_core::tensor::{Tensor1, Tensor2};
///
/// let mut bn = BatchNorm1d::<2>::new();
/// let x = Tensor2::<2, 2>::from_slice(&[1.0, 10.0, 3.0, 30.0])?;
/// let mut y = Tensor2::<2, 2>::zeros();
/// let mut cache = nn_core::tensor::Zeroed::zeroed();
///
/// // Training: each column becomes about (−1, 1); the running statistics move 10% towards
/// // the batch's (means 2 and 20, unbiased variances 2 and 200).
/// bn.forward_train(&x, &mut y, &mut cache);
/// assert!((y.as_slice()[0] + 1.0).abs() < 1e-4 && (y.as_slice()[3] - 1.0).abs() < 1e-4);
/// assert_eq!(bn.running_mean().as_slice(), &[0.2, 2.0]);
/// assert!((bn.running_var().as_slice()[1] - (0.9 + 20.0)).abs() < 1e-4);
///
/// // Inference uses the running statistics.
/// bn.forward(&x, &mut y, &mut ());
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// Training a `BatchNorm1d` at batch size 1 does not build:
///
/// ```compile_fail,E0080
/// use nn_core::layers::{BatchNorm1d, Layer};
/// use nn_core::tensor::{Tensor2, Zeroed};
///
/// let mut bn = BatchNorm1d::<2>::new();
/// let x = Tensor2::<1, 2>::zeros();
/// let mut y = Tensor2::<1, 2>::zeros();
/// bn.forward_train(&x, &mut y, &mut Zeroed::zeroed()); // one value per channel
/// ```
#[derive(Clone, Debug)]
pub struct BatchNorm<const C: usize, S: PerChannel> {
    weight: Tensor1<C>,
    bias: Tensor1<C>,
    weight_grad: Tensor1<C>,
    bias_grad: Tensor1<C>,
    running_mean: Tensor1<C>,
    running_var: Tensor1<C>,
    momentum: f32,
    eps: f32,
    shape: PhantomData<S>,
}

/// What [`BatchNorm`]'s training forward records for `backward`: the batch mean and
/// `1 / sqrt(var + eps)` of each channel. `backward` recomputes the normalised input from them.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormCache<const C: usize> {
    /// The batch mean of each channel.
    pub mean: Tensor1<C>,
    /// `1 / sqrt(var + eps)` of each channel, with the biased batch variance `var`.
    pub inv_std: Tensor1<C>,
}

impl<const C: usize> Zeroed for BatchNormCache<C> {
    fn zeroed() -> Self {
        Self {
            mean: Tensor1::zeros(),
            inv_std: Tensor1::zeros(),
        }
    }
}

impl<const C: usize, S: PerChannel> BatchNorm<C, S> {
    /// The number of scalar parameters: `2 · C` (γ and β).
    pub const PARAM_COUNT: usize = 2 * C;
    /// PyTorch's default momentum of the running statistics.
    pub const DEFAULT_MOMENTUM: f32 = 0.1;
    /// PyTorch's default `eps`, added to the variance before the square root.
    pub const DEFAULT_EPS: f32 = 1e-5;

    /// A layer with γ = 1, β = 0, running mean 0, running variance 1, and PyTorch's default
    /// momentum and eps.
    pub fn new() -> Self {
        Self::with(Self::DEFAULT_MOMENTUM, Self::DEFAULT_EPS)
    }

    /// Like [`BatchNorm::new`], with the given momentum and eps (PyTorch's `momentum` and
    /// `eps` arguments).
    ///
    /// # Panics
    /// Unless `0 ≤ momentum ≤ 1` and `eps > 0` (and both are finite).
    pub fn with(momentum: f32, eps: f32) -> Self {
        assert!(
            (0.0..=1.0).contains(&momentum),
            "BatchNorm momentum must lie in [0, 1], got {momentum}"
        );
        assert!(
            eps > 0.0 && eps.is_finite(),
            "BatchNorm eps must be positive and finite, got {eps}"
        );
        Self {
            weight: Tensor1::full(1.0),
            bias: Tensor1::zeros(),
            weight_grad: Tensor1::zeros(),
            bias_grad: Tensor1::zeros(),
            running_mean: Tensor1::zeros(),
            running_var: Tensor1::full(1.0),
            momentum,
            eps,
            shape: PhantomData,
        }
    }

    /// The momentum of the running statistics.
    pub fn momentum(&self) -> f32 {
        self.momentum
    }
    /// The `eps` added to the variance.
    pub fn eps(&self) -> f32 {
        self.eps
    }
    /// The scale γ of each channel.
    pub fn weight(&self) -> &Tensor1<C> {
        &self.weight
    }
    /// The scale γ, mutably.
    pub fn weight_mut(&mut self) -> &mut Tensor1<C> {
        &mut self.weight
    }
    /// The shift β of each channel.
    pub fn bias(&self) -> &Tensor1<C> {
        &self.bias
    }
    /// The shift β, mutably.
    pub fn bias_mut(&mut self) -> &mut Tensor1<C> {
        &mut self.bias
    }
    /// The accumulated gradient of γ.
    pub fn weight_grad(&self) -> &Tensor1<C> {
        &self.weight_grad
    }
    /// The accumulated gradient of β.
    pub fn bias_grad(&self) -> &Tensor1<C> {
        &self.bias_grad
    }
    /// The running mean of each channel, used at inference.
    pub fn running_mean(&self) -> &Tensor1<C> {
        &self.running_mean
    }
    /// The running mean, mutably.
    pub fn running_mean_mut(&mut self) -> &mut Tensor1<C> {
        &mut self.running_mean
    }
    /// The running (unbiased) variance of each channel, used at inference.
    pub fn running_var(&self) -> &Tensor1<C> {
        &self.running_var
    }
    /// The running variance, mutably.
    pub fn running_var_mut(&mut self) -> &mut Tensor1<C> {
        &mut self.running_var
    }
}

impl<const C: usize, S: PerChannel> Default for BatchNorm<C, S> {
    fn default() -> Self {
        Self::new()
    }
}

/// The values of channel `c` in a flat `(B, C, SPATIAL)` batch, one run of `spatial` per sample.
fn channel(
    data: &[f32],
    c: usize,
    channels: usize,
    spatial: usize,
) -> impl Iterator<Item = &[f32]> {
    data.chunks_exact((channels * spatial).max(1))
        .map(move |sample| &sample[c * spatial..(c + 1) * spatial])
}

/// Like [`channel`], mutably.
fn channel_mut(
    data: &mut [f32],
    c: usize,
    channels: usize,
    spatial: usize,
) -> impl Iterator<Item = &mut [f32]> {
    data.chunks_exact_mut((channels * spatial).max(1))
        .map(move |sample| &mut sample[c * spatial..(c + 1) * spatial])
}

/// `y = x · scale + shift` over channel `c`.
fn affine(
    x: &[f32],
    y: &mut [f32],
    c: usize,
    channels: usize,
    spatial: usize,
    scale: f32,
    shift: f32,
) {
    let runs = channel(x, c, channels, spatial).zip(channel_mut(y, c, channels, spatial));
    for (x, y) in runs {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = x * scale + shift;
        }
    }
}

impl<const C: usize, S: PerChannel> HasParams for BatchNorm<C, S> {
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        let weight = Param {
            value: self.weight.as_mut_slice(),
            grad: self.weight_grad.as_mut_slice(),
            shape: &[C],
        };
        visitor.visit(&path.child("weight"), weight);
        let bias = Param {
            value: self.bias.as_mut_slice(),
            grad: self.bias_grad.as_mut_slice(),
            shape: &[C],
        };
        visitor.visit(&path.child("bias"), bias);
    }

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        path: &ParamPath<'_>,
        visitor: &mut V,
    ) {
        let weight = crate::param::ParamRef {
            value: self.weight.as_slice(),
            shape: &[C],
        };
        visitor.visit(&path.child("weight"), weight);
        let bias = crate::param::ParamRef {
            value: self.bias.as_slice(),
            shape: &[C],
        };
        visitor.visit(&path.child("bias"), bias);
    }

    fn visit_buffers<V: BufferVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        visitor.visit(
            &path.child("running_mean"),
            self.running_mean.as_mut_slice(),
        );
        visitor.visit(&path.child("running_var"), self.running_var.as_mut_slice());
    }

    fn visit_buffers_ref<V: crate::param::BufferRefVisitor>(
        &self,
        path: &ParamPath<'_>,
        visitor: &mut V,
    ) {
        visitor.visit(&path.child("running_mean"), self.running_mean.as_slice());
        visitor.visit(&path.child("running_var"), self.running_var.as_slice());
    }

    fn param_count(&mut self) -> usize {
        Self::PARAM_COUNT
    }
}

impl<const C: usize, S: PerChannel> Layer for BatchNorm<C, S> {
    type Input<const B: usize> = S::Batch<B>;
    type Output<const B: usize> = S::Batch<B>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = BatchNormCache<C>;

    fn forward<const B: usize>(&self, x: &S::Batch<B>, y: &mut S::Batch<B>, _scratch: &mut ()) {
        const { assert!(S::CHANNELS == C, "BatchNorm<C, S>: S must have C channels") };
        // The slice kernel a baked network's unfolded `batch_norm` runs too.
        crate::linalg::norm::batch_norm_inference(
            self.weight.as_slice(),
            self.bias.as_slice(),
            self.running_mean.as_slice(),
            self.running_var.as_slice(),
            self.eps,
            S::SPATIAL,
            x.as_slice(),
            y.as_mut_slice(),
        );
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &S::Batch<B>,
        y: &mut S::Batch<B>,
        cache: &mut BatchNormCache<C>,
    ) {
        const { assert!(S::CHANNELS == C, "BatchNorm<C, S>: S must have C channels") };
        const {
            assert!(
                B * S::SPATIAL > 1,
                "BatchNorm cannot train with one value per channel (B · H · W == 1): \
                 the unbiased variance is undefined; use a batch of at least 2"
            )
        };
        let n = B * S::SPATIAL;
        let (x, y) = (x.as_slice(), y.as_mut_slice());
        let momentum = self.momentum;
        for c in 0..C {
            // Two passes, summed in f64: the mean, then the squared deviations from it.
            let sum: f64 = channel(x, c, C, S::SPATIAL)
                .flatten()
                .map(|&v| f64::from(v))
                .sum();
            let mean = sum / n as f64;
            let squares: f64 = channel(x, c, C, S::SPATIAL)
                .flatten()
                .map(|&v| (f64::from(v) - mean) * (f64::from(v) - mean))
                .sum();
            let var = (squares / n as f64) as f32;
            let unbiased = (squares / (n - 1) as f64) as f32;
            let mean = mean as f32;
            let inv_std = 1.0 / crate::math::sqrt(var + self.eps);
            cache.mean.as_mut_slice()[c] = mean;
            cache.inv_std.as_mut_slice()[c] = inv_std;

            let scale = self.weight.as_slice()[c] * inv_std;
            let shift = self.bias.as_slice()[c] - mean * scale;
            affine(x, y, c, C, S::SPATIAL, scale, shift);

            let running_mean = &mut self.running_mean.as_mut_slice()[c];
            *running_mean = (1.0 - momentum) * *running_mean + momentum * mean;
            let running_var = &mut self.running_var.as_mut_slice()[c];
            *running_var = (1.0 - momentum) * *running_var + momentum * unbiased;
        }
    }

    fn backward<const B: usize>(
        &mut self,
        x: &S::Batch<B>,
        _y: &S::Batch<B>,
        cache: &mut BatchNormCache<C>,
        dy: &S::Batch<B>,
        dx: Option<&mut S::Batch<B>>,
    ) {
        const { assert!(S::CHANNELS == C, "BatchNorm<C, S>: S must have C channels") };
        let n = (B * S::SPATIAL) as f32;
        let (x, dy) = (x.as_slice(), dy.as_slice());
        let mut dx = dx.map(|dx| dx.as_mut_slice());
        for c in 0..C {
            let (mean, inv_std) = (cache.mean.as_slice()[c], cache.inv_std.as_slice()[c]);
            // Σ dy and Σ dy · x̂ over the channel, x̂ = (x − mean) · inv_std.
            let (mut sum_dy, mut sum_dy_xhat) = (0.0f32, 0.0f32);
            let runs = channel(x, c, C, S::SPATIAL).zip(channel(dy, c, C, S::SPATIAL));
            for (x, dy) in runs {
                for (&x, &dy) in x.iter().zip(dy) {
                    sum_dy += dy;
                    sum_dy_xhat += dy * (x - mean) * inv_std;
                }
            }
            self.bias_grad.as_mut_slice()[c] += sum_dy;
            self.weight_grad.as_mut_slice()[c] += sum_dy_xhat;

            // dx = γ · inv_std · (dy − mean(dy) − x̂ · mean(dy · x̂)): the batch statistics
            // depend on every x of the channel, hence the two mean terms.
            if let Some(dx) = dx.as_deref_mut() {
                let scale = self.weight.as_slice()[c] * inv_std;
                let (mean_dy, mean_dy_xhat) = (sum_dy / n, sum_dy_xhat / n);
                let runs = channel(x, c, C, S::SPATIAL)
                    .zip(channel(dy, c, C, S::SPATIAL))
                    .zip(channel_mut(dx, c, C, S::SPATIAL));
                for ((x, dy), dx) in runs {
                    for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
                        let x_hat = (x - mean) * inv_std;
                        *dx = scale * (dy - mean_dy - x_hat * mean_dy_xhat);
                    }
                }
            }
        }
    }
}

impl<const C: usize, S: PerChannel> Composable for BatchNorm<C, S> {
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(_rng: &mut Rng) -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::{seeded, uniform};
    use crate::optim::{Adam, Optimizer, Sgd};
    use crate::tensor::{Tensor2, Tensor4};
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

    // Two features over a batch of four: column 0 is 1, 2, 3, 4 (mean 2.5, biased variance
    // 1.25, unbiased 5/3); column 1 is 0, 0, 4, 4 (mean 2, biased variance 4, unbiased 16/3).
    fn batch() -> Tensor2<4, 2> {
        Tensor2::from_slice(&[1.0, 0.0, 2.0, 0.0, 3.0, 4.0, 4.0, 4.0]).unwrap()
    }

    #[test]
    fn train_forward_and_running_statistics_match_hand_computed_values() {
        let mut bn = BatchNorm1d::<2>::new();
        bn.weight_mut().as_mut_slice().copy_from_slice(&[2.0, 0.5]);
        bn.bias_mut().as_mut_slice().copy_from_slice(&[1.0, -1.0]);
        let x = batch();
        let mut y = Tensor2::<4, 2>::zeros();
        let mut cache = BatchNormCache::zeroed();
        bn.forward_train(&x, &mut y, &mut cache);

        let s0 = 1.0 / (1.25f32 + 1e-5).sqrt();
        let s1 = 1.0 / (4.0f32 + 1e-5).sqrt();
        let want = [
            2.0 * -1.5 * s0 + 1.0,
            0.5 * -2.0 * s1 - 1.0,
            2.0 * -0.5 * s0 + 1.0,
            0.5 * -2.0 * s1 - 1.0,
            2.0 * 0.5 * s0 + 1.0,
            0.5 * 2.0 * s1 - 1.0,
            2.0 * 1.5 * s0 + 1.0,
            0.5 * 2.0 * s1 - 1.0,
        ];
        assert_close(y.as_slice(), &want, 1e-6);
        assert_close(cache.mean.as_slice(), &[2.5, 2.0], 1e-7);
        assert_close(cache.inv_std.as_slice(), &[s0, s1], 1e-7);

        // One step: running = 0.9 · initial + 0.1 · batch, with the unbiased variance.
        assert_close(bn.running_mean().as_slice(), &[0.25, 0.2], 1e-7);
        let var1 = [0.9 + 0.1 * 5.0 / 3.0, 0.9 + 0.1 * 16.0 / 3.0];
        assert_close(bn.running_var().as_slice(), &var1, 1e-6);

        // A second step on a shifted, scaled batch: column 0 is 2, 4, 6, 8 (mean 5, unbiased
        // variance 20/3), column 1 is 1, 1, 1, 1 (mean 1, variance 0).
        let x2 = Tensor2::<4, 2>::from_slice(&[2.0, 1.0, 4.0, 1.0, 6.0, 1.0, 8.0, 1.0]).unwrap();
        bn.forward_train(&x2, &mut y, &mut cache);
        let mean2 = [0.9 * 0.25 + 0.1 * 5.0, 0.9 * 0.2 + 0.1 * 1.0];
        let var2 = [0.9 * var1[0] + 0.1 * 20.0 / 3.0, 0.9 * var1[1]];
        assert_close(bn.running_mean().as_slice(), &mean2, 1e-6);
        assert_close(bn.running_var().as_slice(), &var2, 1e-6);
        // A constant channel normalises to β (no NaN: eps keeps the division finite).
        for row in y.rows() {
            assert!((row[1] - -1.0).abs() < 1e-6, "{row:?}");
        }
    }

    #[test]
    fn eval_forward_uses_the_running_statistics() {
        let mut bn = BatchNorm1d::<2>::new();
        bn.weight_mut().as_mut_slice().copy_from_slice(&[2.0, 0.5]);
        bn.bias_mut().as_mut_slice().copy_from_slice(&[1.0, -1.0]);
        bn.running_mean_mut()
            .as_mut_slice()
            .copy_from_slice(&[1.0, -2.0]);
        bn.running_var_mut()
            .as_mut_slice()
            .copy_from_slice(&[4.0, 0.25]);
        let x = batch();
        let mut y = Tensor2::<4, 2>::zeros();
        bn.forward(&x, &mut y, &mut ());
        let (s0, s1) = (1.0 / (4.0f32 + 1e-5).sqrt(), 1.0 / (0.25f32 + 1e-5).sqrt());
        let want: Vec<f32> = x
            .rows()
            .flat_map(|r| [2.0 * (r[0] - 1.0) * s0 + 1.0, 0.5 * (r[1] + 2.0) * s1 - 1.0])
            .collect();
        assert_close(y.as_slice(), &want, 1e-5);
        // Inference changes nothing.
        assert_eq!(bn.running_mean().as_slice(), &[1.0, -2.0]);
        assert_eq!(bn.running_var().as_slice(), &[4.0, 0.25]);

        // A fresh layer at inference is the identity up to eps.
        let fresh = BatchNorm1d::<2>::new();
        fresh.forward(&x, &mut y, &mut ());
        assert_close(y.as_slice(), x.as_slice(), 1e-4);
    }

    #[test]
    fn batch_norm_2d_normalises_each_channel_over_batch_and_space() {
        // Channel c of sample b holds b·10 + c·100 + s over its four positions.
        let x =
            Tensor4::<2, 3, 2, 2>::from_fn(|[b, c, h, w]| (b * 10 + c * 100 + h * 2 + w) as f32);
        let mut bn = BatchNorm2d::<3, 2, 2>::with(0.5, 1e-3);
        let mut y = Tensor4::<2, 3, 2, 2>::zeros();
        let mut cache = BatchNormCache::zeroed();
        bn.forward_train(&x, &mut y, &mut cache);
        // Values per channel: c·100 + {0, 1, 2, 3, 10, 11, 12, 13}: mean c·100 + 6.5, biased
        // variance 26.25, unbiased 30.
        assert_close(cache.mean.as_slice(), &[6.5, 106.5, 206.5], 1e-5);
        assert_close(bn.running_mean().as_slice(), &[3.25, 53.25, 103.25], 1e-4);
        assert_close(bn.running_var().as_slice(), &[15.5; 3], 1e-4);
        let inv_std = 1.0 / (26.25f32 + 1e-3).sqrt();
        for b in 0..2 {
            for c in 0..3 {
                for s in 0..4 {
                    let v = (b * 10 + s / 2 * 2 + s % 2) as f32;
                    let got = y[[b, c, s / 2, s % 2]];
                    assert!((got - (v - 6.5) * inv_std).abs() < 1e-5, "{got}");
                }
            }
        }
        // Each channel of the output has mean 0 and variance about 1.
        assert!(y.iter().sum::<f32>().abs() < 1e-4);
    }

    #[test]
    fn gradients_match_central_differences_1d() {
        let mut rng = seeded(21);
        let mut bn = BatchNorm1d::<3>::new();
        bn.weight_mut()
            .iter_mut()
            .for_each(|g| *g = uniform(&mut rng, 0.5, 2.0));
        bn.bias_mut()
            .iter_mut()
            .for_each(|b| *b = uniform(&mut rng, -1.0, 1.0));
        let x = random_tensor::<Tensor2<4, 3>>(&mut rng);
        check_gradients::<_, 4>(&mut bn, &x, 22).unwrap();
    }

    #[test]
    fn gradients_match_central_differences_2d() {
        let mut rng = seeded(23);
        let mut bn = BatchNorm2d::<3, 2, 2>::new();
        bn.weight_mut()
            .iter_mut()
            .for_each(|g| *g = uniform(&mut rng, 0.5, 2.0));
        bn.bias_mut()
            .iter_mut()
            .for_each(|b| *b = uniform(&mut rng, -1.0, 1.0));
        let x = random_tensor::<Tensor4<2, 3, 2, 2>>(&mut rng);
        check_gradients::<_, 2>(&mut bn, &x, 24).unwrap();
    }

    // C == H == W, so a mix-up of the channel axis with a spatial one would not change any
    // size, only the values.
    #[test]
    fn gradients_match_central_differences_when_channels_equal_height_and_width() {
        let mut rng = seeded(25);
        let mut bn = BatchNorm2d::<3, 3, 3>::new();
        bn.weight_mut()
            .iter_mut()
            .for_each(|g| *g = uniform(&mut rng, 0.5, 2.0));
        bn.bias_mut()
            .iter_mut()
            .for_each(|b| *b = uniform(&mut rng, -1.0, 1.0));
        let mut x = random_tensor::<Tensor4<2, 3, 3, 3>>(&mut rng);
        // Give each channel its own offset and spread, so channels are told apart.
        for (i, v) in x.iter_mut().enumerate() {
            let c = (i / 9) % 3;
            *v = *v * (1.0 + c as f32) + c as f32 * 3.0;
        }
        check_gradients::<_, 2>(&mut bn, &x, 26).unwrap();

        let mut y = Tensor4::<2, 3, 3, 3>::zeros();
        let mut cache = BatchNormCache::zeroed();
        bn.forward_train(&x, &mut y, &mut cache);
        for (c, &m) in cache.mean.iter().enumerate() {
            let want: f32 = (0..2)
                .flat_map(|b| (0..9).map(move |s| (b, s)))
                .map(|(b, s)| x[[b, c, s / 3, s % 3]])
                .sum::<f32>()
                / 18.0;
            assert!((m - want).abs() < 1e-5, "channel {c}: {m} vs {want}");
        }
    }

    #[test]
    fn backward_accumulates_parameter_gradients() {
        let mut bn = BatchNorm1d::<2>::new();
        let x = batch();
        let mut y = Tensor2::<4, 2>::zeros();
        let mut cache = BatchNormCache::zeroed();
        bn.forward_train(&x, &mut y, &mut cache);
        let dy = Tensor2::<4, 2>::full(1.0);
        bn.backward(&x, &y, &mut cache, &dy, None);
        bn.backward(&x, &y, &mut cache, &dy, None);
        assert_close(bn.bias_grad().as_slice(), &[8.0, 8.0], 1e-6);
        // Σ x̂ = 0 per channel.
        assert_close(bn.weight_grad().as_slice(), &[0.0, 0.0], 1e-5);
        bn.zero_grad();
        assert_eq!(bn.bias_grad().as_slice(), &[0.0, 0.0]);
    }

    #[test]
    fn params_and_buffers_are_visited_by_name() {
        let mut bn = BatchNorm2d::<4, 2, 2>::new();
        let root = ParamPath::root();
        let path = root.child("bn1");
        let mut params: Vec<(String, usize)> = Vec::new();
        bn.visit_params(&path, &mut |p: &ParamPath<'_>, param: Param<'_>| {
            params.push((p.to_string(), param.value.len()));
        });
        assert_eq!(
            params,
            [("bn1.weight".to_string(), 4), ("bn1.bias".to_string(), 4)]
        );
        let mut buffers: Vec<(String, Vec<f32>)> = Vec::new();
        bn.visit_buffers(&path, &mut |p: &ParamPath<'_>, b: &mut [f32]| {
            buffers.push((p.to_string(), b.to_vec()));
        });
        assert_eq!(
            buffers,
            [
                ("bn1.running_mean".to_string(), alloc::vec![0.0; 4]),
                ("bn1.running_var".to_string(), alloc::vec![1.0; 4]),
            ]
        );
        assert_eq!(bn.param_count(), 8);
        assert_eq!(BatchNorm2d::<4, 2, 2>::PARAM_COUNT, 8);
        assert_eq!(bn.weight().as_slice(), &[1.0; 4]);
        assert_eq!(bn.bias().as_slice(), &[0.0; 4]);
        assert_eq!((bn.momentum(), bn.eps()), (0.1, 1e-5));

        // Writing through the visitor reaches the running statistics (as loading weights does).
        bn.visit_buffers(&path, &mut |_: &ParamPath<'_>, b: &mut [f32]| b.fill(3.0));
        assert_eq!(bn.running_mean().as_slice(), &[3.0; 4]);
        assert_eq!(bn.running_var().as_slice(), &[3.0; 4]);
    }

    #[test]
    fn optimizer_steps_leave_the_running_statistics_alone() {
        let mut bn = BatchNorm1d::<2>::new();
        let x = batch();
        let mut y = Tensor2::<4, 2>::zeros();
        let mut cache = BatchNormCache::zeroed();
        bn.forward_train(&x, &mut y, &mut cache);
        let (mean, var) = (bn.running_mean().clone(), bn.running_var().clone());
        let dy = Tensor2::<4, 2>::from_slice(&[1.0, -1.0, 0.5, 2.0, -0.3, 0.1, 0.7, 1.0]).unwrap();
        bn.backward(&x, &y, &mut cache, &dy, None);
        let (weight, bias) = (bn.weight().clone(), bn.bias().clone());

        Adam::new(0.1).step(&mut bn).unwrap();
        Sgd::with_momentum(0.1, 0.9).step(&mut bn).unwrap();
        assert_ne!(bn.weight(), &weight);
        assert_ne!(bn.bias(), &bias);
        assert_eq!(bn.running_mean(), &mean);
        assert_eq!(bn.running_var(), &var);
    }

    #[test]
    #[should_panic(expected = "momentum must lie in [0, 1]")]
    fn momentum_outside_the_unit_interval_panics() {
        let _ = BatchNorm1d::<2>::with(1.5, 1e-5);
    }

    #[test]
    #[should_panic(expected = "eps must be positive")]
    fn non_positive_eps_panics() {
        let _ = BatchNorm1d::<2>::with(0.1, 0.0);
    }
}
