//! `PaddedAttention<T, D, H, CAUSAL, PAD, DI>`: multi-head self-attention that never attends a
//! padded step, the steps whose token id (packed after the features) is `PAD`.

use crate::init::{Init, Rng, uniform};
use crate::layers::dense::{affine_backward, affine_forward};
use crate::layers::{Composable, Layer};
use crate::linalg::attention::{
    BackwardTiles, TileBuffers, attend_padded_tiled, attend_padded_tiled_backward, unpack_padded,
};
use crate::param::{HasParams, Param, ParamPath, ParamRef, ParamRefVisitor, ParamVisitor};
use crate::tensor::{Aligned, Tensor1, Tensor2, Tensor3, Zeroed};

/// Multi-head self-attention on `T` steps of `D` features with `H` heads, causal or not, with a
/// key-padding mask read from token ids: `Tensor3<B, T, DI>` in (`DI = D + 1`: each step's
/// features, then its token id), `Tensor3<B, T, D>` out.
///
/// PyTorch's `nn.MultiheadAttention(D, H, batch_first=True)` called as self-attention with a
/// key-padding mask, `mha(x, x, x, key_padding_mask=(ids == PAD), need_weights=False)`, with
/// `attn_mask` the causal mask when `CAUSAL`:
///
/// ```text
/// [Q K V] = x · in_proj_weightᵀ + in_proj_bias
/// head_h  = softmax(Q_h K_hᵀ / √(D/H) + mask) · V_h      (Q_h: features h·D/H .. (h+1)·D/H)
/// y       = [head_0 … head_{H−1}] · out_proj.weightᵀ + out_proj.bias
/// ```
///
/// The one input packs the features and the token ids on the feature axis: of each step,
/// columns `0..D` are its features `x` and column `D` is its token id as an `f32`, a whole
/// number (a network builds it by concatenating the sequence with its token-id input on the
/// feature axis). Key `j` of a sample is masked when its id is `PAD`, compared as
/// `id == PAD as f32`; with `CAUSAL`, query `i` also sees keys `j ≤ i` only. A masked
/// probability is exactly 0 (it is never the exponential of a large negative number) and so is
/// its gradient, so a padded step's features reach no other step's output. Padded *queries*
/// are computed as any other, as PyTorch does: whether their output rows count is the loss's
/// business. The id column is not differentiable: column `D` of the input gradient is 0.
///
/// A query that sees no key at all (every key it may see is padding: every step of a sample of
/// padding only, or with `CAUSAL` the steps before a sample's first unpadded one) gets heads'
/// output exactly 0, so its output row is `out_proj.bias`, and no gradient flows through its
/// softmax (nothing reaches Q, K or V from it; `out_proj.bias` still gets its `dy`). PyTorch
/// gives NaN there wherever it takes a plain softmax of a row of nothing but `−∞`: with
/// `need_weights=True`, and before `torch._safe_softmax` (2024, PyTorch 2.5) also with
/// `need_weights=False`, whose `scaled_dot_product_attention` now zeroes such a row as this
/// layer does.
///
/// `D` must be a multiple of `H` and `DI` must be `D + 1`; anything else fails to compile.
///
/// Parameters are [`MultiHeadAttention`](super::MultiHeadAttention)'s, in PyTorch's names,
/// layouts and order, so weights interchange: `in_proj_weight` (`3·D × D`, the rows of Q, then
/// K, then V, held as a `Tensor3<3, D, D>` with the same row-major values; Xavier-uniform),
/// `in_proj_bias` (`3·D`, held as `Tensor2<3, D>`; zero), `out_proj.weight` (`D × D`;
/// `U(−1/√D, 1/√D)`) and `out_proj.bias` (`D`; zero).
///
/// # Memory
/// The projections are one product each over all `B·T` rows. The inference forward runs the
/// flash-style kernel of [`MultiHeadAttention`](super::MultiHeadAttention) on each sample, the
/// padded keys masked in each tile (a baked network runs the same kernel), so its scratch
/// ([`PaddedAttentionScratch`]) holds `4·B·T·D + B·T + T·D/H + min(T, 64)² + 2·min(T, 64)`
/// floats: Q, K and V, the heads' output (first the features copied out of the packed input),
/// the keys' mask, one head's `Kᵀ`, one tile of scores and the running statistics of a query
/// block. The training forward is the same kernel keeping each query row's softmax
/// statistics (its largest score and `1/sum`), and `backward` recomputes the probabilities
/// tile by tile (flash-style), so training holds no `T × T` matrix either: its cache
/// ([`PaddedAttentionCache`]) holds
/// `9·B·T·D + B·T + 2·B·H·T + 2·T·D/H + 2·min(T, 64)² + min(T, 64)` floats: the features,
/// the keys' mask, Q, K and V, the statistics, the heads' output, and for `backward` the
/// gradients of the heads' output (then of the features) and of Q, K and V, one head's `Kᵀ`
/// and `Vᵀ`, and a tile of probabilities and one of their gradients.
///
/// ```
/// use nn_core::layers::{Layer, PaddedAttention};
/// use nn_core::tensor::{Tensor3, Zeroed};
///
/// // 3 steps of 2 features, 1 head, not causal, padding id 0: each step is [x₀, x₁, id].
/// let attn = PaddedAttention::<3, 2, 1, false, 0, 3>::new(&mut nn_core::init::seeded(0));
/// let run = |x: &Tensor3<1, 3, 3>| {
///     let mut y = Tensor3::<1, 3, 2>::zeros();
///     attn.forward(x, &mut y, &mut Zeroed::zeroed());
///     y
/// };
/// let ids = [5.0, 9.0, 0.0]; // the last step is padding
/// let x = Tensor3::<1, 3, 3>::from_fn(|[_, t, c]| if c == 2 { ids[t] } else { (t + c) as f32 });
/// let y = run(&x);
///
/// // New features for the padded step: no other step attends it, so their rows stay the
/// // same; only its own row, a query computed as any other, changes.
/// let mut padded = x.clone();
/// padded[[0, 2, 0]] = 40.0;
/// padded[[0, 2, 1]] = -7.0;
/// let z = run(&padded);
/// for t in 0..2 {
///     assert_eq!([z[[0, t, 0]], z[[0, t, 1]]], [y[[0, t, 0]], y[[0, t, 1]]]);
/// }
/// assert_ne!(z[[0, 2, 0]], y[[0, 2, 0]]);
///
/// // New features for an unpadded step change what every query sees.
/// let mut unpadded = x.clone();
/// unpadded[[0, 1, 0]] = 40.0;
/// unpadded[[0, 1, 1]] = -7.0;
/// assert!((0..3).all(|t| run(&unpadded)[[0, t, 0]] != y[[0, t, 0]]));
///
/// // A sample of padding only sees no key: every row is out_proj.bias, here 0.
/// let all_padding = Tensor3::<1, 3, 3>::from_fn(|[_, _, c]| if c == 2 { 0.0 } else { 1.0 });
/// assert!(run(&all_padding).as_slice().iter().all(|&v| v == 0.0));
/// ```
///
/// A packed input whose width is not `D + 1` does not compile:
///
/// ```compile_fail
/// use nn_core::layers::PaddedAttention;
/// // 4 features need a packed width of 4 + 1 = 5, not 4.
/// let attn = PaddedAttention::<3, 4, 2, false, 0, 4>::new(&mut nn_core::init::seeded(0));
/// ```
#[derive(Clone, Debug)]
pub struct PaddedAttention<
    const T: usize,
    const D: usize,
    const H: usize,
    const CAUSAL: bool,
    const PAD: usize,
    const DI: usize,
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

