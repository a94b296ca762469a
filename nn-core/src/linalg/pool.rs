//! Max and average pooling over NCHW planes, for runtime sizes ([`PoolShape`]): the kernels
//! behind [`MaxPool2d`](crate::layers::MaxPool2d), [`AvgPool2d`](crate::layers::AvgPool2d) and
//! their 1-D forms (a 1-D pooling is one of a single row).
//!
//! A batch of `B` samples of `C` channels is `B · C` independent planes, each pooled by windows
//! moved by a stride along each axis ([`ConvAxis`]), over the plane padded on either side.
//! Windows may overlap (`stride < kernel`), and input rows and columns that no window reaches
//! (the floor rule) get zero gradient. Padding is never read: max pooling pads with −∞
//! (PyTorch's rule), and average pooling divides by the whole window or by its part inside
//! the input ([`PoolShape::count_include_pad`]). Nothing here allocates.

use super::conv::ConvAxis;

/// The sizes of a pooling: one [`ConvAxis`] per axis of the planes (input and output size,
/// window, stride and padding before and after), and what an average divides by.
///
/// Valid when both axes are, neither is dilated, and no padding exceeds half its window
/// (PyTorch's rule, which keeps every window partly inside the input):
/// [`PoolShape::is_valid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolShape {
    /// The rows.
    pub height: ConvAxis,
    /// The columns.
    pub width: ConvAxis,
    /// Average pooling only: whether a window's padding counts in its divisor (PyTorch's
    /// `count_include_pad`, true by default there), or only its part inside the input
    /// (TensorFlow's rule for `padding='same'`).
    pub count_include_pad: bool,
}

impl PoolShape {
    /// `k × k` windows moved by `stride` over `h × w` planes padded by `pad` on every side,
    /// the output by the floor rule, padding counted in averages: PyTorch's
    /// `MaxPool2d(k, stride, pad)` and `AvgPool2d(k, stride, pad)`.
    pub const fn square(h: usize, w: usize, k: usize, stride: usize, pad: usize) -> Self {
        Self {
            height: ConvAxis::new(h, k, stride, pad),
            width: ConvAxis::new(w, k, stride, pad),
            count_include_pad: true,
        }
    }

    /// Whether the sizes agree with each other (see the type docs).
    pub const fn is_valid(&self) -> bool {
        const fn fits(axis: &ConvAxis) -> bool {
            axis.is_valid()
                && axis.dilation == 1
                && axis.pad_before <= axis.kernel / 2
                && axis.pad_after <= axis.kernel / 2
        }
        fits(&self.height) && fits(&self.width)
    }

    /// Values per input plane.
    const fn plane_in(&self) -> usize {
        self.height.size * self.width.size
    }

    /// Values per output plane.
    const fn plane_out(&self) -> usize {
        self.height.out * self.width.out
    }

    /// 2 × 2 windows at stride 2 without padding: the common case, with its own paths.
    const fn is_2x2(&self) -> bool {
        const fn halves(axis: &ConvAxis) -> bool {
            axis.kernel == 2 && axis.stride == 2 && axis.pad_before == 0 && axis.pad_after == 0
        }
        halves(&self.height) && halves(&self.width)
    }

    /// The input rows `first..first + n` of output row `o_h` (clipped to the plane), as
    /// `(first, n)`; likewise [`columns`](Self::columns).
    pub(crate) fn rows(&self, o_h: usize) -> (usize, usize) {
        let (lo, hi, first) = self.height.window_taps(o_h);
        (first, hi - lo)
    }

    /// The input columns of output column `o_w`, as [`rows`](Self::rows).
    pub(crate) fn columns(&self, o_w: usize) -> (usize, usize) {
        let (lo, hi, first) = self.width.window_taps(o_w);
        (first, hi - lo)
    }

    /// `1 / n` for a window with `inside` of its values inside the input.
    fn mean_scale(&self, inside: usize) -> f32 {
        let n = if self.count_include_pad {
            self.height.kernel * self.width.kernel
        } else {
            inside
        };
        1.0 / n as f32
    }

