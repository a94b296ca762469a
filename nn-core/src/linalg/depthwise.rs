//! Depthwise convolution (`groups == c_in`): each output channel `o` reads input channel
//! `o / m` alone, `m = c_out / c_in` being the depth multiplier. Run as im2col and a product
//! per group, each product would be `m × kh·kw` by `kh·kw × positions`, far too small to pay for
//! its column matrix; here every tap instead adds `weight · input` straight onto the output
//! plane, so that each tap is one long run over a plane of a few hundred values of workspace
//! ([`is_padded`]: stride 1):
//! - on the host, the [`RowLayout`]: the input plane copied whole between zero rows, the
//!   outputs at the input's width (under `same` padding, the output tensor itself), and a mask
//!   per kernel column for the outputs whose tap would wrap around a row's edge;
//! - on a Cortex-M FPU, a zero-padded copy of the plane, the outputs at its width.
//!
//! Other strides go a run of output columns at a time, with no workspace.
//!
//! Each output is the same sum whatever the thread count or batch. The strided forward and
//! the input gradient are plain Rust (no fused multiply-add, which Rust never contracts to),
//! compiled once more with AVX2 enabled so that they vectorize there: the same bits on every
//! CPU. The row layout's forward and the weight gradient run in registers of [`Simd`], fused
//! where the CPU has FMA, so there the portable build and the AVX2 one agree to rounding, not
//! bit for bit.
//!
//! Work is split across the pool's [`threads`](super::threads) by output planes (forward),
//! by channels over the whole batch (the weight and bias gradients, so each is summed over the
//! samples in order), and by input planes (the input gradient).

use super::conv::{ConvAxis, ConvGrads, ConvShape, DEVICE, Mover};
use super::simd::{Portable, Simd};
use super::threads;
#[cfg(target_arch = "x86_64")]
use super::{InstructionSet, supports};

/// Partial sums of a dot product, one per lane, added together in order at the end.
const LANES: usize = 8;

/// Whether the padded-plane kernels run: stride 1 along both axes. Each tap is then one long
/// run over a zero-padded copy of the input plane, with the outputs laid out `padded width`
/// apart (a few unused values at the end of each row): a plane of 25 × 5 costs nine runs of
/// 173 values instead of 225 runs of at most five.
const fn is_padded(s: &ConvShape) -> bool {
    s.height.stride == 1 && s.width.stride == 1
}

/// `(rows, columns)` of the zero-padded input plane.
const fn padded_size(s: &ConvShape) -> (usize, usize) {
    let (h, w) = (&s.height, &s.width);
    (
        h.size + h.pad_before + h.pad_after,
        w.size + w.pad_before + w.pad_after,
    )
}

/// The outputs of a plane laid out `padded width` apart, up to the last output, rounded up to
/// whole registers: what one tap's run covers (the values past the last output are computed
/// and never read).
const fn run_len(s: &ConvShape) -> usize {
    let (_, padded_w) = padded_size(s);
    ((s.height.out - 1) * padded_w + s.width.out).div_ceil(LANES) * LANES
}

/// A padded plane and a register of zeros after it, which the last tap's rounded-up run
/// reads.
const fn plane_len(s: &ConvShape) -> usize {
    let (padded_h, padded_w) = padded_size(s);
    padded_h * padded_w + LANES
}

/// The forward's workspace for one band of planes: the padded input plane and the padded-width
/// output (none off the padded kernels).
pub(super) const fn forward_len(s: &ConvShape) -> usize {
    if !is_padded(s) || s.height.out == 0 || s.width.out == 0 {
        return 0;
    }
    // The device's padded plane, or the host's row layout: the same length on every target,
    // so that a baked network's scratch does not depend on it.
    let padded = plane_len(s) + run_len(s);
    let rows = RowLayout::of(s).len();
    if padded > rows { padded } else { rows }
}

/// The backward's workspace for one band: for the input gradient, a padded input plane, a
/// padded input gradient and the padded-width output gradient; for the weight gradient, what
/// [`RowLayout`] lays out. The larger of the two.
pub(super) const fn backward_len(s: &ConvShape) -> usize {
    if !is_padded(s) || s.height.out == 0 || s.width.out == 0 {
        return 0;
    }
    let input_grad = 2 * plane_len(s) + run_len(s);
    let weight_grad = RowLayout::of(s).len();
    if input_grad > weight_grad {
        input_grad
    } else {
        weight_grad
    }
}

/// How the stride-1 weight gradient lays a plane out: input and output rows `width` apart
/// (the input's width, or the output's when wider), so that tap `(kh, kw)` of output `i` reads
/// input `i + offset(kh, kw)` of a plane with zero rows above and below. With `same` padding
/// both are the tensors' own rows: the input is one contiguous copy, the output gradient is
/// read in place. An output whose tap falls off the left or right edge of its row would read
/// the neighbouring row there: a mask per kernel column zeroes its gradient instead.
///
/// The workspace holds, in order: that input plane (`plane` values), the output gradient laid
/// out `width` apart (`run` values, when it is not already), and the masks (`run` values per
/// kernel column, 1 or 0).
#[derive(Clone, Copy)]
struct RowLayout {
    width: usize,
    /// Outputs in the layout, up to the last: `(oh − 1) · width + ow`.
    outputs: usize,
    /// [`Self::outputs`] rounded up to whole registers.
    run: usize,
    /// Where the input plane's first value sits: `pad_top · width + pad_left`.
    first: usize,
    plane: usize,
    /// Kernel columns: one mask each.
    columns: usize,
}

