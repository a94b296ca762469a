//! Batch normalisation at inference, on slices: the kernel of
//! [`BatchNorm`](crate::layers::BatchNorm)'s inference forward, and of a baked network's
//! `batch_norm` that has no layer before it to fold into.

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
