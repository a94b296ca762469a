//! Multi-head attention at inference, on slices: the flash-style kernel of the inference
//! forward of [`MultiHeadAttention`](crate::layers::MultiHeadAttention) and
//! [`CrossAttention`](crate::layers::CrossAttention), which a baked network runs as well
//! ([`multi_head_attention`], [`cross_multi_head_attention`]), so the two give the same bits.
//! Nothing here allocates: the working space is the caller's.
//!
//! The projections are one product each over every row ([`affine`](super::affine)). Then, for
//! each sample, head and block of up to [`QUERY_BLOCK`] queries, the keys are walked in tiles
//! of up to [`KEY_TILE`], keeping each query's running maximum, running sum and unnormalised
//! output (the online softmax), so no `queries × keys` matrix exists; a causal block stops at
//! its last query, and a masked key weighs exactly 0.

use super::{Vectorize, View, gemm_add_views, vectorized};
use crate::math::exp_fast;

#[cfg(feature = "alloc")]
mod backward;
#[cfg(feature = "alloc")]
pub(crate) use backward::{BackwardTiles, attend_padded_tiled_backward, attend_tiled_backward};

/// Query rows of one block of the kernel.
pub const QUERY_BLOCK: usize = 64;
/// Keys of one tile of the kernel: a `64 × 64` tile of scores is 16 KiB, half an L1.
pub const KEY_TILE: usize = 64;
/// Partial sums of the row reductions, so that their loops vectorize.
pub(crate) const LANES: usize = 16;

/// The parameters of a multi-head attention layer, PyTorch's, as it stores them:
/// `in_proj_weight` (`3·D × D`, the rows of Q, then K, then V), `in_proj_bias` (`3·D`),
/// `out_proj.weight` (`D × D`) and `out_proj.bias` (`D`).
#[derive(Debug, Clone, Copy)]
pub struct AttentionParams<'a> {
    /// `in_proj_weight`, `3·D × D`.
    pub in_proj_weight: &'a [f32],
    /// `in_proj_bias`, `3·D`.
    pub in_proj_bias: &'a [f32],
    /// `out_proj.weight`, `D × D`.
    pub out_proj_weight: &'a [f32],
    /// `out_proj.bias`, `D`.
    pub out_proj_bias: &'a [f32],
}

/// The working space of [`forward`], as the heap layer's scratch holds it.
pub(crate) struct AttentionBuffers<'a> {
    /// `(rows, 3·D)`: each row's Q, K and V.
    pub qkv: &'a mut [f32],
    /// `(rows, D)`: the heads' output, side by side.
    pub heads: &'a mut [f32],
    /// The online softmax's buffers.
    pub tiles: TileBuffers<'a>,
}

/// The working space of the online softmax of one sample ([`attend_tiled`]).
pub(crate) struct TileBuffers<'a> {
    /// `(D/H, keys)`: one head's `Kᵀ`, so that the score product reads contiguous rows.
    pub kt: &'a mut [f32],
    /// One tile of scores, then of unnormalised probabilities: `min(queries, 64)·min(keys, 64)`.
    pub tile: &'a mut [f32],
    /// The running maximum of each query row of a block: `min(queries, 64)`.
    pub max: &'a mut [f32],
    /// The running sum of each query row of a block: `min(queries, 64)`.
    pub sum: &'a mut [f32],
}

impl<'a> TileBuffers<'a> {
    /// Carves the buffers for `queries` queries over `keys` keys of heads `head_dim` wide off
    /// the front of `scratch`; returns them and the rest.
    pub(crate) fn split(
        scratch: &'a mut [f32],
        queries: usize,
        keys: usize,
        head_dim: usize,
    ) -> (Self, &'a mut [f32]) {
        let (block, tile) = tile_shape(queries, keys);
        let (kt, rest) = scratch.split_at_mut(keys * head_dim);
        let (tile, rest) = rest.split_at_mut(block * tile);
        let (max, rest) = rest.split_at_mut(block);
        let (sum, rest) = rest.split_at_mut(block);
        (TileBuffers { kt, tile, max, sum }, rest)
    }

    /// The values [`split`](Self::split) carves: `keys·D/H + min(queries, 64)·min(keys, 64) +
    /// 2·min(queries, 64)`.
    pub(crate) const fn len(queries: usize, keys: usize, head_dim: usize) -> usize {
        let (block, tile) = tile_shape(queries, keys);
        keys * head_dim + block * tile + 2 * block
    }
}

/// The query rows of one block and the keys of one tile, for `queries` queries over `keys`
/// keys: `(min(queries, 64), min(keys, 64))`.
pub(crate) const fn tile_shape(queries: usize, keys: usize) -> (usize, usize) {
    let block = if queries < QUERY_BLOCK {
        queries
    } else {
        QUERY_BLOCK
    };
    let tile = if keys < KEY_TILE { keys } else { KEY_TILE };
    (block, tile)
}

/// Where one sample's projected queries, keys and values lie: rows `stride` values apart, the
/// first query, key and value row at offsets `q`, `k` and `v` (head 0's first feature).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub stride: usize,
    pub q: usize,
    pub k: usize,
    pub v: usize,
    pub queries: usize,
    pub keys: usize,
}