impl RowLayout {
    const fn of(s: &ConvShape) -> Self {
        let (h, w) = (&s.height, &s.width);
        let width = if w.out > w.size { w.out } else { w.size };
        let outputs = h.out.saturating_sub(1) * width + w.out;
        let run = outputs.div_ceil(LANES) * LANES;
        let first = h.pad_before * width + w.pad_before;
        let reach = h.dilation * h.kernel.saturating_sub(1) * width
            + w.dilation * w.kernel.saturating_sub(1)
            + run;
        let input_end = first + (h.size.saturating_sub(1)) * width + w.size;
        let plane = if reach > input_end { reach } else { input_end } + LANES;
        Self {
            width,
            outputs,
            run,
            first,
            plane,
            columns: w.kernel,
        }
    }

    const fn len(&self) -> usize {
        self.plane + self.run + self.run * self.columns
    }

    /// Whether the row kernels take `s`: stride 1, and a kernel no wider than
    /// [`MAX_ROW_KERNEL`] with no more than [`MAX_TAPS`] taps.
    const fn fits(s: &ConvShape) -> bool {
        is_padded(s)
            && s.width.kernel <= MAX_ROW_KERNEL
            && s.height.kernel * s.width.kernel <= MAX_TAPS
    }

    /// Writes the masks into their place in `space`: mask `kw` is 1 where tap column `kw` of
    /// the output there reads inside the input row, else 0 (and 0 past the last output).
    fn write_masks(&self, s: &ConvShape, space: &mut [f32]) {
        let w = &s.width;
        let masks = &mut space[self.plane + self.run..][..w.kernel * self.run];
        for (kw, mask) in masks.chunks_exact_mut(self.run).enumerate() {
            for (i, m) in mask.iter_mut().enumerate() {
                let column = i % self.width;
                let read = column + kw * w.dilation;
                let inside = i < self.outputs
                    && column < w.out
                    && read >= w.pad_before
                    && read < w.pad_before + w.size;
                *m = if inside { 1.0 } else { 0.0 };
            }
        }
    }

    /// Copies input plane `x_c` into `plane`, its rows `width` apart; the gaps stay the zeros
    /// they were.
    #[inline(always)]
    fn copy_plane(&self, s: &ConvShape, x_c: &[f32], plane: &mut [f32]) {
        let w = s.width.size;
        if self.width == w {
            plane[self.first..][..x_c.len()].copy_from_slice(x_c);
        } else {
            for (r, row) in x_c.chunks_exact(w).enumerate() {
                plane[self.first + r * self.width..][..w].copy_from_slice(row);
            }
        }
    }

    /// Where tap `(kh, kw)` of output 0 reads.
    #[inline(always)]
    fn offset(&self, s: &ConvShape, kh: usize, kw: usize) -> usize {
        kh * s.height.dilation * self.width + kw * s.width.dilation
    }
}

/// The widest kernel row the stride-1 weight gradient masks (one mask per column); wider
/// kernels, rare in a depthwise convolution, go through the general path.
const MAX_ROW_KERNEL: usize = 8;

/// `y = depthwise(x, weight) + bias` for a batch (see [`super::conv::conv2d_forward`], which
/// checks the lengths and calls this when [`ConvShape::is_depthwise`]). `workspace` holds one
/// or more [`forward_len`] parts: that many bands of planes may run on the pool's threads.
pub(super) fn forward(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
    workspace: &mut [f32],
) {
    forward_on(has_avx2(), s, x, weight, bias, y, workspace);
}

/// [`forward`] with the AVX2 build of the plane kernels or not: the tests run both.
fn forward_on(
    avx2: bool,
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
    workspace: &mut [f32],
) {
    let (plane_in, plane_out) = (s.input_len() / s.c_in, s.output_len() / s.c_out);
    let window = s.height.kernel * s.width.kernel;
    let planes = y.len() / plane_out.max(1);
    let part = forward_len(s);
    // Without a workspace (strides above 1), any number of bands.
    let spaces = workspace.len().checked_div(part).unwrap_or(planes);
    assert!(spaces >= 1, "the depthwise workspace is too short");
    let band =
        threads::lanes_per_band(planes, y.len() * window, 1).max(planes.div_ceil(spaces.max(1)));
    let multiplier = s.c_out / s.c_in;
    let bands = y.chunks_mut(band * plane_out);
    let mut spaces = workspace.chunks_mut(part.max(1));
    let parts = bands.map(|y| (y, spaces.next().unwrap_or_default()));
    // The host's row layout; a Cortex-M keeps the padded plane, and its build leaves the row
    // kernels out altogether (compiled in beside the padded loop, even unreached, they cost
    // that loop about 600 instructions per plane there).
    #[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
    let rows = part != 0 && RowLayout::fits(s);
    threads::for_each(parts, |index, (y, space)| {
        // The padding and the zeros after the plane, written once: the planes' copies go
        // between them.
        space.fill(0.0);
        #[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
        if rows {
            RowLayout::of(s).write_masks(s, space);
        }
        for (i, y_o) in y.chunks_exact_mut(plane_out).enumerate() {
            // Output plane `(b, o)` reads input plane `(b, o / m)`.
            let plane = index * band + i;
            let (b, o) = (plane / s.c_out, plane % s.c_out);
            let x_c = &x[(b * s.c_in + o / multiplier) * plane_in..][..plane_in];
            let w_o = &weight[o * window..][..window];
            if part == 0 {
                on_cpu!(avx2, forward_plane(s, x_c, w_o, bias[o], y_o));
                continue;
            }
            #[cfg(not(all(target_arch = "arm", target_os = "none", target_abi = "eabihf")))]
            if rows {
                on_cpu!(avx2, forward_rows(s, x_c, w_o, bias[o], y_o, space));
                continue;
            }
            on_cpu!(avx2, forward_padded(s, x_c, w_o, bias[o], y_o, space));
        }
    });
}

