//! 2-D convolution as im2col plus [`gemm`]: the kernels behind
//! [`Conv2d`](crate::layers::Conv2d) and [`Conv1d`](crate::layers::Conv1d), written once for
//! runtime sizes ([`ConvShape`]) so that twenty conv layers share one compiled kernel.
//!
//! Each spatial axis has its own window ([`ConvAxis`]: kernel, stride, dilation, and padding
//! before and after, which differ for TensorFlow's `same` at stride 2 and for causal padding);
//! a 1-D convolution is one of height 1. Tensors are NCHW and row-major. For each sample `b`:
//! - forward: `col_b` (`C_IN·KH·KW × OH·OW`, row `(c, kh, kw)`, column `(oh, ow)`) holds the
//!   input under every kernel tap, and `y_b (C_OUT × OH·OW) = W (C_OUT × C_IN·KH·KW) · col_b +
//!   bias` lands directly in NCHW order. With `groups`, group `g`'s output channels are the
//!   product of its weight rows (`C_OUT / G × C_IN / G · KH·KW`) with its rows of `col_b`;
//! - backward: `dW += dy_b · col_bᵀ` (for a sample with fewer output positions than taps,
//!   through the transposed column matrix `colᵀ_b`, whose rows are contiguous along the
//!   product's depth, so the product takes the broadcast kernel), `db += Σ dy_b`, and
//!   `dcol = Wᵀ · dy_b`, scattered back by col2im; group by group likewise.
//!
//! A 1×1 kernel with stride 1 and no padding needs no column matrix: `col_b` is `x_b` itself.
//! A depthwise convolution (`groups == c_in`) runs on a direct kernel of its own
//! (`linalg/depthwise.rs`).
//!
//! The column matrices live in a workspace the caller allocates once
//! ([`ConvShape::forward_workspace_len`], [`ConvShape::backward_workspace_len`]): nothing here
//! allocates. A forward sets the column matrices of a few samples with small outputs side by
//! side for one wider product ([`ConvShape::samples_per_product`]). Positions that no window
//! reaches (the floor rule) get zero gradient.
//!
//! The forward also runs in a smaller workspace, [`ConvShape::forward_tiled_workspace_len`]
//! (what a baked network carves from its work arena): the column matrix is then built a tile of
//! whole output rows at a time ([`ConvShape::tile_rows`], about [`TILE`] positions), and each
//! tile's product is written straight into its columns of `y` (rows `oh · ow` apart). Every
//! output is the same sum over the taps in the same order either way (the kernels' sums do not
//! depend on which columns are computed with it), so all three give the same bits.
//!
//! On a Cortex-M FPU (`thumbv7em-none-eabihf` and the like) the forward's column matrix is
//! built by `im2col_plain` (each tap's padded runs in one short loop, which costs little on
//! runs of a few dozen values) and multiplied by `fpu::conv`; the host keeps the SIMD movers
//! and [`gemm`].

use core::marker::PhantomData;

use super::simd::{Portable, Simd};
#[cfg(target_arch = "x86_64")]
use super::x86::Avx2;
#[cfg(target_arch = "x86_64")]
use super::{InstructionSet, supports};
use super::{MatRef, Op, View, gemm, gemm_add_into_rows, gemm_add_views};

/// The fewest output positions (columns of the column matrix) per tile of a forward run in
/// [`ConvShape::forward_tiled_workspace_len`]; a tile is whole output rows
/// ([`ConvShape::tile_rows`]).
pub const TILE: usize = 16;

/// One spatial axis of a convolution: `size` positions in, `out` windows of `kernel` taps
/// `dilation` apart, each `stride` after the last, over the input padded with `pad_before`
/// zeros in front and `pad_after` behind. Window `o` reads input `o·stride + t·dilation −
/// pad_before` at tap `t`.
///
/// Valid when `kernel`, `stride` and `dilation` are at least 1, the dilated window
/// ([`span`](Self::span)) fits the padded input, and `out` is PyTorch's floor rule
/// ([`ConvAxis::count`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvAxis {
    /// Input positions.
    pub size: usize,
    /// Output positions (windows).
    pub out: usize,
    /// Taps of the window.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
    /// Step between a window's taps (1: adjacent).
    pub dilation: usize,
    /// Zeros in front of the input (top, left).
    pub pad_before: usize,
    /// Zeros behind the input (bottom, right).
    pub pad_after: usize,
}

impl ConvAxis {
    /// An axis with `pad` zeros on each side and no dilation, its output by the floor rule (0
    /// when no window fits, which [`is_valid`](Self::is_valid) rejects).
    pub const fn new(size: usize, kernel: usize, stride: usize, pad: usize) -> Self {
        Self::general(size, kernel, stride, 1, pad, pad)
    }

    /// Any axis, its output by the floor rule (0 when no window fits).
    pub const fn general(
        size: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        pad_before: usize,
        pad_after: usize,
    ) -> Self {
        let mut axis = Self {
            size,
            out: 0,
            kernel,
            stride,
            dilation,
            pad_before,
            pad_after,
        };
        if let Some(out) = axis.count() {
            axis.out = out;
        }
        axis
    }

    /// The height of a 1-D convolution: one position, one tap.
    pub const fn unit() -> Self {
        Self::new(1, 1, 1, 0)
    }

    /// The input positions a window covers: `dilation · (kernel − 1) + 1`.
    pub const fn span(&self) -> usize {
        self.dilation * self.kernel.saturating_sub(1) + 1
    }

    /// The windows that fit, rounded down (PyTorch's rule); `None` when none fits or a step
    /// is zero.
    pub const fn count(&self) -> Option<usize> {
        let padded = self.size + self.pad_before + self.pad_after;
        if self.stride == 0 || self.dilation == 0 || self.kernel == 0 || padded < self.span() {
            None
        } else {
            Some((padded - self.span()) / self.stride + 1)
        }
    }

    /// Whether the sizes agree (see the type docs).
    pub const fn is_valid(&self) -> bool {
        matches!(self.count(), Some(n) if n == self.out)
    }

    /// Stride 1 and no padding: every tap reads one whole block of the input.
    const fn is_plain(&self) -> bool {
        self.stride == 1 && self.pad_before == 0 && self.pad_after == 0
    }

    /// The windows `lo..hi` whose tap `t` falls inside the input.
    pub(super) fn valid_range(&self, t: usize) -> (usize, usize) {
        let offset = t * self.dilation;
        let lo = self
            .pad_before
            .saturating_sub(offset)
            .div_ceil(self.stride)
            .min(self.out);
        let hi = (self.size + self.pad_before)
            .saturating_sub(offset)
            .div_ceil(self.stride)
            .min(self.out);
        (lo, hi.max(lo))
    }

    /// The taps `lo..hi` of window `o` that fall inside the input, and the input position of
    /// tap `lo` (meaningless when the range is empty).
    pub(super) fn window_taps(&self, o: usize) -> (usize, usize, usize) {
        let start = o * self.stride;
        let lo = self
            .pad_before
            .saturating_sub(start)
            .div_ceil(self.dilation)
            .min(self.kernel);
        let hi = (self.size + self.pad_before)
            .saturating_sub(start)
            .div_ceil(self.dilation)
            .min(self.kernel)
            .max(lo);
        let first = (start + lo * self.dilation).saturating_sub(self.pad_before);
        (lo, hi, first)
    }
}

/// The sizes of a 2-D convolution: `c_in` channels of `height.size × width.size` in, `c_out`
/// channels of `height.out × width.out` out, the window of each axis ([`ConvAxis`]), and
/// `groups`: input channel `c` only meets the output channels of its group, `c / (c_in /
/// groups)` (PyTorch's `groups`; `groups == c_in` is a depthwise convolution). A 1-D
/// convolution is one with a [unit](ConvAxis::unit) height.
///
/// Valid when both axes are, `groups` divides both channel counts, and neither is zero
/// ([`ConvShape::is_valid`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Channel groups.
    pub groups: usize,
    /// The rows.
    pub height: ConvAxis,
    /// The columns.
    pub width: ConvAxis,
}

/// The output size of a window of `k` moved by `stride` over `n + 2·pad` positions, rounded
/// down (PyTorch's rule); `None` when no window fits or `stride` is zero.
pub const fn window_count(n: usize, k: usize, stride: usize, pad: usize) -> Option<usize> {
    ConvAxis::new(n, k, stride, pad).count()
}

