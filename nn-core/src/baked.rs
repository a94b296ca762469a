//! Inference over weights baked into the binary: what `network!` emits for a declaration with
//! `#[weights = "file.safetensors"]`. No heap, no allocator, no `alloc` feature.
//!
//! A baked network's parameters are `static` `[f32; N]` arrays, and one inference call runs
//! these slice kernels, step after step, in a work arena the caller owns (its length is the
//! network's `WORK_LEN`). The macro decides at compile time where in that arena every
//! activation and every kernel's scratch lives (see the README's section on baked weights): a
//! buffer is kept only while a later step reads it, an activation works in place, and a
//! reshape is free. The kernels are the ones the heap layers run ([`linalg::affine`], the conv,
//! pool, upsample and batch-norm kernels of [`linalg`], the recurrent layers' batch-1 kernels of
//! [`linalg::recurrent`], the layer and RMS norms of [`linalg::norm`], the attention kernel of
//! [`linalg::attention`], the embedding, position codes, patches and mean over steps of
//! [`linalg::sequence`], the scalar functions of the activations, the merges of
//! [`linalg::chunks`]), so a baked network gives the same bits as
//! the heap network with the same weights at batch 1, except where the macro folded a
//! `batch_norm` into the convolution or dense layer before it (the README's section on baked
//! weights gives the tolerance).
//!
//! ```
//! // A 3 → 2 dense layer, then relu, over a caller's buffer.
//! static WEIGHT: [f32; 6] = [1.0, 0.0, 0.0, 0.0, -1.0, -1.0];
//! static BIAS: [f32; 2] = [0.5, 0.5];
//! let x = [1.0, 2.0, 3.0];
//! let mut y = [0.0; 2];
//! nn_core::baked::dense(&WEIGHT, &BIAS, &x, &mut y, 3);
//! nn_core::baked::relu(&mut y);
//! assert_eq!(y, [1.5, 0.0]);
//! ```

use crate::linalg;
pub use crate::linalg::attention::AttentionParams;
pub use crate::linalg::conv::{ConvAxis, ConvShape};
pub use crate::linalg::pool::PoolShape;
pub use crate::linalg::recurrent::{Nonlinearity, RecurrentParams};
pub use crate::linalg::upsample::UpsampleShape;
use crate::math;

/// `leaky_relu`'s negative slope when the declaration gives none (PyTorch's default).
pub const LEAKY_RELU_ALPHA: f32 = 0.01;

/// `elu`'s `alpha` when the declaration gives none (PyTorch's default).
pub const ELU_ALPHA: f32 = 1.0;

/// `N` values aligned to 64 bytes, a cache line: the type of a baked weight array. A weight row
/// that starts mid-line would split every wide load in two (the heap layers' buffers come
/// from the allocator, aligned as well).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub struct Aligned<const N: usize>(pub [f32; N]);

/// `y = x · Wᵀ + b` for `x.len() / inputs` rows of `inputs` features, with `weight` of
/// `bias.len() × inputs` (PyTorch's `Linear` layout). The heap [`Dense`](crate::layers::Dense)
/// layer's kernel.
///
/// # Panics
/// When the lengths do not line up; generated code passes arrays whose lengths the macro
/// checked against the weights file.
pub fn dense(weight: &[f32], bias: &[f32], x: &[f32], y: &mut [f32], inputs: usize) {
    let rows = x.len() / inputs.max(1);
    linalg::affine(weight, bias, x, y, rows, inputs);
}

/// `max(0, x)` in place.
pub fn relu(values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = math::relu(*v));
}

/// `x`, or `alpha · x` below zero, in place.
pub fn leaky_relu(values: &mut [f32], alpha: f32) {
    values
        .iter_mut()
        .for_each(|v| *v = math::leaky_relu(*v, alpha));
}

/// The logistic function in place.
pub fn sigmoid(values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = math::sigmoid(*v));
}

/// `tanh` in place.
pub fn tanh(values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = math::tanh(*v));
}

/// `x`, or `alpha · (eˣ − 1)` below zero, in place.
pub fn elu(values: &mut [f32], alpha: f32) {
    values.iter_mut().for_each(|v| *v = math::elu(*v, alpha));
}

/// GELU (tanh approximation, PyTorch's `approximate='tanh'`) in place.
pub fn gelu(values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = math::gelu(*v));
}