/// The backward pass of [`forward`]: adds the weight and bias gradients to `grads` and, when
/// `dx` is given, overwrites it with the input gradient. `workspace` holds one or more
/// [`backward_len`] parts, as [`forward`]'s does.
pub(super) fn backward(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    grads: ConvGrads<'_>,
    dx: Option<&mut [f32]>,
    workspace: &mut [f32],
) {
    backward_on(has_avx2(), s, x, weight, dy, grads, dx, workspace);
}

/// [`backward`] with the AVX2 build of the plane kernels or not: the tests run both.
#[allow(
    clippy::too_many_arguments,
    reason = "backward's operands, and the build to run"
)]
fn backward_on(
    avx2: bool,
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    grads: ConvGrads<'_>,
    dx: Option<&mut [f32]>,
    workspace: &mut [f32],
) {
    let (plane_in, plane_out) = (s.input_len() / s.c_in, s.output_len() / s.c_out);
    let window = s.height.kernel * s.width.kernel;
    let batch = x.len() / s.input_len();
    let multiplier = s.c_out / s.c_in;
    let part = backward_len(s);
    let spaces = workspace.len().checked_div(part).unwrap_or(usize::MAX);
    assert!(spaces >= 1, "the depthwise workspace is too short");
    // The parameter gradients, by bands of output channels, each summed over the batch in
    // order.
    let band = threads::lanes_per_band(s.c_out, dy.len() * window, 1).max(s.c_out.div_ceil(spaces));
    let mut parts_space = workspace.chunks_mut(part.max(1));
    let parts = grads
        .weight
        .chunks_mut(band * window)
        .zip(grads.bias.chunks_mut(band))
        .map(|grads| (grads, parts_space.next().unwrap_or_default()));
    let rows = part != 0 && RowLayout::fits(s);
    threads::for_each(parts, |index, ((dw, db), space)| {
        space.fill(0.0);
        if rows {
            RowLayout::of(s).write_masks(s, space);
        }
        for (i, (dw_o, db_o)) in dw.chunks_exact_mut(window).zip(db).enumerate() {
            let o = index * band + i;
            if rows {
                on_cpu!(avx2, channel_weight_grad(s, x, dy, o, dw_o, db_o, space));
                continue;
            }
            for b in 0..batch {
                let dy_o = &dy[(b * s.c_out + o) * plane_out..][..plane_out];
                let x_c = &x[(b * s.c_in + o / multiplier) * plane_in..][..plane_in];
                *db_o += dy_o.iter().sum::<f32>();
                on_cpu!(avx2, add_weight_grad(s, x_c, dy_o, dw_o));
            }
        }
    });
    // The input gradient, by bands of input planes: plane `(b, c)` gathers its `m` outputs'.
    let Some(dx) = dx else { return };
    let planes = batch * s.c_in;
    let band = threads::lanes_per_band(planes, dy.len() * window, 1).max(planes.div_ceil(spaces));
    let mut parts_space = workspace.chunks_mut(part.max(1));
    let parts = dx
        .chunks_mut(band * plane_in)
        .map(|dx| (dx, parts_space.next().unwrap_or_default()));
    threads::for_each(parts, |index, (dx, space)| {
        space.fill(0.0);
        for (i, dx_c) in dx.chunks_exact_mut(plane_in).enumerate() {
            let plane = index * band + i;
            let (b, c) = (plane / s.c_in, plane % s.c_in);
            let outputs = c * multiplier..(c + 1) * multiplier;
            let dy_c = &dy[(b * s.c_out + outputs.start) * plane_out..][..multiplier * plane_out];
            let w_c = &weight[outputs.start * window..][..multiplier * window];
            if part == 0 {
                dx_c.fill(0.0);
                for (dy_o, w_o) in dy_c.chunks_exact(plane_out).zip(w_c.chunks_exact(window)) {
                    on_cpu!(avx2, add_input_grad(s, w_o, dy_o, dx_c));
                }
            } else {
                on_cpu!(avx2, input_grad_padded(s, w_c, dy_c, dx_c, space));
            }
        }
    });
}

/// `sums[o] += Σ rows[o]` for the rows of `len` values in `rows` (a convolution's bias
/// gradient for one sample), each row's sum in [`BLOCK`] partial sums: a sum in order would be
/// one chain of dependent adds as long as the row.
pub(super) fn add_row_sums(rows: &[f32], len: usize, sums: &mut [f32]) {
    on_cpu!(has_avx2(), row_sums(rows, len, sums));
}

/// [`add_row_sums`]' body.
#[inline(always)]
fn row_sums(rows: &[f32], len: usize, sums: &mut [f32]) {
    for (sum, row) in sums.iter_mut().zip(rows.chunks_exact(len.max(1))) {
        *sum += lane_sum(row);
    }
}

