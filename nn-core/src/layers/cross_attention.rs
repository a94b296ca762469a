//! `CrossAttention<TQ, TK, N, D, H>`: multi-head attention of `TQ` queries over `TK` keys and
//! values, all packed along the step axis of one batch-first input.

use alloc::vec;
use alloc::vec::Vec;

use crate::init::{Init, Rng, uniform};
use crate::layers::dense::{affine_backward, affine_forward};
use crate::layers::{Composable, CrossDecode, Layer};
use crate::linalg::attention::{self, AttentionParams, BackwardTiles, Layout, TileBuffers};
use crate::param::{HasParams, Param, ParamPath, ParamRef, ParamRefVisitor, ParamVisitor};
use crate::tensor::{Aligned, Tensor1, Tensor2, Tensor3, Zeroed};

/// Multi-head attention of `TQ` query steps over `TK` key/value steps, `D` features each, `H`
/// heads, no mask: `Tensor3<B, N, D>` in (`N = TQ + 2·TK`), `Tensor3<B, TQ, D>` out.
///
/// PyTorch's `nn.MultiheadAttention(D, H, batch_first=True)` called as
/// `mha(q, k, v, need_weights=False)`, with `q` of `TQ` steps and `k`, `v` of `TK` steps:
///
/// ```text
/// Q = q · W_qᵀ + b_q,   K = k · W_kᵀ + b_k,   V = v · W_vᵀ + b_v
/// head_h = softmax(Q_h K_hᵀ / √(D/H)) · V_h      (Q_h: features h·D/H .. (h+1)·D/H)
/// y      = [head_0 … head_{H−1}] · out_proj.weightᵀ + out_proj.bias
/// ```
///
/// The softmax runs over the `TK` keys, its maximum subtracted. The one input packs the three
/// along the step axis: rows `0..TQ` of each sample are `q`, rows `TQ..TQ+TK` are `k`, rows
/// `TQ+TK..N` are `v` (a network builds it by concatenating the branches of a fork on the
/// step axis), and the input gradient has the same layout: `dq`, then `dk`, then `dv`. `D` must
/// be a multiple of `H` and `N` must be `TQ + 2·TK`; anything else fails to compile. With no
/// keys (`TK = 0`) every head is the empty sum 0, so each output row is `out_proj.bias`.
///
/// Parameters are [`MultiHeadAttention`](super::MultiHeadAttention)'s, in PyTorch's names,
/// layouts and order, so weights interchange: `in_proj_weight` (`3·D × D`: `W_q`, then `W_k`,
/// then `W_v`, held as a `Tensor3<3, D, D>` with the same row-major values; Xavier-uniform),
/// `in_proj_bias` (`3·D`: `b_q`, `b_k`, `b_v`, held as `Tensor2<3, D>`; zero),
/// `out_proj.weight` (`D × D`; `U(−1/√D, 1/√D)`) and `out_proj.bias` (`D`; zero).
///
/// # Memory
/// Each projection is one product per sample. The inference forward runs one sample at a
/// time through the flash-style kernel of
/// [`linalg::attention::cross_multi_head_attention`](crate::linalg::attention::cross_multi_head_attention)
/// (the one a baked network runs): for each head and block of up to 64 queries it walks the
/// keys in tiles of up to 64 with an online softmax, so no `TQ × TK` matrix exists. Its
/// scratch ([`CrossAttentionScratch`]) holds
/// `(2·TQ + 2·TK)·D + TK·D/H + min(TQ, 64)·min(TK, 64) + 2·min(TQ, 64)` floats whatever the
/// batch: Q, K and V, the heads' output, one head's `Kᵀ`, one tile of scores and the running
/// statistics of a query block. The training forward is the same kernel keeping each query
/// row's softmax statistics (its largest score and `1/sum`), and `backward` recomputes the
/// probabilities tile by tile (flash-style), so training holds no `TQ × TK` matrix either:
/// its cache ([`CrossAttentionCache`]) holds
/// `4·B·(TQ + TK)·D + 2·B·H·TQ + 2·TK·D/H + 2·min(TQ, 64)·min(TK, 64) + min(TQ, 64)`
/// floats: Q, K and V, the statistics, the heads' output, and for `backward` the gradients of
/// the heads' output and of Q, K and V, one head's `Kᵀ` and `Vᵀ`, and a tile of probabilities
/// and one of their gradients.
///
/// ```
/// use nn_core::layers::{CrossAttention, Layer};
/// use nn_core::tensor::{Tensor3, Zeroed};
///
/// // 2 queries over 1 key of 2 features, 1 head; identity projections, zero biases.
/// let mut attn = CrossAttention::<2, 1, 4, 2, 1>::new(&mut nn_core::init::seeded(0));
/// let eye = [1.0, 0.0, 0.0, 1.0];
/// attn.in_proj_weight_mut().as_mut_slice().copy_from_slice(&[eye, eye, eye].concat());
/// attn.out_proj_weight_mut().as_mut_slice().copy_from_slice(&eye);
///
/// // Rows: the queries q₀ and q₁, the key k, the value v.
/// let x = Tensor3::<1, 4, 2>::from_slice(&[1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 3.0, -1.0])?;
/// let mut y = Tensor3::<1, 2, 2>::zeros();
/// attn.forward(&x, &mut y, &mut Zeroed::zeroed());
/// // A softmax over one key is 1: every query gets that key's value.
/// assert_eq!(y.as_slice(), &[3.0, -1.0, 3.0, -1.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// An input whose step count is not `TQ + 2·TK` does not compile:
///
/// ```compile_fail
/// use nn_core::layers::CrossAttention;
/// // 2 queries and 3 keys need 2 + 2·3 = 8 steps, not 7.
/// let attn = CrossAttention::<2, 3, 7, 4, 2>::new(&mut nn_core::init::seeded(0));
/// ```
#[derive(Clone, Debug)]
pub struct CrossAttention<
    const TQ: usize,
    const TK: usize,
    const N: usize,
    const D: usize,
    const H: usize,