/// The working space of [`PaddedAttention`]'s inference forward,
/// `4·B·T·D + B·T + T·D/H + min(T, 64)² + 2·min(T, 64)` floats, allocated once by
/// [`Zeroed::zeroed`].
#[derive(Clone, Debug)]
pub struct PaddedAttentionScratch<const B: usize, const T: usize, const D: usize, const H: usize> {
    /// `(B·T)`: 1 for a key that may be attended, 0 for padding.
    keep: Aligned,
    /// `(B·T, 3·D)`: each row's Q, K and V.
    qkv: Aligned,
    /// `(B·T, D)`: the features copied out of the packed input, then the heads' output, side
    /// by side.
    heads: Aligned,
    /// The online softmax's: one head's `Kᵀ`, a tile of scores, a query block's running
    /// maximum and sum ([`TileBuffers`]).
    tiles: Aligned,
}

impl<const B: usize, const T: usize, const D: usize, const H: usize> Zeroed
    for PaddedAttentionScratch<B, T, D, H>
{
    fn zeroed() -> Self {
        Self {
            keep: buffer(B * T),
            qkv: buffer(B * T * 3 * D),
            heads: buffer(B * T * D),
            tiles: buffer(TileBuffers::len(T, T, head_dim::<D, H>())),
        }
    }
}

/// The cache of [`PaddedAttention`]'s training forward and the working space of its backward,
/// `9·B·T·D + B·T + 2·B·H·T + 2·T·D/H + 2·min(T, 64)² + min(T, 64)` floats, allocated once
/// by [`Zeroed::zeroed`].
#[derive(Clone, Debug)]
pub struct PaddedAttentionCache<const B: usize, const T: usize, const D: usize, const H: usize> {
    /// `(B·T, D)`: the features copied out of the packed input.
    features: Aligned,
    /// `(B·T)`: 1 for a key that may be attended, 0 for padding.
    keep: Aligned,
    /// `(B·T, 3·D)`: each row's Q, K and V.
    qkv: Aligned,
    /// `(B, H, T, 2)`: each query row's softmax statistics, its largest score and `1/sum`.
    stats: Aligned,
    /// `(B·T, D)`: the heads' output, side by side.
    heads: Aligned,
    /// `(B·T, D)`: the gradient of `heads`, then of `features`.
    dheads: Aligned,
    /// `(B·T, 3·D)`: the gradient of `qkv`.
    dqkv: Aligned,
    /// The tiles of the forward, then of the backward (the longer of the two).
    tiles: Aligned,
}