impl Layout {
    /// Cross-attention's: `queries` rows of Q, then `keys` rows of K, then as many of V, each
    /// `features` wide (the packed input's layout).
    pub(crate) const fn cross(queries: usize, keys: usize, features: usize) -> Self {
        Layout {
            stride: features,
            q: 0,
            k: queries * features,
            v: (queries + keys) * features,
            queries,
            keys,
        }
    }

    /// Self-attention's: `steps` rows of Q, K and V side by side, `3·features` wide.
    pub(crate) const fn self_attention(steps: usize, features: usize) -> Self {
        Layout {
            stride: 3 * features,
            q: 0,
            k: features,
            v: 2 * features,
            queries: steps,
            keys: steps,
        }
    }
}

/// The `f32`s of working space [`multi_head_attention`] takes for one sequence of `steps`
/// steps of `features` values and `heads` heads:
/// `4·T·D + T·D/H + min(T, 64)² + 2·min(T, 64)` (Q, K and V, the heads' output, one head's
/// `Kᵀ`, one tile of scores and the running statistics of a query block), the heap layer's
/// scratch at batch 1.
pub const fn scratch_len(steps: usize, features: usize, heads: usize) -> usize {
    4 * steps * features
        + TileBuffers::len(steps, steps, features / if heads == 0 { 1 } else { heads })
}

/// The multiply-accumulates of [`multi_head_attention`] on one sequence: the two projections,
/// `4·T·D²`, and the score and value products of the tiles the kernel computes (every key for
/// every query; when causal, every key up to the last query of each block of 64).
pub const fn multiply_accumulates(steps: usize, features: usize, causal: bool) -> usize {
    let mut products = 0;
    let mut first = 0;
    while first < steps {
        let rows = if steps - first < QUERY_BLOCK {
            steps - first
        } else {
            QUERY_BLOCK
        };
        let keys = if causal { first + rows } else { steps };
        products += rows * keys;
        first += rows;
    }
    4 * steps * features * features + 2 * features * products
}

/// Panics unless `heads` splits `features` evenly.
fn check_heads(heads: usize, features: usize) {
    assert!(
        heads > 0 && features.is_multiple_of(heads),
        "the heads ({heads}) must divide the features ({features})"
    );
}

/// `1/√(D/H)`, the scale of the scores, for heads of `head_dim` features.
pub(crate) fn scale(head_dim: usize) -> f32 {
    1.0 / crate::math::sqrt(head_dim.max(1) as f32)
}

/// Columns `first..first + cols` of rows `first_row..first_row + rows` of a row-major matrix
/// `row_stride` wide, read in place.
pub(crate) fn block(
    data: &[f32],
    row_stride: usize,
    first_row: usize,
    rows: usize,
    first: usize,
    cols: usize,
) -> View<'_> {
    View {
        data: &data[first_row * row_stride + first..],
        rows,
        cols,
        row_stride,
        col_stride: 1,
    }
}

/// Copies the `rows × cols` block of `src` (rows `row_stride` apart, from `src[0]`) into `dst`
/// transposed, `cols × rows`.
pub(crate) fn transpose_into(
    src: &[f32],
    row_stride: usize,
    rows: usize,
    cols: usize,
    dst: &mut [f32],
) {
    // Blocks of eight rows: each column of a block is eight contiguous values of `dst`, and
    // the eight rows being read stay in L1. Value by value, every write went to another line.
    const BLOCK: usize = 8;
    let dst = &mut dst[..rows * cols];
    for first in (0..rows).step_by(BLOCK) {
        let count = BLOCK.min(rows - first);
        let block: [&[f32]; BLOCK] = core::array::from_fn(|i| {
            let row = first + i.min(count - 1);
            &src[row * row_stride..][..cols]
        });
        for (c, column) in dst.chunks_exact_mut(rows).enumerate() {
            for (out, row) in column[first..first + count].iter_mut().zip(block) {
                *out = row[c];
            }
        }
    }
}

/// Whether every value of a view is finite.
fn finite_rows(view: &View<'_>) -> bool {
    view.data
        .chunks(view.row_stride.max(1))
        .take(view.rows)
        .all(|row| row[..view.cols].iter().all(|v| v.is_finite()))
}

/// How many of the keys `first_key..first_key + cols` query `query` may see.
#[inline(always)]
pub(crate) fn visible<const CAUSAL: bool>(query: usize, first_key: usize, cols: usize) -> usize {
    if CAUSAL {
        (query + 1).saturating_sub(first_key).min(cols)
    } else {
        cols
    }
}