impl ConvShape {
    /// A square `k × k` kernel with one stride and padding on both axes, no groups: PyTorch's
    /// `Conv2d(c_in, c_out, k, stride, pad)` on `h × w` (output sizes by the floor rule).
    pub const fn square(
        c_in: usize,
        c_out: usize,
        (h, w): (usize, usize),
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Self {
        Self {
            c_in,
            c_out,
            groups: 1,
            height: ConvAxis::new(h, k, stride, pad),
            width: ConvAxis::new(w, k, stride, pad),
        }
    }

    /// Whether the sizes agree with each other (see the type docs).
    pub const fn is_valid(&self) -> bool {
        self.height.is_valid()
            && self.width.is_valid()
            && self.c_in > 0
            && self.c_out > 0
            && self.groups > 0
            && self.c_in.is_multiple_of(self.groups)
            && self.c_out.is_multiple_of(self.groups)
    }

    /// The elements of one input sample, `c_in · h · w`.
    pub const fn input_len(&self) -> usize {
        self.c_in * self.height.size * self.width.size
    }

    /// The elements of one output sample, `c_out · oh · ow`.
    pub const fn output_len(&self) -> usize {
        self.c_out * self.positions()
    }

    /// The elements of the weight, `c_out · (c_in / groups) · kh · kw`.
    pub const fn weight_len(&self) -> usize {
        self.c_out * self.taps()
    }

    /// Output positions per channel, `oh · ow`.
    const fn positions(&self) -> usize {
        self.height.out * self.width.out
    }

    /// Input channels per group.
    const fn group_in(&self) -> usize {
        self.c_in / self.groups
    }

    /// Output channels per group.
    const fn group_out(&self) -> usize {
        self.c_out / self.groups
    }

    /// Taps of one kernel, `kh · kw`.
    const fn window(&self) -> usize {
        self.height.kernel * self.width.kernel
    }

    /// A row of the weight, and the rows of one group's column matrix: `(c_in / groups) · kh · kw`.
    const fn taps(&self) -> usize {
        self.group_in() * self.window()
    }

    /// Rows of the column matrix: `c_in · kh · kw` (every group's).
    const fn col_rows(&self) -> usize {
        self.c_in * self.window()
    }

    /// The column matrix of one sample, `c_in · kh · kw · oh · ow`.
    const fn col_len(&self) -> usize {
        self.col_rows() * self.positions()
    }

    /// A 1×1 kernel with stride 1 and no padding: the input is its own column matrix.
    const fn is_pointwise(&self) -> bool {
        self.window() == 1 && self.height.is_plain() && self.width.is_plain()
    }

    /// One input channel per group (and more than one group): a depthwise convolution, which
    /// runs on its own direct kernel (`linalg/depthwise.rs`) with no column matrix.
    pub const fn is_depthwise(&self) -> bool {
        self.groups == self.c_in && self.groups > 1
    }

    /// Whether the weight gradient goes through the transposed column matrix: when a sample
    /// has fewer output positions (the product's depth) than taps, and there is one group.
    /// The dot kernel sums each output across lanes once, which a long depth amortizes
    /// (LeNet's first convolution, 576 positions per 25 taps, is 2× faster this way); a short
    /// one is better served by the broadcast kernel, for the price of transposing (the
    /// second, 64 per 150).
    const fn transposes_col(&self) -> bool {
        self.groups == 1 && self.positions() < self.taps()
    }

    /// Whether the host's forward sums one product per tap over shifted windows of the input
    /// instead of building the column matrix (`forward_shifted`): a 1-D convolution at
    /// stride 1, of two taps or more, with at least [`SHIFTED_FROM`] input channels per group
    /// (each product's depth). The column matrix copies each input value once per tap, which
    /// at a TCN block's sizes (64 channels, 3 taps) cost a sixth of the forward at 784 steps
    /// and nearly a third at 28.
    pub const fn is_shifted(&self) -> bool {
        let (h, w) = (&self.height, &self.width);
        !DEVICE
            && h.size == 1
            && h.kernel == 1
            && h.pad_before == 0
            && h.pad_after == 0
            && w.stride == 1
            && w.kernel >= 2
            && self.groups >= 1
            && self.group_in() >= SHIFTED_FROM
            && !self.is_depthwise()
    }

    /// What [`forward_shifted`] needs for `samples` samples: for more than one, their inputs
    /// and their product, interleaved; nothing for one.
    const fn shifted_len(&self, samples: usize) -> usize {
        if samples > 1 {
            samples * (self.c_in * self.width.size + self.c_out * self.width.out)
        } else {
            0
        }
    }

    /// The samples whose column matrices sit side by side for one product in a forward: a
    /// sample with few output positions makes a narrow product, which runs far below the
    /// kernels' speed (a `conv1d` over 28 steps, 28 columns), so up to [`WIDE_SAMPLES`] samples
    /// share one of about [`WIDE_COLUMNS`] columns. One on a Cortex-M and for pointwise and
    /// depthwise kernels. The products' sums do not depend on their width, so the bits are the
    /// same either way.
    pub const fn samples_per_product(&self) -> usize {
        if DEVICE || self.is_pointwise() || self.is_depthwise() {
            return 1;
        }
        let positions = self.positions();
        if positions == 0 {
            return 1;
        }
        let samples = WIDE_COLUMNS / positions;
        if samples < 1 {
            1
        } else if samples > WIDE_SAMPLES {
            WIDE_SAMPLES
        } else {
            samples
        }
    }

    /// One sample's column matrix (none for a pointwise or depthwise kernel): what the
    /// backward builds, a sample at a time.
    const fn sample_workspace_len(&self) -> usize {
        if self.is_pointwise() || self.is_depthwise() {
            0
        } else {
            self.col_len()
        }
    }

    /// The workspace [`conv2d_forward`] needs: the column matrices of
    /// [`samples_per_product`](Self::samples_per_product) samples, and when that is more than
    /// one, the product of them (`c_out × samples · oh · ow`) before it goes to each sample's
    /// output; none for a pointwise kernel; a padded plane for a depthwise one.
    pub const fn forward_workspace_len(&self) -> usize {
        if self.is_depthwise() {
            return super::depthwise::forward_len(self);
        }
        let samples = self.samples_per_product();
        let columns = if samples == 1 {
            self.sample_workspace_len()
        } else {
            samples * (self.col_len() + self.c_out * self.positions())
        };
        let shifted = if self.is_shifted() {
            self.shifted_len(samples)
        } else {
            0
        };
        if shifted > columns { shifted } else { columns }
    }

    /// Output rows per tile of a tiled forward: the fewest whole rows of `ow` positions that
    /// hold [`TILE`] positions and a multiple of 4 (the blocks of the Cortex-M product).
    pub const fn tile_rows(&self) -> usize {
        let ow = self.width.out;
        if ow == 0 {
            return 1;
        }
        let mut rows = TILE.div_ceil(ow);
        while !(rows * ow).is_multiple_of(4) {
            rows += 1;
        }
        rows
    }

    /// The smallest workspace [`conv2d_forward`] takes: the column matrix of a tile of
    /// [`tile_rows`](Self::tile_rows) output rows, `c_in · kh · kw · tile_rows · ow` values
    /// (the tile's product goes straight into the output), or the
    /// [whole](Self::forward_workspace_len) column matrix when that is no larger.
    pub const fn forward_tiled_workspace_len(&self) -> usize {
        if self.is_depthwise() {
            return self.forward_workspace_len();
        }
        let whole = self.sample_workspace_len();
        let tiled = self.col_rows() * self.tile_rows() * self.width.out;
        if tiled < whole { tiled } else { whole }
    }

    /// The workspace [`conv2d_backward`] needs for `batch` samples: for each of their
    /// [`groups`] a column matrix (maybe transposed) and its gradient (none for a pointwise
    /// kernel), and the group's sums of the weight and bias gradients; none for a depthwise
    /// kernel.
    pub const fn backward_workspace_len(&self, batch: usize) -> usize {
        if self.is_depthwise() {
            groups(batch) * super::depthwise::backward_len(self)
        } else {
            groups(batch) * self.group_backward_len()
        }
    }

    /// One group's part of [`ConvShape::backward_workspace_len`].
    const fn group_backward_len(&self) -> usize {
        2 * self.sample_workspace_len() + self.weight_len() + self.c_out
    }

    /// The number of samples in a batch slice of `len` input elements.
    fn batch_of(&self, len: usize) -> usize {
        assert!(self.is_valid(), "inconsistent convolution sizes: {self:?}");
        let per_sample = self.input_len();
        assert_eq!(len % per_sample, 0, "the input is not a whole batch");
        len / per_sample
    }
}
/// The columns a forward's product aims for when samples have few output positions
/// ([`ConvShape::samples_per_product`]).
pub const WIDE_COLUMNS: usize = 256;

/// The most samples in one forward product.
pub const WIDE_SAMPLES: usize = 8;

/// The fewest input channels per group (the depth of each tap's product) for which a 1-D
/// forward runs shifted products ([`ConvShape::is_shifted`]): a shallower product runs below
/// the kernels' speed, and its column matrix is cheap.
pub const SHIFTED_FROM: usize = 16;

/// The most groups a batch's samples are cut into, so that groups run on different threads.
pub const GROUPS: usize = 8;

/// The most groups of consecutive samples a batch of `batch` is cut into: [`GROUPS`], or one
/// per sample in a smaller batch (each group holds the same number of samples, the last maybe
/// fewer, so a batch of 10 makes 5 groups of 2). It depends on the batch alone, never on the thread count:
/// the weight gradient is summed within each group, sample by sample, and then across the
/// groups in order, so it has the same bits on any number of threads.
pub const fn groups(batch: usize) -> usize {
    if batch < GROUPS {
        if batch == 0 { 1 } else { batch }
    } else {
        GROUPS
    }
}

/// The samples in each group of [`groups`] (the last may have fewer).
const fn group_samples(batch: usize) -> usize {
    let per = batch.div_ceil(groups(batch));
    if per == 0 { 1 } else { per }
}

/// The gradients of a convolution's parameters, accumulated into by [`conv2d_backward`].
#[derive(Debug)]
pub struct ConvGrads<'a> {
    /// `c_out × (c_in / groups) × kh × kw`.
    pub weight: &'a mut [f32],
    /// `c_out`.
    pub bias: &'a mut [f32],
}

/// `y = conv(x, weight) + bias` for a batch of NCHW samples.
///
/// `x` holds `B · c_in · h · w` values, `y` `B · c_out · oh · ow`, `weight`
/// `c_out × (c_in / groups) × kh × kw` (PyTorch's layout), `bias` `c_out`, and `workspace`
/// [`ConvShape::forward_workspace_len`] values (the whole column matrix), a multiple of it
/// (that many groups of samples run at once on the pool's [`threads`](super::threads)), or
/// [`ConvShape::forward_tiled_workspace_len`] (a tile of it at a time), which it overwrites.
/// All three give the same bits.
///
/// # Panics
/// When `shape` is not [valid](ConvShape::is_valid) or a length disagrees with it.
///
/// ```
/// use nn_core::linalg::conv::{ConvShape, conv2d_forward};
/// // One 3×3 input, a 2×2 kernel of ones: each output sums a window.
/// let shape = ConvShape::square(1, 1, (3, 3), 2, 1, 0);
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let mut y = [0.0; 4];
/// let mut workspace = vec![0.0; shape.forward_workspace_len()];
/// conv2d_forward(&shape, &x, &[1.0; 4], &[0.5], &mut y, &mut workspace);
/// assert_eq!(y, [12.5, 16.5, 24.5, 28.5]);
/// ```
pub fn conv2d_forward(
    shape: &ConvShape,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
    workspace: &mut [f32],
) {
    let batch = shape.batch_of(x.len());
    let s = shape;
    let positions = s.positions();
    assert_eq!(
        y.len(),
        batch * s.output_len(),
        "the output is not the batch's"
    );
    assert_eq!(
        weight.len(),
        s.weight_len(),
        "the weight is not c_out × (c_in / groups) × kh × kw"
    );
    assert_eq!(bias.len(), s.c_out, "the bias is not c_out long");
    if s.is_depthwise() {
        return super::depthwise::forward(s, x, weight, bias, y, workspace);
    }
    let whole = s.forward_workspace_len();
    let tiled = workspace.len() != whole && workspace.len() == s.forward_tiled_workspace_len();
    assert!(
        tiled || workspace.len().is_multiple_of(whole.max(1)),
        "wrong workspace length"
    );
    let kernels = if DEVICE {
        Kernels::Device
    } else {
        Kernels::Host(Mover::here())
    };
    let wide = s.samples_per_product();
    let run = |x: &[f32], y: &mut [f32], workspace: &mut [f32]| {
        if !tiled && wide > 1 {
            return forward_wide(s, x, weight, bias, y, workspace, kernels);
        }
        let samples = x
            .chunks_exact(s.input_len())
            .zip(y.chunks_exact_mut(s.output_len()));
        for (x_b, y_b) in samples {
            if tiled {
                forward_tiled(s, x_b, weight, bias, y_b, workspace, kernels);
            } else if s.is_pointwise() {
                kernels.product(s, weight, x_b, bias, y_b, positions, positions);
            } else if s.is_shifted() {
                forward_shifted(s, x_b, weight, bias, y_b, workspace);
            } else {
                kernels.im2col(s, x_b, 0, workspace);
                kernels.product(s, weight, workspace, bias, y_b, positions, positions);
            }
        }
    };
    // A workspace of several column matrices runs that many groups of samples at once, on the
    // pool's threads (`threads`); every output is the same sum either way.
    let spaces = if tiled || whole == 0 {
        1
    } else {
        workspace.len() / whole
    };
    let per = batch.div_ceil(spaces.min(batch).max(1)).max(1);
    if spaces < 2 || batch < 2 {
        let used = if tiled { workspace.len() } else { whole };
        return run(x, y, &mut workspace[..used]);
    }
    let parts = x
        .chunks(per * s.input_len())
        .zip(y.chunks_mut(per * s.output_len()))
        .zip(workspace.chunks_mut(whole));
    super::threads::for_each(parts, |_, ((x, y), workspace)| run(x, y, workspace));
}