/// The softmax of every row of `features` logits of `x`, written to `y` (of `x`'s length).
pub fn softmax(x: &[f32], y: &mut [f32], features: usize) {
    let features = features.max(1);
    for (row, out) in x.chunks_exact(features).zip(y.chunks_exact_mut(features)) {
        math::softmax_row(row, out);
    }
}

/// `batch_norm`'s `eps`: PyTorch's default, and the heap `BatchNorm::DEFAULT_EPS` that
/// `network!`'s `batch_norm` uses.
pub const BATCH_NORM_EPS: f32 = 1e-5;

/// A 2-D convolution of one NCHW sample (the heap [`Conv2d`](crate::layers::Conv2d)'s
/// kernel, [`linalg::conv::conv2d_forward`]): `scratch` is its tiled workspace,
/// [`ConvShape::forward_tiled_workspace_len`] values carved from the work arena (a tile of the
/// column matrix, whose product goes straight into `y`; the heap layer's bits).
///
/// # Panics
/// When a length disagrees with `shape`; generated code passes arrays the macro sized.
pub fn conv2d(
    shape: &ConvShape,
    weight: &[f32],
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    linalg::conv::conv2d_forward(shape, x, weight, bias, y, scratch);
}

/// The maximum of every window ([`linalg::pool::max_pool_forward`]).
pub fn max_pool(shape: &PoolShape, x: &[f32], y: &mut [f32]) {
    linalg::pool::max_pool_forward(shape, x, y);
}

/// The mean of every window ([`linalg::pool::avg_pool_forward`]).
pub fn avg_pool(shape: &PoolShape, x: &[f32], y: &mut [f32]) {
    linalg::pool::avg_pool_forward(shape, x, y);
}

/// The mean of every plane of `plane` values ([`linalg::pool::global_avg_pool_forward`]).
pub fn global_avg_pool(plane: usize, x: &[f32], y: &mut [f32]) {
    linalg::pool::global_avg_pool_forward(plane, x, y);
}

/// Upsampling by an integer factor, nearest or bilinear
/// ([`linalg::upsample::upsample_forward`]).
pub fn upsample(shape: &UpsampleShape, bilinear: bool, x: &[f32], y: &mut [f32]) {
    linalg::upsample::upsample_forward(shape, bilinear, x, y);
}

/// A `batch_norm` with no layer before it to fold into: the running statistics, per channel
/// of `spatial` values ([`linalg::norm::batch_norm_inference`], the heap layer's kernel).
#[allow(
    clippy::too_many_arguments,
    reason = "the four per-channel tensors are PyTorch's, passed as they are stored"
)]
pub fn batch_norm(
    weight: &[f32],
    bias: &[f32],
    mean: &[f32],
    var: &[f32],
    spatial: usize,
    x: &[f32],
    y: &mut [f32],
) {
    linalg::norm::batch_norm_inference(weight, bias, mean, var, BATCH_NORM_EPS, spatial, x, y);
}

/// An `rnn` layer on one sequence `x` (`T × F`), every step's state into `y` (`T × H`): the
/// heap [`Rnn`](crate::layers::Rnn)'s batch-1 kernel, [`linalg::recurrent::rnn`]. `scratch`
/// is [`rnn_scratch_len`] values of the work arena.
///
/// As for [`gru`] and [`lstm`], the weights of `params` are laid out for the target
/// ([`linalg::recurrent::prepare_weight_ih`], [`linalg::recurrent::prepare_weight_hh`]), as
/// `network!` bakes them.
///
/// # Panics
/// When a length disagrees with another; generated code passes arrays the macro sized.
pub fn rnn(
    params: &RecurrentParams<'_>,
    nonlinearity: Nonlinearity,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    linalg::recurrent::rnn(params, nonlinearity, x, y, scratch);
}

/// The scratch of [`rnn`]: the summed biases, `hidden` values.
pub const fn rnn_scratch_len(hidden: usize) -> usize {
    hidden
}

/// A `gru` layer on one sequence `x` (`T × F`), every step's state into `y` (`T × H`): the
/// heap [`Gru`](crate::layers::Gru)'s batch-1 kernel, [`linalg::recurrent::gru`]. `scratch`
/// is [`gru_scratch_len`] values of the work arena: every step's gates, and one step's
/// recurrent product.
///
/// # Panics
/// When a length disagrees with another; generated code passes arrays the macro sized.
pub fn gru(params: &RecurrentParams<'_>, x: &[f32], y: &mut [f32], scratch: &mut [f32]) {
    let width = params.bias_ih.len();
    let (gates, hh) = scratch.split_at_mut(scratch.len() - width);
    linalg::recurrent::gru(params, x, y, gates, hh);
}