/// The maximum of a row, over `LANES` partial maxima so that the loop vectorizes.
#[inline(always)]
pub(crate) fn row_max(row: &[f32]) -> f32 {
    let mut partial = [f32::NEG_INFINITY; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for chunk in chunks {
        for (m, &v) in partial.iter_mut().zip(chunk) {
            *m = m.max(v);
        }
    }
    partial.iter().fold(tail, |m, &v| m.max(v))
}

/// Replaces each score `s` of `row` with `e^{scale·(s − max)}` and returns their sum.
#[inline(always)]
pub(crate) fn exp_row(row: &mut [f32], max: f32, scale: f32) -> f32 {
    let mut partial = [0.0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (s, v) in partial.iter_mut().zip(chunk) {
            *v = exp_fast(scale * (*v - max));
            *s += *v;
        }
    }
    let mut tail = 0.0;
    for v in chunks.into_remainder() {
        *v = exp_fast(scale * (*v - max));
        tail += *v;
    }
    partial.iter().sum::<f32>() + tail
}

/// One tile of the online softmax: turns a `rows × cols` tile of scores into unnormalised
/// probabilities against each row's running maximum, updating that maximum and the running
/// sum, and rescales the rows of the output accumulator by how much the maximum grew.
struct OnlineTile<'a, const CAUSAL: bool> {
    tile: &'a mut [f32],
    cols: usize,
    first_query: usize,
    first_key: usize,
    /// The tile's keys' mask, when padding is masked: 1 for a key that may be attended.
    keep: Option<&'a [f32]>,
    scale: f32,
    max: &'a mut [f32],
    sum: &'a mut [f32],
    /// The block's first output row, with its next rows `out_stride` further each.
    out: &'a mut [f32],
    out_stride: usize,
    head_dim: usize,
}

impl<const CAUSAL: bool> Vectorize for OnlineTile<'_, CAUSAL> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let rows = self.tile.chunks_exact_mut(self.cols).enumerate();
        for ((r, row), (max, sum)) in rows.zip(self.max.iter_mut().zip(self.sum.iter_mut())) {
            let seen = visible::<CAUSAL>(self.first_query + r, self.first_key, self.cols);
            let (keys, masked) = row.split_at_mut(seen);
            // Masked keys weigh exactly 0, not e^{−large}.
            masked.fill(0.0);
            if seen == 0 {
                continue;
            }
            if let Some(keep) = self.keep {
                let keep = &keep[..seen];
                if !keep.contains(&1.0) {
                    keys.fill(0.0); // nothing here to see: the row adds nothing
                    continue;
                }
                // A padded score becomes −∞, so that the maximum is over the unpadded ones;
                // its exponential (`exp_fast`'s floor, about 1.6e-38, below an ulp of the
                // running sum, which is at least 1) is then multiplied by 0.
                for (s, &k) in keys.iter_mut().zip(keep) {
                    *s = if k == 0.0 { f32::NEG_INFINITY } else { *s };
                }
            }
            let new_max = max.max(row_max(keys));
            let tile_sum = exp_row(keys, new_max, self.scale);
            if let Some(keep) = self.keep {
                keys.iter_mut().zip(keep).for_each(|(p, &k)| *p *= k);
            }
            if *max == f32::NEG_INFINITY {
                // The first tile this row sees: nothing to rescale.
                *sum = tile_sum;
            } else {
                let shrink = exp_fast(self.scale * (*max - new_max));
                *sum = *sum * shrink + tile_sum;
                let out = &mut self.out[r * self.out_stride..][..self.head_dim];
                out.iter_mut().for_each(|o| *o *= shrink);
            }
            *max = new_max;
        }
    }
}

/// One tile of unscaled scores, `queries · K_tileᵀ` (`rows × cols`), into `tile`: the keys
/// `first..first + cols` of one head's `Kᵀ` (`kt`, `D/H` rows of `keys`).
pub(crate) fn score_tile(
    queries: View<'_>,
    (kt, keys): (&[f32], usize),
    (first, cols): (usize, usize),
    tile: &mut [f32],
) {
    // The product adds onto `tile`.
    tile.fill(0.0);
    let head_dim = queries.cols;
    gemm_add_views(
        queries,
        block(kt, keys, 0, head_dim, first, cols),
        tile,
        cols,
    );
}

/// Self-attention over `x`, whole sequences of `steps` steps of `features` (`D`) values, with
/// `heads` heads, into `y`: the projections over every row, then the online softmax of each
/// sequence ([`attend_tiled`]). `buffers` hold at least what [`scratch_len`] counts for the
/// whole batch of rows.
pub(crate) fn forward<const CAUSAL: bool>(
    params: &AttentionParams<'_>,
    steps: usize,
    heads: usize,
    x: &[f32],
    y: &mut [f32],
    buffers: AttentionBuffers<'_>,
) {
    let (t, d) = (steps, params.out_proj_bias.len());
    if t == 0 || d == 0 {
        return; // no steps, no output
    }
    let rows = x.len() / d;
    let AttentionBuffers {
        qkv,
        heads: out,
        mut tiles,
    } = buffers;
    let (qkv, out) = (&mut qkv[..rows * 3 * d], &mut out[..rows * d]);
    super::affine(params.in_proj_weight, params.in_proj_bias, x, qkv, rows, d);
    let layout = Layout::self_attention(t, d);
    let samples = qkv.chunks_exact(t * 3 * d).zip(out.chunks_exact_mut(t * d));
    for (sample, out) in samples {
        attend_tiled::<CAUSAL>(sample, layout, (heads, None), out, &mut tiles, None);
    }
    super::affine(
        params.out_proj_weight,
        params.out_proj_bias,
        out,
        y,
        rows,
        d,
    );
}