/// The column builder and product of a forward: the host's ([`Mover`] and [`gemm`]) or a
/// Cortex-M FPU's ([`im2col_plain`] and [`super::fpu::conv`]). Both run everywhere (the
/// device's in plain Rust off the device), so the host tests both.
#[derive(Clone, Copy)]
enum Kernels {
    Host(Mover),
    Device,
}

impl Kernels {
    /// Fills `col` as [`im2col`] does.
    fn im2col(self, s: &ConvShape, x: &[f32], first: usize, col: &mut [f32]) {
        match self {
            Kernels::Host(mover) => mover.im2col(s, x, first, col),
            Kernels::Device => im2col_plain(s, x, first, col),
        }
    }

    /// `y = W · col + b`, channel `o` of `y` at `y[o · y_stride..][..positions]`, one product
    /// per group of channels: group `g`'s weight rows and output channels with its rows of
    /// `col` (`taps × positions` each).
    #[allow(clippy::too_many_arguments, reason = "a product's operands and layout")]
    fn product(
        self,
        s: &ConvShape,
        weight: &[f32],
        col: &[f32],
        bias: &[f32],
        y: &mut [f32],
        positions: usize,
        y_stride: usize,
    ) {
        let (taps, group_out) = (s.taps(), s.group_out());
        for g in 0..s.groups {
            let weight = &weight[g * group_out * taps..][..group_out * taps];
            let col = &col[g * taps * positions..][..taps * positions];
            let bias = &bias[g * group_out..][..group_out];
            let y = &mut y[g * group_out * y_stride..];
            match self {
                Kernels::Host(_) => host_product(weight, col, bias, y, positions, y_stride),
                Kernels::Device => super::fpu::conv(weight, col, bias, y, positions, y_stride),
            }
        }
    }
}

/// Whether this is a Cortex-M FPU, where the products are [`super::fpu::conv`]'s.
pub(super) const DEVICE: bool = cfg!(all(
    target_arch = "arm",
    target_os = "none",
    target_abi = "eabihf"
));

/// `y = W · col + b` (`c_out × taps` by `taps × positions`) with [`gemm`]: every row of `y`
/// (`y_stride` apart) starts at its bias and the product is added on top.
fn host_product(
    weight: &[f32],
    col: &[f32],
    bias: &[f32],
    y: &mut [f32],
    positions: usize,
    y_stride: usize,
) {
    let (c_out, taps) = (bias.len(), weight.len() / bias.len().max(1));
    for (o, &b) in bias.iter().enumerate() {
        y[o * y_stride..][..positions].fill(b);
    }
    let (weight, col) = (
        MatRef::new(weight, c_out, taps),
        MatRef::new(col, taps, positions),
    );
    if y_stride == positions {
        let y = &mut y[..c_out * positions];
        gemm(1.0, weight, Op::Plain, col, Op::Plain, 1.0, y, positions);
    } else {
        gemm_add_into_rows(weight, col, y, y_stride);
    }
}

/// The forward of consecutive samples `x`, [`ConvShape::samples_per_product`] at a time: their
/// column matrices side by side in `workspace`, one product into the rest of it, then each
/// sample's columns of the product to its output.
fn forward_wide(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
    workspace: &mut [f32],
    kernels: Kernels,
) {
    let (positions, wide) = (s.positions(), s.samples_per_product());
    if s.is_shifted() {
        let parts = x
            .chunks(wide * s.input_len())
            .zip(y.chunks_mut(wide * s.output_len()));
        for (x, y) in parts {
            forward_shifted(s, x, weight, bias, y, workspace);
        }
        return;
    }
    let (col, product) = workspace.split_at_mut(wide * s.col_len());
    let parts = x
        .chunks(wide * s.input_len())
        .zip(y.chunks_mut(wide * s.output_len()));
    for (x, y) in parts {
        let samples = x.len() / s.input_len();
        let width = samples * positions;
        let col = &mut col[..samples * s.col_len()];
        kernels.im2col(s, x, 0, col);
        let product = &mut product[..s.c_out * width];
        kernels.product(s, weight, col, bias, product, width, width);
        for (o, row) in product.chunks_exact(width).enumerate() {
            for (y_b, run) in y
                .chunks_exact_mut(s.output_len())
                .zip(row.chunks_exact(positions))
            {
                y_b[o * positions..][..positions].copy_from_slice(run);
            }
        }
    }
}

/// One sample's forward in a [tiled](ConvShape::forward_tiled_workspace_len) `workspace`: the
/// column matrix of [`ConvShape::tile_rows`] output rows at a time, whose product is written
/// straight into those columns of `y_b` (channel rows `oh · ow` apart). The last tile may be
/// shorter, but holds at least 4 positions (it starts earlier and recomputes a few outputs, to
/// the same bits), so that the device product's blocks stay whole.
fn forward_tiled(
    s: &ConvShape,
    x_b: &[f32],
    weight: &[f32],
    bias: &[f32],
    y_b: &mut [f32],
    workspace: &mut [f32],
    kernels: Kernels,
) {
    if s.is_shifted() && matches!(kernels, Kernels::Host(_)) {
        // One row, read in place.
        return forward_shifted(s, x_b, weight, bias, y_b, workspace);
    }
    let (oh, ow) = (s.height.out, s.width.out);
    let (col_rows, positions) = (s.col_rows(), s.positions());
    let rows = s.tile_rows().min(oh);
    let col = &mut workspace[..col_rows * rows * ow];
    let fewest_rows = MIN_TILE.div_ceil(ow);
    let mut start = 0;
    while start < oh {
        let first = start.min(oh.saturating_sub(fewest_rows));
        let count = rows.min(oh - first);
        let width = count * ow;
        let col = &mut col[..col_rows * width];
        kernels.im2col(s, x_b, first, col);
        let out = &mut y_b[first * ow..];
        kernels.product(s, weight, col, bias, out, width, positions);
        start = first + count;
    }
}

/// The forward of consecutive 1-D samples `x` (see [`ConvShape::is_shifted`]) without a
/// column matrix: for each group and tap `k`, one product of that tap's column of the weight
/// (`group_out × group_in`, read in place) by the inputs shifted by `k · dilation` steps,
/// added onto the outputs that tap reaches inside the input (the padding adds nothing, so it
/// is neither stored nor multiplied), all started at the bias. Each output is its bias plus
/// its taps' sums in order, the same sum however many samples share the products.
///
/// One sample is read in place and its products go straight into `y`. Several are
/// interleaved in `workspace` first: `c_in` rows in which step `t` of sample `b` sits at
/// column `t · samples + b`, so that a shift of `k · dilation` steps moves every sample's
/// window alike; their products, interleaved alike, are then taken apart into `y`.
fn forward_shifted(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
    workspace: &mut [f32],
) {
    let w = &s.width;
    let (length, outputs) = (w.size, w.out);
    let samples = x.len() / s.input_len();
    let (group_in, group_out, taps) = (s.group_in(), s.group_out(), w.kernel);
    // `out` (`c_out` rows of `samples · outputs`) = the bias, plus each group's and tap's
    // product of `inputs` (`c_in` rows of `samples · length`).
    let products = |inputs: &[f32], out: &mut [f32]| {
        let (n, width) = (samples * outputs, samples * length);
        for (row, &b) in out.chunks_exact_mut(n).zip(bias) {
            row.fill(b);
        }
        for g in 0..s.groups {
            for k in 0..taps {
                // Outputs `lo..hi` read inputs `lo + shift − pad_before..`.
                let shift = k * w.dilation;
                let lo = w.pad_before.saturating_sub(shift).min(outputs);
                let hi = (length + w.pad_before).saturating_sub(shift).min(outputs);
                if lo >= hi {
                    continue;
                }
                let a = View {
                    data: &weight[g * group_out * group_in * taps + k..],
                    rows: group_out,
                    cols: group_in,
                    row_stride: group_in * taps,
                    col_stride: taps,
                };
                let first = lo + shift - w.pad_before;
                let b = View {
                    data: &inputs[g * group_in * width + first * samples..],
                    rows: group_in,
                    cols: (hi - lo) * samples,
                    row_stride: width,
                    col_stride: 1,
                };
                gemm_add_views(a, b, &mut out[g * group_out * n + lo * samples..], n);
            }
        }
    };
    if samples == 1 {
        return products(x, y);
    }
    let (inputs, rest) = workspace.split_at_mut(s.c_in * samples * length);
    for (c, steps) in inputs.chunks_exact_mut(samples * length).enumerate() {
        // Step by step, each step's values of every sample side by side.
        transpose_block(
            &x[c * length..],
            s.input_len(),
            samples,
            length,
            steps,
            samples,
        );
    }
    let n = samples * outputs;
    let out = &mut rest[..s.c_out * n];
    products(inputs, out);
    for (o, row) in out.chunks_exact(n).enumerate() {
        let channel = &mut y[o * outputs..];
        transpose_block(row, samples, outputs, samples, channel, s.output_len());
    }
}

/// `dst[c · dst_stride + r] = src[r · src_stride + c]` for `r < rows`, `c < cols`: a block of
/// a matrix turned over into a block of another, 8 × 8 tiles at a time in AVX2 registers where
/// the CPU has them, the edges value by value. What interleaves and takes apart the samples of
/// [`forward_shifted`].
///
/// # Panics
/// When a block reaches past its slice.
fn transpose_block(
    src: &[f32],
    src_stride: usize,
    rows: usize,
    cols: usize,
    dst: &mut [f32],
    dst_stride: usize,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    assert!(src_stride >= cols && dst_stride >= rows, "the rows overlap");
    assert!(
        (rows - 1) * src_stride + cols <= src.len() && (cols - 1) * dst_stride + rows <= dst.len(),
        "a block reaches past its slice"
    );
    let (whole_rows, whole_cols) = (rows - rows % 8, cols - cols % 8);
    #[cfg(target_arch = "x86_64")]
    let tiled = supports(InstructionSet::Avx2);
    #[cfg(not(target_arch = "x86_64"))]
    let tiled = false;
    #[cfg(target_arch = "x86_64")]
    if tiled {
        for r in (0..whole_rows).step_by(8) {
            for c in (0..whole_cols).step_by(8) {
                // SAFETY: AVX2 is there (just checked). The tile reads rows `r..r + 8`, columns
                // `c..c + 8` of `src` and writes rows `c..c + 8`, columns `r..r + 8` of `dst`,
                // inside both by the assert above.
                unsafe {
                    transpose_8x8(
                        src.as_ptr().add(r * src_stride + c),
                        src_stride,
                        dst.as_mut_ptr().add(c * dst_stride + r),
                        dst_stride,
                    );
                }
            }
        }
    }
    let (done_rows, done_cols) = if tiled {
        (whole_rows, whole_cols)
    } else {
        (0, 0)
    };
    for r in 0..rows {
        // The tiles covered columns `..done_cols` of rows `..done_rows`.
        let first = if r < done_rows { done_cols } else { 0 };
        for c in first..cols {
            dst[c * dst_stride + r] = src[r * src_stride + c];
        }
    }
}