/// The scratch of [`gru`] over `steps` steps: `(steps + 1) · 3 · hidden` values.
pub const fn gru_scratch_len(steps: usize, hidden: usize) -> usize {
    (steps + 1) * 3 * hidden
}

/// An `lstm` layer on one sequence `x` (`T × F`), every step's `h` into `y` (`T × H`): the
/// heap [`Lstm`](crate::layers::Lstm)'s batch-1 kernel, [`linalg::recurrent::lstm`].
/// `scratch` is [`lstm_scratch_len`] values of the work arena: every step's gates, two steps'
/// cell state, one step's `tanh c` and the summed biases.
///
/// # Panics
/// When a length disagrees with another; generated code passes arrays the macro sized.
pub fn lstm(params: &RecurrentParams<'_>, x: &[f32], y: &mut [f32], scratch: &mut [f32]) {
    let width = params.bias_ih.len();
    let hidden = width / 4;
    let (gates, rest) = scratch.split_at_mut(scratch.len() - width - 3 * hidden);
    let (cs, rest) = rest.split_at_mut(2 * hidden);
    let (tanh_cs, bias) = rest.split_at_mut(hidden);
    let buffers = linalg::recurrent::LstmBuffers {
        gates,
        cs,
        tanh_cs,
        bias,
    };
    linalg::recurrent::lstm(params, x, y, buffers);
}

/// The scratch of [`lstm`] over `steps` steps: `(4 · steps + 7) · hidden` values.
pub const fn lstm_scratch_len(steps: usize, hidden: usize) -> usize {
    (4 * steps + 7) * hidden
}

/// `last`: the final step of a sequence `x` of `y.len()` features per step.
///
/// # Panics
/// When `x` is shorter than `y`.
pub fn last(x: &[f32], y: &mut [f32]) {
    y.copy_from_slice(&x[x.len() - y.len()..]);
}

/// A fork's `add`: `out` = the sum of `parts` ([`linalg::chunks::sum_into`], as the heap
/// network's merge).
pub fn add(parts: &[&[f32]], out: &mut [f32]) {
    linalg::chunks::sum_into(parts, out);
}

/// A fork's `concat` or `stack`: each of `outer` blocks of every part in turn
/// ([`linalg::chunks::concat_chunks`], as the heap network's merge).
pub fn concat(outer: usize, parts: &[&[f32]], out: &mut [f32]) {
    linalg::chunks::concat_chunks(outer, parts, out);
}

/// `embedding`: row `id` of `table` (`VOCAB × features`, PyTorch's `nn.Embedding` weight) for
/// every token id of `ids` (`f32`s, as the network's input holds them), into `y`
/// ([`linalg::sequence::embedding`], the heap [`Embedding`](crate::layers::Embedding)'s
/// kernel). An id that is not an integer in `0..VOCAB` gives a row of NaN, and nothing outside
/// the table is read.
///
/// # Panics
/// When `features` is 0; generated code passes the layer's width.
pub fn embedding(table: &[f32], features: usize, ids: &[f32], y: &mut [f32]) {
    linalg::sequence::embedding(table, features, ids, y);
}

/// `positional(T, D)`: `y = x + table`, a learned position embedding (`T × D`) added to the
/// sequence `x` ([`linalg::sequence::add_positions`], as the heap
/// [`LearnedPositional`](crate::layers::LearnedPositional)).
pub fn positional(table: &[f32], x: &[f32], y: &mut [f32]) {
    linalg::sequence::add_positions(table, x, y);
}

/// `positional(sinusoidal)` without a table: `y = x + PE` on a sequence of steps of `features`
/// values, the sinusoidal code computed value by value in `f64` as the heap
/// [`SinusoidalPositional`](crate::layers::SinusoidalPositional) computes its table
/// ([`linalg::sequence::add_sinusoidal`]), with the heap layer's bits. Each value costs a sine
/// or cosine in `f64` (about 2 600 instructions on a Cortex-M4, which has no `f64` unit), so
/// `network!` bakes the table into flash instead and calls [`positional`]; this form is for a
/// hand-written network short of flash.
///
/// # Panics
/// When `features` is 0 or `x` and `y` differ in length.
pub fn sinusoidal_positional(features: usize, x: &[f32], y: &mut [f32]) {
    linalg::sequence::add_sinusoidal(features, x, y);
}

