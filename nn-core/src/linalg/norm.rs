//! Normalisation at inference, on slices: the kernel of
//! [`BatchNorm`](crate::layers::BatchNorm)'s inference forward, and of a baked network's
//! `batch_norm` that has no layer before it to fold into; the rows of
//! [`LayerNorm`](crate::layers::LayerNorm) and [`RmsNorm`](crate::layers::RmsNorm), which
//! their heap layers (both forwards) and a baked network's `layer_norm` and `rms_norm` run.

/// `y = γ · (x − mean) / √(var + eps) + β` for every channel of a `(B, C, SPATIAL)` batch: `x`
/// and `y` hold whole samples of `weight.len()` channels of `spatial` values each; `weight`
/// (γ), `bias` (β), `mean` and `var` (the running statistics) have one value per channel.
///
/// Each channel's `scale = γ / √(var + eps)` and `shift = β − mean · scale` are computed once,
/// then `y = x · scale + shift`.
///
/// # Panics
/// When the statistics are not one per channel or `x` and `y` differ in length.
///
/// ```
/// use nn_core::linalg::norm::batch_norm_inference;
/// let mut y = [0.0; 4];
/// // Two channels of two values; channel 1 has mean 1 and variance 4 (eps 0).
/// batch_norm_inference(&[1.0, 1.0], &[0.0, 0.5], &[0.0, 1.0], &[1.0, 4.0], 0.0, 2, &[1.0, 2.0, 3.0, 5.0], &mut y);
/// assert_eq!(y, [1.0, 2.0, 1.5, 2.5]);
/// ```
#[allow(
    clippy::too_many_arguments,
    reason = "the four per-channel tensors are PyTorch's, passed as they are stored"
)]
pub fn batch_norm_inference(
    weight: &[f32],
    bias: &[f32],
    mean: &[f32],
    var: &[f32],
    eps: f32,
    spatial: usize,
    x: &[f32],
    y: &mut [f32],
) {
    let channels = weight.len();
    assert!(
        bias.len() == channels && mean.len() == channels && var.len() == channels,
        "batch norm statistics must be one per channel"
    );
    assert_eq!(x.len(), y.len(), "batch norm maps a batch to its own shape");
    let sample = (channels * spatial).max(1);
    for c in 0..channels {
        let inv_std = 1.0 / crate::math::sqrt(var[c] + eps);
        let scale = weight[c] * inv_std;
        let shift = bias[c] - mean[c] * scale;
        let runs = x.chunks_exact(sample).zip(y.chunks_exact_mut(sample));
        for (x, y) in runs {
            let (x, y) = (
                &x[c * spatial..][..spatial],
                &mut y[c * spatial..][..spatial],
            );
            for (y, &x) in y.iter_mut().zip(x) {
                *y = x * scale + shift;
            }
        }
    }
}

/// `layer_norm`'s `eps` when none is given: PyTorch's default, the heap
/// [`LayerNorm::DEFAULT_EPS`](crate::layers::LayerNorm::DEFAULT_EPS).
pub const LAYER_NORM_EPS: f32 = 1e-5;

/// `rms_norm`'s `eps` when none is given: PyTorch's for `float32`, the machine epsilon (the
/// heap [`RmsNorm::DEFAULT_EPS`](crate::layers::RmsNorm::DEFAULT_EPS)).
pub const RMS_NORM_EPS: f32 = f32::EPSILON;

/// Partial sums of a row reduction. A sum added value by value is one chain of dependent
/// additions, 64 of them for a row of 64 features, and the compiler may not reorder it; sixteen
/// partial sums are independent chains that it turns into vector additions. The count is
/// fixed, not the machine's width, so every instruction set (the Cortex-M4's included) adds in
/// the same order and gets the same bits.
pub(crate) const LANES: usize = 16;