/// One 8 × 8 tile of [`transpose_block`]: row `i` of `dst` is column `i` of `src`.
///
/// # Safety
/// The CPU has AVX2; `src` is readable for 8 rows of 8 values `src_stride` apart, and `dst`
/// writable for 8 rows of 8 values `dst_stride` apart.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose_8x8(src: *const f32, src_stride: usize, dst: *mut f32, dst_stride: usize) {
    use core::arch::x86_64::*;
    // SAFETY: the loads and stores stay in the rows the caller vouched for.
    unsafe {
        let row = |i: usize| _mm256_loadu_ps(src.add(i * src_stride));
        let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
        let (r4, r5, r6, r7) = (row(4), row(5), row(6), row(7));
        // Pairs of rows interleaved, then pairs of pairs: each 128-bit half then holds four
        // values of one column.
        let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
        let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
        let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
        let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
        let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let out = |i: usize, v: __m256| _mm256_storeu_ps(dst.add(i * dst_stride), v);
        out(0, _mm256_permute2f128_ps::<0x20>(s0, s4));
        out(1, _mm256_permute2f128_ps::<0x20>(s1, s5));
        out(2, _mm256_permute2f128_ps::<0x20>(s2, s6));
        out(3, _mm256_permute2f128_ps::<0x20>(s3, s7));
        out(4, _mm256_permute2f128_ps::<0x31>(s0, s4));
        out(5, _mm256_permute2f128_ps::<0x31>(s1, s5));
        out(6, _mm256_permute2f128_ps::<0x31>(s2, s6));
        out(7, _mm256_permute2f128_ps::<0x31>(s3, s7));
    }
}

/// The fewest positions in a tile of [`forward_tiled`]: a block of the device product.
const MIN_TILE: usize = 4;

/// The backward pass of [`conv2d_forward`]: adds the weight and bias gradients to `grads` and,
/// when `dx` is given, overwrites it with the input gradient.
///
/// `dy` has `y`'s length and `workspace` [`ConvShape::backward_workspace_len`]`(batch)`
/// values (overwritten). The batch's [`groups`] run on the pool's threads.
///
/// # Panics
/// When `shape` is not [valid](ConvShape::is_valid) or a length disagrees with it.
pub fn conv2d_backward(
    shape: &ConvShape,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    grads: ConvGrads<'_>,
    dx: Option<&mut [f32]>,
    workspace: &mut [f32],
) {
    let batch = shape.batch_of(x.len());
    let s = shape;
    assert_eq!(dy.len(), batch * s.output_len(), "dy is not the batch's");
    assert_eq!(
        weight.len(),
        s.weight_len(),
        "the weight is not c_out × (c_in / groups) × kh × kw"
    );
    assert_eq!(
        grads.weight.len(),
        s.weight_len(),
        "the weight gradient has the wrong length"
    );
    assert_eq!(
        grads.bias.len(),
        s.c_out,
        "the bias gradient is not c_out long"
    );
    assert_eq!(
        workspace.len(),
        s.backward_workspace_len(batch),
        "wrong workspace length"
    );
    if let Some(dx) = dx.as_deref() {
        assert_eq!(dx.len(), x.len(), "dx is not x's length");
    }
    if batch == 0 {
        return;
    }
    if s.is_depthwise() {
        return super::depthwise::backward(s, x, weight, dy, grads, dx, workspace);
    }
    let per = group_samples(batch);
    let weight_len = s.weight_len();
    // Each group sums its samples' parameter gradients into its own part of the workspace, on
    // the pool's threads; then the groups' sums are added to `grads` in order: the same bits on
    // any thread count (see `groups`).
    let mut dx_groups = dx.map(|dx| dx.chunks_mut(per * s.input_len()));
    let parts = x
        .chunks(per * s.input_len())
        .zip(dy.chunks(per * s.output_len()))
        .zip(workspace.chunks_mut(s.group_backward_len()))
        .map(|(samples, space)| (samples, space, dx_groups.as_mut().and_then(Iterator::next)));
    super::threads::for_each(parts, |_, ((x, dy), space, dx)| {
        let (work, sums) = space.split_at_mut(2 * s.sample_workspace_len());
        let (weight_sum, bias_sum) = sums.split_at_mut(weight_len);
        weight_sum.fill(0.0);
        bias_sum.fill(0.0);
        let sums = ConvGrads {
            weight: weight_sum,
            bias: bias_sum,
        };
        backward_samples(s, x, weight, dy, sums, dx, work);
    });
    // Only the groups the samples filled: `per` samples each, so maybe fewer than `groups`.
    for space in workspace
        .chunks(s.group_backward_len())
        .take(batch.div_ceil(per))
    {
        let (weight_sum, bias_sum) = space[2 * s.sample_workspace_len()..].split_at(weight_len);
        for (g, v) in grads.weight.iter_mut().zip(weight_sum) {
            *g += v;
        }
        for (g, v) in grads.bias.iter_mut().zip(bias_sum) {
            *g += v;
        }
    }
}

/// [`conv2d_backward`] for consecutive samples `x` on the calling thread: adds their parameter
/// gradients to `grads`, sample by sample, and overwrites `dx` when it is given. `workspace`
/// holds one column matrix and its gradient.
fn backward_samples(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    grads: ConvGrads<'_>,
    mut dx: Option<&mut [f32]>,
    workspace: &mut [f32],
) {
    let batch = s.batch_of(x.len());
    let (taps, positions) = (s.taps(), s.positions());
    let (group_out, group_col) = (s.group_out(), s.taps() * s.positions());
    let mover = Mover::here();
    let (col_t, dcol) = workspace.split_at_mut(s.sample_workspace_len());
    for b in 0..batch {
        let x_b = &x[b * s.input_len()..][..s.input_len()];
        let dy_b = &dy[b * s.output_len()..][..s.output_len()];
        super::depthwise::add_row_sums(dy_b, positions, grads.bias);
        // dW += dy_b · col_bᵀ, group by group. With many positions per tap the dot kernel
        // reads `col_b` as it is; with few, the broadcast kernel reads `colᵀ_b` (see
        // `transposes_col`).
        let col_plain: Option<&[f32]> = if s.is_pointwise() {
            Some(x_b)
        } else if s.transposes_col() {
            None
        } else {
            mover.im2col(s, x_b, 0, col_t);
            Some(col_t)
        };
        match col_plain {
            Some(col) => {
                let dw_groups = grads.weight.chunks_exact_mut(group_out * taps);
                let dy_groups = dy_b.chunks_exact(group_out * positions);
                for ((dw, dy), col) in dw_groups.zip(dy_groups).zip(col.chunks_exact(group_col)) {
                    gemm(
                        1.0,
                        MatRef::new(dy, group_out, positions),
                        Op::Plain,
                        MatRef::new(col, taps, positions),
                        Op::Transposed,
                        1.0,
                        dw,
                        taps,
                    );
                }
            }
            None => {
                mover.im2col_transposed(s, x_b, col_t);
                gemm(
                    1.0,
                    MatRef::new(dy_b, s.c_out, positions),
                    Op::Plain,
                    MatRef::new(col_t, positions, taps),
                    Op::Plain,
                    1.0,
                    grads.weight,
                    taps,
                );
            }
        }
        // dcol = Wᵀ · dy_b, group by group, then col2im (a pointwise kernel's dcol is dx_b
        // itself).
        if let Some(dx) = dx.as_deref_mut() {
            let dx_b = &mut dx[b * s.input_len()..][..s.input_len()];
            let weight_t_dy = |out: &mut [f32]| {
                let out_groups = out.chunks_exact_mut(group_col);
                let w_groups = weight.chunks_exact(group_out * taps);
                let dy_groups = dy_b.chunks_exact(group_out * positions);
                for ((out, w), dy) in out_groups.zip(w_groups).zip(dy_groups) {
                    gemm(
                        1.0,
                        MatRef::new(w, group_out, taps),
                        Op::Transposed,
                        MatRef::new(dy, group_out, positions),
                        Op::Plain,
                        0.0,
                        out,
                        positions,
                    );
                }
            };
            if s.is_pointwise() {
                weight_t_dy(dx_b);
            } else {
                weight_t_dy(dcol);
                mover.col2im(s, dcol, dx_b);
            }
        }
    }
}

// The movers write each buffer in increasing address order, and a copied run may spill up to a
// register's width past its end (`Runs::copy_rows`): whatever lies past a run is written
// afterwards (later runs, or the zeros of the padding, filled after the copies), so a spill
// never survives.

/// Fills `col` (`c_in·kh·kw × samples·rows·ow`) with the `samples` samples of `x` (each
/// `c_in × h × w`) under every kernel tap, for the `rows = col.len() / (c_in·kh·kw·samples·ow)`
/// output rows from `first` (all `oh` of them for the whole column matrix, fewer for a tile);
/// padding reads as zero. Each row of `col` holds the samples' runs side by side, so that one
/// product serves them all ([`ConvShape::samples_per_product`]); the runs are written in
/// increasing address order, tap row by tap row, sample by sample.
#[inline(always)]
fn im2col<R: Runs>(r: R, s: &ConvShape, x: &[f32], first: usize, col: &mut [f32]) {
    let (ax_h, ax_w) = (&s.height, &s.width);
    let (w, ow) = (ax_w.size, ax_w.out);
    let samples = x.len() / s.input_len().max(1);
    let oh = col.len() / (s.col_rows() * ow * samples).max(1);
    let row_len = oh * ow;
    let plane = ax_h.size * w;
    let sample = |i: usize| &x[i * s.input_len()..];
    if ax_h.is_plain() && ax_w.is_plain() {
        // Every tap reads an `oh × ow` block of its channel. The source slice runs on to the
        // samples' end, so that most runs have room for a whole register.
        let mut row = 0;
        for c in 0..s.c_in {
            for kh in 0..ax_h.kernel {
                for kw in 0..ax_w.kernel {
                    let at = c * plane + (first + kh * ax_h.dilation) * w + kw * ax_w.dilation;
                    for i in 0..samples {
                        r.copy_rows(&mut col[row..], ow, &sample(i)[at..], w, oh, ow);
                        row += row_len;
                    }
                }
            }
        }
        return;
    }
    let mut row = 0;
    for c in 0..s.c_in {
        for kh in 0..ax_h.kernel {
            // The rows of the tile whose tap `kh` falls inside the input, counted in the tile.
            let (oh_lo, oh_hi) = ax_h.valid_range(kh);
            let (oh_lo, oh_hi) = (
                oh_lo.clamp(first, first + oh) - first,
                oh_hi.clamp(first, first + oh) - first,
            );
            for kw in 0..ax_w.kernel {
                let (ow_lo, ow_hi) = ax_w.valid_range(kw);
                let (rows, len) = (oh_hi - oh_lo, ow_hi - ow_lo);
                for i in 0..samples {
                    let x_c = &sample(i)[c * plane..][..plane];
                    if rows > 0 && len > 0 {
                        // Output `(oh_lo, ow_lo)` reads input `(ih, iw)`; later ones step by
                        // the strides.
                        let ih =
                            (first + oh_lo) * ax_h.stride + kh * ax_h.dilation - ax_h.pad_before;
                        let iw = ow_lo * ax_w.stride + kw * ax_w.dilation - ax_w.pad_before;
                        let out = &mut col[row + oh_lo * ow + ow_lo..];
                        let input = &x_c[ih * w + iw..];
                        let steps = (ax_h.stride * w, ax_w.stride);
                        copy_block(r, out, ow, input, steps, rows, len);
                    }
                    // The padding, after the copies that may have spilled into it.
                    let row_out = &mut col[row..][..row_len];
                    zero_around(r, row_out, ow, (oh_lo, oh_hi), (ow_lo, ow_hi));
                    row += row_len;
                }
            }
        }
    }
}