/// `layer_norm`'s `eps` when the declaration gives none: PyTorch's default, the heap
/// `LayerNorm::DEFAULT_EPS`.
pub const LAYER_NORM_EPS: f32 = linalg::norm::LAYER_NORM_EPS;

/// `rms_norm`'s `eps` when the declaration gives none: `f32::EPSILON`, PyTorch's for
/// `float32` and the heap `RmsNorm::DEFAULT_EPS`.
pub const RMS_NORM_EPS: f32 = linalg::norm::RMS_NORM_EPS;

/// `layer_norm`: every row of `weight.len()` values of `x` normalised into `y`, then scaled
/// and shifted ([`linalg::norm::layer_norm`], the heap [`LayerNorm`](crate::layers::LayerNorm)'s
/// kernel).
///
/// # Panics
/// When a length disagrees with another; generated code passes arrays the macro sized.
pub fn layer_norm(weight: &[f32], bias: &[f32], eps: f32, x: &[f32], y: &mut [f32]) {
    linalg::norm::layer_norm(weight, bias, eps, x, y);
}

/// `rms_norm`: every row of `weight.len()` values of `x` divided by its root mean square, then
/// scaled, into `y` ([`linalg::norm::rms_norm`], the heap [`RmsNorm`](crate::layers::RmsNorm)'s
/// kernel).
///
/// # Panics
/// When a length disagrees with another; generated code passes arrays the macro sized.
pub fn rms_norm(weight: &[f32], eps: f32, x: &[f32], y: &mut [f32]) {
    linalg::norm::rms_norm(weight, eps, x, y);
}

/// `multi_head_attention(D, heads = H)`, causal or not, on one sequence `x` (`T × D`) into `y`:
/// the heap [`MultiHeadAttention`](crate::layers::MultiHeadAttention)'s flash-style inference
/// kernel, [`linalg::attention::multi_head_attention`]. `scratch` is
/// [`multi_head_attention_scratch_len`] values of the work arena.
///
/// # Panics
/// When `heads` does not divide `D` or a length disagrees with another; generated code passes
/// arrays the macro sized.
// Inlined, so that a caller's constant `causal` links one of the two kernels.
#[inline]
pub fn multi_head_attention(
    params: &AttentionParams<'_>,
    heads: usize,
    causal: bool,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    linalg::attention::multi_head_attention(params, heads, causal, x, y, scratch);
}

/// The scratch of [`multi_head_attention`] on `steps` steps of `features` values with `heads`
/// heads: `4·T·D + T·D/H + min(T, 64)² + 2·min(T, 64)` values (Q, K and V, the heads' output,
/// one head's `Kᵀ`, one tile of scores and a query block's running maximum and sum), the heap
/// layer's scratch at batch 1.
pub const fn multi_head_attention_scratch_len(
    steps: usize,
    features: usize,
    heads: usize,
) -> usize {
    linalg::attention::scratch_len(steps, features, heads)
}

/// `fork { .. } => multi_head_attention(D, heads = H)`: cross-attention of one sample, the
/// fork's branches packed along the steps of `x` (`queries` query rows, then the keys, then as
/// many values, `D` values each), into `y` (`queries × D`): the heap
/// [`CrossAttention`](crate::layers::CrossAttention)'s flash-style inference kernel,
/// [`linalg::attention::cross_multi_head_attention`]. `scratch` is
/// [`cross_multi_head_attention_scratch_len`] values of the work arena.
///
/// # Panics
/// When `heads` does not divide `D` or a length disagrees with another; generated code passes
/// arrays the macro sized.
pub fn cross_multi_head_attention(
    params: &AttentionParams<'_>,
    heads: usize,
    queries: usize,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    linalg::attention::cross_multi_head_attention(params, heads, queries, x, y, scratch);
}

/// The scratch of [`cross_multi_head_attention`] for `queries` (`TQ`) queries over `keys`
/// (`TK`) keys of `features` (`D`) values with `heads` (`H`) heads:
/// `(2·TQ + 2·TK)·D + TK·D/H + min(TQ, 64)·min(TK, 64) + 2·min(TQ, 64)` values (Q, K and V,
/// the heads' output, one head's `Kᵀ`, one tile of scores and a query block's running maximum
/// and sum), the heap layer's scratch.
pub const fn cross_multi_head_attention_scratch_len(
    queries: usize,
    keys: usize,
    features: usize,
    heads: usize,
) -> usize {
    linalg::attention::cross_scratch_len(queries, keys, features, heads)
}