/// Every head's `softmax(Q_h K_hᵀ / √(D/H)) · V_h` of one sample, its Q, K and V in `proj` as
/// `layout` says, into `out` (`queries × D`): for each head and block of up to
/// [`QUERY_BLOCK`] queries, the keys in tiles of up to [`KEY_TILE`] with the online softmax
/// (see the module docs). With `CAUSAL` (queries and keys the same steps), query `i` sees keys
/// `0..=i` only; with `keep` (`keys` values), no key whose `keep` is 0. A query with no key to
/// see, and every query when there are no keys, gets 0 from every head.
///
/// With `stats` (`2·H·queries` values), each head's query row `i` leaves there its softmax's
/// statistics, the largest score and the reciprocal of the sum (0 for a row that saw no key),
/// at `2·(h·queries + i)`: all [`attend_tiled_backward`] needs to recompute its
/// probabilities.
pub(crate) fn attend_tiled<const CAUSAL: bool>(
    proj: &[f32],
    layout: Layout,
    (heads, keep): (usize, Option<&[f32]>),
    out: &mut [f32],
    buffers: &mut TileBuffers<'_>,
    mut stats: Option<&mut [f32]>,
) {
    let Layout {
        stride,
        queries,
        keys: all_keys,
        ..
    } = layout;
    out.fill(0.0);
    let d = out.len() / queries.max(1);
    if all_keys == 0 || d == 0 {
        return;
    }
    let dh = d / heads.max(1);
    let scale = scale(dh);
    let TileBuffers { kt, tile, max, sum } = buffers;
    let (queries_at, keys_at, values_at) =
        (&proj[layout.q..], &proj[layout.k..], &proj[layout.v..]);
    for h in 0..heads {
        let q = h * dh;
        transpose_into(&keys_at[q..], stride, all_keys, dh, kt);
        for i0 in (0..queries).step_by(QUERY_BLOCK) {
            let rows = QUERY_BLOCK.min(queries - i0);
            let (max, sum) = (&mut max[..rows], &mut sum[..rows]);
            max.fill(f32::NEG_INFINITY);
            sum.fill(0.0);
            // Causal: the block's last query sees no key past itself.
            let keys = if CAUSAL { i0 + rows } else { all_keys };
            for j0 in (0..keys).step_by(KEY_TILE) {
                let cols = KEY_TILE.min(keys - j0);
                let tile = &mut tile[..rows * cols];
                let block_queries = block(queries_at, stride, i0, rows, q, dh);
                score_tile(block_queries, (kt, all_keys), (j0, cols), tile);
                vectorized(OnlineTile::<CAUSAL> {
                    tile: &mut *tile,
                    cols,
                    first_query: i0,
                    first_key: j0,
                    keep: keep.map(|keep| &keep[j0..j0 + cols]),
                    scale,
                    max: &mut *max,
                    sum: &mut *sum,
                    out: &mut out[i0 * d + q..],
                    out_stride: d,
                    head_dim: dh,
                });
                let values = block(values_at, stride, j0, cols, q, dh);
                if CAUSAL && j0 + cols > i0 + 1 && !finite_rows(&values) {
                    // A masked weight is 0, but 0 · NaN is NaN: a non-finite value (a bad
                    // token id's) must not reach the queries before it, so each row
                    // multiplies only the keys it sees.
                    for r in 0..rows {
                        let seen = visible::<CAUSAL>(i0 + r, j0, cols);
                        let probs = block(tile, cols, r, 1, 0, seen);
                        let values = block(values_at, stride, j0, seen, q, dh);
                        gemm_add_views(probs, values, &mut out[(i0 + r) * d + q..], d);
                    }
                } else {
                    let probs = block(tile, cols, 0, rows, 0, cols);
                    gemm_add_views(probs, values, &mut out[i0 * d + q..], d);
                }
            }
            for (r, (&s, &m)) in sum.iter().zip(max.iter()).enumerate() {
                // A row that saw no key is 0 (its probabilities were all 0), not 0 · ∞.
                let inv = if s > 0.0 { 1.0 / s } else { 0.0 };
                let out = &mut out[(i0 + r) * d + q..][..dh];
                out.iter_mut().for_each(|o| *o *= inv);
                if let Some(stats) = stats.as_deref_mut() {
                    let at = 2 * (h * queries + i0 + r);
                    stats[at] = m;
                    stats[at + 1] = inv;
                }
            }
        }
    }
}

/// Multi-head self-attention on one sequence `x` (`T × D`, `D = params.out_proj_bias.len()`)
/// with `heads` heads, causal or not, into `y` (`T × D`): PyTorch's
/// `nn.MultiheadAttention(D, heads, batch_first=True)` as `mha(x, x, x)`, the heap
/// [`MultiHeadAttention`](crate::layers::MultiHeadAttention)'s inference kernel. `scratch` is
/// at least [`scratch_len`] values.
///
/// # Panics
/// When `heads` does not divide `D`, `scratch` is too short, or a length disagrees with
/// another.
///
/// ```
/// use nn_core::linalg::attention::{AttentionParams, multi_head_attention, scratch_len};
/// // Causal, 3 steps of 2 features, 1 head; Q = K = V = x and an identity output projection.
/// let eye = [1.0, 0.0, 0.0, 1.0];
/// let in_proj_weight = [eye, eye, eye].concat();
/// let params = AttentionParams {
///     in_proj_weight: &in_proj_weight,
///     in_proj_bias: &[0.0; 6],
///     out_proj_weight: &eye,
///     out_proj_bias: &[0.0; 2],
/// };
/// let x = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
/// let (mut y, mut scratch) = ([0.0; 6], vec![0.0; scratch_len(3, 2, 1)]);
/// multi_head_attention(&params, 1, true, &x, &mut y, &mut scratch);
/// // The first step sees only itself.
/// assert_eq!(y[..2], [1.0, 0.0]);
/// ```
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
    let d = params.out_proj_bias.len();
    check_heads(heads, d);
    let t = x.len() / d.max(1);
    assert!(
        scratch.len() >= scratch_len(t, d, heads),
        "the scratch holds {} values, not the {} of {t} steps",
        scratch.len(),
        scratch_len(t, d, heads)
    );
    let (qkv, rest) = scratch.split_at_mut(3 * t * d);
    let (out, rest) = rest.split_at_mut(t * d);
    let (tiles, _) = TileBuffers::split(rest, t, t, d / heads);
    let buffers = AttentionBuffers {
        qkv,
        heads: out,
        tiles,
    };
    if causal {
        forward::<true>(params, t, heads, x, y, buffers);
    } else {
        forward::<false>(params, t, heads, x, y, buffers);
    }
}