/// `rows` runs of `len` values into `dst` (`dst_stride` apart) from `src`, whose runs start
/// `steps.0` apart and take every `steps.1`-th value: [`Runs::copy_rows`] when they are
/// contiguous (it may spill past each run, as it says), a plain loop otherwise.
#[inline(always)]
fn copy_block<R: Runs>(
    r: R,
    dst: &mut [f32],
    dst_stride: usize,
    src: &[f32],
    steps: (usize, usize),
    rows: usize,
    len: usize,
) {
    let (row_step, step) = steps;
    if step == 1 {
        return r.copy_rows(dst, dst_stride, src, row_step, rows, len);
    }
    for i in 0..rows {
        let inputs = src[i * row_step..].iter().step_by(step);
        for (d, &v) in dst[i * dst_stride..][..len].iter_mut().zip(inputs) {
            *d = v;
        }
    }
}

/// Zeros everything of `block` (rows of `width`) outside rows `rows.0..rows.1` and columns
/// `columns.0..columns.1`: the padding around a [`copy_block`], after it (over its spills).
#[inline(always)]
fn zero_around<R: Runs>(
    r: R,
    block: &mut [f32],
    width: usize,
    rows: (usize, usize),
    columns: (usize, usize),
) {
    let ((top, bottom), (left, right)) = (rows, columns);
    if left > 0 || right < width {
        for row in top..bottom {
            r.zero(&mut block[row * width..][..left]);
            r.zero(&mut block[row * width + right..][..width - right]);
        }
    }
    r.zero(&mut block[..top * width]);
    r.zero(&mut block[bottom * width..]);
}

/// [`im2col`] without the SIMD movers, for a Cortex-M FPU ([`DEVICE`]): the same matrix, each
/// value written once. There a run is an output row of a few dozen values, too short for
/// [`Runs::copy_rows`]' register loop and checks to pay off: each tap row of the tile costs a
/// few bounds checks, then (column stride 1) one [`super::fpu::padded_rows`] call writes all
/// its output rows, left padding, copied run and right padding (an assembly loop on the
/// device, plain Rust elsewhere, which is what the tests run); other strides copy in plain
/// loops.
fn im2col_plain(s: &ConvShape, x: &[f32], first: usize, col: &mut [f32]) {
    let (ax_h, ax_w) = (&s.height, &s.width);
    let (w, ow) = (ax_w.size, ax_w.out);
    let rows = col.len() / (s.col_rows() * ow).max(1);
    let row_len = rows * ow;
    assert!(
        x.len() == s.input_len() && col.len() == s.col_rows() * row_len && first + rows <= ax_h.out,
        "im2col_plain: lengths disagree with the shape"
    );
    if row_len == 0 {
        return;
    }
    let row_step = ax_h.stride * w;
    let mut taps = col.chunks_exact_mut(row_len);
    for x_c in x.chunks_exact(ax_h.size * w) {
        for kh in 0..ax_h.kernel {
            // The rows of the tile whose tap `kh` falls inside the input, counted in the tile.
            let (oh_lo, oh_hi) = ax_h.valid_range(kh);
            let oh_lo = oh_lo.clamp(first, first + rows) - first;
            let oh_hi = oh_hi.clamp(first, first + rows) - first;
            for kw in 0..ax_w.kernel {
                let Some(tap) = taps.next() else { return };
                let (ow_lo, ow_hi) = ax_w.valid_range(kw);
                let (top, valid, bottom) = split3(tap, oh_lo * ow, oh_hi * ow);
                zero_run(top);
                zero_run(bottom);
                if oh_hi == oh_lo {
                    continue;
                }
                if ow_hi == ow_lo {
                    zero_run(valid);
                    continue;
                }
                let len = ow_hi - ow_lo;
                // Output `(oh_lo, ow_lo)` reads input `(ih, iw)`; later ones step by the
                // strides.
                let ih = (first + oh_lo) * ax_h.stride + kh * ax_h.dilation - ax_h.pad_before;
                let iw = ow_lo * ax_w.stride + kw * ax_w.dilation - ax_w.pad_before;
                // Every run's source, `oh_hi − oh_lo − 1` row steps down, is in `source`.
                let reach = (oh_hi - oh_lo - 1) * row_step + (len - 1) * ax_w.stride + 1;
                let source = &x_c[ih * w + iw..][..reach];
                if ax_w.stride == 1 {
                    let trail = ow - ow_hi;
                    let rows = oh_hi - oh_lo;
                    super::fpu::padded_rows(valid, source, row_step, rows, [ow_lo, len, trail]);
                } else {
                    let runs = valid.chunks_exact_mut(ow);
                    for (out, src) in runs.zip(source.chunks(row_step)) {
                        let (left, rest) = out.split_at_mut(ow_lo);
                        let (run, right) = rest.split_at_mut(len);
                        zero_run(left);
                        for (o, &v) in run.iter_mut().zip(src.iter().step_by(ax_w.stride)) {
                            *o = v;
                        }
                        zero_run(right);
                    }
                }
            }
        }
    }
}

/// `dst = 0` for the short runs of [`im2col_plain`]'s padding (a value or two), inline.
#[inline(always)]
fn zero_run(dst: &mut [f32]) {
    for d in dst {
        *d = 0.0;
    }
}

/// `v[..a]`, `v[a..b]` and `v[b..]`, for `a ≤ b ≤ v.len()`.
fn split3(v: &mut [f32], a: usize, b: usize) -> (&mut [f32], &mut [f32], &mut [f32]) {
    let (head, tail) = v.split_at_mut(b);
    let (top, valid) = head.split_at_mut(a);
    (top, valid, tail)
}

/// Fills `col_t` (`oh·ow × c_in·kh·kw`, the transpose of [`im2col`]'s matrix) with one sample.
#[inline(always)]
fn im2col_transposed<R: Runs>(r: R, s: &ConvShape, x: &[f32], col_t: &mut [f32]) {
    let (ax_h, ax_w) = (&s.height, &s.width);
    let (kh_n, kw_n, w) = (ax_h.kernel, ax_w.kernel, ax_w.size);
    let window = kh_n * kw_n;
    let mut out = 0;
    let plane = ax_h.size * w;
    if ax_h.is_plain() && ax_w.is_plain() && ax_w.dilation == 1 {
        // Every window is a `kh × kw` block of each channel (its rows `dilation` apart),
        // source slices as in `im2col`.
        for o_h in 0..ax_h.out {
            for o_w in 0..ax_w.out {
                for c in 0..s.c_in {
                    let input = &x[c * plane + o_h * w + o_w..];
                    let step = ax_h.dilation * w;
                    r.copy_rows(&mut col_t[out..], kw_n, input, step, kh_n, kw_n);
                    out += window;
                }
            }
        }
        return;
    }
    for o_h in 0..ax_h.out {
        // Taps `kh_lo..kh_hi` of this window fall inside the input height.
        let (kh_lo, kh_hi, ih) = ax_h.window_taps(o_h);
        for o_w in 0..ax_w.out {
            let (kw_lo, kw_hi, iw) = ax_w.window_taps(o_w);
            let (rows, len) = (kh_hi - kh_lo, kw_hi - kw_lo);
            for x_c in x.chunks_exact(plane) {
                if rows > 0 && len > 0 {
                    let dst = &mut col_t[out + kh_lo * kw_n + kw_lo..];
                    let src = &x_c[ih * w + iw..];
                    let steps = (ax_h.dilation * w, ax_w.dilation);
                    copy_block(r, dst, kw_n, src, steps, rows, len);
                }
                let block = &mut col_t[out..][..window];
                zero_around(r, block, kw_n, (kh_lo, kh_hi), (kw_lo, kw_hi));
                out += window;
            }
        }
    }
}

/// Overwrites `dx` (one sample, `c_in × h × w`) with the sum, at each input position, of the
/// entries of `dcol` (laid out as [`im2col`]'s matrix) that read it.
#[inline(always)]
fn col2im<R: Runs>(r: R, s: &ConvShape, dcol: &[f32], dx: &mut [f32]) {
    r.zero(dx);
    let (ax_h, ax_w) = (&s.height, &s.width);
    let (w, oh, ow) = (ax_w.size, ax_h.out, ax_w.out);
    let plane = ax_h.size * w;
    let mut rows_of_dcol = dcol.chunks_exact(oh * ow);
    if ax_h.is_plain() && ax_w.is_plain() {
        // Every tap's gradient adds onto an `oh × ow` block of its channel (the destination
        // slice runs on to the sample's end, as the sources of `im2col` do).
        for c in 0..s.c_in {
            for kh in 0..ax_h.kernel {
                for kw in 0..ax_w.kernel {
                    let Some(row) = rows_of_dcol.next() else {
                        return;
                    };
                    let at = c * plane + kh * ax_h.dilation * w + kw * ax_w.dilation;
                    r.add_rows(&mut dx[at..], w, row, ow, oh, ow);
                }
            }
        }
        return;
    }
    for dx_c in dx.chunks_exact_mut(plane) {
        for kh in 0..ax_h.kernel {
            let (oh_lo, oh_hi) = ax_h.valid_range(kh);
            for kw in 0..ax_w.kernel {
                let (ow_lo, ow_hi) = ax_w.valid_range(kw);
                let Some(row) = rows_of_dcol.next() else {
                    return;
                };
                let (rows, len) = (oh_hi - oh_lo, ow_hi - ow_lo);
                if rows == 0 || len == 0 {
                    continue;
                }
                let ih = oh_lo * ax_h.stride + kh * ax_h.dilation - ax_h.pad_before;
                let iw = ow_lo * ax_w.stride + kw * ax_w.dilation - ax_w.pad_before;
                let grads = &row[oh_lo * ow + ow_lo..];
                let dx_start = &mut dx_c[ih * w + iw..];
                let row_step = ax_h.stride * w;
                if ax_w.stride == 1 {
                    r.add_rows(dx_start, row_step, grads, ow, rows, len);
                } else {
                    for o_h in 0..rows {
                        let dx_row = dx_start[o_h * row_step..].iter_mut().step_by(ax_w.stride);
                        for (d, &g) in dx_row.zip(&grads[o_h * ow..][..len]) {
                            *d += g;
                        }
                    }
                }
            }
        }
    }
}

/// Copies, zero fills and sums of the short runs im2col and col2im move, in SIMD registers.
trait Runs: Copy {
    /// `dst[i · dst_stride..][..len] = src[i · src_stride..][..len]` for `i < rows`, in
    /// increasing `i`. May also overwrite up to a register's width of `dst` past each run.
    ///
    /// # Panics
    /// When a run lies outside `dst` or `src`.
    fn copy_rows(
        self,
        dst: &mut [f32],
        dst_stride: usize,
        src: &[f32],
        src_stride: usize,
        rows: usize,
        len: usize,
    );
    /// `dst[i · dst_stride..][..len] += src[i · src_stride..][..len]` for `i < rows`; nothing
    /// else changes.
    ///
    /// # Panics
    /// When a run lies outside `dst` or `src`.
    fn add_rows(
        self,
        dst: &mut [f32],
        dst_stride: usize,
        src: &[f32],
        src_stride: usize,
        rows: usize,
        len: usize,
    );
    /// `dst = 0`, touching nothing else.
    fn zero(self, dst: &mut [f32]);
}