> {
    in_proj_weight: Tensor3<3, D, D>,
    in_proj_bias: Tensor2<3, D>,
    out_proj_weight: Tensor2<D, D>,
    out_proj_bias: Tensor1<D>,
    in_proj_weight_grad: Tensor3<3, D, D>,
    in_proj_bias_grad: Tensor2<3, D>,
    out_proj_weight_grad: Tensor2<D, D>,
    out_proj_bias_grad: Tensor1<D>,
}

/// The working space of [`CrossAttention`]'s inference forward, one sample at a time:
/// `(2·TQ + 2·TK)·D + TK·D/H + min(TQ, 64)·min(TK, 64) + 2·min(TQ, 64)` floats whatever the
/// batch, allocated once by [`Zeroed::zeroed`].
#[derive(Clone, Debug)]
pub struct CrossAttentionScratch<
    const B: usize,
    const TQ: usize,
    const TK: usize,
    const D: usize,
    const H: usize,
> {
    /// `(TQ + 2·TK, D)`: Q, K and V, packed as the input is.
    proj: Aligned,
    /// `(TQ, D)`: the heads' output, side by side.
    heads: Aligned,
    /// The online softmax's: one head's `Kᵀ`, a tile of scores, a query block's running
    /// maximum and sum ([`TileBuffers`]).
    tiles: Aligned,
}

impl<const B: usize, const TQ: usize, const TK: usize, const D: usize, const H: usize> Zeroed
    for CrossAttentionScratch<B, TQ, TK, D, H>
{
    fn zeroed() -> Self {
        Self {
            proj: buffer((TQ + 2 * TK) * D),
            heads: buffer(TQ * D),
            tiles: buffer(TileBuffers::len(TQ, TK, head_dim::<D, H>())),
        }
    }
}

/// The cache of [`CrossAttention`]'s training forward and the working space of its backward,
/// `4·B·(TQ + TK)·D + 2·B·H·TQ + 2·TK·D/H + 2·min(TQ, 64)·min(TK, 64) + min(TQ, 64)`
/// floats, allocated once by [`Zeroed::zeroed`].
#[derive(Clone, Debug)]
pub struct CrossAttentionCache<
    const B: usize,
    const TQ: usize,
    const TK: usize,
    const D: usize,
    const H: usize,
> {
    /// `(B, TQ + 2·TK, D)`: Q, K and V, packed as the input is.
    proj: Aligned,
    /// `(B, H, TQ, 2)`: each query row's softmax statistics, its largest score and `1/sum`.
    stats: Aligned,
    /// `(B·TQ, D)`: the heads' output, side by side.
    heads: Aligned,
    /// `(B·TQ, D)`: the gradient of `heads`.
    dheads: Aligned,
    /// `(B, TQ + 2·TK, D)`: the gradient of `proj`.
    dproj: Aligned,
    /// The tiles of the forward, then of the backward (the longer of the two).
    tiles: Aligned,
}

impl<const B: usize, const TQ: usize, const TK: usize, const D: usize, const H: usize> Zeroed
    for CrossAttentionCache<B, TQ, TK, D, H>
{
    fn zeroed() -> Self {
        let steps = TQ + 2 * TK;
        let dh = head_dim::<D, H>();
        Self {
            proj: buffer(B * steps * D),
            stats: buffer(B * H * TQ * 2),
            heads: buffer(B * TQ * D),
            dheads: buffer(B * TQ * D),
            dproj: buffer(B * steps * D),
            tiles: buffer(TileBuffers::len(TQ, TK, dh).max(BackwardTiles::len(TQ, TK, dh))),
        }
    }
}

fn buffer(len: usize) -> Aligned {
    Aligned::filled(len, 0.0)
}

/// `D / H`, the width of one head; a head count that does not divide `D` fails to compile.
const fn head_dim<const D: usize, const H: usize>() -> usize {
    const {
        assert!(
            H > 0 && D.is_multiple_of(H),
            "CrossAttention<TQ, TK, N, D, H>: the width D must be a multiple of the head count H"
        )
    };
    D / H
}

/// Checks the packed input's step count: a count other than `TQ + 2·TK` fails to compile.
const fn check_steps<const TQ: usize, const TK: usize, const N: usize>() {
    const {
        assert!(
            N == TQ + 2 * TK,
            "CrossAttention<TQ, TK, N, D, H>: the input's step count N must be TQ + 2·TK \
             (TQ queries, then TK keys, then TK values)"
        )
    };
}