impl<const B: usize, const T: usize, const D: usize, const H: usize> Zeroed
    for PaddedAttentionCache<B, T, D, H>
{
    fn zeroed() -> Self {
        let dh = head_dim::<D, H>();
        Self {
            features: buffer(B * T * D),
            keep: buffer(B * T),
            qkv: buffer(B * T * 3 * D),
            stats: buffer(B * H * T * 2),
            heads: buffer(B * T * D),
            dheads: buffer(B * T * D),
            dqkv: buffer(B * T * 3 * D),
            tiles: buffer(TileBuffers::len(T, T, dh).max(BackwardTiles::len(T, T, dh))),
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
            "PaddedAttention<T, D, H, CAUSAL, PAD, DI>: the width D must be a multiple of the \
             head count H"
        )
    };
    D / H
}

/// Checks the packed input's width: a width other than `D + 1` fails to compile.
const fn check_width<const D: usize, const DI: usize>() {
    const {
        assert!(
            DI == D + 1,
            "PaddedAttention<T, D, H, CAUSAL, PAD, DI>: the packed input's width DI must be \
             D + 1 (the D features of a step, then its token id)"
        )
    };
}

impl<
    const T: usize,
    const D: usize,
    const H: usize,
    const CAUSAL: bool,
    const PAD: usize,
    const DI: usize,
> PaddedAttention<T, D, H, CAUSAL, PAD, DI>
{
    /// The number of scalar parameters: `3·D·D + 3·D + D·D + D`.
    pub const PARAM_COUNT: usize = 4 * D * D + 4 * D;

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

    /// The compile-time checks of the sizes; returns `D / H`.
    const fn check() -> usize {
        check_width::<D, DI>();
        head_dim::<D, H>()
    }

    /// Splits the packed input: each row's features into `features` (`B·T × D`), and into
    /// `keep` 1 for a step that may be attended, 0 for padding (its id is `PAD`).
    fn unpack<const B: usize>(x: &Tensor3<B, T, DI>, features: &mut [f32], keep: &mut [f32]) {
        Self::check();
        unpack_padded(x.as_slice(), D, PAD, features, keep);
    }

    /// `[Q K V] = x · in_proj_weightᵀ + in_proj_bias` over all `B·T` rows of `features`.
    fn project_in<const B: usize>(&self, features: &[f32], qkv: &mut [f32]) {
        affine_forward(
            self.in_proj_weight.as_slice(),
            self.in_proj_bias.as_slice(),
            &features[..B * T * D],
            qkv,
            B * T,
            D,
        );
    }

    /// Every sample's heads' output through the tiled kernel ([`attend_padded_tiled`], the
    /// one a baked network runs), from `qkv` and the keys' mask `keep`; with `stats`
    /// (`B·H·T·2`), each query row's softmax statistics kept for `backward`.
    fn attend<const B: usize>(
        qkv: &[f32],
        keep: &[f32],
        heads: &mut [f32],
        tiles: &mut TileBuffers<'_>,
        mut stats: Option<&mut [f32]>,
    ) {
        for b in 0..B {
            attend_padded_tiled(
                &qkv[b * T * 3 * D..][..T * 3 * D],
                &keep[b * T..][..T],
                &mut heads[b * T * D..][..T * D],
                (H, CAUSAL),
                tiles,
                stats
                    .as_deref_mut()
                    .map(|stats| &mut stats[b * H * T * 2..][..H * T * 2]),
            );
        }
    }

    /// `y = heads · out_proj.weightᵀ + out_proj.bias` over all `B·T` rows.
    fn project_out<const B: usize>(&self, heads: &[f32], y: &mut Tensor3<B, T, D>) {
        affine_forward(
            self.out_proj_weight.as_slice(),
            self.out_proj_bias.as_slice(),
            heads,
            y.as_mut_slice(),
            B * T,
            D,
        );
    }
}

impl<
    const T: usize,
    const D: usize,
    const H: usize,
    const CAUSAL: bool,
    const PAD: usize,
    const DI: usize,
> HasParams for PaddedAttention<T, D, H, CAUSAL, PAD, DI>
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

impl<
    const T: usize,
    const D: usize,
    const H: usize,
    const CAUSAL: bool,
    const PAD: usize,
    const DI: usize,