/// [`Runs`] in registers of `S`. A value exists only where the CPU supports `S` (see
/// [`InRegisters::new`]), which is what makes its safe methods sound.
pub(super) struct InRegisters<S>(PhantomData<S>);

impl<S> Clone for InRegisters<S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for InRegisters<S> {}

impl<S: Simd> InRegisters<S> {
    /// # Safety
    /// The CPU supports `S`'s instruction set.
    unsafe fn new() -> Self {
        Self(PhantomData)
    }
}

/// Whether `rows` runs of `len` at `stride` fit in a buffer of `buffer` values.
fn runs_fit(buffer: usize, stride: usize, rows: usize, len: usize) -> bool {
    rows == 0 || len == 0 || (rows - 1) * stride + len <= buffer
}

// Masked stores are slow on some CPUs (AMD's among them), so a run ends in a whole register
// wherever its buffer has room for one, and only runs at a buffer's very end are masked.
impl<S: Simd> Runs for InRegisters<S> {
    #[inline(always)]
    fn copy_rows(
        self,
        dst: &mut [f32],
        dst_stride: usize,
        src: &[f32],
        src_stride: usize,
        rows: usize,
        len: usize,
    ) {
        assert!(
            runs_fit(dst.len(), dst_stride, rows, len),
            "a run lies outside dst"
        );
        assert!(
            runs_fit(src.len(), src_stride, rows, len),
            "a run lies outside src"
        );
        let lanes = S::LANES;
        if rows > 0
            && len <= lanes
            && runs_fit(dst.len(), dst_stride, rows, lanes)
            && runs_fit(src.len(), src_stride, rows, lanes)
        {
            // The common case: every run is one register, with room for it in both buffers.
            let (d, p) = (dst.as_mut_ptr(), src.as_ptr());
            for i in 0..rows {
                // SAFETY: `self` exists, so the CPU supports `S`; `runs_fit` just checked
                // that a whole register at every run's start lies inside both slices.
                unsafe { S::store(d.add(i * dst_stride), S::load(p.add(i * src_stride))) };
            }
            return;
        }
        for i in 0..rows {
            let (d_at, s_at) = (i * dst_stride, i * src_stride);
            // Room for whole registers in both buffers, from the run's start.
            let room = (dst.len() - d_at).min(src.len() - s_at);
            let (d, p) = (dst.as_mut_ptr(), src.as_ptr());
            let mut j = 0;
            // SAFETY: `self` exists, so the CPU supports `S`. Whole registers cover
            // `j..j + LANES ≤ room` past the run's start, partial ones `j..len ≤ room`
            // (`runs_fit`): inside both slices.
            unsafe {
                let (d, p) = (d.add(d_at), p.add(s_at));
                while j < len && j + lanes <= room {
                    S::store(d.add(j), S::load(p.add(j)));
                    j += lanes;
                }
                if j < len {
                    S::store_first(d.add(j), S::load_first(p.add(j), len - j), len - j);
                }
            }
        }
    }

    #[inline(always)]
    fn add_rows(
        self,
        dst: &mut [f32],
        dst_stride: usize,
        src: &[f32],
        src_stride: usize,
        rows: usize,
        len: usize,
    ) {
        assert!(
            runs_fit(dst.len(), dst_stride, rows, len),
            "a run lies outside dst"
        );
        assert!(
            runs_fit(src.len(), src_stride, rows, len),
            "a run lies outside src"
        );
        let lanes = S::LANES;
        if rows > 0 && len <= lanes && runs_fit(dst.len(), dst_stride, rows, lanes) {
            // The common case: every run is one register, with room for it in `dst`.
            let (d, p) = (dst.as_mut_ptr(), src.as_ptr());
            for i in 0..rows {
                // SAFETY: `self` exists, so the CPU supports `S`; `runs_fit` checked a whole
                // register at every run's start in `dst`, and `src` is read in the run only
                // (masked load). Lanes past `len` store back what `dst` held.
                unsafe {
                    let (d, p) = (d.add(i * dst_stride), p.add(i * src_stride));
                    let sum = S::mul_add(S::splat(1.0), S::load_first(p, len), S::load(d));
                    S::store(d, sum);
                }
            }
            return;
        }
        for i in 0..rows {
            let (d_at, s_at) = (i * dst_stride, i * src_stride);
            let room = dst.len() - d_at;
            let (d, p) = (dst.as_mut_ptr(), src.as_ptr());
            let mut j = 0;
            // SAFETY: as in `copy_rows`; `src` is only read in `j..len` (masked loads). Lanes
            // past `len` add zero to what `dst` holds and store it back unchanged.
            // `1 · a + b` is exactly `a + b`.
            unsafe {
                let (d, p) = (d.add(d_at), p.add(s_at));
                let one = S::splat(1.0);
                while j < len && j + lanes <= room {
                    let n = lanes.min(len - j);
                    let sum = S::mul_add(one, S::load_first(p.add(j), n), S::load(d.add(j)));
                    S::store(d.add(j), sum);
                    j += lanes;
                }
                if j < len {
                    let n = len - j;
                    let sum =
                        S::mul_add(one, S::load_first(p.add(j), n), S::load_first(d.add(j), n));
                    S::store_first(d.add(j), sum, n);
                }
            }
        }
    }

    #[inline(always)]
    fn zero(self, dst: &mut [f32]) {
        let (d, len) = (dst.as_mut_ptr(), dst.len());
        let mut j = 0;
        // SAFETY: `self` exists, so the CPU supports `S`; the stores cover `0..len`.
        unsafe {
            while j + S::LANES <= len {
                S::store(d.add(j), S::zero());
                j += S::LANES;
            }
            if j < len {
                S::store_first(d.add(j), S::zero(), len - j);
            }
        }
    }
}

/// The data movement of a sample, compiled for the instruction set of this machine, with the
/// proof that the CPU has it.
///
/// Runs are short (a kernel's width, an output row), so eight lanes beat sixteen even where
/// AVX-512 is available: AVX2 is used on every x86-64 CPU that has it.
#[derive(Clone, Copy)]
pub(super) enum Mover {
    #[cfg(target_arch = "x86_64")]
    Avx2(InRegisters<Avx2>),
    Portable(InRegisters<Portable>),
}

