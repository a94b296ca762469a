//! Upsampling by an integer factor on slices, nearest or bilinear (PyTorch's
//! `align_corners=False`): the kernels of [`Upsample`](crate::layers::Upsample) and of a baked
//! network's `upsample`.

/// One plane's sizes and the integer factor: planes of `h × w` in, `oh × ow` (`factor` times
/// larger) out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpsampleShape {
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output height, `factor · h`.
    pub oh: usize,
    /// Output width, `factor · w`.
    pub ow: usize,
    /// The scale.
    pub factor: usize,
}

/// PyTorch's `nearest_idx` for an integer `factor`: `floor(dst · (1 / factor))` in `f32`,
/// at most `len − 1`.
fn nearest_source(dst: usize, len: usize, factor: usize) -> usize {
    match factor {
        1 => dst,
        2 => dst >> 1,
        _ => {
            let scale = (1.0 / factor as f64) as f32;
            // Non-negative, so truncation is the floor.
            ((dst as f32 * scale) as usize).min(len - 1)
        }
    }
}

/// PyTorch's source index and weights for bilinear `align_corners=False`: output `dst` reads
/// `(1 − λ) · x[i] + λ · x[i + offset]`, returned as `(i, i + offset, 1 − λ, λ)`.
fn bilinear_source(dst: usize, len: usize, factor: usize) -> (usize, usize, f32, f32) {
    let scale = (1.0 / factor as f64) as f32;
    let real = (scale * (dst as f32 + 0.5) - 0.5).max(0.0);
    let index = (real as usize).min(len - 1);
    let next = if index < len - 1 { index + 1 } else { index };
    let lambda = (real - index as f32).clamp(0.0, 1.0);
    (index, next, 1.0 - lambda, lambda)
}

/// Runs `visit(output index, input index, weight)` for every input an output of the plane
/// reads, in output order.
#[inline(always)]
fn for_each_tap(s: &UpsampleShape, bilinear: bool, mut visit: impl FnMut(usize, usize, f32)) {
    for o_h in 0..s.oh {
        for o_w in 0..s.ow {
            let out = o_h * s.ow + o_w;
            if bilinear {
                let (h0, h1, a0, a1) = bilinear_source(o_h, s.h, s.factor);
                let (w0, w1, b0, b1) = bilinear_source(o_w, s.w, s.factor);
                visit(out, h0 * s.w + w0, a0 * b0);
                visit(out, h0 * s.w + w1, a0 * b1);
                visit(out, h1 * s.w + w0, a1 * b0);
                visit(out, h1 * s.w + w1, a1 * b1);
            } else {
                let ih = nearest_source(o_h, s.h, s.factor);
                visit(out, ih * s.w + nearest_source(o_w, s.w, s.factor), 1.0);
            }
        }
    }
}

/// `y` = `x` upsampled, plane by plane (`x` holds whole `h × w` planes, `y` as many of
/// `oh × ow`), by nearest neighbour or, when `bilinear`, bilinear interpolation.
pub fn upsample_forward(s: &UpsampleShape, bilinear: bool, x: &[f32], y: &mut [f32]) {
    let planes = x
        .chunks_exact(s.h * s.w)
        .zip(y.chunks_exact_mut(s.oh * s.ow));
    for (x_p, y_p) in planes {
        if bilinear {
            y_p.fill(0.0);
        }
        for_each_tap(s, bilinear, |out, input, weight| {
            if bilinear {
                y_p[out] += weight * x_p[input];
            } else {
                y_p[out] = x_p[input];
            }
        });
    }
}

/// Overwrites `dx` with the gradient of [`upsample_forward`]: each output's gradient goes back
/// to the inputs it read, by the same weights.
pub fn upsample_backward(s: &UpsampleShape, bilinear: bool, dy: &[f32], dx: &mut [f32]) {
    dx.fill(0.0);
    let planes = dy
        .chunks_exact(s.oh * s.ow)
        .zip(dx.chunks_exact_mut(s.h * s.w));
    for (dy_p, dx_p) in planes {
        for_each_tap(s, bilinear, |out, input, weight| {
            dx_p[input] += weight * dy_p[out];
        });
    }
}