> Layer for PaddedAttention<T, D, H, CAUSAL, PAD, DI>
{
    type Input<const B: usize> = Tensor3<B, T, DI>;
    type Output<const B: usize> = Tensor3<B, T, D>;
    type Scratch<const B: usize> = PaddedAttentionScratch<B, T, D, H>;
    type Cache<const B: usize> = PaddedAttentionCache<B, T, D, H>;

    fn forward<const B: usize>(
        &self,
        x: &Tensor3<B, T, DI>,
        y: &mut Tensor3<B, T, D>,
        scratch: &mut PaddedAttentionScratch<B, T, D, H>,
    ) {
        let dh = Self::check();
        let PaddedAttentionScratch {
            keep,
            qkv,
            heads,
            tiles,
        } = scratch;
        // The features borrow `heads` until the heads' output overwrites them.
        Self::unpack(x, heads, keep);
        self.project_in::<B>(heads, qkv);
        Self::attend::<B>(
            qkv,
            keep,
            heads,
            &mut TileBuffers::split(tiles, T, T, dh).0,
            None,
        );
        self.project_out(heads, y);
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, DI>,
        y: &mut Tensor3<B, T, D>,
        cache: &mut PaddedAttentionCache<B, T, D, H>,
    ) {
        let dh = Self::check();
        let PaddedAttentionCache {
            features,
            keep,
            qkv,
            stats,
            heads,
            tiles,
            ..
        } = cache;
        Self::unpack(x, features, keep);
        self.project_in::<B>(features, qkv);
        // The inference kernel, each query row's softmax statistics kept for `backward`.
        let tiles = &mut TileBuffers::split(tiles, T, T, dh).0;
        Self::attend::<B>(qkv, keep, heads, tiles, Some(stats));
        self.project_out(heads, y);
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor3<B, T, DI>,
        _y: &Tensor3<B, T, D>,
        cache: &mut PaddedAttentionCache<B, T, D, H>,
        dy: &Tensor3<B, T, D>,
        dx: Option<&mut Tensor3<B, T, DI>>,
    ) {
        let dh = Self::check();
        if T == 0 {
            return; // no steps: every gradient is an empty sum
        }
        let PaddedAttentionCache {
            features,
            keep,
            qkv,
            stats,
            heads,
            dheads,
            dqkv,
            tiles,
        } = cache;
        affine_backward(
            self.out_proj_weight.as_slice(),
            self.out_proj_weight_grad.as_mut_slice(),
            self.out_proj_bias_grad.as_mut_slice(),
            heads,
            dy.as_slice(),
            Some(dheads),
            B * T,
            D,
        );
        // Each head adds its part of the gradients of Q, K and V, its probabilities
        // recomputed tile by tile. A masked probability is 0, so nothing reaches a padded
        // key's K or V.
        dqkv.fill(0.0);
        let (mut tiles, _) = BackwardTiles::split(tiles, T, T, dh);
        for b in 0..B {
            let rows = b * T * D..(b + 1) * T * D;
            attend_padded_tiled_backward(
                &qkv[b * T * 3 * D..][..T * 3 * D],
                &keep[b * T..][..T],
                (
                    &heads[rows.clone()],
                    &dheads[rows],
                    &stats[b * H * T * 2..][..H * T * 2],
                ),
                &mut dqkv[b * T * 3 * D..][..T * 3 * D],
                (H, CAUSAL),
                &mut tiles,
            );
        }
        // The features' gradient dQ·W_q + dK·W_k + dV·W_v, one product with the stacked
        // weight, into `dheads` (read by now); then into the packed rows of dx, the id column 0.
        let wants_dx = dx.is_some();
        affine_backward(
            self.in_proj_weight.as_slice(),
            self.in_proj_weight_grad.as_mut_slice(),
            self.in_proj_bias_grad.as_mut_slice(),
            features,
            dqkv,
            wants_dx.then_some(&mut dheads[..]),
            B * T,
            D,
        );
        if let Some(dx) = dx {
            let rows = dx.as_mut_slice().chunks_exact_mut(DI).enumerate();
            for (r, row) in rows {
                row[..D].copy_from_slice(&dheads[r * D..][..D]);
                row[D] = 0.0;
            }
        }
    }
}

impl<
    const T: usize,
    const D: usize,
    const H: usize,
    const CAUSAL: bool,
    const PAD: usize,
    const DI: usize,