    /// The number of planes in `x` and `y`, checking their lengths.
    fn planes(&self, x: usize, y: usize) -> usize {
        assert!(self.is_valid(), "inconsistent pooling sizes: {self:?}");
        let (plane_in, plane_out) = (self.plane_in(), self.plane_out());
        assert_eq!(x % plane_in, 0, "the input is not whole planes");
        let planes = x / plane_in;
        assert_eq!(
            y,
            planes * plane_out,
            "the output does not match the input's planes"
        );
        planes
    }
}

/// The index into a plane of the first maximal element of the window at output `(o_h, o_w)`
/// (its part inside the plane), in row-major order (PyTorch's tie rule; a NaN counts as
/// maximal).
#[inline(always)]
fn window_argmax(s: &PoolShape, plane: &[f32], o_h: usize, o_w: usize) -> usize {
    let (top, rows) = s.rows(o_h);
    let (left, columns) = s.columns(o_w);
    let w = s.width.size;
    let mut best = top * w + left;
    let mut max = plane[best];
    for r in 0..rows {
        let row = (top + r) * w + left;
        for (i, &v) in plane[row..row + columns].iter().enumerate() {
            if v > max || (v.is_nan() && !max.is_nan()) {
                (max, best) = (v, row + i);
            }
        }
    }
    best
}

/// The larger of `a` and `b`, a NaN in either winning: the value [`window_argmax`] picks when
/// `b` comes after `a`.
#[inline(always)]
fn later_max(a: f32, b: f32) -> f32 {
    if b > a || b.is_nan() { b } else { a }
}

/// `y` = the maximum of each window of `x` (`B · C` planes).
///
/// # Panics
/// When `shape` is not [valid](PoolShape::is_valid) or the lengths are not whole planes.
///
/// ```
/// use nn_core::linalg::pool::{PoolShape, max_pool_forward};
/// let shape = PoolShape::square(2, 4, 2, 2, 0);
/// let mut y = [0.0; 2];
/// max_pool_forward(&shape, &[1.0, 5.0, 2.0, 0.0, 3.0, 4.0, -1.0, 1.5], &mut y);
/// assert_eq!(y, [5.0, 2.0]);
/// ```
pub fn max_pool_forward(shape: &PoolShape, x: &[f32], y: &mut [f32]) {
    let s = shape;
    let per = planes_per_band(s.planes(x.len(), y.len()), x.len());
    let bands = x
        .chunks((per * s.plane_in()).max(1))
        .zip(y.chunks_mut((per * s.plane_out()).max(1)));
    super::threads::for_each(bands, |_, (x, y)| max_pool_forward_here(s, x, y));
}

/// Planes per band of a pooling split across threads (each plane is pooled alone, so any cut
/// gives the same bits): all of them when the input is small.
fn planes_per_band(planes: usize, values: usize) -> usize {
    super::threads::lanes_per_band(planes, values, 1)
}

/// [`max_pool_forward`] on the calling thread.
fn max_pool_forward_here(s: &PoolShape, x: &[f32], y: &mut [f32]) {
    let planes = x
        .chunks_exact(s.plane_in())
        .zip(y.chunks_exact_mut(s.plane_out()));
    for (x_p, y_p) in planes {
        if s.is_2x2() {
            // The common case, as straight-line maxima of two rows.
            let (w, ow) = (s.width.size, s.width.out);
            for (o_h, y_row) in y_p.chunks_exact_mut(ow).enumerate() {
                let top = &x_p[2 * o_h * w..][..2 * ow];
                let bottom = &x_p[(2 * o_h + 1) * w..][..2 * ow];
                let pairs = top.chunks_exact(2).zip(bottom.chunks_exact(2));
                for (out, (t, b)) in y_row.iter_mut().zip(pairs) {
                    *out = later_max(later_max(later_max(t[0], t[1]), b[0]), b[1]);
                }
            }
            continue;
        }
        for (o_h, y_row) in y_p.chunks_exact_mut(s.width.out).enumerate() {
            for (o_w, out) in y_row.iter_mut().enumerate() {
                *out = x_p[window_argmax(s, x_p, o_h, o_w)];
            }
        }
    }
}