/// Whether this CPU runs the AVX2 build of the loops.
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return supports(InstructionSet::Avx2);
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Calls a plane kernel: its AVX2 build (from [`avx2`]) when `avx2`, which [`has_avx2`]
/// gave, else the portable one.
macro_rules! on_cpu {
    ($avx2:expr, $kernel:ident($($arg:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        if $avx2 {
            // SAFETY: `$avx2` comes from `has_avx2`, which asked the CPU for AVX2 and FMA.
            unsafe { avx2::$kernel($($arg),*) }
        } else {
            portable::$kernel($($arg),*)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = $avx2;
            portable::$kernel($($arg),*)
        }
    }};
}
use on_cpu;

/// The plane kernels in plain Rust (and [`Portable`] registers), for every CPU.
mod portable {
    use super::{ConvShape, Portable};
    pub(super) use super::{
        add_input_grad, add_weight_grad, forward_padded, forward_plane, input_grad_padded, row_sums,
    };

    #[cfg_attr(
        all(target_arch = "arm", target_os = "none", target_abi = "eabihf"),
        allow(dead_code, reason = "the host's kernel")
    )]
    #[inline(always)]
    pub(super) fn forward_rows(
        s: &ConvShape,
        x_c: &[f32],
        w_o: &[f32],
        bias: f32,
        y_o: &mut [f32],
        space: &mut [f32],
    ) {
        super::forward_rows::<Portable>(s, x_c, w_o, bias, y_o, space)
    }

    #[inline(always)]
    pub(super) fn channel_weight_grad(
        s: &ConvShape,
        x: &[f32],
        dy: &[f32],
        o: usize,
        dw_o: &mut [f32],
        db_o: &mut f32,
        space: &mut [f32],
    ) {
        super::channel_weight_grad::<Portable>(s, x, dy, o, dw_o, db_o, space)
    }
}

/// The plane kernels compiled with AVX2 and FMA enabled (the bodies are inlined here, so that
/// their loops vectorize in 8 lanes).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::ConvShape;
    use crate::linalg::x86::Avx2;

    macro_rules! avx2_builds {
        ($($kernel:ident $(::<$simd:ty>)? ($($arg:ident: $ty:ty),*);)*) => {$(
            #[target_feature(enable = "avx2,fma")]
            pub(super) fn $kernel($($arg: $ty),*) {
                super::$kernel $(::<$simd>)? ($($arg),*)
            }
        )*};
    }

    avx2_builds! {
        forward_plane(s: &ConvShape, x_c: &[f32], w_o: &[f32], bias: f32, y_o: &mut [f32]);
        forward_padded(s: &ConvShape, x_c: &[f32], w_o: &[f32], bias: f32, y_o: &mut [f32], space: &mut [f32]);
        add_weight_grad(s: &ConvShape, x_c: &[f32], dy_o: &[f32], dw_o: &mut [f32]);
        forward_rows::<Avx2>(s: &ConvShape, x_c: &[f32], w_o: &[f32], bias: f32, y_o: &mut [f32], space: &mut [f32]);
        channel_weight_grad::<Avx2>(s: &ConvShape, x: &[f32], dy: &[f32], o: usize, dw_o: &mut [f32], db_o: &mut f32, space: &mut [f32]);
        add_input_grad(s: &ConvShape, w_o: &[f32], dy_o: &[f32], dx_c: &mut [f32]);
        row_sums(rows: &[f32], len: usize, sums: &mut [f32]);
        input_grad_padded(s: &ConvShape, w_c: &[f32], dy_c: &[f32], dx_c: &mut [f32], space: &mut [f32]);
    }
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
                    for (j, (&g, &v)) in grads.iter().zip(&src[..t.len]).enumerate() {
                        sums[j % LANES] += g * v;
                    }
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

/// `Σ v`, in [`BLOCK`] partial sums added in order at the end.
#[inline(always)]
fn lane_sum(v: &[f32]) -> f32 {
    let mut sums = [0.0f32; BLOCK];
    let mut chunks = v.chunks_exact(BLOCK);
    for chunk in &mut chunks {
        for (sum, &x) in sums.iter_mut().zip(chunk) {
            *sum += x;
        }
    }
    for (sum, &x) in sums.iter_mut().zip(chunks.remainder()) {
        *sum += x;
    }
    halves(sums)
}

