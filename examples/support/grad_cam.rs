//! Grad-CAM (Selvaraju et al., 2017) from a convolutional map and the gradient of a class logit
//! with respect to it. Used by `examples/grad_cam.rs` and `tests/grad_cam.rs`.
//!
//! The network-specific part is four lines at the caller: a training-mode forward pass (the
//! network must have no batch norm or dropout, so training mode computes what inference does),
//! a one-hot gradient injected at the named logits, and a backward pass; then the named conv
//! point's output and gradient are read from the tape:
//!
//! ```text
//! net.forward_train(&x, &mut tape);
//! let one_hot = grad_cam::one_hot::<B, 10>(&classes);
//! net.backward_params_with(&mut tape, &zeros, &NetInject { logits: Some(&one_hot), ..Default::default() });
//! let cams = grad_cam::grad_cam(tape.outputs().features, tape.gradients().features);
//! ```
//!
//! The logits must be the raw class scores (before any softmax), so the gradient is that of the
//! class score itself.

use nn::prelude::*;

/// Added to the maximum before normalising, so an all-zero map stays zero instead of NaN.
pub const EPSILON: f32 = 1e-8;

/// One row per image, a 1 in column `classes[b]`: the gradient of `Σ_b logit[b, classes[b]]`
/// with respect to the logits, which, injected at the logits, backpropagates each image's class
/// score alone (the images of a batch do not interact without batch norm).
pub fn one_hot<const B: usize, const K: usize>(classes: &[usize; B]) -> Tensor2<B, K> {
    Tensor2::from_fn(|[b, k]| if classes[b] == k { 1.0 } else { 0.0 })
}

/// The coarse Grad-CAM of each image, `H x W` values, not normalised: with `A` the maps and `G`
/// the gradient of the class logit with respect to them, the channel weights are
/// `α_c = mean over (h, w) of G[c, h, w]` (a global average pool of the gradient) and the map is
/// `ReLU(Σ_c α_c · A[c])`.
pub fn coarse<const B: usize, const C: usize, const H: usize, const W: usize>(
    maps: &Tensor4<B, C, H, W>,
    grads: &Tensor4<B, C, H, W>,
) -> Vec<Vec<f32>> {
    let plane = H * W;
    maps.as_slice()
        .chunks_exact(C * plane)
        .zip(grads.as_slice().chunks_exact(C * plane))
        .map(|(a, g)| {
            let mut cam = vec![0.0f32; plane];
            for (a_c, g_c) in a.chunks_exact(plane).zip(g.chunks_exact(plane)) {
                let alpha = g_c.iter().sum::<f32>() / plane as f32;
                for (out, &value) in cam.iter_mut().zip(a_c) {
                    *out += alpha * value;
                }
            }
            cam.iter_mut().for_each(|v| *v = v.max(0.0));
            cam
        })
        .collect()
}

/// Bilinear resize of an `h x w` map to `out_h x out_w`, PyTorch's `align_corners=False`
/// (`F.interpolate(mode="bilinear")`): output pixel centres mapped back onto the input's,
/// clamped at the edges.
pub fn resize_bilinear(map: &[f32], h: usize, w: usize, out_h: usize, out_w: usize) -> Vec<f32> {
    assert_eq!(map.len(), h * w, "map is not {h} x {w}");
    let source = |o: usize, n_in: usize, n_out: usize| {
        let s = ((o as f32 + 0.5) * n_in as f32 / n_out as f32 - 0.5).max(0.0);
        let lo = (s.floor() as usize).min(n_in - 1);
        let hi = (lo + 1).min(n_in - 1);
        (lo, hi, s - lo as f32)
    };
    let mut out = Vec::with_capacity(out_h * out_w);
    for oy in 0..out_h {
        let (y0, y1, fy) = source(oy, h, out_h);
        for ox in 0..out_w {
            let (x0, x1, fx) = source(ox, w, out_w);
            let top = map[y0 * w + x0] * (1.0 - fx) + map[y0 * w + x1] * fx;
            let bottom = map[y1 * w + x0] * (1.0 - fx) + map[y1 * w + x1] * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}

/// Divides by `max + EPSILON`, so the map ends in `[0, 1)` (an all-zero map stays zero).
pub fn normalise(map: &mut [f32]) {
    let max = map.iter().copied().fold(0.0f32, f32::max);
    map.iter_mut().for_each(|v| *v /= max + EPSILON);
}

/// Grad-CAM heatmaps: [`coarse`], upsampled bilinearly to `side x side` (the input's size) and
/// [`normalise`]d, one per image.
pub fn grad_cam<const B: usize, const C: usize, const H: usize, const W: usize>(
    maps: &Tensor4<B, C, H, W>,
    grads: &Tensor4<B, C, H, W>,
    side: usize,
) -> Vec<Vec<f32>> {
    coarse(maps, grads)
        .into_iter()
        .map(|cam| {
            let mut big = resize_bilinear(&cam, H, W, side, side);
            normalise(&mut big);
            big
        })
        .collect()
}

/// The indices of the `k` largest values (ties broken by position).
pub fn top_k(values: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order.truncate(k);
    order
}