/// The backward pass of [`max_pool_forward`]: overwrites `dx` with each window's gradient
/// routed to its first maximal element (summed where windows overlap), found again from `x`
/// and the forward's output `y`, which must be `max_pool_forward`'s for this `x`.
///
/// # Panics
/// When `shape` is not valid or the lengths disagree.
pub fn max_pool_backward(shape: &PoolShape, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let s = shape;
    let per = planes_per_band(s.planes(x.len(), dy.len()), x.len());
    assert_eq!(dx.len(), x.len(), "dx is not x's length");
    assert_eq!(y.len(), dy.len(), "y is not dy's length");
    let (plane_in, plane_out) = ((per * s.plane_in()).max(1), (per * s.plane_out()).max(1));
    let bands = x
        .chunks(plane_in)
        .zip(y.chunks(plane_out))
        .zip(dy.chunks(plane_out))
        .zip(dx.chunks_mut(plane_in));
    super::threads::for_each(bands, |_, (((x, y), dy), dx)| {
        max_pool_backward_here(s, x, y, dy, dx);
    });
}

/// [`max_pool_backward`] on the calling thread, for whole planes.
fn max_pool_backward_here(s: &PoolShape, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
    // Windows of 2 × 2 at stride 2 write every element of `dx` themselves.
    if !(s.is_2x2()) {
        dx.fill(0.0);
    }
    let planes = x
        .chunks_exact(s.plane_in())
        .zip(y.chunks_exact(s.plane_out()))
        .zip(dy.chunks_exact(s.plane_out()))
        .zip(dx.chunks_exact_mut(s.plane_in()));
    for (((x_p, y_p), dy_p), dx_p) in planes {
        if s.is_2x2() {
            // The common case, windows of two pairs that do not overlap.
            let (w, oh, ow) = (s.width.size, s.height.out, s.width.out);
            let pairs = 2 * ow;
            for (o_h, dy_row) in dy_p.chunks_exact(ow).enumerate() {
                let top = &x_p[2 * o_h * w..][..pairs];
                let bottom = &x_p[(2 * o_h + 1) * w..][..pairs];
                let (dx_top, dx_bottom) = dx_p[2 * o_h * w..][..2 * w].split_at_mut(w);
                // An odd width leaves a column no window reads.
                dx_top[pairs..].fill(0.0);
                dx_bottom[pairs..].fill(0.0);
                let maxima = &y_p[o_h * ow..][..ow];
                // Whole groups of windows in registers where the CPU can, the rest below.
                let done = windows_2x2_in_registers(top, bottom, maxima, dy_row, dx_top, dx_bottom);
                let (top, bottom) = (&top[2 * done..], &bottom[2 * done..]);
                let inputs = top.chunks_exact(2).zip(bottom.chunks_exact(2));
                let grads = dx_top[2 * done..pairs]
                    .chunks_exact_mut(2)
                    .zip(dx_bottom[2 * done..pairs].chunks_exact_mut(2));
                let (maxima_left, dy_left) = (&maxima[done..], &dy_row[done..]);
                let windows = dy_left.iter().zip(maxima_left).zip(inputs).zip(grads);
                for (((&g, &max), (t, b)), (dt, db)) in windows {
                    // The first element equal to the window's maximum, without branches (ties
                    // are common after a ReLU), so that the loop vectorizes.
                    let (m0, m1, m2, m3) = (t[0] == max, t[1] == max, b[0] == max, b[1] == max);
                    let pick = |first: bool| if first { g } else { 0.0 };
                    dt[0] = pick(m0);
                    dt[1] = pick(m1 & !m0);
                    db[0] = pick(m2 & !(m0 | m1));
                    db[1] = pick(m3 & !(m0 | m1 | m2));
                }
                // A NaN maximum equals nothing: route those windows' gradients to their first
                // NaN, as the general path does.
                if maxima.iter().any(|m| m.is_nan()) {
                    for (o_w, &g) in dy_row.iter().enumerate() {
                        let best = window_argmax(s, x_p, o_h, o_w);
                        if x_p[best].is_nan() {
                            let at = best - 2 * o_h * w;
                            let (row, col) = (at / w, at % w);
                            // The loop above left the whole window zero.
                            let dx_row = if row == 0 {
                                &mut *dx_top
                            } else {
                                &mut *dx_bottom
                            };
                            dx_row[col] = g;
                        }
                    }
                }
            }
            // And an odd height a row.
            dx_p[2 * oh * w..].fill(0.0);
            continue;
        }
        for (o_h, dy_row) in dy_p.chunks_exact(s.width.out).enumerate() {
            for (o_w, &g) in dy_row.iter().enumerate() {
                dx_p[window_argmax(s, x_p, o_h, o_w)] += g;
            }
        }
    }
}