/// The `f32`s of working space [`cross_multi_head_attention`] takes for `queries` (`TQ`)
/// queries over `keys` (`TK`) keys and values of `features` (`D`) values with `heads` (`H`)
/// heads: `(2·TQ + 2·TK)·D + TK·D/H + min(TQ, 64)·min(TK, 64) + 2·min(TQ, 64)` (Q, K and V,
/// the heads' output, one head's `Kᵀ`, one tile of scores and the running statistics of a
/// query block), the heap layer's scratch at batch 1.
pub const fn cross_scratch_len(
    queries: usize,
    keys: usize,
    features: usize,
    heads: usize,
) -> usize {
    (2 * queries + 2 * keys) * features
        + TileBuffers::len(queries, keys, features / if heads == 0 { 1 } else { heads })
}

/// The multiply-accumulates of [`cross_multi_head_attention`]: the projections,
/// `(2·TQ + 2·TK)·D²`, and the score and value products, `2·TQ·TK·D`.
pub const fn cross_multiply_accumulates(queries: usize, keys: usize, features: usize) -> usize {
    (2 * queries + 2 * keys) * features * features + 2 * queries * keys * features
}

/// Cross-attention of one sample, on slices: `queries` (`TQ`) queries over `TK` keys and
/// values, packed along the steps of `x` as `nn::layers::CrossAttention` takes them (rows
/// `0..TQ` the queries, then `TK` keys, then `TK` values, `D` values each), into `y`
/// (`TQ × D`). PyTorch's `nn.MultiheadAttention(D, heads, batch_first=True)` as
/// `mha(q, k, v)`, with the online softmax of [`multi_head_attention`], so no `TQ × TK`
/// matrix exists beyond a 64 × 64 tile. The heap layer's inference forward runs this on each
/// sample; `nn::baked` runs it for a fork's `=> multi_head_attention(D, heads = H)`.
/// `scratch` is at least [`cross_scratch_len`] values.
///
/// # Panics
/// When `heads` does not divide `D`, the steps of `x` are not `TQ` plus twice some `TK`,
/// `scratch` is too short, or `y` is not `TQ × D`.
///
/// ```
/// use nn_core::linalg::attention::{AttentionParams, cross_multi_head_attention, cross_scratch_len};
/// // 2 queries over 1 key of 2 features, 1 head; identity projections, zero biases.
/// let eye = [1.0, 0.0, 0.0, 1.0];
/// let in_proj_weight = [eye, eye, eye].concat();
/// let params = AttentionParams {
///     in_proj_weight: &in_proj_weight,
///     in_proj_bias: &[0.0; 6],
///     out_proj_weight: &eye,
///     out_proj_bias: &[0.0; 2],
/// };
/// // Rows: the queries q₀ and q₁, the key k, the value v.
/// let x = [1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 3.0, -1.0];
/// let (mut y, mut scratch) = ([0.0; 4], vec![0.0; cross_scratch_len(2, 1, 2, 1)]);
/// cross_multi_head_attention(&params, 1, 2, &x, &mut y, &mut scratch);
/// // A softmax over one key is 1: every query gets that key's value.
/// assert_eq!(y, [3.0, -1.0, 3.0, -1.0]);
/// ```
pub fn cross_multi_head_attention(
    params: &AttentionParams<'_>,
    heads: usize,
    queries: usize,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let d = params.out_proj_bias.len();
    check_heads(heads, d);
    let steps = x.len() / d.max(1);
    assert!(
        x.len() == steps * d && steps >= queries && (steps - queries).is_multiple_of(2),
        "the input is not {queries} queries, then keys and as many values, of {d} features"
    );
    let keys = (steps - queries) / 2;
    cross_in_scratch(params, (heads, queries, keys), x, None, y, scratch);
}

/// The `f32`s of working space [`padded_cross_multi_head_attention`] takes: the keys' mask
/// (`TK`), then [`cross_scratch_len`]'s.
pub const fn padded_cross_scratch_len(
    queries: usize,
    keys: usize,
    features: usize,
    heads: usize,
) -> usize {
    keys + cross_scratch_len(queries, keys, features, heads)
}