impl<const TQ: usize, const TK: usize, const N: usize, const D: usize, const H: usize>
    CrossAttention<TQ, TK, N, D, H>
{
    /// The number of scalar parameters: `3·D·D + 3·D + D·D + D`.
    pub const PARAM_COUNT: usize = 4 * D * D + 4 * D;

    /// Where a sample's Q, K and V lie in the projections: packed as the input is.
    const LAYOUT: Layout = Layout::cross(TQ, TK, D);

    /// Rows of one packed sample, as `(first row, rows)`: the queries, the keys, the values.
    const SECTIONS: [(usize, usize); 3] = [(0, TQ), (TQ, TK), (TQ + TK, TK)];

    /// A layer with PyTorch's initialisation: Xavier-uniform `in_proj_weight`,
    /// `U(−1/√D, 1/√D)` `out_proj.weight`, zero biases.
    pub fn new(rng: &mut Rng) -> Self {
        Self::check();
        let mut in_proj_weight = Tensor3::zeros();
        // PyTorch's fans of a `3·D × D` matrix: D in, 3·D out.
        Init::GlorotUniform.fill(in_proj_weight.as_mut_slice(), D, 3 * D, rng);
        let mut out_proj_weight = Tensor2::zeros();
        let bound = 1.0 / crate::math::sqrt(D.max(1) as f32);
        for w in out_proj_weight.as_mut_slice() {
            *w = uniform(rng, -bound, bound);
        }
        Self {
            in_proj_weight,
            in_proj_bias: Tensor2::zeros(),
            out_proj_weight,
            out_proj_bias: Tensor1::zeros(),
            in_proj_weight_grad: Tensor3::zeros(),
            in_proj_bias_grad: Tensor2::zeros(),
            out_proj_weight_grad: Tensor2::zeros(),
            out_proj_bias_grad: Tensor1::zeros(),
        }
    }

    /// PyTorch's `in_proj_weight` (`3·D × D`), as projection (Q, K, V) × row × column.
    pub fn in_proj_weight(&self) -> &Tensor3<3, D, D> {
        &self.in_proj_weight
    }
    /// `in_proj_weight`, mutably.
    pub fn in_proj_weight_mut(&mut self) -> &mut Tensor3<3, D, D> {
        &mut self.in_proj_weight
    }
    /// PyTorch's `in_proj_bias` (`3·D`), one row per projection (Q, K, V).
    pub fn in_proj_bias(&self) -> &Tensor2<3, D> {
        &self.in_proj_bias
    }
    /// `in_proj_bias`, mutably.
    pub fn in_proj_bias_mut(&mut self) -> &mut Tensor2<3, D> {
        &mut self.in_proj_bias
    }
    /// PyTorch's `out_proj.weight` (`D × D`).
    pub fn out_proj_weight(&self) -> &Tensor2<D, D> {
        &self.out_proj_weight
    }
    /// `out_proj.weight`, mutably.
    pub fn out_proj_weight_mut(&mut self) -> &mut Tensor2<D, D> {
        &mut self.out_proj_weight
    }
    /// PyTorch's `out_proj.bias` (`D`).
    pub fn out_proj_bias(&self) -> &Tensor1<D> {
        &self.out_proj_bias
    }
    /// `out_proj.bias`, mutably.
    pub fn out_proj_bias_mut(&mut self) -> &mut Tensor1<D> {
        &mut self.out_proj_bias
    }
    /// The accumulated gradient of `in_proj_weight`.
    pub fn in_proj_weight_grad(&self) -> &Tensor3<3, D, D> {
        &self.in_proj_weight_grad
    }
    /// The accumulated gradient of `in_proj_bias`.
    pub fn in_proj_bias_grad(&self) -> &Tensor2<3, D> {
        &self.in_proj_bias_grad
    }
    /// The accumulated gradient of `out_proj.weight`.
    pub fn out_proj_weight_grad(&self) -> &Tensor2<D, D> {
        &self.out_proj_weight_grad
    }
    /// The accumulated gradient of `out_proj.bias`.
    pub fn out_proj_bias_grad(&self) -> &Tensor1<D> {
        &self.out_proj_bias_grad
    }

    /// The parameters as the kernels take them.
    fn params(&self) -> AttentionParams<'_> {
        AttentionParams {
            in_proj_weight: self.in_proj_weight.as_slice(),
            in_proj_bias: self.in_proj_bias.as_slice(),
            out_proj_weight: self.out_proj_weight.as_slice(),
            out_proj_bias: self.out_proj_bias.as_slice(),
        }
    }

    /// The compile-time checks of the sizes; returns `D / H`.
    const fn check() -> usize {
        check_steps::<TQ, TK, N>();
        head_dim::<D, H>()
    }

    /// `Q`, `K` and `V`, each from its rows of every sample: `x` holds `B` samples of `stride`
    /// values, each first its `N·D` packed rows, and `proj` is packed as those rows are.
    fn project_in<const B: usize>(&self, x: &[f32], stride: usize, proj: &mut [f32]) {
        let (weight, bias) = (self.in_proj_weight.as_slice(), self.in_proj_bias.as_slice());
        for b in 0..B {
            for (p, (first, rows)) in Self::SECTIONS.into_iter().enumerate() {
                let at = (b * N + first) * D;
                affine_forward(
                    &weight[p * D * D..][..D * D],
                    &bias[p * D..][..D],
                    &x[b * stride + first * D..][..rows * D],
                    &mut proj[at..][..rows * D],
                    rows,
                    D,
                );
            }
        }
    }

    /// `y = heads · out_proj.weightᵀ + out_proj.bias` over all `B·TQ` rows.
    fn project_out<const B: usize>(&self, heads: &[f32], y: &mut Tensor3<B, TQ, D>) {
        affine_forward(
            self.out_proj_weight.as_slice(),
            self.out_proj_bias.as_slice(),
            heads,
            y.as_mut_slice(),
            B * TQ,
            D,
        );
    }
}

impl<const TQ: usize, const TK: usize, const N: usize, const D: usize, const H: usize> HasParams
    for CrossAttention<TQ, TK, N, D, H>
{
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        let in_proj_weight = Param {
            value: self.in_proj_weight.as_mut_slice(),
            grad: self.in_proj_weight_grad.as_mut_slice(),
            shape: &[3 * D, D],
        };
        visitor.visit(&path.child("in_proj_weight"), in_proj_weight);
        let in_proj_bias = Param {
            value: self.in_proj_bias.as_mut_slice(),
            grad: self.in_proj_bias_grad.as_mut_slice(),
            shape: &[3 * D],
        };
        visitor.visit(&path.child("in_proj_bias"), in_proj_bias);
        let out_proj = path.child("out_proj");
        let weight = Param {
            value: self.out_proj_weight.as_mut_slice(),
            grad: self.out_proj_weight_grad.as_mut_slice(),
            shape: &[D, D],
        };
        visitor.visit(&out_proj.child("weight"), weight);
        let bias = Param {
            value: self.out_proj_bias.as_mut_slice(),
            grad: self.out_proj_bias_grad.as_mut_slice(),
            shape: &[D],
        };
        visitor.visit(&out_proj.child("bias"), bias);
    }

    fn visit_params_ref<V: ParamRefVisitor>(&self, path: &ParamPath<'_>, visitor: &mut V) {
        let in_proj_weight = ParamRef {
            value: self.in_proj_weight.as_slice(),
            shape: &[3 * D, D],
        };
        visitor.visit(&path.child("in_proj_weight"), in_proj_weight);
        let in_proj_bias = ParamRef {
            value: self.in_proj_bias.as_slice(),
            shape: &[3 * D],
        };
        visitor.visit(&path.child("in_proj_bias"), in_proj_bias);
        let out_proj = path.child("out_proj");
        let weight = ParamRef {
            value: self.out_proj_weight.as_slice(),
            shape: &[D, D],
        };
        visitor.visit(&out_proj.child("weight"), weight);
        let bias = ParamRef {
            value: self.out_proj_bias.as_slice(),
            shape: &[D],
        };
        visitor.visit(&out_proj.child("bias"), bias);
    }

    fn param_count(&mut self) -> usize {
        Self::PARAM_COUNT
    }
}

