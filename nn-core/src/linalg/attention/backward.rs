//! The backward of the tiled attention kernel ([`attend_tiled`]), flash-style: the training
//! forward keeps only each query row's softmax statistics, and the backward recomputes the
//! probabilities tile by tile, so training holds no `queries × keys` matrix either. Only the
//! heap layers train, so this needs `alloc`.

#[cfg(doc)]
use super::attend_tiled;
use super::{
    KEY_TILE, Layout, QUERY_BLOCK, block, scale, score_tile, tile_shape, transpose_into, visible,
};
use crate::linalg::{Vectorize, View, gemm_add_views, vectorized};
use crate::math::exp_fast;

/// The working space of [`attend_tiled_backward`] for one sample.
pub(crate) struct BackwardTiles<'a> {
    /// `(D/H, keys)`: one head's `Kᵀ`.
    pub kt: &'a mut [f32],
    /// `(D/H, keys)`: one head's `Vᵀ`.
    pub vt: &'a mut [f32],
    /// One tile of recomputed probabilities: `min(queries, 64)·min(keys, 64)`.
    pub probs: &'a mut [f32],
    /// One tile of probability gradients, then of score gradients, as `probs`.
    pub grads: &'a mut [f32],
    /// `dO_i · O_i` of each query row of a block (`Σ_j P_ij dP_ij`): `min(queries, 64)`.
    pub delta: &'a mut [f32],
}

impl<'a> BackwardTiles<'a> {
    /// Carves the buffers for `queries` queries over `keys` keys of heads `head_dim` wide off
    /// the front of `scratch`; returns them and the rest.
    pub(crate) fn split(
        scratch: &'a mut [f32],
        queries: usize,
        keys: usize,
        head_dim: usize,
    ) -> (Self, &'a mut [f32]) {
        let (block, tile) = tile_shape(queries, keys);
        let tile = block * tile;
        let (kt, rest) = scratch.split_at_mut(keys * head_dim);
        let (vt, rest) = rest.split_at_mut(keys * head_dim);
        let (probs, rest) = rest.split_at_mut(tile);
        let (grads, rest) = rest.split_at_mut(tile);
        let (delta, rest) = rest.split_at_mut(block);
        let tiles = BackwardTiles {
            kt,
            vt,
            probs,
            grads,
            delta,
        };
        (tiles, rest)
    }

    /// The values [`split`](Self::split) carves: `2·keys·D/H + 2·min(queries, 64)·min(keys,
    /// 64) + min(queries, 64)`.
    pub(crate) const fn len(queries: usize, keys: usize, head_dim: usize) -> usize {
        let (block, tile) = tile_shape(queries, keys);
        2 * keys * head_dim + 2 * block * tile + block
    }
}

/// The transpose of a `rows × cols` row-major matrix, read in place.
fn transposed(data: &[f32], rows: usize, cols: usize) -> View<'_> {
    View {
        data,
        rows: cols,
        cols: rows,
        row_stride: 1,
        col_stride: cols,
    }
}

/// The backward of [`attend_tiled`] for one sample, flash-style: adds the gradients of Q, K
/// and V into `dproj` (laid out as `proj`), from the heads' output `out` and its gradient
/// `dout` (`queries × D` each) and the softmax statistics `stats` that the forward left.
/// Each tile of probabilities is recomputed from Q, K and those statistics, so no
/// `queries × keys` matrix exists beyond a tile: per head, query block and key tile,
///
/// ```text
/// P = e^{scale·(Q Kᵀ − max)} / sum      dV += Pᵀ dO      dP = dO Vᵀ
/// dS = scale · P ⊙ (dP − rowsum(dO ⊙ O))      dQ += dS K      dK += dSᵀ Q
/// ```
///
/// A masked or padded key's probability and score gradient are exactly 0, so nothing flows
/// to it through the softmax.
pub(crate) fn attend_tiled_backward<const CAUSAL: bool>(
    proj: &[f32],
    layout: Layout,
    (heads, keep): (usize, Option<&[f32]>),
    (out, dout, stats): (&[f32], &[f32], &[f32]),
    dproj: &mut [f32],
    buffers: &mut BackwardTiles<'_>,
) {
    let Layout {
        stride,
        queries,
        keys: all_keys,
        ..
    } = layout;
    let d = out.len() / queries.max(1);
    if all_keys == 0 || d == 0 {
        return; // every head was the empty sum: nothing flows back
    }
    let dh = d / heads.max(1);
    let scale = scale(dh);
    let BackwardTiles {
        kt,
        vt,
        probs,
        grads,
        delta,
    } = buffers;
    let (queries_at, keys_at, values_at) =
        (&proj[layout.q..], &proj[layout.k..], &proj[layout.v..]);
    for h in 0..heads {
        let q = h * dh;
        transpose_into(&keys_at[q..], stride, all_keys, dh, kt);
        transpose_into(&values_at[q..], stride, all_keys, dh, vt);
        for i0 in (0..queries).step_by(QUERY_BLOCK) {
            let rows = QUERY_BLOCK.min(queries - i0);
            let delta = &mut delta[..rows];
            for (r, delta) in delta.iter_mut().enumerate() {
                let at = (i0 + r) * d + q;
                *delta = crate::linalg::dot(&dout[at..][..dh], &out[at..][..dh]);
            }
            let stats = &stats[2 * (h * queries + i0)..][..2 * rows];
            let keys = if CAUSAL { i0 + rows } else { all_keys };
            let block_queries = block(queries_at, stride, i0, rows, q, dh);
            let block_dout = block(dout, d, i0, rows, q, dh);
            for j0 in (0..keys).step_by(KEY_TILE) {
                let cols = KEY_TILE.min(keys - j0);
                let (probs, grads) = (&mut probs[..rows * cols], &mut grads[..rows * cols]);
                let keep = keep.map(|keep| &keep[j0..j0 + cols]);
                score_tile(block_queries, (kt, all_keys), (j0, cols), probs);
                vectorized(RecomputeTile::<CAUSAL> {
                    tile: &mut *probs,
                    cols,
                    first_query: i0,
                    first_key: j0,
                    keep,
                    stats,
                    scale,
                });
                // dV = Pᵀ · dO
                let dv = &mut dproj[layout.v + j0 * stride + q..];
                gemm_add_views(transposed(probs, rows, cols), block_dout, dv, stride);
                // dP = dO · Vᵀ, then the scores' gradient in place
                grads.fill(0.0);
                gemm_add_views(
                    block_dout,
                    block(vt, all_keys, 0, dh, j0, cols),
                    grads,
                    cols,
                );
                vectorized(ScoreGrad::<CAUSAL> {
                    grads: &mut *grads,
                    probs,
                    cols,
                    first_query: i0,
                    first_key: j0,
                    keep,
                    delta,
                    scale,
                });
                // dQ = dS · K, dK = dSᵀ · Q
                let block_keys = block(keys_at, stride, j0, cols, q, dh);
                let dq = &mut dproj[layout.q + i0 * stride + q..];
                gemm_add_views(block(grads, cols, 0, rows, 0, cols), block_keys, dq, stride);
                let dk = &mut dproj[layout.k + j0 * stride + q..];
                gemm_add_views(transposed(grads, rows, cols), block_queries, dk, stride);
            }
        }
    }
}