> Composable for PaddedAttention<T, D, H, CAUSAL, PAD, DI>
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
    use crate::testing::{
        check_param_gradients, compare_gradients, numeric_gradient, random_tensor, weighted_loss,
    };

    type Padded<
        const T: usize,
        const D: usize,
        const H: usize,
        const CAUSAL: bool,
        const PAD: usize,
        const DI: usize,
    > = PaddedAttention<T, D, H, CAUSAL, PAD, DI>;

    /// PyTorch's initialisation with random biases; `spread` widens `in_proj_weight` so that
    /// the softmax is far from uniform.
    fn random_layer<
        const T: usize,
        const D: usize,
        const H: usize,
        const CAUSAL: bool,
        const PAD: usize,
        const DI: usize,
    >(
        seed: u64,
        spread: f32,
    ) -> Padded<T, D, H, CAUSAL, PAD, DI> {
        let mut rng = seeded(seed);
        let mut layer = Padded::<T, D, H, CAUSAL, PAD, DI>::new(&mut rng);
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

    /// The same parameters in a `MultiHeadAttention`.
    fn as_mha<
        const T: usize,
        const D: usize,
        const H: usize,
        const CAUSAL: bool,
        const PAD: usize,
        const DI: usize,
    >(
        layer: &Padded<T, D, H, CAUSAL, PAD, DI>,
    ) -> MultiHeadAttention<T, D, H, CAUSAL> {
        let mut mha = MultiHeadAttention::<T, D, H, CAUSAL>::new(&mut seeded(0));
        mha.in_proj_weight_mut().copy_from(layer.in_proj_weight());
        mha.in_proj_bias_mut().copy_from(layer.in_proj_bias());
        mha.out_proj_weight_mut().copy_from(layer.out_proj_weight());
        mha.out_proj_bias_mut().copy_from(layer.out_proj_bias());
        mha
    }

    /// The packed input: each step's `features`, then its id from `ids` (`B·T`, row-major).
    fn pack<const B: usize, const T: usize, const D: usize, const DI: usize>(
        features: &[f32],
        ids: &[f32],
    ) -> Tensor3<B, T, DI> {
        assert_eq!((features.len(), ids.len()), (B * T * D, B * T));
        Tensor3::from_fn(|[b, t, c]| {
            let r = b * T + t;
            if c == D { ids[r] } else { features[r * D + c] }
        })
    }

    /// The feature columns of a packed tensor, `B·T × D`.
    fn features_of<const B: usize, const T: usize, const DI: usize>(
        x: &Tensor3<B, T, DI>,
    ) -> Vec<f32> {
        x.as_slice()
            .chunks_exact(DI)
            .flat_map(|row| row[..DI - 1].iter().copied())
            .collect()
    }

    /// Random whole ids: about a third `pad`, the rest in `pad + 1 ..= pad + 9`; then the first
    /// step of the first sample and the last third of the last sample's steps are `pad`, so
    /// that there are a padded tail and (when causal) a query that sees no key.
    fn random_ids<const B: usize, const T: usize>(seed: u64, pad: f32) -> Vec<f32> {
        let mut rng = seeded(seed);
        let mut ids: Vec<f32> = (0..B * T)
            .map(|_| {
                let r = uniform(&mut rng, 0.0, 1.0);
                if r < 0.3 {
                    pad
                } else {
                    pad + 1.0 + (r * 9.0).floor()
                }
            })
            .collect();
        ids[0] = pad;
        let tail = T / 3;
        ids[B * T - tail..].fill(pad);
        ids
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

    /// The layer written plainly, in `f64`: per sample, head and query, a softmax over the keys
    /// it sees (not padding; with `CAUSAL`, not later), and a heads' output of 0 when it sees
    /// none.
    fn reference<
        const B: usize,
        const T: usize,
        const D: usize,
        const H: usize,
        const CAUSAL: bool,
        const PAD: usize,
        const DI: usize,
    >(
        layer: &Padded<T, D, H, CAUSAL, PAD, DI>,
        x: &Tensor3<B, T, DI>,
    ) -> Vec<f64> {
        let dh = D / H;
        let w_in = f64s(layer.in_proj_weight().as_slice());
        let b_in = f64s(layer.in_proj_bias().as_slice());
        let w_out = f64s(layer.out_proj_weight().as_slice());
        let b_out = f64s(layer.out_proj_bias().as_slice());
        let mut y = Vec::new();
        for b in 0..B {
            let rows: Vec<Vec<f64>> = (0..T)
                .map(|t| (0..D).map(|c| f64::from(x[[b, t, c]])).collect())
                .collect();
            let project =
                |p: usize| linear(&w_in[p * D * D..][..D * D], &b_in[p * D..][..D], &rows);
            let (q, k, v) = (project(0), project(1), project(2));
            let mut heads = vec![vec![0.0; D]; T];
            for h in 0..H {
                for i in 0..T {
                    let seen: Vec<usize> = (0..T)
                        .filter(|&j| x[[b, j, D]] != PAD as f32 && (!CAUSAL || j <= i))
                        .collect();
                    if seen.is_empty() {
                        continue;
                    }
                    let scores: Vec<f64> = seen
                        .iter()
                        .map(|&j| {
                            let dot: f64 =
                                (0..dh).map(|c| q[i][h * dh + c] * k[j][h * dh + c]).sum();
                            dot / (dh as f64).sqrt()
                        })
                        .collect();
                    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                    let total: f64 = e.iter().sum();
                    for c in 0..dh {
                        heads[i][h * dh + c] = seen
                            .iter()
                            .zip(&e)
                            .map(|(&j, e)| e / total * v[j][h * dh + c])
                            .sum();
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

    /// The four parameter gradients, concatenated.
    fn grads<
        const T: usize,
        const D: usize,
        const H: usize,
        const CAUSAL: bool,
        const PAD: usize,
        const DI: usize,
    >(
        layer: &Padded<T, D, H, CAUSAL, PAD, DI>,
    ) -> Vec<f32> {
        [
            layer.in_proj_weight_grad().as_slice(),
            layer.in_proj_bias_grad().as_slice(),
            layer.out_proj_weight_grad().as_slice(),
            layer.out_proj_bias_grad().as_slice(),
        ]
        .concat()
    }

    /// Central differences for every parameter (through the shared helper, which leaves the
    /// input alone) and for the input's feature columns only: a step of an id would unpad or
    /// pad a key. The analytic id column must be exactly 0.
    fn gradients_check<const CAUSAL: bool>(seed: u64) {
        const B: usize = 2;
        const T: usize = 5;
        const D: usize = 4;
        // A padded key in the middle of the first sample; the second starts with one (when
        // causal, its first query sees no key) and ends in a padded tail.
        let ids = [3.0, 0.0, 2.0, 1.0, 0.0, 0.0, 4.0, 1.0, 0.0, 0.0];
        let mut layer = random_layer::<T, D, 2, CAUSAL, 0, 5>(seed, 1.0);
        let features = random_tensor::<Tensor3<B, T, D>>(&mut seeded(seed + 1));
        let x = pack::<B, T, D, 5>(features.as_slice(), &ids);
        check_param_gradients::<_, B>(&mut layer, &x, seed + 2).unwrap();

        let r = random_tensor::<Tensor3<B, T, D>>(&mut seeded(seed + 3));
        let mut y = Tensor3::<B, T, D>::zeros();
        let mut cache = Zeroed::zeroed();
        layer.forward_train(&x, &mut y, &mut cache);
        let mut dx = Tensor3::<B, T, 5>::full(7.0);
        layer.backward(&x, &y, &mut cache, &r, Some(&mut dx));
        assert!((0..B * T).all(|row| dx.as_slice()[row * 5 + D] == 0.0));
        let mut probe = features.as_slice().to_vec();
        let numeric = numeric_gradient(&mut probe, |f| {
            layer.forward_train(&pack::<B, T, D, 5>(f, &ids), &mut y, &mut cache);
            weighted_loss(y.as_slice(), r.as_slice())
        });
        compare_gradients("input features", &features_of(&dx), &numeric).unwrap();
    }

    #[test]
    fn gradients_match_central_differences() {
        gradients_check::<false>(1);
        gradients_check::<true>(5);
    }

    // 70 steps whose first tile of keys is mostly padding: the backward recomputes the
    // probabilities over two blocks of queries and two tiles of keys, masked in each.
    fn gradients_across_tiles<const CAUSAL: bool>(seed: u64) {
        const T: usize = 70;
        let ids: Vec<f32> = (0..T)
            .map(|t| if t < 60 && t % 7 != 3 { 0.0 } else { 2.0 })
            .collect();
        let mut layer = random_layer::<T, 4, 2, CAUSAL, 0, 5>(seed, 1.0);
        let features = random_tensor::<Tensor3<1, T, 4>>(&mut seeded(seed + 1));
        let x = pack::<1, T, 4, 5>(features.as_slice(), &ids);
        check_param_gradients::<_, 1>(&mut layer, &x, seed + 2).unwrap();
    }

    #[test]
    fn gradients_across_tiles_match_central_differences() {
        gradients_across_tiles::<false>(70);
        gradients_across_tiles::<true>(71);
    }

    /// With no id equal to `PAD`, the layer is `MultiHeadAttention` on the features: the same
    /// outputs (both forwards), input gradient and parameter gradients.
    fn unpadded_is_mha<
        const B: usize,
        const T: usize,
        const D: usize,
        const H: usize,
        const CAUSAL: bool,
        const DI: usize,
    >(
        seed: u64,
    ) {
        let mut layer = random_layer::<T, D, H, CAUSAL, 0, DI>(seed, 2.0);
        let mut mha = as_mha(&layer);
        let features = random_tensor::<Tensor3<B, T, D>>(&mut seeded(seed + 1));
        let ids: Vec<f32> = (0..B * T).map(|i| (1 + i % 7) as f32).collect();
        let x = pack::<B, T, D, DI>(features.as_slice(), &ids);

        let (mut y, mut want) = (Tensor3::<B, T, D>::zeros(), Tensor3::<B, T, D>::zeros());
        layer.forward(&x, &mut y, &mut Zeroed::zeroed());
        mha.forward(&features, &mut want, &mut Zeroed::zeroed());
        assert_close(y.as_slice(), &f64s(want.as_slice()), 1e-6);

        let dy = random_tensor::<Tensor3<B, T, D>>(&mut seeded(seed + 2));
        let mut cache = Zeroed::zeroed();
        layer.forward_train(&x, &mut y, &mut cache);
        let mut mha_cache = Zeroed::zeroed();
        mha.forward_train(&features, &mut want, &mut mha_cache);
        assert_close(y.as_slice(), &f64s(want.as_slice()), 1e-6);

        let mut dx = Tensor3::<B, T, DI>::zeros();
        layer.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
        let mut mha_dx = Tensor3::<B, T, D>::zeros();
        mha.backward(&features, &want, &mut mha_cache, &dy, Some(&mut mha_dx));
        assert_close(&features_of(&dx), &f64s(mha_dx.as_slice()), 1e-6);
        let mha_grads = [
            mha.in_proj_weight_grad().as_slice(),
            mha.in_proj_bias_grad().as_slice(),
            mha.out_proj_weight_grad().as_slice(),
            mha.out_proj_bias_grad().as_slice(),
        ]
        .concat();
        assert_close(&grads(&layer), &f64s(&mha_grads), 1e-6);
    }

    #[test]
    fn without_padding_it_is_multi_head_attention() {
        unpadded_is_mha::<2, 5, 8, 2, false, 9>(10);
        unpadded_is_mha::<2, 5, 8, 2, true, 9>(11);
        unpadded_is_mha::<3, 20, 8, 4, false, 9>(12);
        unpadded_is_mha::<3, 20, 8, 4, true, 9>(13);
    }

    fn forward_matches_reference<
        const B: usize,
        const T: usize,
        const D: usize,
        const H: usize,
        const CAUSAL: bool,
        const PAD: usize,
        const DI: usize,
    >(
        seed: u64,
    ) {
        let layer = random_layer::<T, D, H, CAUSAL, PAD, DI>(seed, 3.0);
        let features = random_tensor::<Tensor3<B, T, D>>(&mut seeded(seed + 1));
        let ids = random_ids::<B, T>(seed + 2, PAD as f32);
        let x = pack::<B, T, D, DI>(features.as_slice(), &ids);
        let mut y = Tensor3::<B, T, D>::zeros();
        layer.forward(&x, &mut y, &mut Zeroed::zeroed());
        assert_close(y.as_slice(), &reference(&layer, &x), 1e-5);
    }

    #[test]
    fn forward_matches_a_plain_reference() {
        forward_matches_reference::<2, 5, 4, 1, false, 0, 5>(20);
        forward_matches_reference::<2, 5, 4, 2, true, 0, 5>(21);
        forward_matches_reference::<3, 20, 8, 2, false, 7, 9>(22);
        forward_matches_reference::<3, 20, 8, 2, true, 7, 9>(23);
        forward_matches_reference::<2, 37, 16, 4, true, 3, 17>(24);
        forward_matches_reference::<1, 6, 6, 3, false, 1, 7>(25);
    }

    /// A padded step `p` is never a key: new features for it change no other output row (to
    /// the bit), and with no output gradient at its own row, its features get exactly none;
    /// as a query it is computed normally, so its own row changes and passes gradient back.
    fn padded_step_is_never_attended<const CAUSAL: bool>(seed: u64) {
        const B: usize = 2;
        const T: usize = 6;
        const D: usize = 8;
        let ids = [1.0, 2.0, 0.0, 3.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let (padded, unpadded) = ((0, 2), (0, 1));
        let mut layer = random_layer::<T, D, 2, CAUSAL, 0, 9>(seed, 2.0);
        let features = random_tensor::<Tensor3<B, T, D>>(&mut seeded(seed + 1));
        let x = pack::<B, T, D, 9>(features.as_slice(), &ids);
        let run = |x: &Tensor3<B, T, 9>| {
            let mut y = Tensor3::<B, T, D>::zeros();
            layer.forward(x, &mut y, &mut Zeroed::zeroed());
            y
        };
        let row = |y: &Tensor3<B, T, D>, (b, t): (usize, usize)| -> Vec<f32> {
            (0..D).map(|c| y[[b, t, c]]).collect()
        };
        let y = run(&x);
        let moved = |(b, t): (usize, usize)| {
            let mut x = x.clone();
            (0..D).for_each(|c| x[[b, t, c]] = 3.0 - 2.0 * x[[b, t, c]]);
            run(&x)
        };

        let z = moved(padded);
        for b in 0..B {
            for t in 0..T {
                if (b, t) != padded {
                    assert_eq!(row(&z, (b, t)), row(&y, (b, t)), "row {b}, {t}");
                }
            }
        }
        assert_ne!(row(&z, padded), row(&y, padded));
        // Step 3 sees step 1, causal or not.
        assert_ne!(row(&moved(unpadded), (0, 3)), row(&y, (0, 3)));

        let mut dy = random_tensor::<Tensor3<B, T, D>>(&mut seeded(seed + 2));
        let mut cache = Zeroed::zeroed();
        let mut y = Tensor3::<B, T, D>::zeros();
        layer.forward_train(&x, &mut y, &mut cache);
        let mut dx = Tensor3::<B, T, 9>::zeros();
        layer.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
        let (b, t) = padded;
        assert!((0..D).any(|c| dx[[b, t, c]] != 0.0));
        (0..D).for_each(|c| dy[[b, t, c]] = 0.0);
        layer.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
        assert!((0..D).all(|c| dx[[b, t, c]] == 0.0));
        // An unpadded step still gets gradient through the queries that see it.
        let (b, t) = unpadded;
        (0..D).for_each(|c| dy[[b, t, c]] = 0.0);
        layer.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
        assert!((0..D).any(|c| dx[[b, t, c]] != 0.0));
    }

    #[test]
    fn padded_steps_are_never_attended() {
        padded_step_is_never_attended::<false>(30);
        padded_step_is_never_attended::<true>(31);
    }

    /// A sample of padding only: every query sees no key, so every row is `out_proj.bias`,
    /// the gradients are finite and none reaches that sample's features; the other sample is
    /// unaffected by it.
    fn all_padding<const CAUSAL: bool>(seed: u64) {
        const B: usize = 2;
        const T: usize = 5;
        const D: usize = 4;
        let mut layer = random_layer::<T, D, 2, CAUSAL, 0, 5>(seed, 2.0);
        let features = random_tensor::<Tensor3<B, T, D>>(&mut seeded(seed + 1));
        let ids = [2.0, 0.0, 1.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let x = pack::<B, T, D, 5>(features.as_slice(), &ids);
        let (mut y, mut y_train) = (Tensor3::<B, T, D>::zeros(), Tensor3::<B, T, D>::zeros());
        layer.forward(&x, &mut y, &mut Zeroed::zeroed());
        let mut cache = Zeroed::zeroed();
        layer.forward_train(&x, &mut y_train, &mut cache);
        let bias = layer.out_proj_bias().as_slice().repeat(T);
        assert_eq!(&y.as_slice()[T * D..], &bias[..]);
        assert_eq!(&y_train.as_slice()[T * D..], &bias[..]);
        assert_close(
            &y.as_slice()[..T * D],
            &reference(&layer, &x)[..T * D],
            1e-5,
        );

        let dy = random_tensor::<Tensor3<B, T, D>>(&mut seeded(seed + 2));
        let mut dx = Tensor3::<B, T, 5>::full(f32::NAN);
        layer.backward(&x, &y_train, &mut cache, &dy, Some(&mut dx));
        assert!(dx.as_slice().iter().all(|g| g.is_finite()));
        assert!(grads(&layer).iter().all(|g| g.is_finite()));
        assert!(dx.as_slice()[T * 5..].iter().all(|&g| g == 0.0));
        assert!(dx.as_slice()[..T * 5].iter().any(|&g| g != 0.0));
    }

    // The first tile of 64 keys is all padding: the online softmax starts at the second tile,
    // so the first 64 causal queries see nothing (the bias) and the rest match the reference.
    fn a_first_tile_of_padding<const CAUSAL: bool>(seed: u64) {
        const T: usize = 70;
        let layer = random_layer::<T, 8, 2, CAUSAL, 0, 9>(seed, 2.0);
        let features = random_tensor::<Tensor3<1, T, 8>>(&mut seeded(seed + 1));
        let ids: Vec<f32> = (0..T).map(|t| if t < 64 { 0.0 } else { 3.0 }).collect();
        let x = pack::<1, T, 8, 9>(features.as_slice(), &ids);
        let mut y = Tensor3::<1, T, 8>::zeros();
        layer.forward(&x, &mut y, &mut Zeroed::zeroed());
        assert!(y.as_slice().iter().all(|v| v.is_finite()));
        let want = reference(&layer, &x);
        assert_close(y.as_slice(), &want, 1e-5);
        if CAUSAL {
            let bias = layer.out_proj_bias().as_slice().repeat(64);
            assert_eq!(&y.as_slice()[..64 * 8], &bias[..]);
        }
    }

    #[test]
    fn a_first_tile_of_padding_is_skipped() {
        a_first_tile_of_padding::<false>(42);
        a_first_tile_of_padding::<true>(43);
    }

    #[test]
    fn a_sample_of_padding_only_gives_the_bias() {
        all_padding::<false>(40);
        all_padding::<true>(41);
    }

    fn forwards_agree<
        const B: usize,
        const T: usize,
        const D: usize,
        const H: usize,
        const CAUSAL: bool,
        const DI: usize,
    >(
        seed: u64,
    ) {
        let mut layer = random_layer::<T, D, H, CAUSAL, 0, DI>(seed, 3.0);
        let features = random_tensor::<Tensor3<B, T, D>>(&mut seeded(seed + 1));
        let x = pack::<B, T, D, DI>(features.as_slice(), &random_ids::<B, T>(seed + 2, 0.0));
        let (mut y, mut y_train) = (Tensor3::<B, T, D>::zeros(), Tensor3::<B, T, D>::zeros());
        layer.forward(&x, &mut y, &mut Zeroed::zeroed());
        layer.forward_train(&x, &mut y_train, &mut Zeroed::zeroed());
        assert_eq!(y.as_slice(), y_train.as_slice());
    }

    // Both forwards run the tiled kernel (training keeps each row's softmax statistics), with
    // pads first, inside and at the tail; 70 steps cross a block and a tile.
    #[test]
    fn forward_equals_forward_train() {
        forwards_agree::<2, 5, 4, 2, false, 5>(50);
        forwards_agree::<2, 5, 4, 2, true, 5>(51);
        forwards_agree::<3, 70, 16, 4, false, 17>(52);
        forwards_agree::<3, 70, 16, 4, true, 17>(53);
    }

    // The parameter gradients add up over calls; the input gradient is overwritten.
    #[test]
    fn backward_accumulates() {
        let mut layer = random_layer::<5, 4, 2, true, 0, 5>(60, 1.0);
        let features = random_tensor::<Tensor3<2, 5, 4>>(&mut seeded(61));
        let x = pack::<2, 5, 4, 5>(features.as_slice(), &random_ids::<2, 5>(62, 0.0));
        let dy = random_tensor::<Tensor3<2, 5, 4>>(&mut seeded(63));
        let mut y = Tensor3::<2, 5, 4>::zeros();
        let mut cache = Zeroed::zeroed();
        layer.forward_train(&x, &mut y, &mut cache);
        let mut dx = Tensor3::<2, 5, 5>::zeros();
        layer.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
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
        let mut layer = Padded::<5, 8, 2, false, 0, 9>::build(&mut seeded(70));
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
        assert_eq!(
            <Padded<5, 8, 2, false, 0, 9> as Composable>::PARAM_COUNT,
            288
        );
        assert_eq!(layer.param_count(), 288);

        // The same initialisation as self-attention, from the same generator.
        let mha = MultiHeadAttention::<5, 8, 2, false>::new(&mut seeded(70));
        assert_eq!(layer.in_proj_weight(), mha.in_proj_weight());
        assert_eq!(layer.out_proj_weight(), mha.out_proj_weight());
        assert!(layer.in_proj_bias().as_slice().iter().all(|&b| b == 0.0));
        assert!(layer.out_proj_bias().as_slice().iter().all(|&b| b == 0.0));
    }

    #[test]
    fn serves_threads() {
        fn send_sync<L: Layer + Send + Sync>() {}
        send_sync::<Padded<64, 64, 4, true, 0, 65>>();
    }
}