/// The sum of `N` partial sums (`N` a power of two), the upper half added onto the lower
/// until one is left: a few register adds, where a sum in order would be `N` dependent ones.
#[inline(always)]
fn halves<const N: usize>(mut sums: [f32; N]) -> f32 {
    let mut n = N;
    while n > 1 {
        n /= 2;
        for j in 0..n {
            sums[j] += sums[j + n];
        }
    }
    sums[0]
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

/// Copies `rows` runs of `len` from `src` (`src_stride` apart) into `dst` (`dst_stride`
/// apart), and zeros between the runs and for a register after the last. The runs go in whole
/// registers ([`Mover::copy_rows`]: a `memcpy` call, or a masked store, per run of a few
/// values would cost more than the copy), and the zeros after them, over what they spilled,
/// column by column.
#[inline(always)]
fn copy_between_zeros(
    mover: Mover,
    dst: &mut [f32],
    dst_stride: usize,
    src: &[f32],
    src_stride: usize,
    rows: usize,
    len: usize,
) {
    if rows == 0 {
        return;
    }
    mover.copy_rows(dst, dst_stride, src, src_stride, rows, len);
    for column in len..dst_stride {
        for row in 0..rows - 1 {
            dst[row * dst_stride + column] = 0.0;
        }
    }
    let end = (rows - 1) * dst_stride + len;
    let after = dst.len().min(end + LANES);
    dst[end..after].fill(0.0);
}

/// Copies plane `src` (`h × w`) into the middle of `padded` (its rows `padded_w` apart): the
/// padding around it is zero, as the caller left it for the first plane of its band.
#[inline(always)]
fn pad_plane(s: &ConvShape, mover: Mover, src: &[f32], padded: &mut [f32]) {
    let (h, w) = (&s.height, &s.width);
    let (_, padded_w) = padded_size(s);
    let first = h.pad_before * padded_w + w.pad_before;
    copy_between_zeros(
        mover,
        &mut padded[first..],
        padded_w,
        src,
        w.size,
        h.size,
        w.size,
    );
}

/// The padded-width offset where tap `(kh, kw)` of output 0 reads.
#[inline(always)]
fn tap_offset(s: &ConvShape, kh: usize, kw: usize) -> usize {
    let (_, padded_w) = padded_size(s);
    kh * s.height.dilation * padded_w + kw * s.width.dilation
}

/// Outputs summed at once by [`forward_padded`]: four registers on the host, so that four
/// chains of adds overlap; eight values on a Cortex-M FPU, whose 32 registers would not hold
/// 32 sums beside the operands.
const BLOCK: usize = if DEVICE { LANES } else { 4 * LANES };

/// `out[i] = bias + Σ_taps w_o[tap] · padded[offset(tap) + i]` for the `N` outputs from
/// `start`, every tap summed in registers before the store.
#[inline(always)]
fn tap_sums<const N: usize>(
    s: &ConvShape,
    padded: &[f32],
    w_o: &[f32],
    bias: f32,
    out: &mut [f32],
    start: usize,
) {
    let kw_n = s.width.kernel;
    let mut sums = [bias; N];
    for kh in 0..s.height.kernel {
        for kw in 0..kw_n {
            let wv = w_o[kh * kw_n + kw];
            let src: &[f32; N] = padded[tap_offset(s, kh, kw) + start..][..N]
                .try_into()
                .unwrap_or(&[0.0; N]);
            for (sum, &v) in sums.iter_mut().zip(src) {
                *sum += wv * v;
            }
        }
    }
    out[start..][..N].copy_from_slice(&sums);
}

/// [`forward_plane`] through a [`RowLayout`] in `space` (zero in the gaps and the masks
/// written, as the caller left it): each output is `bias + Σ_kw mask_kw · Σ_kh w · input`,
/// a register of `S` at a time, written straight into `y_o` when its rows are the layout's.
/// The sums are fused where `S` has it, so the portable build and the AVX2 one agree to
/// rounding. A NaN or infinity in the input can reach the output beside its own through a
/// masked tap (`0 · ∞`); it is in its own outputs already.
///
/// Only called where the CPU supports `S` (the plane kernels run from [`on_cpu!`]).
#[cfg_attr(
    all(target_arch = "arm", target_os = "none", target_abi = "eabihf"),
    allow(
        dead_code,
        reason = "the host's kernels; a Cortex-M runs the padded plane"
    )
)]
#[inline(always)]
fn forward_rows<S: Simd>(
    s: &ConvShape,
    x_c: &[f32],
    w_o: &[f32],
    bias: f32,
    y_o: &mut [f32],
    space: &mut [f32],
) {
    let lay = RowLayout::of(s);
    let (plane, rest) = space.split_at_mut(lay.plane);
    let (buffer, masks) = rest.split_at_mut(lay.run);
    lay.copy_plane(s, x_c, plane);
    let direct = lay.width == s.width.out;
    let out = if direct {
        &mut *y_o
    } else {
        &mut buffer[..lay.outputs]
    };
    let rows = RowSums {
        plane,
        masks: &masks[..lay.columns * lay.run],
        run: lay.run,
        weight: w_o,
        bias,
    };
    match (s.height.kernel, s.width.kernel) {
        (3, 3) => rows.write::<S, 3, 3>(&lay, s, out),
        (1, 3) => rows.write::<S, 1, 3>(&lay, s, out),
        (3, 1) => rows.write::<S, 3, 1>(&lay, s, out),
        _ => rows.write_any::<S>(&lay, s, out),
    }
    if !direct {
        let ow = s.width.out;
        for (r, row) in y_o.chunks_exact_mut(ow).enumerate() {
            row.copy_from_slice(&buffer[r * lay.width..][..ow]);
        }
    }
}

/// One plane's operands of [`forward_rows`].
#[cfg_attr(
    all(target_arch = "arm", target_os = "none", target_abi = "eabihf"),
    allow(
        dead_code,
        reason = "the host's kernels; a Cortex-M runs the padded plane"
    )
)]
struct RowSums<'a> {
    plane: &'a [f32],
    masks: &'a [f32],
    run: usize,
    weight: &'a [f32],
    bias: f32,
}