impl<const TQ: usize, const TK: usize, const N: usize, const D: usize, const H: usize> Layer
    for CrossAttention<TQ, TK, N, D, H>
{
    type Input<const B: usize> = Tensor3<B, N, D>;
    type Output<const B: usize> = Tensor3<B, TQ, D>;
    type Scratch<const B: usize> = CrossAttentionScratch<B, TQ, TK, D, H>;
    type Cache<const B: usize> = CrossAttentionCache<B, TQ, TK, D, H>;

    fn forward<const B: usize>(
        &self,
        x: &Tensor3<B, N, D>,
        y: &mut Tensor3<B, TQ, D>,
        scratch: &mut CrossAttentionScratch<B, TQ, TK, D, H>,
    ) {
        self.forward_samples(x.as_slice(), N * D, None, y, scratch);
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, N, D>,
        y: &mut Tensor3<B, TQ, D>,
        cache: &mut CrossAttentionCache<B, TQ, TK, D, H>,
    ) {
        self.forward_train_samples(x.as_slice(), N * D, None, y, cache);
    }

    fn backward<const B: usize>(
        &mut self,
        x: &Tensor3<B, N, D>,
        _y: &Tensor3<B, TQ, D>,
        cache: &mut CrossAttentionCache<B, TQ, TK, D, H>,
        dy: &Tensor3<B, TQ, D>,
        dx: Option<&mut Tensor3<B, N, D>>,
    ) {
        let dx = dx.map(|dx| dx.as_mut_slice());
        self.backward_samples(x.as_slice(), N * D, None, cache, dy, dx);
    }
}

/// The passes on `B` samples of `stride` values each, every sample's `N·D` packed rows first,
/// with each sample's keys' mask (`TK` values: 1 to attend, 0 not) in `keeps` when there is
/// one: [`CrossAttention`]'s own (no mask, `stride = N·D`) and
/// [`PaddedCrossAttention`](super::PaddedCrossAttention)'s (the keys' ids after the rows).
impl<const TQ: usize, const TK: usize, const N: usize, const D: usize, const H: usize>
    CrossAttention<TQ, TK, N, D, H>
{
    pub(crate) fn forward_samples<const B: usize>(
        &self,
        x: &[f32],
        stride: usize,
        keeps: Option<&[f32]>,
        y: &mut Tensor3<B, TQ, D>,
        scratch: &mut CrossAttentionScratch<B, TQ, TK, D, H>,
    ) {
        let dh = Self::check();
        let CrossAttentionScratch { proj, heads, tiles } = scratch;
        let params = self.params();
        let (mut tiles, _) = TileBuffers::split(tiles, TQ, TK, dh);
        if TQ * D == 0 {
            return; // no queries or no features: nothing to write
        }
        // One sample at a time, through the kernel a baked network runs.
        let outputs = y.as_mut_slice().chunks_exact_mut(TQ * D);
        for (b, y) in outputs.enumerate() {
            let x = &x[b * stride..][..N * D];
            let keep = keeps.map(|keeps| &keeps[b * TK..][..TK]);
            attention::cross_attend(&params, (H, keep), TQ, x, y, (proj, heads, &mut tiles));
        }
    }

    pub(crate) fn forward_train_samples<const B: usize>(
        &mut self,
        x: &[f32],
        stride: usize,
        keeps: Option<&[f32]>,
        y: &mut Tensor3<B, TQ, D>,
        cache: &mut CrossAttentionCache<B, TQ, TK, D, H>,
    ) {
        let dh = Self::check();
        let CrossAttentionCache {
            proj,
            stats,
            heads,
            tiles,
            ..
        } = cache;
        self.project_in::<B>(x, stride, proj);
        // The inference kernel, each query row's softmax statistics kept for `backward`.
        let (mut tiles, _) = TileBuffers::split(tiles, TQ, TK, dh);
        for b in (0..B).filter(|_| TQ * D > 0) {
            attention::attend_tiled::<false>(
                &proj[b * N * D..][..N * D],
                Self::LAYOUT,
                (H, keeps.map(|keeps| &keeps[b * TK..][..TK])),
                &mut heads[b * TQ * D..][..TQ * D],
                &mut tiles,
                Some(&mut stats[b * H * TQ * 2..][..H * TQ * 2]),
            );
        }
        self.project_out(heads, y);
    }

    /// The backward; `dx`, when given, has `x`'s layout, and only its rows are written.
    pub(crate) fn backward_samples<const B: usize>(
        &mut self,
        x: &[f32],
        stride: usize,
        keeps: Option<&[f32]>,
        cache: &mut CrossAttentionCache<B, TQ, TK, D, H>,
        dy: &Tensor3<B, TQ, D>,
        mut dx: Option<&mut [f32]>,
    ) {
        let dh = Self::check();
        let CrossAttentionCache {
            proj,
            stats,
            heads,
            dheads,
            dproj,
            tiles,
        } = cache;
        affine_backward(
            self.out_proj_weight.as_slice(),
            self.out_proj_weight_grad.as_mut_slice(),
            self.out_proj_bias_grad.as_mut_slice(),
            heads,
            dy.as_slice(),
            Some(dheads),
            B * TQ,
            D,
        );
        // Each head adds its part of the gradients of Q, K and V, its probabilities
        // recomputed tile by tile; with no queries or no keys they stay 0.
        dproj.fill(0.0);
        let (mut tiles, _) = BackwardTiles::split(tiles, TQ, TK, dh);
        for b in (0..B).filter(|_| TQ * D > 0) {
            let rows = b * TQ * D..(b + 1) * TQ * D;
            attention::attend_tiled_backward::<false>(
                &proj[b * N * D..][..N * D],
                Self::LAYOUT,
                (H, keeps.map(|keeps| &keeps[b * TK..][..TK])),
                (
                    &heads[rows.clone()],
                    &dheads[rows],
                    &stats[b * H * TQ * 2..][..H * TQ * 2],
                ),
                &mut dproj[b * N * D..][..N * D],
                &mut tiles,
            );
        }
        // Each projection's weight and bias gradients from its rows of every sample, and
        // dq = dQ·W_q, dk = dK·W_k, dv = dV·W_v into the same rows of dx.
        let weight = self.in_proj_weight.as_slice();
        let weight_grad = self.in_proj_weight_grad.as_mut_slice();
        let bias_grad = self.in_proj_bias_grad.as_mut_slice();
        for b in 0..B {
            for (p, (first, rows)) in Self::SECTIONS.into_iter().enumerate() {
                let (at, from) = ((b * N + first) * D, b * stride + first * D);
                affine_backward(
                    &weight[p * D * D..][..D * D],
                    &mut weight_grad[p * D * D..][..D * D],
                    &mut bias_grad[p * D..][..D],
                    &x[from..][..rows * D],
                    &dproj[at..][..rows * D],
                    dx.as_deref_mut().map(|dx| &mut dx[from..][..rows * D]),
                    rows,
                    D,
                );
            }
        }
    }
}