/// [`cross_multi_head_attention`] with the keys masked by their token ids, PyTorch's
/// `mha(q, k, v, key_padding_mask=(ids == pad))`: `x` is the packed rows (`queries` queries,
/// then `TK` keys, then `TK` values, `D` values each) followed by the `TK` keys' ids, as
/// `nn::layers::PaddedCrossAttention` takes a sample. A key whose id is `pad` (compared as
/// `id == pad as f32`) gets probability exactly 0; a query whose keys are all padding gets
/// heads' output 0, so its row of `y` is `out_proj.bias`. `scratch` is at least
/// [`padded_cross_scratch_len`] values.
///
/// # Panics
/// When `heads` does not divide `D`, `x` is not `queries` rows then some `TK` keys, values
/// and ids, `scratch` is too short, or `y` is not `queries × D`.
pub fn padded_cross_multi_head_attention(
    params: &AttentionParams<'_>,
    (heads, queries, pad): (usize, usize, usize),
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let d = params.out_proj_bias.len();
    check_heads(heads, d);
    let rest = x.len().checked_sub(queries * d);
    let keys = rest.map_or(0, |rest| rest / (2 * d + 1));
    assert!(
        rest == Some(keys * (2 * d + 1)),
        "the input is not {queries} queries, then keys, as many values and their ids, of {d} features"
    );
    let (rows, ids) = x.split_at((queries + 2 * keys) * d);
    assert!(
        scratch.len() >= keys,
        "the scratch holds {} values, not the {} of {queries} queries over {keys} keys",
        scratch.len(),
        padded_cross_scratch_len(queries, keys, d, heads)
    );
    let (keep, scratch) = scratch.split_at_mut(keys);
    keep_unpadded(ids, pad, keep);
    cross_in_scratch(params, (heads, queries, keys), rows, Some(keep), y, scratch);
}

/// Writes into `keep` 1 for each id that is not `pad` (compared as `id == pad as f32`) and 0
/// for each that is.
pub(crate) fn keep_unpadded(ids: &[f32], pad: usize, keep: &mut [f32]) {
    let pad = pad as f32;
    for (keep, &id) in keep.iter_mut().zip(ids) {
        *keep = if id == pad { 0.0 } else { 1.0 };
    }
}

/// Cross-attention of one sample whose sizes are known, its scratch checked and split.
fn cross_in_scratch(
    params: &AttentionParams<'_>,
    (heads, queries, keys): (usize, usize, usize),
    x: &[f32],
    keep: Option<&[f32]>,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let d = params.out_proj_bias.len();
    assert_eq!(
        y.len(),
        queries * d,
        "the output is {queries} queries of {d} features"
    );
    let needed = cross_scratch_len(queries, keys, d, heads);
    assert!(
        scratch.len() >= needed,
        "the scratch holds {} values, not the {needed} of {queries} queries over {keys} keys",
        scratch.len()
    );
    let (proj, rest) = scratch.split_at_mut(x.len());
    let (out, rest) = rest.split_at_mut(queries * d);
    let (mut tiles, _) = TileBuffers::split(rest, queries, keys, d / heads);
    cross_attend(
        params,
        (heads, keep),
        queries,
        x,
        y,
        (proj, out, &mut tiles),
    );
}