#[cfg_attr(
    all(target_arch = "arm", target_os = "none", target_abi = "eabihf"),
    allow(
        dead_code,
        reason = "the host's kernels; a Cortex-M runs the padded plane"
    )
)]
impl RowSums<'_> {
    /// The outputs `out` of a `KH × KW` kernel, its weights in registers.
    ///
    /// # Panics
    /// When a tap reads past the plane or the masks.
    #[inline(always)]
    fn write<S: Simd, const KH: usize, const KW: usize>(
        &self,
        lay: &RowLayout,
        s: &ConvShape,
        out: &mut [f32],
    ) {
        const {
            assert!(
                LANES.is_multiple_of(S::LANES),
                "the layout's runs are whole registers"
            )
        };
        let offsets: [[usize; KW]; KH] =
            core::array::from_fn(|kh| core::array::from_fn(|kw| lay.offset(s, kh, kw)));
        let (len, lanes, run) = (out.len(), S::LANES, self.run);
        let reach = len.div_ceil(lanes) * lanes;
        assert!(reach <= run && KW * run <= self.masks.len() && self.weight.len() == KH * KW);
        assert!(
            offsets
                .iter()
                .flatten()
                .all(|&at| at + reach <= self.plane.len()),
            "a tap's run lies outside the plane"
        );
        let (pp, pm, po) = (self.plane.as_ptr(), self.masks.as_ptr(), out.as_mut_ptr());
        // SAFETY: the CPU supports `S` (the caller's, through `forward_rows`). Loads of the
        // plane and the masks read whole registers below `reach`, inside them by the asserts;
        // stores write `i..i + lanes` inside `out`, or its last `len − i` values.
        unsafe {
            let weights: [[S::V; KW]; KH] = core::array::from_fn(|kh| {
                core::array::from_fn(|kw| S::splat(self.weight[kh * KW + kw]))
            });
            let bias = S::splat(self.bias);
            let mut i = 0;
            while i < len {
                let mut sum = bias;
                for kw in 0..KW {
                    let mut column = S::zero();
                    for kh in 0..KH {
                        let v = S::load(pp.add(offsets[kh][kw] + i));
                        column = S::mul_add(weights[kh][kw], v, column);
                    }
                    sum = S::mul_add(S::load(pm.add(kw * run + i)), column, sum);
                }
                if i + lanes <= len {
                    S::store(po.add(i), sum);
                } else {
                    S::store_first(po.add(i), sum, len - i);
                }
                i += lanes;
            }
        }
    }

    /// [`Self::write`] for any kernel, its sizes read at run time.
    ///
    /// # Panics
    /// As [`Self::write`].
    #[inline(always)]
    fn write_any<S: Simd>(&self, lay: &RowLayout, s: &ConvShape, out: &mut [f32]) {
        const {
            assert!(
                LANES.is_multiple_of(S::LANES),
                "the layout's runs are whole registers"
            )
        };
        let (kh_n, kw_n) = (s.height.kernel, s.width.kernel);
        let (len, lanes, run) = (out.len(), S::LANES, self.run);
        let reach = len.div_ceil(lanes) * lanes;
        assert!(reach <= run && kw_n * run <= self.masks.len());
        assert_eq!(self.weight.len(), kh_n * kw_n);
        assert!(
            lay.offset(s, kh_n.saturating_sub(1), kw_n.saturating_sub(1)) + reach
                <= self.plane.len(),
            "a tap's run lies outside the plane"
        );
        let (pp, pm, po) = (self.plane.as_ptr(), self.masks.as_ptr(), out.as_mut_ptr());
        // SAFETY: as in `write`; the last tap's offset is the largest.
        unsafe {
            let bias = S::splat(self.bias);
            let mut i = 0;
            while i < len {
                let mut sum = bias;
                for kw in 0..kw_n {
                    let mut column = S::zero();
                    for kh in 0..kh_n {
                        let v = S::load(pp.add(lay.offset(s, kh, kw) + i));
                        let w = S::splat(self.weight[kh * kw_n + kw]);
                        column = S::mul_add(w, v, column);
                    }
                    sum = S::mul_add(S::load(pm.add(kw * run + i)), column, sum);
                }
                if i + lanes <= len {
                    S::store(po.add(i), sum);
                } else {
                    S::store_first(po.add(i), sum, len - i);
                }
                i += lanes;
            }
        }
    }
}

/// [`forward_plane`] through a padded copy of the plane: the outputs are one run of
/// [`run_len`] values, taken [`BLOCK`] at a time. The same sums in the same order (bias, then
/// the taps), the padding read as the zeros it is.
#[inline(always)]
fn forward_padded(
    s: &ConvShape,
    x_c: &[f32],
    w_o: &[f32],
    bias: f32,
    y_o: &mut [f32],
    space: &mut [f32],
) {
    let mover = Mover::here();
    let (_, padded_w) = padded_size(s);
    let (padded, out) = space.split_at_mut(plane_len(s));
    let len = run_len(s);
    let out = &mut out[..len];
    pad_plane(s, mover, x_c, padded);
    let blocks = len - len % BLOCK;
    for start in (0..blocks).step_by(BLOCK) {
        tap_sums::<BLOCK>(s, padded, w_o, bias, out, start);
    }
    for start in (blocks..len).step_by(LANES) {
        tap_sums::<LANES>(s, padded, w_o, bias, out, start);
    }
    let (oh, ow) = (s.height.out, s.width.out);
    mover.copy_rows(y_o, ow, out, padded_w, oh, ow);
}

/// Lays `dy_o` out `padded width` apart in `dy_p`, zeros between the rows and after them.
#[inline(always)]
fn spread_rows(s: &ConvShape, mover: Mover, dy_o: &[f32], dy_p: &mut [f32]) {
    let (_, padded_w) = padded_size(s);
    let (oh, ow) = (s.height.out, s.width.out);
    copy_between_zeros(mover, dy_p, padded_w, dy_o, ow, oh, ow);
}