/// The backward of 2 × 2 windows at stride 2 for one output row, four windows per AVX2
/// register: `top` and `bottom` are the two input rows, `maxima` and `grads` the row's outputs
/// and their gradients, and `dx_top`, `dx_bottom` the input rows' gradients (written whole).
/// Each gradient goes to the first element equal to its window's maximum; a NaN maximum
/// equals nothing and leaves its window zero (the caller routes it). Returns how many windows
/// it did, from the start: none without AVX2.
fn windows_2x2_in_registers(
    top: &[f32],
    bottom: &[f32],
    maxima: &[f32],
    grads: &[f32],
    dx_top: &mut [f32],
    dx_bottom: &mut [f32],
) -> usize {
    #[cfg(target_arch = "x86_64")]
    if super::supports(super::InstructionSet::Avx2) {
        // SAFETY: `supports` just confirmed AVX2 on this CPU, all the function needs.
        return unsafe { windows_2x2_avx2(top, bottom, maxima, grads, dx_top, dx_bottom) };
    }
    let _ = (top, bottom, maxima, grads, dx_top, dx_bottom);
    0
}

/// [`windows_2x2_in_registers`] with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn windows_2x2_avx2(
    top: &[f32],
    bottom: &[f32],
    maxima: &[f32],
    grads: &[f32],
    dx_top: &mut [f32],
    dx_bottom: &mut [f32],
) -> usize {
    use core::arch::x86_64::*;
    let groups = maxima
        .len()
        .min(grads.len())
        .min(top.len() / 2)
        .min(bottom.len() / 2)
        .min(dx_top.len() / 2)
        .min(dx_bottom.len() / 2)
        / 4;
    // Each window's maximum and gradient twice, for its two columns.
    let pairs = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    let odd = _mm256_castsi256_ps(_mm256_setr_epi32(0, -1, 0, -1, 0, -1, 0, -1));
    for group in 0..groups {
        let (w, c) = (4 * group, 8 * group);
        // SAFETY: `groups` keeps `w + 4` within `maxima` and `grads` and `c + 8` within the
        // four rows, so every load and store below stays inside its slice.
        unsafe {
            let widen = |p: *const f32| _mm256_castps128_ps256(_mm_loadu_ps(p));
            let max = _mm256_permutevar8x32_ps(widen(maxima.as_ptr().add(w)), pairs);
            let grad = _mm256_permutevar8x32_ps(widen(grads.as_ptr().add(w)), pairs);
            let top_eq = _mm256_cmp_ps::<_CMP_EQ_OQ>(_mm256_loadu_ps(top.as_ptr().add(c)), max);
            let bottom_eq =
                _mm256_cmp_ps::<_CMP_EQ_OQ>(_mm256_loadu_ps(bottom.as_ptr().add(c)), max);
            // A right column counts only when its left neighbour does not; the bottom row
            // only when the top row has no maximum.
            let left_of = |eq: __m256| _mm256_permute_ps::<0b10_10_00_00>(eq);
            let right_of = |eq: __m256| _mm256_permute_ps::<0b11_11_01_01>(eq);
            let top_first = _mm256_andnot_ps(_mm256_and_ps(left_of(top_eq), odd), top_eq);
            let top_any = _mm256_or_ps(left_of(top_eq), right_of(top_eq));
            let bottom_blocked = _mm256_or_ps(top_any, _mm256_and_ps(left_of(bottom_eq), odd));
            let bottom_first = _mm256_andnot_ps(bottom_blocked, bottom_eq);
            _mm256_storeu_ps(dx_top.as_mut_ptr().add(c), _mm256_and_ps(top_first, grad));
            _mm256_storeu_ps(
                dx_bottom.as_mut_ptr().add(c),
                _mm256_and_ps(bottom_first, grad),
            );
        }
    }
    4 * groups
}