/// `Σ term(v)` over `row`: sixteen partial sums, then the tail's, then theirs.
#[inline(always)]
pub(crate) fn lane_sum(row: &[f32], term: impl Fn(f32) -> f32) -> f32 {
    let mut partial = [0.0f32; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().map(|&v| term(v)).sum();
    for chunk in chunks {
        for (s, &v) in partial.iter_mut().zip(chunk) {
            *s += term(v);
        }
    }
    tree_sum(partial) + tail
}

/// The sum of sixteen partial sums, halving: four dependent additions of vectors, not fifteen
/// of values.
#[inline(always)]
pub(crate) fn tree_sum(mut partial: [f32; LANES]) -> f32 {
    let mut width = LANES / 2;
    while width > 0 {
        let (low, high) = partial.split_at_mut(width);
        for (l, &h) in low.iter_mut().zip(&high[..width]) {
            *l += h;
        }
        width /= 2;
    }
    partial[0]
}

/// The mean and `1 / √(var + eps)` of `row`, with the biased variance, in two passes (a row
/// far from zero keeps its variance).
#[inline(always)]
pub fn layer_norm_stats(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = lane_sum(row, |v| v) / n;
    let var = lane_sum(row, |v| (v - mean) * (v - mean)) / n;
    (mean, 1.0 / crate::math::sqrt(var + eps))
}

/// `y = (x − mean) · inv_std · weight + bias` over one row.
#[inline(always)]
pub fn layer_norm_row(
    weight: &[f32],
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    mean: f32,
    inv_std: f32,
) {
    let affine = weight.iter().zip(bias);
    for ((y, &x), (&w, &b)) in y.iter_mut().zip(x).zip(affine) {
        *y = (x - mean) * inv_std * w + b;
    }
}

/// Layer normalisation of every row of `weight.len()` values of `x` into `y`
/// ([`layer_norm_stats`], then [`layer_norm_row`]).
///
/// # Panics
/// When `weight` is empty, `bias` is not as long, or `x` and `y` differ in length.
///
/// ```
/// use nn_core::linalg::norm::layer_norm;
/// let mut y = [0.0; 4];
/// // Two rows of two (eps 0): mean 2 and variance 1, then mean 2 and variance 4.
/// layer_norm(&[1.0, 1.0], &[0.0, 0.5], 0.0, &[1.0, 3.0, 4.0, 0.0], &mut y);
/// assert_eq!(y, [-1.0, 1.5, 1.0, -0.5]);
/// ```
pub fn layer_norm(weight: &[f32], bias: &[f32], eps: f32, x: &[f32], y: &mut [f32]) {
    let d = weight.len();
    assert!(
        d > 0 && bias.len() == d,
        "layer norm has a weight and a bias per feature"
    );
    assert_eq!(x.len(), y.len(), "layer norm keeps the shape");
    super::vectorized(LayerNormRows {
        weight,
        bias,
        eps,
        x,
        y,
    });
}

/// [`layer_norm`]'s rows, compiled for the machine's widest vectors by
/// [`vectorized`](super::vectorized).
struct LayerNormRows<'a> {
    weight: &'a [f32],
    bias: &'a [f32],
    eps: f32,
    x: &'a [f32],
    y: &'a mut [f32],
}

impl super::Vectorize for LayerNormRows<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let d = self.weight.len();
        for (x, y) in self.x.chunks_exact(d).zip(self.y.chunks_exact_mut(d)) {
            let (mean, inv_std) = layer_norm_stats(x, self.eps);
            layer_norm_row(self.weight, self.bias, x, y, mean, inv_std);
        }
    }
}

/// `1 / √(mean(x²) + eps)` of `row`.
pub fn rms_norm_inv(row: &[f32], eps: f32) -> f32 {
    let mean_square = lane_sum(row, |v| v * v) / row.len() as f32;
    1.0 / crate::math::sqrt(mean_square + eps)
}

/// `y = x · inv_rms · weight` over one row.
pub fn rms_norm_row(weight: &[f32], x: &[f32], y: &mut [f32], inv_rms: f32) {
    for ((y, &x), &w) in y.iter_mut().zip(x).zip(weight) {
        *y = x * inv_rms * w;
    }
}

/// Root-mean-square normalisation of every row of `weight.len()` values of `x` into `y`
/// ([`rms_norm_inv`], then [`rms_norm_row`]).
///
/// # Panics
/// When `weight` is empty or `x` and `y` differ in length.
///
/// ```
/// use nn_core::linalg::norm::rms_norm;
/// let mut y = [0.0; 2];
/// // mean(x²) = 25 / 2, with eps 0.
/// rms_norm(&[1.0, 2.0], 0.0, &[3.0, 4.0], &mut y);
/// let r = (12.5f32).sqrt();
/// assert_eq!(y, [3.0 * (1.0 / r), 4.0 * (1.0 / r) * 2.0]);
/// ```
pub fn rms_norm(weight: &[f32], eps: f32, x: &[f32], y: &mut [f32]) {
    let d = weight.len();
    assert!(d > 0, "rms norm has a weight per feature");
    assert_eq!(x.len(), y.len(), "rms norm keeps the shape");
    for (x, y) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        rms_norm_row(weight, x, y, rms_norm_inv(x, eps));
    }
}