/// `fork { .. } => multi_head_attention(D, heads = H, key_padding = PAD_ID)`: cross-attention
/// of one sample whose keys are masked by their token ids, `x` the branches packed along the
/// steps as for [`cross_multi_head_attention`] and then the keys' ids: the heap
/// [`PaddedCrossAttention`](crate::layers::PaddedCrossAttention)'s inference kernel,
/// [`linalg::attention::padded_cross_multi_head_attention`]. `scratch` is
/// [`padded_cross_multi_head_attention_scratch_len`] values of the work arena.
///
/// # Panics
/// When `heads` does not divide `D` or a length disagrees with another; generated code passes
/// arrays the macro sized.
pub fn padded_cross_multi_head_attention(
    params: &AttentionParams<'_>,
    (heads, queries, pad): (usize, usize, usize),
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    linalg::attention::padded_cross_multi_head_attention(
        params,
        (heads, queries, pad),
        x,
        y,
        scratch,
    );
}

/// The scratch of [`padded_cross_multi_head_attention`]: the keys' mask (`TK` values), then
/// [`cross_multi_head_attention_scratch_len`]'s.
pub const fn padded_cross_multi_head_attention_scratch_len(
    queries: usize,
    keys: usize,
    features: usize,
    heads: usize,
) -> usize {
    linalg::attention::padded_cross_scratch_len(queries, keys, features, heads)
}

/// `patches(P)`: one `(C, H, W)` image (`image` its sizes) cut into `patch × patch` patches,
/// each one step of `C · patch · patch` features ([`linalg::sequence::patches`], the heap
/// [`Patches`](crate::layers::Patches)'s kernel).
///
/// # Panics
/// When `x` or `y` is shorter than the image.
pub fn patches(image: [usize; 3], patch: usize, x: &[f32], y: &mut [f32]) {
    linalg::sequence::patches(image, patch, x, y);
}

/// `multi_head_attention(D, heads = H, key_padding = PAD)`, causal or not, on one sequence `x`
/// of `T` steps, each `D` features and then its token id, into `y` (`T × D`): never attending
/// a step whose id is `pad` ([`linalg::attention::padded_multi_head_attention`], the heap
/// `PaddedAttention`'s inference forward at batch 1).
/// `scratch` is [`padded_multi_head_attention_scratch_len`] values of the work arena.
///
/// # Panics
/// When `heads` does not divide `D` or a length disagrees with another; generated code passes
/// arrays the macro sized.
// Inlined, so that a caller's constant `causal` links one of the two kernels.
#[inline]
pub fn padded_multi_head_attention(
    params: &AttentionParams<'_>,
    (heads, causal, pad): (usize, bool, usize),
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    linalg::attention::padded_multi_head_attention(params, (heads, causal, pad), x, y, scratch);
}

/// The scratch of [`padded_multi_head_attention`] on `steps` steps of `features` values with
/// `heads` heads: `4·T·D + T + T·D/H + min(T, 64)² + 2·min(T, 64)` values (the features and
/// then the heads' output, the keys' mask, Q, K and V, one head's `Kᵀ`, one tile of scores and
/// a query block's running maximum and sum): tiled as the unpadded kernel is, the heap
/// layer's scratch at batch 1.
pub const fn padded_multi_head_attention_scratch_len(
    steps: usize,
    features: usize,
    heads: usize,
) -> usize {
    linalg::attention::padded_scratch_len(steps, features, heads)
}

/// `mean_pool`: the mean over the steps of a sequence `x` of `y.len()` features per step
/// ([`linalg::sequence::mean_over_steps`], the heap [`MeanPool`](crate::layers::MeanPool)'s
/// kernel).
pub fn mean_pool(x: &[f32], y: &mut [f32]) {
    linalg::sequence::mean_over_steps(x, y);
}

