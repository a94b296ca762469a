//! Depthwise convolution (`groups == c_in`): each output channel `o` reads input channel
//! `o / m` alone, `m = c_out / c_in` being the depth multiplier. Run as im2col and a product
//! per group, each product would be `m × kh·kw` by `kh·kw × positions`, far too small to pay for
//! its column matrix; here every tap instead adds `weight · input` straight onto the output
//! plane, a run of output columns at a time, with no workspace at all.
//!
//! Each output is its bias plus the taps in order (`kh`, then `kw`), whatever the thread count,
//! batch or instruction set: the loops are plain Rust (no fused multiply-add, which Rust never
//! contracts to), compiled once more with AVX2 enabled so that they vectorize there.
//!
//! Work is split across the pool's [`threads`](super::threads) by output planes (forward),
//! by channels over the whole batch (the weight and bias gradients, so each is summed over the
//! samples in order), and by input planes (the input gradient).

use super::conv::{ConvAxis, ConvGrads, ConvShape};
use super::threads;
#[cfg(target_arch = "x86_64")]
use super::{InstructionSet, supports};

/// Partial sums of a dot product, one per lane, added together in order at the end.
const LANES: usize = 8;

/// `y = depthwise(x, weight) + bias` for a batch (see [`super::conv::conv2d_forward`], which
/// checks the lengths and calls this when [`ConvShape::is_depthwise`]).
pub(super) fn forward(s: &ConvShape, x: &[f32], weight: &[f32], bias: &[f32], y: &mut [f32]) {
    let (plane_in, plane_out) = (s.input_len() / s.c_in, s.output_len() / s.c_out);
    let window = s.height.kernel * s.width.kernel;
    let planes = y.len() / plane_out.max(1);
    let work = y.len() * window;
    let band = threads::lanes_per_band(planes, work, 1);
    let multiplier = s.c_out / s.c_in;
    let avx2 = has_avx2();
    threads::for_each(y.chunks_mut(band * plane_out), |index, y| {
        for (i, y_o) in y.chunks_exact_mut(plane_out).enumerate() {
            // Output plane `(b, o)` reads input plane `(b, o / m)`.
            let plane = index * band + i;
            let (b, o) = (plane / s.c_out, plane % s.c_out);
            let x_c = &x[(b * s.c_in + o / multiplier) * plane_in..][..plane_in];
            let w_o = &weight[o * window..][..window];
            run(avx2, || forward_plane(s, x_c, w_o, bias[o], y_o));
        }
    });
}

/// The backward pass of [`forward`]: adds the weight and bias gradients to `grads` and, when
/// `dx` is given, overwrites it with the input gradient.
pub(super) fn backward(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    grads: ConvGrads<'_>,
    dx: Option<&mut [f32]>,
) {
    let (plane_in, plane_out) = (s.input_len() / s.c_in, s.output_len() / s.c_out);
    let window = s.height.kernel * s.width.kernel;
    let batch = x.len() / s.input_len();
    let multiplier = s.c_out / s.c_in;
    let avx2 = has_avx2();
    // The parameter gradients, by bands of output channels, each summed over the batch in
    // order.
    let band = threads::lanes_per_band(s.c_out, dy.len() * window, 1);
    let parts = grads
        .weight
        .chunks_mut(band * window)
        .zip(grads.bias.chunks_mut(band));
    threads::for_each(parts, |index, (dw, db)| {
        for (i, (dw_o, db_o)) in dw.chunks_exact_mut(window).zip(db).enumerate() {
            let o = index * band + i;
            for b in 0..batch {
                let dy_o = &dy[(b * s.c_out + o) * plane_out..][..plane_out];
                let x_c = &x[(b * s.c_in + o / multiplier) * plane_in..][..plane_in];
                *db_o += dy_o.iter().sum::<f32>();
                run(avx2, || add_weight_grad(s, x_c, dy_o, dw_o));
            }
        }
    });
    // The input gradient, by bands of input planes: plane `(b, c)` gathers its `m` outputs'.
    let Some(dx) = dx else { return };
    let band = threads::lanes_per_band(batch * s.c_in, dy.len() * window, 1);
    threads::for_each(dx.chunks_mut(band * plane_in), |index, dx| {
        for (i, dx_c) in dx.chunks_exact_mut(plane_in).enumerate() {
            let plane = index * band + i;
            let (b, c) = (plane / s.c_in, plane % s.c_in);
            dx_c.fill(0.0);
            for o in c * multiplier..(c + 1) * multiplier {
                let dy_o = &dy[(b * s.c_out + o) * plane_out..][..plane_out];
                let w_o = &weight[o * window..][..window];
                run(avx2, || add_input_grad(s, w_o, dy_o, dx_c));
            }
        }
    });
}