/// `y` = the mean of each window of `x` (`B · C` planes): of the whole window, padding
/// included, or of its part inside the input ([`PoolShape::count_include_pad`]).
///
/// # Panics
/// When `shape` is not [valid](PoolShape::is_valid) or the lengths are not whole planes.
///
/// ```
/// use nn_core::linalg::pool::{PoolShape, avg_pool_forward};
/// let shape = PoolShape::square(2, 4, 2, 2, 0);
/// let mut y = [0.0; 2];
/// avg_pool_forward(&shape, &[1.0, 5.0, 2.0, 0.0, 3.0, 3.0, -1.0, 1.0], &mut y);
/// assert_eq!(y, [3.0, 0.5]);
///
/// // One row of 3 padded by 1 on each side, windows of 3: the padding counts, or it does not.
/// let mut padded = PoolShape::square(1, 3, 1, 1, 0);
/// padded.width = nn_core::linalg::conv::ConvAxis::new(3, 3, 1, 1);
/// let mut y = [0.0; 3];
/// avg_pool_forward(&padded, &[3.0, 6.0, 9.0], &mut y);
/// assert_eq!(y, [3.0, 6.0, 5.0]);
/// padded.count_include_pad = false;
/// avg_pool_forward(&padded, &[3.0, 6.0, 9.0], &mut y);
/// assert_eq!(y, [4.5, 6.0, 7.5]);
/// ```
pub fn avg_pool_forward(shape: &PoolShape, x: &[f32], y: &mut [f32]) {
    let s = shape;
    s.planes(x.len(), y.len());
    let w = s.width.size;
    let planes = x
        .chunks_exact(s.plane_in())
        .zip(y.chunks_exact_mut(s.plane_out()));
    for (x_p, y_p) in planes {
        for (o_h, y_row) in y_p.chunks_exact_mut(s.width.out).enumerate() {
            let (top, rows) = s.rows(o_h);
            for (o_w, out) in y_row.iter_mut().enumerate() {
                let (left, columns) = s.columns(o_w);
                let mut sum = 0.0;
                for r in top..top + rows {
                    sum += x_p[r * w + left..][..columns].iter().sum::<f32>();
                }
                *out = sum * s.mean_scale(rows * columns);
            }
        }
    }
}

/// The backward pass of [`avg_pool_forward`]: overwrites `dx` with each window's gradient
/// spread evenly over its part inside the input (summed where windows overlap).
///
/// # Panics
/// When `shape` is not valid or the lengths disagree.
pub fn avg_pool_backward(shape: &PoolShape, dy: &[f32], dx: &mut [f32]) {
    let s = shape;
    s.planes(dx.len(), dy.len());
    let w = s.width.size;
    dx.fill(0.0);
    let planes = dy
        .chunks_exact(s.plane_out())
        .zip(dx.chunks_exact_mut(s.plane_in()));
    for (dy_p, dx_p) in planes {
        for (o_h, dy_row) in dy_p.chunks_exact(s.width.out).enumerate() {
            let (top, rows) = s.rows(o_h);
            for (o_w, &g) in dy_row.iter().enumerate() {
                let (left, columns) = s.columns(o_w);
                let share = g * s.mean_scale(rows * columns);
                for r in top..top + rows {
                    for d in &mut dx_p[r * w + left..][..columns] {
                        *d += share;
                    }
                }
            }
        }
    }
}