/// `mean_pool(key_padding = PAD_ID)`: the mean over the steps of one sequence `x` whose token id
/// (after each step's `y.len()` features) is not `pad`, 0 when every step is padding
/// ([`linalg::sequence::mean_over_kept_steps`], the heap
/// [`PaddedMeanPool`](crate::layers::PaddedMeanPool)'s kernel).
pub fn padded_mean_pool(x: &[f32], pad: usize, y: &mut [f32]) {
    linalg::sequence::mean_over_kept_steps(x, pad, y);
}

/// `last(key_padding = PAD_ID)`: the last step of one sequence `x` whose token id (after each
/// step's `y.len()` features) is not `pad`, 0 when every step is padding
/// ([`linalg::sequence::last_kept_step`], as the heap [`PaddedLast`](crate::layers::PaddedLast)).
pub fn padded_last(x: &[f32], pad: usize, y: &mut [f32]) {
    let features = y.len();
    match linalg::sequence::last_kept_step(x, features, pad) {
        Some(step) => y.copy_from_slice(&x[step * (features + 1)..][..features]),
        None => y.fill(0.0),
    }
}

/// `N` disjoint regions of the work arena, each `(offset, length)`, as mutable slices in the
/// order asked: how one step of a baked network reads its inputs and writes its output and
/// scratch in the one buffer the caller passes. The macro placed the regions at compile time.
///
/// # Panics
/// When two regions overlap or one ends past `work`; generated code asks only for regions its
/// memory plan keeps apart, inside `WORK_LEN`.
///
/// ```
/// let mut work = [0.0f32; 6];
/// let [y, x] = nn_core::baked::regions(&mut work, [(4, 2), (0, 3)]);
/// x.fill(1.0);
/// y.copy_from_slice(&x[..2]);
/// assert_eq!(work, [1.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
/// ```
pub fn regions<T, const N: usize>(work: &mut [T], at: [(usize, usize); N]) -> [&mut [T]; N] {
    let mut order: [usize; N] = core::array::from_fn(|i| i);
    order.sort_unstable_by_key(|&i| at[i].0);
    let mut found: [Option<&mut [T]>; N] = core::array::from_fn(|_| None);
    let (mut rest, mut cursor) = (work, 0);
    for i in order {
        let (offset, len) = at[i];
        let Some(skip) = offset.checked_sub(cursor) else {
            panic!("a baked network's work regions overlap");
        };
        let (_, tail) = core::mem::take(&mut rest).split_at_mut(skip);
        let (region, tail) = tail.split_at_mut(len);
        found[i] = Some(region);
        (rest, cursor) = (tail, offset + len);
    }
    found.map(|region| match region {
        Some(region) => region,
        None => panic!("a baked network's work regions are incomplete"),
    })
}

/// The first `N` values of `values` as an array: a baked network's output, in its work buffer.
///
/// # Panics
/// When `values` is shorter than `N`; generated code sizes the buffer so that it never is.
pub fn output<const N: usize>(values: &[f32]) -> &[f32; N] {
    match values.first_chunk::<N>() {
        Some(out) => out,
        None => panic!("a baked network's work buffer is shorter than its output"),
    }
}

/// [`output`] of an int8 network.
///
/// # Panics
/// When `values` is shorter than `N`; generated code sizes the buffer so that it never is.
pub fn output_i8<const N: usize>(values: &[i8]) -> &[i8; N] {
    match values.first_chunk::<N>() {
        Some(out) => out,
        None => panic!("a baked network's work buffer is shorter than its output"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_on_two_rows() {
        let weight = [1.0, 2.0, -1.0, 0.5, 0.0, 3.0];
        let bias = [0.1, 0.2, 0.3];
        let x = [1.0, 1.0, 2.0, -1.0];
        let mut y = [0.0; 6];
        dense(&weight, &bias, &x, &mut y, 2);
        let want = [3.1, -0.3, 3.3, 0.1, -2.3, -2.7];
        for (got, want) in y.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn activations_in_place() {
        let mut v = [-2.0, 0.0, 3.0];
        leaky_relu(&mut v, 0.5);
        assert_eq!(v, [-1.0, 0.0, 3.0]);
        relu(&mut v);
        assert_eq!(v, [0.0, 0.0, 3.0]);
        let mut probs = [0.0; 3];
        softmax(&[1.0, 1.0, 1.0], &mut probs, 3);
        assert!(probs.iter().all(|p| (p - 1.0 / 3.0).abs() < 1e-7));
        assert_eq!(output::<2>(&[4.0, 5.0, 6.0]), &[4.0, 5.0]);
    }
}