/// [`attend_tiled_backward`] of one sample of a padded self-attention: `qkv` (`T × 3·D`) and
/// its gradient `dqkv`, the keys' mask `keep` (`T`), causal or not; the backward of
/// `attend_padded_tiled`.
pub(crate) fn attend_padded_tiled_backward(
    qkv: &[f32],
    keep: &[f32],
    forward: (&[f32], &[f32], &[f32]),
    dqkv: &mut [f32],
    (heads, causal): (usize, bool),
    tiles: &mut BackwardTiles<'_>,
) {
    let t = keep.len();
    let layout = Layout::self_attention(t, forward.0.len() / t.max(1));
    if causal {
        attend_tiled_backward::<true>(qkv, layout, (heads, Some(keep)), forward, dqkv, tiles);
    } else {
        attend_tiled_backward::<false>(qkv, layout, (heads, Some(keep)), forward, dqkv, tiles);
    }
}

/// Recomputes a tile of probabilities from its scores (in place): `e^{scale·(s − max)}/sum`
/// with each query row's statistics from the forward; a masked or padded key, and every key
/// of a row that saw none, is exactly 0.
struct RecomputeTile<'a, const CAUSAL: bool> {
    tile: &'a mut [f32],
    cols: usize,
    first_query: usize,
    first_key: usize,
    keep: Option<&'a [f32]>,
    /// `(max, 1/sum)` of each query row of the block.
    stats: &'a [f32],
    scale: f32,
}

impl<const CAUSAL: bool> Vectorize for RecomputeTile<'_, CAUSAL> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let rows = self.tile.chunks_exact_mut(self.cols);
        for (r, (row, stat)) in rows.zip(self.stats.chunks_exact(2)).enumerate() {
            let seen = visible::<CAUSAL>(self.first_query + r, self.first_key, self.cols);
            let (keys, masked) = row.split_at_mut(seen);
            masked.fill(0.0);
            let (max, inv) = (stat[0], stat[1]);
            if inv == 0.0 {
                keys.fill(0.0); // the row saw no key: its probabilities are all 0
                continue;
            }
            for p in keys.iter_mut() {
                *p = exp_fast(self.scale * (*p - max)) * inv;
            }
            if let Some(keep) = self.keep {
                keys.iter_mut().zip(keep).for_each(|(p, &k)| *p *= k);
            }
        }
    }
}

/// Turns a tile of probability gradients `dP` into score gradients (in place):
/// `scale · P ⊙ (dP − δ)`, `δ` being the row's `dO · O`; exactly 0 where `P` is masked.
struct ScoreGrad<'a, const CAUSAL: bool> {
    grads: &'a mut [f32],
    probs: &'a [f32],
    cols: usize,
    first_query: usize,
    first_key: usize,
    keep: Option<&'a [f32]>,
    delta: &'a [f32],
    scale: f32,
}

impl<const CAUSAL: bool> Vectorize for ScoreGrad<'_, CAUSAL> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let rows = self.grads.chunks_exact_mut(self.cols);
        let probs = self.probs.chunks_exact(self.cols);
        for (r, ((row, p), &delta)) in rows.zip(probs).zip(self.delta).enumerate() {
            let seen = visible::<CAUSAL>(self.first_query + r, self.first_key, self.cols);
            let (keys, masked) = row.split_at_mut(seen);
            masked.fill(0.0);
            for (g, &p) in keys.iter_mut().zip(p) {
                *g = self.scale * p * (*g - delta);
            }
            if let Some(keep) = self.keep {
                // Set, not multiplied: a padded key's dP may be anything.
                for (g, &k) in keys.iter_mut().zip(keep) {
                    *g = if k == 0.0 { 0.0 } else { *g };
                }
            }
        }
    }
}