/// The weight and bias gradients of output channel `o` (`dw_o`, `db_o`), summed over the
/// whole batch, at stride 1, through a [`RowLayout`] in `space` (zero where the layout has
/// gaps and the masks written, as the caller left it): each tap's sum, and the bias's, is one register of `S` kept
/// across the samples and added up once at the end. A 3 × 3 kernel (and a 1 × 3 or 3 × 1 one)
/// sums all its taps at once, each register of the output gradient loaded once for them all.
///
/// Only called where the CPU supports `S` (the plane kernels run from [`on_cpu!`]).
#[inline(always)]
#[allow(
    clippy::too_many_arguments,
    reason = "the batch, the channel and its gradients"
)]
fn channel_weight_grad<S: Simd>(
    s: &ConvShape,
    x: &[f32],
    dy: &[f32],
    o: usize,
    dw_o: &mut [f32],
    db_o: &mut f32,
    space: &mut [f32],
) {
    let lay = RowLayout::of(s);
    let (h, w) = (&s.height, &s.width);
    let (plane, rest) = space.split_at_mut(lay.plane);
    let (dy_buffer, masks) = rest.split_at_mut(lay.run);
    let masks = &masks[..w.kernel * lay.run];
    let (plane_in, plane_out) = (s.input_len() / s.c_in, s.output_len() / s.c_out);
    let batch = x.len() / s.input_len();
    let channel = o / (s.c_out / s.c_in);
    // SAFETY (of `S::zero`): the CPU supports `S` (see above).
    let mut sums = unsafe { TapSums::<S>::new() };
    for b in 0..batch {
        let x_c = &x[(b * s.c_in + channel) * plane_in..][..plane_in];
        let dy_o = &dy[(b * s.c_out + o) * plane_out..][..plane_out];
        lay.copy_plane(s, x_c, plane);
        let dy_rows: &[f32] = if lay.width == w.out {
            dy_o
        } else {
            for (r, row) in dy_o.chunks_exact(w.out).enumerate() {
                dy_buffer[r * lay.width..][..w.out].copy_from_slice(row);
            }
            &dy_buffer[..lay.outputs]
        };
        let rows = RowInputs {
            dy: dy_rows,
            plane,
            masks,
            run: lay.run,
        };
        match (h.kernel, w.kernel) {
            (3, 3) => sums.add::<9, 3>(
                &rows,
                core::array::from_fn(|t| lay.offset(s, t / 3, t % 3)),
                0,
            ),
            (1, 3) => sums.add::<3, 3>(&rows, core::array::from_fn(|t| lay.offset(s, 0, t)), 0),
            (3, 1) => sums.add::<3, 1>(&rows, core::array::from_fn(|t| lay.offset(s, t, 0)), 0),
            _ => {
                // A tap at a time, each with its column's mask.
                for kh in 0..h.kernel {
                    for kw in 0..w.kernel {
                        let column = RowInputs {
                            masks: &masks[kw * lay.run..],
                            ..rows
                        };
                        let tap = kh * w.kernel + kw;
                        sums.add::<1, 1>(&column, [lay.offset(s, kh, kw)], tap);
                    }
                }
            }
        }
    }
    // SAFETY (of `S::sum`): as above.
    unsafe {
        for (dw, &sum) in dw_o.iter_mut().zip(&sums.taps[..h.kernel * w.kernel]) {
            *dw += S::sum(sum);
        }
        *db_o += S::sum(sums.bias);
    }
}

/// One sample's operands of [`TapSums::add`]: its output gradient laid out by a
/// [`RowLayout`] (`dy`, up to the last output), the input plane, and the column masks (`run`
/// values each).
#[derive(Clone, Copy)]
struct RowInputs<'a> {
    dy: &'a [f32],
    plane: &'a [f32],
    masks: &'a [f32],
    run: usize,
}

/// Running sums of [`channel_weight_grad`]: a register of `S` per tap (up to 9 at once, the
/// largest kernel summed in one pass), and one for the bias.
struct TapSums<S: Simd> {
    taps: [S::V; MAX_TAPS],
    bias: S::V,
}

/// Taps with a running sum of their own in [`TapSums`]: 25, for a 5 × 5 kernel taken a tap at
/// a time; a 3 × 3 kernel's nine are summed at once.
const MAX_TAPS: usize = 25;

impl<S: Simd> TapSums<S> {
    /// # Safety
    /// The CPU supports `S`.
    #[inline(always)]
    unsafe fn new() -> Self {
        // SAFETY: the caller's.
        let zero = unsafe { S::zero() };
        Self {
            taps: [zero; MAX_TAPS],
            bias: zero,
        }
    }

    /// Adds `Σ_i dy[i] · mask_kw[i] · plane[offsets[t] + i]` onto tap `first + t`'s sum, for
    /// each of the `N` taps `t` of a kernel `KW` wide (tap `t` in column `t % KW`), and, when
    /// `first == 0`, `Σ dy` onto the bias's.
    ///
    /// # Panics
    /// When the taps read past `plane` or the masks, or the taps past [`MAX_TAPS`].
    #[inline(always)]
    fn add<const N: usize, const KW: usize>(
        &mut self,
        rows: &RowInputs<'_>,
        offsets: [usize; N],
        first: usize,
    ) {
        const {
            assert!(
                LANES.is_multiple_of(S::LANES),
                "the layout's runs are whole registers"
            )
        };
        let (len, lanes, run) = (rows.dy.len(), S::LANES, rows.run);
        let reach = len.div_ceil(lanes) * lanes;
        assert!(reach <= run && KW * run <= rows.masks.len() && first + N <= MAX_TAPS);
        assert!(
            offsets.iter().all(|&at| at + reach <= rows.plane.len()),
            "a tap's run lies outside the plane"
        );
        let (pd, pp, pm) = (rows.dy.as_ptr(), rows.plane.as_ptr(), rows.masks.as_ptr());
        let taps = &mut self.taps[first..first + N];
        // SAFETY: the CPU supports `S` (the caller's, through `channel_weight_grad`). Loads of
        // `dy` read `i..i + lanes` inside it, or its last `len − i` values; those of the masks
        // and the plane read whole registers below `reach`, inside them by the asserts.
        unsafe {
            let one = S::splat(1.0);
            let mut i = 0;
            while i < len {
                let d = if i + lanes <= len {
                    S::load(pd.add(i))
                } else {
                    S::load_first(pd.add(i), len - i)
                };
                if first == 0 {
                    self.bias = S::mul_add(d, one, self.bias);
                }
                let masked: [S::V; KW] =
                    core::array::from_fn(|kw| S::mul(d, S::load(pm.add(kw * run + i))));
                for (t, (sum, &at)) in taps.iter_mut().zip(&offsets).enumerate() {
                    *sum = S::mul_add(masked[t % KW], S::load(pp.add(at + i)), *sum);
                }
                i += lanes;
            }
        }
    }
}