/// What a [`CrossAttention`] keeps of its memory while a network decodes step by step: the
/// projected keys and values (`TK × D` each), the keys' mask, and one step's working space.
#[derive(Clone, Debug)]
pub struct CrossDecodeState {
    keys: Vec<f32>,
    values: Vec<f32>,
    /// 1 for a key that may be attended, 0 for padding; all 1 without a mask.
    keep: Vec<f32>,
    scratch: Vec<f32>,
}

impl CrossDecodeState {
    fn new(keys: usize, features: usize) -> Self {
        Self {
            keys: vec![0.0; keys * features],
            values: vec![0.0; keys * features],
            keep: vec![1.0; keys],
            scratch: vec![0.0; attention::memory_scratch_len(keys, features)],
        }
    }
}

impl<const TQ: usize, const TK: usize, const N: usize, const D: usize, const H: usize>
    CrossAttention<TQ, TK, N, D, H>
{
    /// [`CrossDecode::remember`], the keys masked where their id in `padding` (the ids, and
    /// the padding id) is the padding id, or none masked.
    pub(crate) fn remember_masked(
        &self,
        (keys, values): (&[f32], &[f32]),
        padding: Option<(&[f32], usize)>,
        state: &mut CrossDecodeState,
    ) {
        Self::check();
        attention::project_memory(
            &self.params(),
            (keys, values),
            &mut state.keys,
            &mut state.values,
        );
        match padding {
            Some((ids, pad)) => attention::keep_unpadded(ids, pad, &mut state.keep),
            None => state.keep.fill(1.0),
        }
    }
}

/// The keys and values are the memory's, projected once; each step's query attends to all of
/// them (masked by a [`PaddedCrossAttention`](super::PaddedCrossAttention)'s ids).
impl<const TQ: usize, const TK: usize, const N: usize, const D: usize, const H: usize> CrossDecode
    for CrossAttention<TQ, TK, N, D, H>
{
    type CrossState = CrossDecodeState;

    fn cross_state(&self) -> CrossDecodeState {
        CrossDecodeState::new(TK, D)
    }

    fn remember(&self, keys: &[f32], values: &[f32], _ids: &[f32], state: &mut CrossDecodeState) {
        self.remember_masked((keys, values), None, state);
    }

    fn attend(&self, x: &[f32], y: &mut [f32], state: &mut CrossDecodeState) {
        let CrossDecodeState {
            keys,
            values,
            keep,
            scratch,
        } = state;
        attention::attend_memory(&self.params(), H, x, y, (keys, values, Some(keep)), scratch);
    }
}