/// `#[target_feature]` entry points for the generic movers, so that `Runs`' register
/// operations compile to AVX2 instructions.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn im2col(
        r: InRegisters<Avx2>,
        s: &ConvShape,
        x: &[f32],
        first: usize,
        col: &mut [f32],
    ) {
        super::im2col(r, s, x, first, col)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn im2col_transposed(
        r: InRegisters<Avx2>,
        s: &ConvShape,
        x: &[f32],
        col_t: &mut [f32],
    ) {
        super::im2col_transposed(r, s, x, col_t)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn col2im(r: InRegisters<Avx2>, s: &ConvShape, dcol: &[f32], dx: &mut [f32]) {
        super::col2im(r, s, dcol, dx)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn copy_rows(
        r: InRegisters<Avx2>,
        dst: &mut [f32],
        dst_stride: usize,
        src: &[f32],
        src_stride: usize,
        rows: usize,
        len: usize,
    ) {
        r.copy_rows(dst, dst_stride, src, src_stride, rows, len)
    }
}

impl Mover {
    /// AVX2 where the CPU has it, else portable code.
    pub(super) fn here() -> Self {
        #[cfg(target_arch = "x86_64")]
        if supports(InstructionSet::Avx2) {
            // SAFETY: `supports` just confirmed AVX2 and FMA on this CPU.
            return Mover::Avx2(unsafe { InRegisters::new() });
        }
        // SAFETY: portable Rust runs everywhere.
        Mover::Portable(unsafe { InRegisters::new() })
    }

    // SAFETY (the `unsafe` calls below): a `Mover::Avx2` holds an `InRegisters<Avx2>`, which
    // exists only where the CPU has AVX2 and FMA, all the entry points require.

    fn im2col(self, s: &ConvShape, x: &[f32], first: usize, col: &mut [f32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Mover::Avx2(r) => unsafe { avx2::im2col(r, s, x, first, col) },
            Mover::Portable(r) => im2col(r, s, x, first, col),
        }
    }

    fn im2col_transposed(self, s: &ConvShape, x: &[f32], col_t: &mut [f32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Mover::Avx2(r) => unsafe { avx2::im2col_transposed(r, s, x, col_t) },
            Mover::Portable(r) => im2col_transposed(r, s, x, col_t),
        }
    }

    /// [`Runs::copy_rows`]: `rows` runs of `len` from `src` (`src_stride` apart) to `dst`
    /// (`dst_stride` apart), each maybe spilling up to a register past its end in `dst`.
    pub(super) fn copy_rows(
        self,
        dst: &mut [f32],
        dst_stride: usize,
        src: &[f32],
        src_stride: usize,
        rows: usize,
        len: usize,
    ) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Mover::Avx2(r) => unsafe {
                avx2::copy_rows(r, dst, dst_stride, src, src_stride, rows, len)
            },
            Mover::Portable(r) => r.copy_rows(dst, dst_stride, src, src_stride, rows, len),
        }
    }

    fn col2im(self, s: &ConvShape, dcol: &[f32], dx: &mut [f32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Mover::Avx2(r) => unsafe { avx2::col2im(r, s, dcol, dx) },
            Mover::Portable(r) => col2im(r, s, dcol, dx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn random(rng: &mut crate::init::Rng, len: usize) -> Vec<f32> {
        (0..len)
            .map(|_| crate::init::uniform(rng, -1.0, 1.0))
            .collect()
    }

    /// The input value a window tap reads, or `None` in the padding.
    fn tap(ax: &ConvAxis, o: usize, t: usize) -> Option<usize> {
        let i = (o * ax.stride + t * ax.dilation) as isize - ax.pad_before as isize;
        (0..ax.size as isize).contains(&i).then_some(i as usize)
    }

    /// Plain nested loops: `y`, then `dW`, `db`, `dx` for the upstream gradient `dy`.
    fn naive(
        s: &ConvShape,
        batch: usize,
        x: &[f32],
        w: &[f32],
        bias: &[f32],
        dy: &[f32],
    ) -> [Vec<f32>; 4] {
        let (ax_h, ax_w) = (&s.height, &s.width);
        let (h, wd, oh_n, ow_n) = (ax_h.size, ax_w.size, ax_h.out, ax_w.out);
        let (kh_n, kw_n) = (ax_h.kernel, ax_w.kernel);
        let (group_in, group_out) = (s.group_in(), s.group_out());
        let mut y = vec![0.0; batch * s.output_len()];
        let mut dw = vec![0.0; s.weight_len()];
        let mut db = vec![0.0; s.c_out];
        let mut dx = vec![0.0; x.len()];
        for b in 0..batch {
            for co in 0..s.c_out {
                let g = co / group_out;
                for oh in 0..oh_n {
                    for ow in 0..ow_n {
                        let out = ((b * s.c_out + co) * oh_n + oh) * ow_n + ow;
                        let mut sum = bias[co];
                        db[co] += dy[out];
                        for ci in 0..group_in {
                            let c = g * group_in + ci;
                            for kh in 0..kh_n {
                                for kw in 0..kw_n {
                                    let (Some(ih), Some(iw)) =
                                        (tap(ax_h, oh, kh), tap(ax_w, ow, kw))
                                    else {
                                        continue;
                                    };
                                    let xi = ((b * s.c_in + c) * h + ih) * wd + iw;
                                    let wi = ((co * group_in + ci) * kh_n + kh) * kw_n + kw;
                                    sum += w[wi] * x[xi];
                                    dw[wi] += dy[out] * x[xi];
                                    dx[xi] += dy[out] * w[wi];
                                }
                            }
                        }
                        y[out] = sum;
                    }
                }
            }
        }
        [y, dw, db, dx]
    }

    fn shape(
        c_in: usize,
        c_out: usize,
        hw: (usize, usize),
        k: usize,
        stride: usize,
        pad: usize,
    ) -> ConvShape {
        let s = ConvShape::square(c_in, c_out, hw, k, stride, pad);
        assert!(s.is_valid(), "{s:?}");
        s
    }

    /// A shape with `groups`, and each axis `(size, kernel, stride, dilation, pad_before,
    /// pad_after)`.
    fn general(
        c_in: usize,
        c_out: usize,
        groups: usize,
        [h, w]: [(usize, usize, usize, usize, usize, usize); 2],
    ) -> ConvShape {
        let axis = |(n, k, s, d, before, after)| ConvAxis::general(n, k, s, d, before, after);
        let s = ConvShape {
            c_in,
            c_out,
            groups,
            height: axis(h),
            width: axis(w),
        };
        assert!(s.is_valid(), "{s:?}");
        s
    }

    fn assert_close(what: &str, s: &ConvShape, got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "{s:?} {what}[{i}]: {g} vs {w}"
            );
        }
    }

    #[test]
    fn matches_nested_loops_on_many_shapes() {
        let mut rng = crate::init::seeded(21);
        let cases = [
            // (c_in, c_out, (h, w), k, stride, pad, batch)
            (1, 6, (28, 28), 5, 1, 0, 2),
            (6, 16, (12, 12), 5, 1, 0, 3),
            (3, 3, (3, 3), 3, 1, 1, 1),
            (4, 4, (4, 4), 3, 1, 0, 2),
            (5, 5, (5, 5), 2, 2, 0, 2),
            (2, 3, (7, 5), 3, 2, 1, 2),
            (3, 2, (6, 9), 1, 1, 0, 2),
            (3, 2, (6, 9), 1, 2, 0, 1),
            (2, 17, (5, 4), 1, 1, 2, 1),
            (2, 3, (8, 7), 3, 3, 0, 2),
            (1, 1, (1, 1), 3, 1, 1, 1),
            (2, 2, (2, 3), 5, 1, 2, 2),
            (3, 5, (9, 9), 4, 3, 2, 1),
            (7, 9, (10, 6), 3, 2, 0, 2),
            // Batches cut into groups of several samples, fewer groups than `GROUPS`.
            (2, 3, (7, 5), 3, 2, 1, 10),
            (1, 2, (6, 6), 3, 1, 1, 17),
        ];
        let square = cases.map(|(c_in, c_out, hw, k, stride, pad, batch)| {
            (shape(c_in, c_out, hw, k, stride, pad), batch)
        });
        let unit = (1, 1, 1, 1, 0, 0);
        let others = [
            // Groups, dilations, rectangular windows, padding on one side, and 1-D.
            (
                general(4, 6, 2, [(7, 3, 1, 1, 1, 1), (6, 3, 1, 1, 1, 1)]),
                2,
            ),
            (
                general(4, 4, 4, [(6, 3, 1, 1, 1, 1), (5, 3, 1, 1, 1, 1)]),
                3,
            ),
            (
                general(3, 6, 3, [(9, 3, 2, 1, 0, 1), (8, 3, 2, 1, 0, 1)]),
                2,
            ),
            (
                general(2, 3, 1, [(10, 3, 1, 2, 0, 0), (9, 2, 2, 3, 1, 2)]),
                2,
            ),
            (
                general(2, 4, 1, [(9, 5, 2, 1, 2, 2), (6, 3, 1, 1, 1, 1)]),
                2,
            ),
            (general(3, 5, 1, [unit, (20, 3, 1, 4, 8, 0)]), 3),
            (general(4, 4, 4, [unit, (19, 3, 2, 2, 4, 0)]), 2),
            (general(6, 4, 2, [unit, (12, 1, 1, 1, 0, 0)]), 2),
            (
                general(3, 3, 3, [(25, 3, 1, 1, 1, 1), (5, 3, 1, 1, 1, 1)]),
                10,
            ),
            (
                general(2, 2, 2, [(4, 5, 1, 1, 2, 2), (3, 3, 1, 2, 2, 2)]),
                1,
            ),
            // 1-D convolutions with shifted products: several samples per product, grouped,
            // and one sample per product.
            (general(16, 8, 1, [unit, (20, 3, 1, 2, 4, 0)]), 3),
            (general(32, 6, 2, [unit, (12, 2, 1, 1, 1, 0)]), 2),
            (general(16, 4, 1, [unit, (300, 3, 1, 1, 1, 1)]), 2),
            // Depthwise at stride 1: output rows narrower than the input's (no padding), wider
            // (more padding than `same`), causal 1 × 3 and 3 × 1 kernels.
            (
                general(3, 6, 3, [(7, 3, 1, 1, 0, 0), (6, 3, 1, 1, 0, 0)]),
                3,
            ),
            (
                general(2, 2, 2, [(5, 3, 1, 1, 2, 2), (4, 3, 1, 1, 2, 2)]),
                2,
            ),
            (general(4, 4, 4, [unit, (16, 3, 1, 2, 4, 0)]), 3),
            (
                general(2, 2, 2, [(8, 3, 1, 1, 1, 1), (5, 1, 1, 1, 0, 0)]),
                2,
            ),
        ];
        for (s, batch) in square.into_iter().chain(others) {
            let c_out = s.c_out;
            let x = random(&mut rng, batch * s.input_len());
            let w = random(&mut rng, s.weight_len());
            let bias = random(&mut rng, c_out);
            let dy = random(&mut rng, batch * s.output_len());
            let [y_want, dw_want, db_want, dx_want] = naive(&s, batch, &x, &w, &bias, &dy);

            let mut y = vec![f32::NAN; y_want.len()];
            let mut work = vec![f32::NAN; s.forward_workspace_len()];
            conv2d_forward(&s, &x, &w, &bias, &mut y, &mut work);
            assert_close("y", &s, &y, &y_want);
            // A column matrix per group of samples (what runs on threads): the same bits.
            let mut y_groups = vec![f32::NAN; y_want.len()];
            let mut work = vec![f32::NAN; groups(batch) * s.forward_workspace_len()];
            conv2d_forward(&s, &x, &w, &bias, &mut y_groups, &mut work);
            assert_eq!(y_groups, y, "{s:?}, batch {batch}");

            // Gradients accumulate onto what is there; dx is overwritten.
            let mut dw = vec![1.0; s.weight_len()];
            let mut db = vec![1.0; c_out];
            let mut dx = vec![f32::NAN; x.len()];
            let mut work = vec![f32::NAN; s.backward_workspace_len(x.len() / s.input_len())];
            let grads = ConvGrads {
                weight: &mut dw,
                bias: &mut db,
            };
            conv2d_backward(&s, &x, &w, &dy, grads, Some(&mut dx), &mut work);
            let plus_one = |v: &[f32]| v.iter().map(|g| g + 1.0).collect::<Vec<_>>();
            assert_close("dW", &s, &dw, &plus_one(&dw_want));
            assert_close("db", &s, &db, &plus_one(&db_want));
            assert_close("dx", &s, &dx, &dx_want);

            // Without dx, the parameter gradients are the same.
            let (mut dw2, mut db2) = (vec![1.0; s.weight_len()], vec![1.0; c_out]);
            let grads = ConvGrads {
                weight: &mut dw2,
                bias: &mut db2,
            };
            conv2d_backward(&s, &x, &w, &dy, grads, None, &mut work);
            assert_eq!((dw2, db2), (dw, db));
        }
    }

    /// A tiled forward gives the whole column matrix's bits, with this machine's product and
    /// with the Cortex-M one (its plain-Rust twin here), on shapes whose last tile is whole,
    /// shorter, or short of a device block (17 rows of 1, tiles of 16); with more than 96 channels (the packed
    /// product) and more than 256 taps (two depth blocks).
    #[test]
    fn tiles_give_the_whole_matrix_bits() {
        let mut rng = crate::init::seeded(23);
        let cases = [
            // (c_in, c_out, (h, w), k, stride, pad, batch)
            (1, 6, (28, 28), 5, 1, 0, 2),
            (6, 16, (12, 12), 5, 1, 0, 2),
            (1, 16, (28, 28), 5, 1, 2, 1),
            (16, 32, (14, 14), 5, 1, 2, 1),
            (2, 3, (13, 11), 3, 2, 1, 2),
            (3, 5, (15, 15), 4, 3, 2, 1),
            (7, 9, (20, 14), 3, 2, 0, 2),
            (3, 1, (19, 3), 3, 1, 0, 1),
            (1, 2, (20, 13), 3, 1, 0, 2),
            (1, 2, (9, 5), 3, 1, 1, 1),
            (1, 3, (6, 7), 2, 1, 1, 1),
            (3, 100, (30, 30), 3, 1, 1, 1),
            (12, 8, (10, 10), 5, 1, 2, 1),
            (2, 3, (9, 8), 3, 1, 0, 2),
        ];
        let square = cases.map(|(c_in, c_out, hw, k, stride, pad, batch)| {
            (shape(c_in, c_out, hw, k, stride, pad), batch)
        });
        let others = [
            (
                general(2, 3, 1, [(20, 3, 1, 2, 2, 2), (13, 3, 2, 1, 1, 2)]),
                2,
            ),
            (
                general(4, 6, 2, [(20, 3, 1, 1, 1, 1), (12, 3, 1, 1, 1, 1)]),
                1,
            ),
            (
                general(3, 2, 1, [(6, 1, 1, 1, 0, 0), (40, 3, 1, 4, 8, 0)]),
                2,
            ),
            // Shifted products, several samples side by side against one at a time.
            (
                general(16, 8, 1, [(1, 1, 1, 1, 0, 0), (40, 3, 1, 4, 8, 0)]),
                3,
            ),
            (
                general(32, 6, 2, [(1, 1, 1, 1, 0, 0), (100, 2, 1, 1, 1, 0)]),
                2,
            ),
        ];
        for (s, batch) in square.into_iter().chain(others) {
            let c_out = s.c_out;
            let tiled_len = s.forward_tiled_workspace_len();
            assert!(tiled_len < s.forward_workspace_len(), "{s:?} is not tiled");
            let x = random(&mut rng, batch * s.input_len());
            let w = random(&mut rng, s.weight_len());
            let bias = random(&mut rng, c_out);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let run = |len: usize| {
                let mut y = vec![f32::NAN; batch * s.output_len()];
                let mut work = vec![f32::NAN; len];
                conv2d_forward(&s, &x, &w, &bias, &mut y, &mut work);
                y
            };
            let whole = run(s.forward_workspace_len());
            assert_eq!(bits(&run(tiled_len)), bits(&whole), "{s:?}");

            // The device's kernels, whole and tiled, and the host's, tiled with the portable
            // mover.
            // SAFETY: portable Rust runs everywhere.
            let portable = Kernels::Host(Mover::Portable(unsafe { InRegisters::new() }));
            for (x_b, whole_b) in x
                .chunks_exact(s.input_len())
                .zip(whole.chunks_exact(s.output_len()))
            {
                let mut col = vec![f32::NAN; s.col_len()];
                im2col_plain(&s, x_b, 0, &mut col);
                let mut y_whole = vec![f32::NAN; s.output_len()];
                let positions = s.positions();
                Kernels::Device.product(&s, &w, &col, &bias, &mut y_whole, positions, positions);
                let tiled = |kernels: Kernels| {
                    let mut y_tiled = vec![f32::NAN; s.output_len()];
                    let mut work = vec![f32::NAN; tiled_len];
                    forward_tiled(&s, x_b, &w, &bias, &mut y_tiled, &mut work, kernels);
                    y_tiled
                };
                assert_eq!(
                    bits(&tiled(Kernels::Device)),
                    bits(&y_whole),
                    "{s:?} on the device product"
                );
                assert_eq!(bits(&tiled(portable)), bits(whole_b), "{s:?} portable");
            }
        }
    }

    /// LeNet's tiled workspaces: the column matrix of one output row of 24 (conv1) or two of 8
    /// (conv2); their products go straight into the output.
    #[test]
    fn lenet_tiled_workspaces() {
        let conv1 = shape(1, 6, (28, 28), 5, 1, 0);
        let conv2 = shape(6, 16, (12, 12), 5, 1, 0);
        assert_eq!(conv1.forward_workspace_len(), 25 * 576);
        assert_eq!((conv1.tile_rows(), conv2.tile_rows()), (1, 2));
        assert_eq!(conv1.forward_tiled_workspace_len(), 25 * 24);
        assert_eq!(conv2.forward_tiled_workspace_len(), 150 * 16);
        // Rows of 14 come in pairs (28 positions), rows of 3 in fours (12) then eights (24).
        assert_eq!(shape(16, 32, (14, 14), 5, 1, 2).tile_rows(), 2);
        assert_eq!(shape(1, 2, (15, 1), 1, 1, 1).tile_rows(), 8);
        assert_eq!(shape(3, 1, (19, 3), 3, 1, 0).tile_rows(), 16);
        // A pointwise kernel needs no column matrix, tiled or not; a small one is not tiled.
        assert_eq!(
            shape(3, 2, (6, 9), 1, 1, 0).forward_tiled_workspace_len(),
            0
        );
        let small = shape(2, 3, (7, 5), 3, 2, 1);
        assert_eq!(small.forward_tiled_workspace_len(), small.col_len());
        // Its 12 output positions make narrow products: the forward sets 8 samples side by
        // side (21 would reach 256 columns), LeNet's conv2 (64 positions) 4, conv1 (576) 1.
        assert_eq!(small.samples_per_product(), WIDE_SAMPLES);
        assert_eq!(
            small.forward_workspace_len(),
            8 * (small.col_len() + 3 * 12)
        );
        assert_eq!(
            (conv2.samples_per_product(), conv1.samples_per_product()),
            (4, 1)
        );
    }

    /// The device's column builder (plain Rust, run here) gives the portable mover's matrix,
    /// whole and for every tile, on strides, paddings wider than the kernel, windows that
    /// miss the input, and kernels of one.
    #[test]
    fn plain_im2col_matches_the_movers() {
        let mut rng = crate::init::seeded(24);
        // SAFETY: portable Rust runs everywhere.
        let portable = unsafe { InRegisters::<Portable>::new() };
        for s in [
            shape(1, 1, (28, 28), 5, 1, 2),
            shape(16, 1, (14, 14), 5, 1, 2),
            shape(8, 1, (14, 14), 3, 1, 1),
            shape(6, 1, (12, 12), 5, 1, 0),
            shape(3, 1, (7, 5), 3, 2, 1),
            shape(2, 1, (4, 4), 3, 1, 2),
            shape(2, 1, (2, 3), 5, 1, 2),
            shape(3, 1, (15, 15), 4, 3, 2),
            shape(7, 1, (20, 14), 3, 2, 0),
            shape(2, 1, (8, 7), 3, 3, 0),
            shape(2, 1, (5, 4), 1, 1, 2),
            shape(3, 1, (6, 9), 1, 2, 0),
            shape(1, 1, (1, 1), 3, 1, 1),
            shape(1, 1, (9, 1), 3, 1, 4),
            general(2, 1, 1, [(10, 3, 1, 2, 0, 0), (9, 2, 2, 3, 1, 2)]),
            general(3, 1, 1, [(1, 1, 1, 1, 0, 0), (20, 3, 1, 4, 8, 0)]),
            general(2, 1, 1, [(9, 5, 2, 1, 2, 3), (6, 3, 1, 1, 1, 1)]),
            general(2, 1, 1, [(9, 3, 1, 2, 0, 0), (8, 3, 1, 2, 0, 0)]),
        ] {
            let x = random(&mut rng, s.input_len());
            for rows in 1..=s.height.out {
                for first in 0..=s.height.out - rows {
                    let len = s.col_rows() * rows * s.width.out;
                    let mut want = vec![f32::NAN; len];
                    im2col(portable, &s, &x, first, &mut want);
                    let mut got = vec![f32::NAN; len];
                    im2col_plain(&s, &x, first, &mut got);
                    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&want), "{s:?}, rows {first}..+{rows}");
                }
            }
        }
    }

    /// The portable movers (what non-x86 targets run) agree with the ones this CPU uses.
    #[test]
    fn portable_movers_agree_with_this_cpus() {
        let mut rng = crate::init::seeded(22);
        // SAFETY: portable Rust runs everywhere.
        let portable = unsafe { InRegisters::<Portable>::new() };
        let here = Mover::here();
        for s in [
            shape(6, 1, (12, 12), 5, 1, 0),
            shape(3, 1, (7, 5), 3, 2, 1),
            shape(2, 1, (4, 4), 3, 1, 2),
            shape(1, 1, (28, 28), 5, 1, 0),
            general(2, 1, 1, [(10, 3, 1, 2, 0, 0), (9, 2, 2, 3, 1, 2)]),
            general(3, 1, 1, [(1, 1, 1, 1, 0, 0), (20, 3, 1, 4, 8, 0)]),
            general(2, 1, 1, [(9, 3, 1, 2, 0, 0), (8, 3, 1, 2, 0, 0)]),
        ] {
            let x = random(&mut rng, s.input_len());
            let dcol = random(&mut rng, s.col_len());
            let run = |f: &dyn Fn(&mut [f32]), len: usize| {
                let mut out = vec![f32::NAN; len];
                f(&mut out);
                out
            };
            let col = |m: &dyn Fn(&[f32], &mut [f32])| run(&|out| m(&x, out), s.col_len());
            assert_eq!(
                col(&|x, out| im2col(portable, &s, x, 0, out)),
                col(&|x, out| here.im2col(&s, x, 0, out))
            );
            assert_eq!(
                col(&|x, out| im2col_transposed(portable, &s, x, out)),
                col(&|x, out| here.im2col_transposed(&s, x, out))
            );
            assert_eq!(
                run(&|out| col2im(portable, &s, &dcol, out), s.input_len()),
                run(&|out| here.col2im(&s, &dcol, out), s.input_len())
            );
        }
    }

    #[test]
    fn window_count_is_pytorchs_floor_rule() {
        assert_eq!(window_count(28, 5, 1, 0), Some(24));
        assert_eq!(window_count(7, 2, 2, 0), Some(3));
        assert_eq!(window_count(5, 3, 2, 1), Some(3));
        assert_eq!(window_count(2, 5, 1, 1), None);
        assert_eq!(window_count(4, 1, 0, 0), None);
    }

    #[test]
    #[should_panic(expected = "inconsistent convolution sizes")]
    fn an_inconsistent_shape_panics() {
        let mut s = shape(1, 1, (4, 4), 3, 1, 0);
        s.height.out = 3;
        conv2d_forward(
            &s,
            &[0.0; 16],
            &[0.0; 9],
            &[0.0],
            &mut [0.0; 6],
            &mut [0.0; 27],
        );
    }

    /// Forward GFLOP/s at batch 64 on LeNet's two convolutions, and the backward's:
    /// `cargo test --release -p nn-core -- --ignored --nocapture conv_throughput`.
    #[test]
    #[ignore = "a measurement; run in release mode"]
    fn conv_throughput() {
        extern crate std;
        use std::time::Instant;
        const BATCH: usize = 64;
        for (name, s) in [
            ("conv1 1->6 k5 28x28", shape(1, 6, (28, 28), 5, 1, 0)),
            ("conv2 6->16 k5 12x12", shape(6, 16, (12, 12), 5, 1, 0)),
        ] {
            let mut rng = crate::init::seeded(1);
            let x = random(&mut rng, BATCH * s.input_len());
            let w = random(&mut rng, s.weight_len());
            let bias = random(&mut rng, s.c_out);
            let mut y = vec![0.0; BATCH * s.output_len()];
            let mut dx = vec![0.0; x.len()];
            let (mut dw, mut db) = (vec![0.0; s.weight_len()], vec![0.0; s.c_out]);
            let mut fwork = vec![0.0; s.forward_workspace_len()];
            let mut bwork = vec![0.0; s.backward_workspace_len(BATCH)];
            let flops = (2 * BATCH * s.output_len() * s.taps()) as f64;
            fn median(mut f: impl FnMut()) -> f64 {
                let mut times: Vec<f64> = (0..31)
                    .map(|_| {
                        let t = Instant::now();
                        for _ in 0..10 {
                            f();
                        }
                        t.elapsed().as_secs_f64() / 10.0
                    })
                    .collect();
                times.sort_by(f64::total_cmp);
                times[times.len() / 2]
            }
            let fwd = median(|| conv2d_forward(&s, &x, &w, &bias, &mut y, &mut fwork));
            let dy = y.clone();
            let bwd_w = median(|| {
                let grads = ConvGrads {
                    weight: &mut dw,
                    bias: &mut db,
                };
                conv2d_backward(&s, &x, &w, &dy, grads, None, &mut bwork)
            });
            let bwd = median(|| {
                let grads = ConvGrads {
                    weight: &mut dw,
                    bias: &mut db,
                };
                conv2d_backward(&s, &x, &w, &dy, grads, Some(&mut dx), &mut bwork)
            });
            std::println!(
                "{name}: forward {:.1} µs ({:.1} GFLOP/s), backward dW {:.1} µs ({:.1} GFLOP/s), \
                 backward dW+dx {:.1} µs ({:.1} GFLOP/s)",
                fwd * 1e6,
                flops / fwd / 1e9,
                bwd_w * 1e6,
                flops / bwd_w / 1e9,
                bwd * 1e6,
                2.0 * flops / bwd / 1e9
            );
        }
    }
}