/// [`cross_multi_head_attention`] with its scratch split: `proj` (`(TQ + 2·TK) × D`, Q, K and
/// V packed as `x` is), `out` (`TQ × D`, the heads' output) and the softmax's tiles; with
/// `keep` (`TK` values), no key whose `keep` is 0 is attended.
pub(crate) fn cross_attend(
    params: &AttentionParams<'_>,
    (heads, keep): (usize, Option<&[f32]>),
    queries: usize,
    x: &[f32],
    y: &mut [f32],
    (proj, out, tiles): (&mut [f32], &mut [f32], &mut TileBuffers<'_>),
) {
    let d = params.out_proj_bias.len();
    if d == 0 {
        return;
    }
    let keys = (x.len() / d - queries) / 2;
    // Q, K and V, each from its rows with its third of `in_proj_weight`.
    let sections = [(0, queries), (queries, keys), (queries + keys, keys)];
    for (p, (first, rows)) in sections.into_iter().enumerate() {
        let at = first * d;
        super::affine(
            &params.in_proj_weight[p * d * d..][..d * d],
            &params.in_proj_bias[p * d..][..d],
            &x[at..][..rows * d],
            &mut proj[at..][..rows * d],
            rows,
            d,
        );
    }
    let layout = Layout::cross(queries, keys, d);
    attend_tiled::<false>(proj, layout, (heads, keep), out, tiles, None);
    super::affine(
        params.out_proj_weight,
        params.out_proj_bias,
        out,
        y,
        queries,
        d,
    );
}

/// Splits packed rows (each `features` values, then a token id): the features into
/// `features`, and into `keep` 1 for a step that may be attended, 0 for padding (its id is
/// `pad`, compared as `id == pad as f32`).
pub(crate) fn unpack_padded(
    x: &[f32],
    features: usize,
    pad: usize,
    out: &mut [f32],
    keep: &mut [f32],
) {
    let pad = pad as f32;
    for (r, row) in x.chunks_exact(features + 1).enumerate() {
        out[r * features..][..features].copy_from_slice(&row[..features]);
        keep[r] = if row[features] == pad { 0.0 } else { 1.0 };
    }
}

/// Values of working space [`padded_multi_head_attention`] needs on `steps` (`T`) steps of
/// `features` (`D`) with `heads` (`H`) heads:
/// `4·T·D + T + T·D/H + min(T, 64)² + 2·min(T, 64)`, the heap layer's scratch at batch 1 (the
/// features and then the heads' output, the keys' mask, Q, K and V, one head's `Kᵀ`, one tile
/// of scores and the running statistics of a query block).
pub const fn padded_scratch_len(steps: usize, features: usize, heads: usize) -> usize {
    4 * steps * features
        + steps
        + TileBuffers::len(steps, steps, features / if heads == 0 { 1 } else { heads })
}

/// Every head's `softmax(Q_h K_hᵀ / √(D/H) + mask) · V_h` of one sample into `out` (`T × D`),
/// from its `qkv` (`T × 3·D`) and keys' mask `keep` (`T`), with `heads` heads, causal or not:
/// the online softmax of [`attend_tiled`], so no `T × T` matrix exists beyond a tile. The
/// inference kernel of the heap `PaddedAttention` and of a baked padded attention.
// Inlined, so that a caller's constant `causal` links one of the two kernels.
#[inline]
pub(crate) fn attend_padded_tiled(
    qkv: &[f32],
    keep: &[f32],
    out: &mut [f32],
    (heads, causal): (usize, bool),
    tiles: &mut TileBuffers<'_>,
    stats: Option<&mut [f32]>,
) {
    let t = keep.len();
    let d = out.len() / t.max(1);
    let layout = Layout::self_attention(t, d);
    if causal {
        attend_tiled::<true>(qkv, layout, (heads, Some(keep)), out, tiles, stats);
    } else {
        attend_tiled::<false>(qkv, layout, (heads, Some(keep)), out, tiles, stats);
    }
}

/// One sequence through the heap `PaddedAttention`'s inference forward, on slices: `x` is
/// `T` steps of `D` features each followed by its token id, `y` is `T × D`, `pad` the padding
/// id. The heap layer runs the same steps on each sample of a batch, so the bits are its own;
/// `nn::baked` runs this for a baked `multi_head_attention(…, key_padding = PAD)`. Tiled as
/// [`multi_head_attention`] is: the scratch holds one `64 × 64` tile of scores, not `T × T`.
///
/// # Panics
/// When `heads` does not divide `D`, or a length disagrees with another: `scratch` is
/// [`padded_scratch_len`] long.
pub fn padded_multi_head_attention(
    params: &AttentionParams<'_>,
    (heads, causal, pad): (usize, bool, usize),
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let d = params.out_proj_bias.len();
    check_heads(heads, d);
    assert!(
        x.len().is_multiple_of(d + 1),
        "the input is not steps of {d} features and an id"
    );
    let t = x.len() / (d + 1);
    assert_eq!(
        y.len(),
        t * d,
        "the output is the input's steps of {d} features"
    );
    assert_eq!(
        scratch.len(),
        padded_scratch_len(t, d, heads),
        "the scratch's length"
    );
    let (features, rest) = scratch.split_at_mut(t * d);
    let (keep, rest) = rest.split_at_mut(t);
    let (qkv, rest) = rest.split_at_mut(3 * t * d);
    let (mut tiles, _) = TileBuffers::split(rest, t, t, d / heads);
    unpack_padded(x, d, pad, features, keep);
    super::affine(
        params.in_proj_weight,
        params.in_proj_bias,
        features,
        qkv,
        t,
        d,
    );
    attend_padded_tiled(qkv, keep, features, (heads, causal), &mut tiles, None);
    super::affine(
        params.out_proj_weight,
        params.out_proj_bias,
        features,
        y,
        t,
        d,
    );
}

/// Values of working space [`attend_memory`] needs for `features` (`D`) over `keys` (`TK`)
/// keys: the step's query and the heads' output, and one head's scores.
pub const fn memory_scratch_len(keys: usize, features: usize) -> usize {
    2 * features + keys
}

/// The keys and values a cross-attention's decoding keeps of its memory:
/// `keys_in · W_kᵀ + b_k` into `keys` and `values_in · W_vᵀ + b_v` into `values`, each
/// `TK × D`.
///
/// # Panics
/// When a length disagrees with another.
pub fn project_memory(
    params: &AttentionParams<'_>,
    (keys_in, values_in): (&[f32], &[f32]),
    keys: &mut [f32],
    values: &mut [f32],
) {
    let d = params.out_proj_bias.len();
    let rows = keys.len() / d.max(1);
    assert!(
        keys_in.len() == rows * d && values_in.len() == rows * d && values.len() == rows * d,
        "keys and values of {rows} rows of {d}"
    );
    let projection = |p: usize| {
        (
            &params.in_proj_weight[p * d * d..][..d * d],
            &params.in_proj_bias[p * d..][..d],
        )
    };
    let (w_k, b_k) = projection(1);
    super::affine(w_k, b_k, keys_in, keys, rows, d);
    let (w_v, b_v) = projection(2);
    super::affine(w_v, b_v, values_in, values, rows, d);
}

/// One query step of cross-attention over a memory's projected `keys` and `values` (each
/// `TK × D`, from [`project_memory`]): `x` (`D` values) through `W_q`, every head's softmax
/// over the keys, and `out_proj`, into `y`. With `keep` (`TK` values), a key whose `keep` is 0
/// gets probability exactly 0; a query that sees no key gets heads' output 0, as the full
/// forward gives. `scratch` is [`memory_scratch_len`] values.
///
/// # Panics
/// When `heads` does not divide `D` or a length disagrees with another.
pub fn attend_memory(
    params: &AttentionParams<'_>,
    heads: usize,
    x: &[f32],
    y: &mut [f32],
    (keys, values, keep): (&[f32], &[f32], Option<&[f32]>),
    scratch: &mut [f32],
) {
    let d = params.out_proj_bias.len();
    check_heads(heads, d);
    let count = keys.len() / d.max(1);
    assert!(
        values.len() == keys.len() && keep.is_none_or(|keep| keep.len() == count),
        "as many values and mask entries as keys"
    );
    assert_eq!(
        scratch.len(),
        memory_scratch_len(count, d),
        "the scratch's length"
    );
    let (q, rest) = scratch.split_at_mut(d);
    let (out, scores) = rest.split_at_mut(d);
    super::affine(
        &params.in_proj_weight[..d * d],
        &params.in_proj_bias[..d],
        x,
        q,
        1,
        d,
    );
    attend_query(q, heads, (keys, values, keep), scores, out);
    super::affine(params.out_proj_weight, params.out_proj_bias, out, y, 1, d);
}

/// Every head of one query row `q` (`D` values) over the first `scores.len()` rows of `keys`
/// and `values` (rows of `D`), into `out` (`D`): the scores, their softmax and the weighted sum
/// of the values. With `keep`, a key whose `keep` is 0 gets probability exactly 0, and a query
/// that sees no key at all gets 0 from every head, as the full forward gives.
fn attend_query(
    q: &[f32],
    heads: usize,
    (keys, values, keep): (&[f32], &[f32], Option<&[f32]>),
    scores: &mut [f32],
    out: &mut [f32],
) {
    let d = q.len();
    let head_dim = d / heads.max(1);
    let scale = scale(head_dim);
    out.fill(0.0);
    let seen = keep.map_or(!scores.is_empty(), |keep| keep.contains(&1.0));
    for h in (0..heads).filter(|_| seen) {
        let columns = h * head_dim..(h + 1) * head_dim;
        let q = &q[columns.clone()];
        for (score, key) in scores.iter_mut().zip(keys.chunks_exact(d)) {
            *score = super::dot(q, &key[columns.clone()]);
        }
        if let Some(keep) = keep {
            // The largest score among the keys that may be seen.
            for (score, &k) in scores.iter_mut().zip(keep) {
                if k == 0.0 {
                    *score = f32::NEG_INFINITY;
                }
            }
        }
        // A non-finite key (bad input) makes its scores NaN, and the maximum of the rest;
        // NaN then spreads to the output, as in the full forward.
        let max = row_max(scores);
        let mut sum = exp_row(scores, max, scale);
        if let Some(keep) = keep {
            scores.iter_mut().zip(keep).for_each(|(p, &k)| *p *= k);
            sum = scores.iter().sum();
        }
        let out = &mut out[columns.clone()];
        for (&p, value) in scores.iter().zip(values.chunks_exact(d)) {
            for (o, &v) in out.iter_mut().zip(&value[columns.clone()]) {
                *o += p * v;
            }
        }
        let inv = 1.0 / sum;
        out.iter_mut().for_each(|o| *o *= inv);
    }
}

/// Values of working space [`decode_step`] needs for `features` (`D`) and `steps` (`T`): Q, K
/// and V of the step, the heads' output, and one head's scores.
pub const fn decode_scratch_len(steps: usize, features: usize) -> usize {
    4 * features + steps
}

/// One step of causal self-attention with a key/value cache: the output (`D` values) of step
/// `position` for its input `x` (`D`), into `y`. The step's key and value are written to row
/// `position` of `keys` and `values` (`T × D` each), whose rows `0..position` hold the
/// earlier steps'; each head attends to those `position + 1` rows. `scratch` is
/// [`decode_scratch_len`] values.
///
/// It takes `4·D² + 2·(position + 1)·D` multiply-accumulates, where the full forward redoes
/// every earlier step.
///
/// # Panics
/// When `heads` does not divide `D`, `position` is not below `T`, or a length disagrees with
/// another.
#[allow(clippy::too_many_arguments)]
pub fn decode_step(
    params: &AttentionParams<'_>,
    heads: usize,
    position: usize,
    x: &[f32],
    y: &mut [f32],
    keys: &mut [f32],
    values: &mut [f32],
    scratch: &mut [f32],
) {
    let d = params.out_proj_bias.len();
    check_heads(heads, d);
    let steps = keys.len() / d.max(1);
    assert!(position < steps, "position {position} of {steps} steps");
    let (qkv, rest) = scratch.split_at_mut(3 * d);
    let (out, rest) = rest.split_at_mut(d);
    let scores = &mut rest[..position + 1];
    super::affine(params.in_proj_weight, params.in_proj_bias, x, qkv, 1, d);
    let (q, kv) = qkv.split_at(d);
    let row = position * d..(position + 1) * d;
    keys[row.clone()].copy_from_slice(&kv[..d]);
    values[row].copy_from_slice(&kv[d..]);

    attend_query(q, heads, (keys, values, None), scores, out);
    super::affine(params.out_proj_weight, params.out_proj_bias, out, y, 1, d);
}