/// Whether this CPU runs the AVX2 build of the loops.
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return supports(InstructionSet::Avx2);
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Runs `f`, compiled with AVX2 enabled when `avx2` (which [`has_avx2`] gave).
#[inline(always)]
fn run(avx2: bool, f: impl FnOnce()) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` comes from `has_avx2`, which asked the CPU.
        return unsafe { with_avx2(f) };
    }
    let _ = avx2;
    f()
}

/// `f`, with AVX2 and FMA enabled for the code inlined into it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn with_avx2(f: impl FnOnce()) {
    f()
}

/// The runs one tap moves: for each output row in `rows`, `len` outputs from column `ow_lo`,
/// reading the input from `(ih, iw)` of the first row on, by the strides. `None` when no
/// output of the tap reads the input.
struct TapRuns {
    rows: (usize, usize),
    ow_lo: usize,
    len: usize,
    /// The input position the first run starts at.
    start: usize,
}

/// The runs of tap `(kh, kw)`.
#[inline(always)]
fn tap_runs(ax_h: &ConvAxis, ax_w: &ConvAxis, kh: usize, kw: usize) -> Option<TapRuns> {
    let (oh_lo, oh_hi) = ax_h.valid_range(kh);
    let (ow_lo, ow_hi) = ax_w.valid_range(kw);
    if oh_lo == oh_hi || ow_lo == ow_hi {
        return None;
    }
    let ih = oh_lo * ax_h.stride + kh * ax_h.dilation - ax_h.pad_before;
    let iw = ow_lo * ax_w.stride + kw * ax_w.dilation - ax_w.pad_before;
    Some(TapRuns {
        rows: (oh_lo, oh_hi),
        ow_lo,
        len: ow_hi - ow_lo,
        start: ih * ax_w.size + iw,
    })
}

/// One output plane: `y_o = bias + Σ_taps w_o[tap] · (x_c under the tap)`.
#[inline(always)]
fn forward_plane(s: &ConvShape, x_c: &[f32], w_o: &[f32], bias: f32, y_o: &mut [f32]) {
    let (ax_h, ax_w) = (&s.height, &s.width);
    let (ow, row_step) = (ax_w.out, ax_h.stride * ax_w.size);
    y_o.fill(bias);
    for kh in 0..ax_h.kernel {
        for kw in 0..ax_w.kernel {
            let Some(t) = tap_runs(ax_h, ax_w, kh, kw) else {
                continue;
            };
            let wv = w_o[kh * ax_w.kernel + kw];
            for (r, o_h) in (t.rows.0..t.rows.1).enumerate() {
                let out = &mut y_o[o_h * ow + t.ow_lo..][..t.len];
                let src = &x_c[t.start + r * row_step..];
                if ax_w.stride == 1 {
                    for (o, &v) in out.iter_mut().zip(&src[..t.len]) {
                        *o += wv * v;
                    }
                } else {
                    for (o, &v) in out.iter_mut().zip(src.iter().step_by(ax_w.stride)) {
                        *o += wv * v;
                    }
                }
            }
        }
    }
}

/// `dw_o[tap] += Σ dy_o · (x_c under the tap)`, each tap's sum in [`LANES`] partial sums.
#[inline(always)]
fn add_weight_grad(s: &ConvShape, x_c: &[f32], dy_o: &[f32], dw_o: &mut [f32]) {
    let (ax_h, ax_w) = (&s.height, &s.width);
    let (ow, row_step) = (ax_w.out, ax_h.stride * ax_w.size);
    for kh in 0..ax_h.kernel {
        for kw in 0..ax_w.kernel {
            let Some(t) = tap_runs(ax_h, ax_w, kh, kw) else {
                continue;
            };
            let mut sums = [0.0f32; LANES];
            for (r, o_h) in (t.rows.0..t.rows.1).enumerate() {
                let grads = &dy_o[o_h * ow + t.ow_lo..][..t.len];
                let src = &x_c[t.start + r * row_step..];
                if ax_w.stride == 1 {
                    add_products(&mut sums, grads, &src[..t.len]);
                } else {
                    let inputs = src.iter().step_by(ax_w.stride);
                    for (j, (&g, &v)) in grads.iter().zip(inputs).enumerate() {
                        sums[j % LANES] += g * v;
                    }
                }
            }
            dw_o[kh * ax_w.kernel + kw] += sums.iter().sum::<f32>();
        }
    }
}

/// `sums[j % LANES] += a[j] · b[j]`, in whole registers where the lengths allow.
#[inline(always)]
fn add_products(sums: &mut [f32; LANES], a: &[f32], b: &[f32]) {
    let (mut a, mut b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (a, b) in (&mut a).zip(&mut b) {
        for j in 0..LANES {
            sums[j] += a[j] * b[j];
        }
    }
    for (j, (a, b)) in a.remainder().iter().zip(b.remainder()).enumerate() {
        sums[j] += a * b;
    }
}

/// `dx_c += Σ_taps w_o[tap] · dy_o`, scattered back under each tap.
#[inline(always)]
fn add_input_grad(s: &ConvShape, w_o: &[f32], dy_o: &[f32], dx_c: &mut [f32]) {
    let (ax_h, ax_w) = (&s.height, &s.width);
    let (ow, row_step) = (ax_w.out, ax_h.stride * ax_w.size);
    for kh in 0..ax_h.kernel {
        for kw in 0..ax_w.kernel {
            let Some(t) = tap_runs(ax_h, ax_w, kh, kw) else {
                continue;
            };
            let wv = w_o[kh * ax_w.kernel + kw];
            for (r, o_h) in (t.rows.0..t.rows.1).enumerate() {
                let grads = &dy_o[o_h * ow + t.ow_lo..][..t.len];
                let dst = &mut dx_c[t.start + r * row_step..];
                if ax_w.stride == 1 {
                    for (d, &g) in dst[..t.len].iter_mut().zip(grads) {
                        *d += wv * g;
                    }
                } else {
                    for (d, &g) in dst.iter_mut().step_by(ax_w.stride).zip(grads) {
                        *d += wv * g;
                    }
                }
            }
        }
    }
}