impl<const TQ: usize, const TK: usize, const N: usize, const D: usize, const H: usize> Composable
    for CrossAttention<TQ, TK, N, D, H>
{
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(rng: &mut Rng) -> Self {
        Self::new(rng)
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::{String, ToString};
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;
    use crate::init::seeded;
    use crate::layers::MultiHeadAttention;
    use crate::tensor::Tensor;
    use crate::testing::{check_gradients, random_tensor};

    type Cross<const TQ: usize, const TK: usize, const N: usize, const D: usize, const H: usize> =
        CrossAttention<TQ, TK, N, D, H>;

    /// PyTorch's initialisation with random biases; `spread` widens `in_proj_weight` so that
    /// the softmax is far from uniform.
    fn random_layer<
        const TQ: usize,
        const TK: usize,
        const N: usize,
        const D: usize,
        const H: usize,
    >(
        seed: u64,
        spread: f32,
    ) -> Cross<TQ, TK, N, D, H> {
        let mut rng = seeded(seed);
        let mut layer = Cross::<TQ, TK, N, D, H>::new(&mut rng);
        layer
            .in_proj_weight_mut()
            .as_mut_slice()
            .iter_mut()
            .for_each(|w| *w *= spread);
        let biases = [
            layer.in_proj_bias.as_mut_slice(),
            layer.out_proj_bias.as_mut_slice(),
        ];
        for b in biases.into_iter().flatten() {
            *b = uniform(&mut rng, -0.5, 0.5);
        }
        layer
    }

    fn f64s(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&v| f64::from(v)).collect()
    }

    /// `rows` rows of `x` (`D` wide) through the `D × D` weight `w` and bias `bias`, in `f64`.
    fn linear(w: &[f64], bias: &[f64], x: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let d = bias.len();
        x.iter()
            .map(|row| {
                (0..d)
                    .map(|o| bias[o] + (0..d).map(|c| w[o * d + c] * row[c]).sum::<f64>())
                    .collect()
            })
            .collect()
    }

    /// The layer written plainly, in `f64`: per sample and head, a full `TQ × TK` softmax.
    fn reference<
        const B: usize,
        const TQ: usize,
        const TK: usize,
        const N: usize,
        const D: usize,
        const H: usize,
    >(
        layer: &Cross<TQ, TK, N, D, H>,
        x: &Tensor3<B, N, D>,
    ) -> Vec<f64> {
        let dh = D / H;
        let w_in = f64s(layer.in_proj_weight().as_slice());
        let b_in = f64s(layer.in_proj_bias().as_slice());
        let w_out = f64s(layer.out_proj_weight().as_slice());
        let b_out = f64s(layer.out_proj_bias().as_slice());
        let mut y = Vec::new();
        for b in 0..B {
            let rows = |first: usize, count: usize| -> Vec<Vec<f64>> {
                (first..first + count)
                    .map(|t| (0..D).map(|c| f64::from(x[[b, t, c]])).collect())
                    .collect()
            };
            let project = |p: usize, rows: Vec<Vec<f64>>| {
                linear(&w_in[p * D * D..][..D * D], &b_in[p * D..][..D], &rows)
            };
            let q = project(0, rows(0, TQ));
            let k = project(1, rows(TQ, TK));
            let v = project(2, rows(TQ + TK, TK));
            let mut heads = vec![vec![0.0; D]; TQ];
            for h in 0..H {
                for i in 0..TQ {
                    let scores: Vec<f64> = (0..TK)
                        .map(|j| {
                            let dot: f64 =
                                (0..dh).map(|c| q[i][h * dh + c] * k[j][h * dh + c]).sum();
                            dot / (dh as f64).sqrt()
                        })
                        .collect();
                    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                    let total: f64 = e.iter().sum();
                    for c in 0..dh {
                        heads[i][h * dh + c] =
                            (0..TK).map(|j| e[j] / total * v[j][h * dh + c]).sum();
                    }
                }
            }
            y.extend(linear(&w_out, &b_out, &heads).into_iter().flatten());
        }
        y
    }

    #[track_caller]
    fn assert_close(got: &[f32], want: &[f64], tolerance: f64) {
        assert_eq!(got.len(), want.len());
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let err = (f64::from(g) - w).abs();
            assert!(
                err <= tolerance * w.abs().max(1.0),
                "element {i}: {g} vs {w} (error {err:e})"
            );
        }
    }

    fn forward_matches_reference<
        const B: usize,
        const TQ: usize,
        const TK: usize,
        const N: usize,
        const D: usize,
        const H: usize,
    >(
        seed: u64,
    ) {
        let layer = random_layer::<TQ, TK, N, D, H>(seed, 3.0);
        let x = random_tensor::<Tensor3<B, N, D>>(&mut seeded(seed + 1));
        let mut y = Tensor3::<B, TQ, D>::zeros();
        layer.forward(&x, &mut y, &mut Zeroed::zeroed());
        assert_close(y.as_slice(), &reference(&layer, &x), 1e-5);
    }

    #[test]
    fn forward_matches_a_plain_reference() {
        forward_matches_reference::<2, 3, 5, 13, 4, 1>(1);
        forward_matches_reference::<2, 3, 5, 13, 4, 2>(2);
        forward_matches_reference::<3, 6, 2, 10, 8, 2>(3);
        forward_matches_reference::<1, 7, 20, 47, 16, 4>(4);
        forward_matches_reference::<2, 1, 3, 7, 6, 1>(5);
    }

    // With the queries, keys and values all `x`, the layer is self-attention: the same output
    // as `MultiHeadAttention` (checked against PyTorch there) with the same weights, and the
    // input gradient of self-attention is the sum of the three row blocks of this one's.
    #[test]
    fn self_attention_is_multi_head_attention() {
        const B: usize = 2;
        const T: usize = 5;
        const D: usize = 8;
        let mut cross = random_layer::<T, T, { 3 * T }, D, 2>(6, 2.0);
        let mut mha = MultiHeadAttention::<T, D, 2, false>::new(&mut seeded(0));
        mha.in_proj_weight_mut().copy_from(cross.in_proj_weight());
        mha.in_proj_bias_mut().copy_from(cross.in_proj_bias());
        mha.out_proj_weight_mut().copy_from(cross.out_proj_weight());
        mha.out_proj_bias_mut().copy_from(cross.out_proj_bias());

        let x = random_tensor::<Tensor3<B, T, D>>(&mut seeded(7));
        let mut packed = Tensor3::<B, { 3 * T }, D>::zeros();
        for b in 0..B {
            for part in 0..3 {
                for t in 0..T {
                    for c in 0..D {
                        packed[[b, part * T + t, c]] = x[[b, t, c]];
                    }
                }
            }
        }
        let (mut y, mut want) = (Tensor3::<B, T, D>::zeros(), Tensor3::<B, T, D>::zeros());
        cross.forward_train(&packed, &mut y, &mut Zeroed::zeroed());
        mha.forward_train(&x, &mut want, &mut Zeroed::zeroed());
        assert_close(y.as_slice(), &f64s(want.as_slice()), 1e-5);

        let dy = random_tensor::<Tensor3<B, T, D>>(&mut seeded(8));
        let mut cache = Zeroed::zeroed();
        cross.forward_train(&packed, &mut y, &mut cache);
        let mut dpacked = Tensor3::<B, { 3 * T }, D>::zeros();
        cross.backward(&packed, &y, &mut cache, &dy, Some(&mut dpacked));
        let mut cache = Zeroed::zeroed();
        mha.forward_train(&x, &mut want, &mut cache);
        let mut dx = Tensor3::<B, T, D>::zeros();
        mha.backward(&x, &want, &mut cache, &dy, Some(&mut dx));
        let summed: Vec<f32> = (0..B * T * D)
            .map(|i| {
                let (b, rest) = (i / (T * D), i % (T * D));
                (0..3)
                    .map(|part| dpacked.as_slice()[b * 3 * T * D + part * T * D + rest])
                    .sum()
            })
            .collect();
        assert_close(&summed, &f64s(dx.as_slice()), 1e-5);
        let grads = [
            (
                cross.in_proj_weight_grad().as_slice(),
                mha.in_proj_weight_grad().as_slice(),
            ),
            (
                cross.in_proj_bias_grad().as_slice(),
                mha.in_proj_bias_grad().as_slice(),
            ),
            (
                cross.out_proj_weight_grad().as_slice(),
                mha.out_proj_weight_grad().as_slice(),
            ),
            (
                cross.out_proj_bias_grad().as_slice(),
                mha.out_proj_bias_grad().as_slice(),
            ),
        ];
        for (got, want) in grads {
            assert_close(got, &f64s(want), 1e-5);
        }
    }

    fn forwards_agree<
        const B: usize,
        const TQ: usize,
        const TK: usize,
        const N: usize,
        const D: usize,
        const H: usize,
    >(
        seed: u64,
    ) {
        let mut layer = random_layer::<TQ, TK, N, D, H>(seed, 3.0);
        let x = random_tensor::<Tensor3<B, N, D>>(&mut seeded(seed + 1));
        let (mut y, mut y_train) = (Tensor3::<B, TQ, D>::zeros(), Tensor3::<B, TQ, D>::zeros());
        layer.forward(&x, &mut y, &mut Zeroed::zeroed());
        layer.forward_train(&x, &mut y_train, &mut Zeroed::zeroed());
        for (&a, &b) in y.as_slice().iter().zip(y_train.as_slice()) {
            assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{a} vs {b}");
        }
    }

    // The inference forward's online softmax over tiles of keys against the training forward's
    // softmax over whole rows; 70 queries and 70 keys cross a block and a tile.
    #[test]
    fn forward_equals_forward_train() {
        forwards_agree::<2, 3, 4, 11, 4, 2>(9);
        forwards_agree::<3, 9, 70, 149, 16, 4>(10);
        forwards_agree::<1, 70, 5, 80, 8, 1>(11);
        forwards_agree::<2, 70, 70, 210, 8, 2>(12);
    }

    #[test]
    fn gradients_match_central_differences() {
        let x = random_tensor::<Tensor3<2, 11, 4>>(&mut seeded(12));
        let mut two_heads = random_layer::<3, 4, 11, 4, 2>(13, 1.0);
        check_gradients::<_, 2>(&mut two_heads, &x, 14).unwrap();
        let mut one_head = random_layer::<3, 4, 11, 4, 1>(15, 1.0);
        check_gradients::<_, 2>(&mut one_head, &x, 16).unwrap();
        let x = random_tensor::<Tensor3<2, 9, 6>>(&mut seeded(17));
        let mut more_keys = random_layer::<1, 4, 9, 6, 3>(18, 1.0);
        check_gradients::<_, 2>(&mut more_keys, &x, 19).unwrap();
    }

    // 70 queries over 66 keys: the backward recomputes the probabilities over two blocks of
    // queries and two tiles of keys.
    #[test]
    fn gradients_across_tiles_match_central_differences() {
        let x = random_tensor::<Tensor3<1, 202, 4>>(&mut seeded(30));
        let mut layer = random_layer::<70, 66, 202, 4, 2>(31, 1.0);
        check_gradients::<_, 1>(&mut layer, &x, 32).unwrap();
    }

    // A softmax over one key is exactly 1, so every query gets `out_proj(v_proj(v))`.
    #[test]
    fn one_key_gives_its_value_at_every_query() {
        const B: usize = 2;
        const TQ: usize = 4;
        const D: usize = 6;
        let mut layer = random_layer::<TQ, 1, { TQ + 2 }, D, 2>(20, 3.0);
        let x = random_tensor::<Tensor3<B, { TQ + 2 }, D>>(&mut seeded(21));
        let mut y = Tensor3::<B, TQ, D>::zeros();
        layer.forward(&x, &mut y, &mut Zeroed::zeroed());
        let mut cache = Zeroed::zeroed();
        let mut y_train = Tensor3::<B, TQ, D>::zeros();
        layer.forward_train(&x, &mut y_train, &mut cache);
        let cache: &CrossAttentionCache<B, TQ, 1, D, 2> = &cache;
        // Each row's softmax: its one score is its maximum, and the sum is e⁰ = 1.
        assert!(cache.stats.chunks_exact(2).all(|stat| stat[1] == 1.0));

        let w_in = f64s(layer.in_proj_weight().as_slice());
        let b_in = f64s(layer.in_proj_bias().as_slice());
        let w_out = f64s(layer.out_proj_weight().as_slice());
        let b_out = f64s(layer.out_proj_bias().as_slice());
        for b in 0..B {
            let v_row: Vec<f64> = (0..D).map(|c| f64::from(x[[b, TQ + 1, c]])).collect();
            let v = linear(&w_in[2 * D * D..], &b_in[2 * D..], &[v_row]);
            let want = linear(&w_out, &b_out, &v).remove(0);
            for t in 0..TQ {
                let at = (b * TQ + t) * D;
                assert_close(&y.as_slice()[at..][..D], &want, 1e-5);
                assert_close(&y_train.as_slice()[at..][..D], &want, 1e-5);
            }
        }
    }

    // The parameter gradients add up over calls; the input gradient is overwritten.
    #[test]
    fn backward_accumulates() {
        let mut layer = random_layer::<3, 2, 7, 4, 2>(22, 1.0);
        let x = random_tensor::<Tensor3<2, 7, 4>>(&mut seeded(23));
        let dy = random_tensor::<Tensor3<2, 3, 4>>(&mut seeded(24));
        let mut y = Tensor3::<2, 3, 4>::zeros();
        let mut cache = Zeroed::zeroed();
        layer.forward_train(&x, &mut y, &mut cache);
        let mut dx = Tensor3::<2, 7, 4>::zeros();
        layer.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
        let grads = |l: &Cross<3, 2, 7, 4, 2>| -> Vec<f32> {
            [
                l.in_proj_weight_grad().as_slice(),
                l.in_proj_bias_grad().as_slice(),
                l.out_proj_weight_grad().as_slice(),
                l.out_proj_bias_grad().as_slice(),
            ]
            .concat()
        };
        let once = grads(&layer);
        assert!(once.iter().all(|&g| g != 0.0));
        let dx_once = dx.clone();
        dx.as_mut_slice().fill(7.0);
        layer.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
        for (&twice, &once) in grads(&layer).iter().zip(&once) {
            assert!((twice - 2.0 * once).abs() <= 1e-6 * once.abs().max(1.0));
        }
        assert_eq!(dx, dx_once);
        layer.backward(&x, &y, &mut cache, &dy, None);
        for (&thrice, &once) in grads(&layer).iter().zip(&once) {
            assert!((thrice - 3.0 * once).abs() <= 1e-6 * once.abs().max(1.0));
        }
        layer.zero_grad();
        assert!(grads(&layer).iter().all(|&g| g == 0.0));
    }

    #[test]
    fn parameters_are_pytorchs() {
        let mut layer = Cross::<3, 2, 7, 8, 2>::build(&mut seeded(25));
        let mut names: Vec<(String, Vec<usize>, usize)> = Vec::new();
        layer.visit_params(
            &ParamPath::root(),
            &mut |path: &ParamPath<'_>, p: Param<'_>| {
                names.push((path.to_string(), p.shape.to_vec(), p.value.len()));
            },
        );
        let want = [
            ("in_proj_weight", vec![24, 8], 192),
            ("in_proj_bias", vec![24], 24),
            ("out_proj.weight", vec![8, 8], 64),
            ("out_proj.bias", vec![8], 8),
        ];
        let want: Vec<(String, Vec<usize>, usize)> = want
            .into_iter()
            .map(|(n, s, l)| (n.to_string(), s, l))
            .collect();
        assert_eq!(names, want);
        let mut by_ref = Vec::new();
        layer.visit_params_ref(
            &ParamPath::root(),
            &mut |path: &ParamPath<'_>, p: ParamRef<'_>| {
                by_ref.push((path.to_string(), p.shape.to_vec(), p.value.len()));
            },
        );
        assert_eq!(by_ref, want);
        assert_eq!(<Cross<3, 2, 7, 8, 2> as Composable>::PARAM_COUNT, 288);
        assert_eq!(layer.param_count(), 288);

        // The same initialisation as self-attention, from the same generator.
        let mha = MultiHeadAttention::<5, 8, 2, false>::new(&mut seeded(25));
        assert_eq!(layer.in_proj_weight(), mha.in_proj_weight());
        assert_eq!(layer.out_proj_weight(), mha.out_proj_weight());
        assert!(layer.in_proj_bias().as_slice().iter().all(|&b| b == 0.0));
        assert!(layer.out_proj_bias().as_slice().iter().all(|&b| b == 0.0));
    }

    // No keys: every head is an empty sum, so each output row is `out_proj.bias`, and nothing
    // reaches the queries. No queries: nothing at all.
    #[test]
    fn empty_sequences_are_no_error() {
        let mut no_keys = random_layer::<3, 0, 3, 4, 2>(26, 1.0);
        let x = random_tensor::<Tensor3<2, 3, 4>>(&mut seeded(27));
        let (mut y, mut y_train) = (Tensor3::<2, 3, 4>::zeros(), Tensor3::<2, 3, 4>::zeros());
        no_keys.forward(&x, &mut y, &mut Zeroed::zeroed());
        let mut cache = Zeroed::zeroed();
        no_keys.forward_train(&x, &mut y_train, &mut cache);
        let bias = no_keys.out_proj_bias().as_slice().repeat(6);
        assert_eq!(y.as_slice(), &bias[..]);
        assert_eq!(y_train.as_slice(), &bias[..]);
        let mut dx = Tensor3::<2, 3, 4>::full(1.0);
        no_keys.backward(&x, &y, &mut cache, &y, Some(&mut dx));
        assert!(dx.as_slice().iter().all(|&g| g == 0.0));

        let mut no_queries = random_layer::<0, 2, 4, 4, 2>(28, 1.0);
        let x = random_tensor::<Tensor3<2, 4, 4>>(&mut seeded(29));
        let mut y = Tensor3::<2, 0, 4>::zeros();
        no_queries.forward(&x, &mut y, &mut Zeroed::zeroed());
        let mut cache = Zeroed::zeroed();
        no_queries.forward_train(&x, &mut y, &mut cache);
        let mut dx = Tensor3::<2, 4, 4>::full(1.0);
        no_queries.backward(&x, &y, &mut cache, &y, Some(&mut dx));
        assert!(dx.as_slice().iter().all(|&g| g == 0.0));
        assert!(
            no_queries
                .in_proj_weight_grad()
                .as_slice()
                .iter()
                .all(|&g| g == 0.0)
        );
    }

    #[test]
    fn serves_threads() {
        fn send_sync<L: Layer + Send + Sync>() {}
        send_sync::<Cross<16, 64, 144, 64, 4>>();
    }
}