/// The input gradient of plane `dx_c` from its outputs' gradients `dy_c` and weights `w_c`
/// (one plane and one kernel per output of its group), through a padded plane.
#[inline(always)]
fn input_grad_padded(
    s: &ConvShape,
    w_c: &[f32],
    dy_c: &[f32],
    dx_c: &mut [f32],
    space: &mut [f32],
) {
    let (_, padded_w) = padded_size(s);
    let (_, rest) = space.split_at_mut(plane_len(s));
    let (dx_p, dy_p) = rest.split_at_mut(plane_len(s));
    let dy_p = &mut dy_p[..run_len(s)];
    let (plane_out, window) = (s.output_len() / s.c_out, s.height.kernel * s.width.kernel);
    let mover = Mover::here();
    dx_p.fill(0.0);
    for (dy_o, w_o) in dy_c.chunks_exact(plane_out).zip(w_c.chunks_exact(window)) {
        spread_rows(s, mover, dy_o, dy_p);
        for kh in 0..s.height.kernel {
            for kw in 0..s.width.kernel {
                let wv = w_o[kh * s.width.kernel + kw];
                let dst = &mut dx_p[tap_offset(s, kh, kw)..][..dy_p.len()];
                for (d, &g) in dst.iter_mut().zip(dy_p.iter()) {
                    *d += wv * g;
                }
            }
        }
    }
    let (h, w) = (&s.height, &s.width);
    let interior = &dx_p[h.pad_before * padded_w + w.pad_before..];
    mover.copy_rows(dx_c, w.size, interior, padded_w, h.size, w.size);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    use crate::linalg::conv::{ConvAxis, groups};

    /// The portable kernels (what non-x86 targets run) against this CPU's: the strided forward
    /// and the input gradient have the same bits (plain multiplies and adds, in the same
    /// order); the stride-1 forward's and the weight gradient's sums are fused where the CPU
    /// has FMA, so those agree to rounding. Stride 1 and 2, rows as wide as the input's, and
    /// narrower and wider.
    #[test]
    fn portable_kernels_agree_with_this_cpus() {
        let mut rng = crate::init::seeded(31);
        let axis = |n, k, stride, pad| ConvAxis::general(n, k, stride, 1, pad, pad);
        for (c_out, height, width) in [
            (4, axis(25, 3, 1, 1), axis(5, 3, 1, 1)),
            (8, axis(9, 3, 2, 1), axis(8, 3, 2, 1)),
            (4, axis(1, 1, 1, 0), axis(30, 5, 1, 2)),
            (8, axis(7, 3, 1, 0), axis(6, 3, 1, 0)),
            (4, axis(5, 3, 1, 2), axis(4, 3, 1, 2)),
        ] {
            let s = ConvShape {
                c_in: 4,
                c_out,
                groups: 4,
                height,
                width,
            };
            assert!(s.is_valid() && s.is_depthwise(), "{s:?}");
            let batch = 3;
            let mut random = |len: usize| -> Vec<f32> {
                (0..len)
                    .map(|_| crate::init::uniform(&mut rng, -1.0, 1.0))
                    .collect()
            };
            let (x, w, b) = (
                random(batch * s.input_len()),
                random(s.weight_len()),
                random(c_out),
            );
            let dy = random(batch * s.output_len());
            let run = |avx2: bool| {
                let mut y = vec![f32::NAN; dy.len()];
                let mut work = vec![f32::NAN; groups(batch) * s.forward_workspace_len()];
                forward_on(avx2, &s, &x, &w, &b, &mut y, &mut work);
                let (mut dw, mut db, mut dx) =
                    (vec![0.0; w.len()], vec![0.0; c_out], vec![0.0; x.len()]);
                let mut work = vec![f32::NAN; s.backward_workspace_len(batch)];
                let grads = ConvGrads {
                    weight: &mut dw,
                    bias: &mut db,
                };
                backward_on(avx2, &s, &x, &w, &dy, grads, Some(&mut dx), &mut work);
                [y, dx, dw, db]
            };
            let ([y, dx, dw, db], [y_p, dx_p, dw_p, db_p]) = (run(has_avx2()), run(false));
            // The padded-plane forward (strides above 1) has the same bits; the row layout's
            // fused sums agree to rounding.
            if RowLayout::fits(&s) {
                for (a, b) in y.iter().zip(&y_p) {
                    assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{s:?}: {a} vs {b}");
                }
            } else {
                assert_eq!(y, y_p, "{s:?}: forward");
            }
            assert_eq!(dx, dx_p, "{s:?}: input gradient");
            for (a, b) in dw.iter().chain(&db).zip(dw_p.iter().chain(&db_p)) {
                assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{s:?}: {a} vs {b}");
            }
        }
    }
}