/// `y` = the mean of each `plane` values of `x`: global average pooling, `(B, C, H, W)` to
/// `(B, C)` with `plane = H · W`. The kernel of
/// [`GlobalAvgPool`](crate::layers::GlobalAvgPool) and of a baked network's `global_avg_pool`.
///
/// ```
/// use nn_core::linalg::pool::global_avg_pool_forward;
/// let mut y = [0.0; 2];
/// global_avg_pool_forward(2, &[1.0, 3.0, -1.0, 0.0], &mut y);
/// assert_eq!(y, [2.0, -0.5]);
/// ```
pub fn global_avg_pool_forward(plane: usize, x: &[f32], y: &mut [f32]) {
    let scale = 1.0 / plane as f32;
    for (out, values) in y.iter_mut().zip(x.chunks_exact(plane.max(1))) {
        *out = values.iter().sum::<f32>() * scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn shape(h: usize, w: usize, k: usize, stride: usize) -> PoolShape {
        PoolShape::square(h, w, k, stride, 0)
    }

    /// A window of `(kh, kw)` moved by `(sh, sw)` over a plane padded by `(ph, pw)` on each side.
    fn padded(
        (h, w): (usize, usize),
        (kh, kw): (usize, usize),
        (sh, sw): (usize, usize),
        (ph, pw): (usize, usize),
        count_include_pad: bool,
    ) -> PoolShape {
        PoolShape {
            height: ConvAxis::new(h, kh, sh, ph),
            width: ConvAxis::new(w, kw, sw, pw),
            count_include_pad,
        }
    }

    /// Plain loops over the padded plane, padding never the maximum: `(y, dx)` of max
    /// (`max == true`) or average pooling.
    fn naive(
        s: &PoolShape,
        planes: usize,
        x: &[f32],
        dy: &[f32],
        max: bool,
    ) -> (Vec<f32>, Vec<f32>) {
        let (ax_h, ax_w) = (&s.height, &s.width);
        let mut y = vec![0.0; planes * s.plane_out()];
        let mut dx = vec![0.0; x.len()];
        for p in 0..planes {
            for oh in 0..ax_h.out {
                for ow in 0..ax_w.out {
                    let o = (p * ax_h.out + oh) * ax_w.out + ow;
                    // The window's taps inside the plane, in row-major order.
                    let mut window = Vec::new();
                    for t in 0..ax_h.kernel * ax_w.kernel {
                        let r = (oh * ax_h.stride + t / ax_w.kernel).checked_sub(ax_h.pad_before);
                        let c = (ow * ax_w.stride + t % ax_w.kernel).checked_sub(ax_w.pad_before);
                        if let (Some(r), Some(c)) = (r, c)
                            && r < ax_h.size
                            && c < ax_w.size
                        {
                            window.push((p * ax_h.size + r) * ax_w.size + c);
                        }
                    }
                    if max {
                        let mut best = window[0];
                        for &i in &window {
                            if x[i] > x[best] {
                                best = i;
                            }
                        }
                        y[o] = x[best];
                        dx[best] += dy[o];
                    } else {
                        let n = if s.count_include_pad {
                            ax_h.kernel * ax_w.kernel
                        } else {
                            window.len()
                        };
                        y[o] = window.iter().map(|&i| x[i]).sum::<f32>() / n as f32;
                        for &i in &window {
                            dx[i] += dy[o] / n as f32;
                        }
                    }
                }
            }
        }
        (y, dx)
    }

    /// Checks both poolings of `planes` planes of `s` against [`naive`], on distinct values
    /// (so that the maximum is unique).
    fn check_against_loops(s: &PoolShape, planes: usize, rng: &mut crate::init::Rng) {
        let mut x: Vec<f32> = (0..planes * s.plane_in())
            .map(|i| i as f32 * 0.37 % 11.0 - 5.0)
            .collect();
        for v in &mut x {
            *v += crate::init::uniform(rng, -1e-3, 1e-3);
        }
        let dy: Vec<f32> = (0..planes * s.plane_out())
            .map(|_| crate::init::uniform(rng, -1.0, 1.0))
            .collect();
        for max in [true, false] {
            let (y_want, dx_want) = naive(s, planes, &x, &dy, max);
            let mut y = vec![f32::NAN; y_want.len()];
            let mut dx = vec![f32::NAN; x.len()];
            if max {
                max_pool_forward(s, &x, &mut y);
                max_pool_backward(s, &x, &y, &dy, &mut dx);
            } else {
                avg_pool_forward(s, &x, &mut y);
                avg_pool_backward(s, &dy, &mut dx);
            }
            for (i, (g, w)) in y
                .iter()
                .zip(&y_want)
                .chain(dx.iter().zip(&dx_want))
                .enumerate()
            {
                assert!(
                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                    "{s:?} max={max}: [{i}] {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn matches_nested_loops_on_many_shapes() {
        let mut rng = crate::init::seeded(5);
        // (h, w, k, stride, planes): overlapping, floor rule, k = 1, h ≠ w, one plane or many.
        let cases = [
            (24, 24, 2, 2, 6),
            (8, 8, 2, 2, 32),
            (3, 3, 3, 1, 3),
            (5, 5, 3, 2, 2),
            (7, 6, 3, 1, 2),
            (7, 7, 2, 2, 1),
            (6, 9, 1, 1, 2),
            (6, 9, 1, 3, 2),
            (9, 5, 4, 3, 3),
            (4, 4, 4, 4, 1),
        ];
        for (h, w, k, stride, planes) in cases {
            check_against_loops(&shape(h, w, k, stride), planes, &mut rng);
        }
    }

    #[test]
    fn padded_and_rectangular_windows_match_nested_loops() {
        let mut rng = crate::init::seeded(6);
        // (size, kernel, stride, padding): PyTorch's padding on both sides, rectangular
        // windows, one-row planes (the 1-D pools), windows mostly in the padding.
        let cases = [
            ((6, 6), (3, 3), (2, 2), (1, 1)),
            ((5, 7), (3, 2), (1, 2), (1, 0)),
            ((1, 9), (1, 3), (1, 2), (0, 1)),
            ((1, 8), (1, 4), (1, 1), (0, 2)),
            ((4, 4), (2, 2), (2, 2), (1, 1)),
            ((2, 3), (3, 3), (1, 1), (1, 1)),
            ((7, 5), (5, 1), (3, 1), (2, 0)),
        ];
        for (size, kernel, stride, pad) in cases {
            for include in [true, false] {
                check_against_loops(&padded(size, kernel, stride, pad, include), 3, &mut rng);
            }
        }
        // TensorFlow's `same` at stride 2 on an odd size: the odd zero after.
        let mut same = padded((5, 5), (2, 2), (2, 2), (0, 0), false);
        for axis in [&mut same.height, &mut same.width] {
            *axis = ConvAxis::general(5, 2, 2, 1, 0, 1);
        }
        assert_eq!(same.height.out, 3);
        check_against_loops(&same, 2, &mut rng);
    }

    #[test]
    fn padding_above_half_the_window_is_invalid() {
        assert!(padded((4, 4), (3, 3), (1, 1), (1, 1), true).is_valid());
        assert!(!padded((4, 4), (2, 2), (1, 1), (2, 0), true).is_valid());
        assert!(!padded((4, 4), (3, 3), (1, 1), (0, 2), true).is_valid());
        let mut dilated = shape(6, 6, 2, 1);
        dilated.width = ConvAxis::general(6, 2, 1, 2, 0, 0);
        assert!(!dilated.is_valid());
    }

    /// Max pooling pads with −∞: a window over negative values and padding takes a value.
    #[test]
    fn max_pool_never_picks_the_padding() {
        let s = padded((1, 2), (1, 3), (1, 1), (0, 1), true);
        let mut y = [0.0; 2];
        max_pool_forward(&s, &[-3.0, -2.0], &mut y);
        assert_eq!(y, [-2.0, -2.0]);
        let mut dx = [f32::NAN; 2];
        max_pool_backward(&s, &[-3.0, -2.0], &y, &[1.0, 10.0], &mut dx);
        assert_eq!(dx, [0.0, 11.0]);
    }

    /// After a ReLU most windows tie at zero; every path must pick the first of the maxima.
    #[test]
    fn ties_pick_the_first_maximum_on_every_path() {
        let mut rng = crate::init::seeded(9);
        for (h, w) in [(24, 24), (8, 18), (5, 11), (2, 2)] {
            let s = shape(h, w, 2, 2);
            let planes = 3;
            let x: Vec<f32> = (0..planes * h * w)
                .map(|_| (crate::init::uniform(&mut rng, 0.0, 3.0) as u32) as f32)
                .collect();
            let dy: Vec<f32> = (1..=planes * s.plane_out()).map(|i| i as f32).collect();
            let (y_want, dx_want) = naive(&s, planes, &x, &dy, true);
            let mut y = vec![0.0; y_want.len()];
            max_pool_forward(&s, &x, &mut y);
            assert_eq!(y, y_want);
            let mut dx = vec![f32::NAN; x.len()];
            max_pool_backward(&s, &x, &y, &dy, &mut dx);
            assert_eq!(dx, dx_want, "{s:?}");
        }
        // A NaN anywhere in a row of the register path goes to the first NaN of its window.
        let s = shape(2, 16, 2, 2);
        let mut x = vec![1.0; 32];
        (x[5], x[21], x[20]) = (f32::NAN, f32::NAN, 7.0);
        let mut y = vec![0.0; 8];
        max_pool_forward(&s, &x, &mut y);
        assert!(y[2].is_nan());
        let mut dx = vec![f32::NAN; 32];
        max_pool_backward(&s, &x, &y, &[1.0; 8], &mut dx);
        assert_eq!(dx[5], 1.0);
        assert_eq!(dx.iter().filter(|&&g| g != 0.0).count(), 8);
        assert_eq!((dx[4], dx[20], dx[21]), (0.0, 0.0, 0.0));
    }

    #[test]
    fn max_ties_go_to_the_first_element_and_nan_wins() {
        let s = shape(2, 4, 2, 2);
        let x = [1.0, 3.0, f32::NAN, 0.0, 3.0, 3.0, 9.0, 1.0];
        let mut y = [0.0; 2];
        max_pool_forward(&s, &x, &mut y);
        assert_eq!(y[0], 3.0);
        assert!(y[1].is_nan());
        let mut dx = [f32::NAN; 8];
        max_pool_backward(&s, &x, &y, &[1.0, 2.0], &mut dx);
        assert_eq!(dx, [0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        // The general path (k = 3) agrees.
        let s = shape(3, 3, 3, 1);
        let x = [0.0, 2.0, 1.0, 2.0, -1.0, 2.0, 0.0, 0.0, 0.0];
        let mut dx = [0.0; 9];
        max_pool_backward(&s, &x, &[2.0], &[1.0], &mut dx);
        assert_eq!(dx[1], 1.0);
        assert_eq!(dx.iter().sum::<f32>(), 1.0);
    }

    /// Batch-64 max pooling of LeNet's first convolution output:
    /// `cargo test --release -p nn-core -- --ignored --nocapture pool_throughput`.
    #[test]
    #[ignore = "a measurement; run in release mode"]
    fn pool_throughput() {
        extern crate std;
        let s = shape(24, 24, 2, 2);
        let x: Vec<f32> = (0..64 * 6 * 576).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut y = vec![0.0; 64 * 6 * 144];
        let mut dx = vec![0.0; x.len()];
        let mut times = [[0.0f64; 2]; 31];
        for t in &mut times {
            let start = std::time::Instant::now();
            max_pool_forward(&s, &x, &mut y);
            let mid = std::time::Instant::now();
            max_pool_backward(&s, &x, &y, &y, &mut dx);
            *t = [(mid - start).as_secs_f64(), mid.elapsed().as_secs_f64()];
        }
        let median = |i: usize| {
            let mut v: Vec<f64> = times.iter().map(|t| t[i]).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2] * 1e6
        };
        std::println!(
            "max pool 2x2 on 64x6x24x24: forward {:.1} µs, backward {:.1} µs",
            median(0),
            median(1)
        );
    }
}
