//! `MultiHeadAttention<T, D, H, CAUSAL>`: multi-head self-attention over batch-first sequences.

use alloc::vec;
use alloc::vec::Vec;

use crate::init::{Init, Rng, uniform};
use crate::layers::dense::{affine_backward, affine_forward};
use crate::layers::{Composable, Decode, Layer, WithoutMemory};
use crate::linalg::attention::{
    self, AttentionBuffers, AttentionParams, BackwardTiles, Layout, TileBuffers,
};
use crate::param::{HasParams, Param, ParamPath, ParamRef, ParamRefVisitor, ParamVisitor};
use crate::tensor::{Aligned, Tensor1, Tensor2, Tensor3, Zeroed};

/// Multi-head self-attention on `T` steps of `D` features with `H` heads, causal or not:
/// `Tensor3<B, T, D>` in, `Tensor3<B, T, D>` out.
///
/// PyTorch's `nn.MultiheadAttention(D, H, batch_first=True)` called as self-attention,
/// `mha(x, x, x, need_weights=False)`, with `attn_mask` the causal mask and `is_causal=True`
/// when `CAUSAL`:
///
/// ```text
/// [Q K V] = x · in_proj_weightᵀ + in_proj_bias
/// head_h  = softmax(Q_h K_hᵀ / √(D/H) + mask) · V_h      (Q_h: features h·D/H .. (h+1)·D/H)
/// y       = [head_0 … head_{H−1}] · out_proj.weightᵀ + out_proj.bias
/// ```
///
/// With `CAUSAL`, query `i` sees keys `j ≤ i` only: a masked probability is exactly 0 (it is
/// never the exponential of a large negative number) and so is its gradient. `D` must be a
/// multiple of `H`; another `H` fails to compile.
///
/// Parameters are PyTorch's, in its names, layouts and order, so weights interchange:
/// `in_proj_weight` (`3·D × D`, the rows of Q, then K, then V, held as a `Tensor3<3, D, D>`
/// with the same row-major values; Xavier-uniform), `in_proj_bias` (`3·D`, held as
/// `Tensor2<3, D>`; zero), `out_proj.weight` (`D × D`; `U(−1/√D, 1/√D)`) and `out_proj.bias`
/// (`D`; zero).
///
/// # Memory
/// The projections are one product each over all `B·T` rows. The inference forward is
/// flash-style: for each sample, head and block of 64 queries it walks the keys in tiles of
/// 64, keeping a running maximum, a running sum and an unnormalised output (the online
/// softmax), so no `T × T` matrix exists. Its scratch ([`AttentionScratch`]) holds
/// `4·B·T·D + T·D/H + min(T, 64)² + 2·min(T, 64)` floats: Q, K and V, the heads' output, one
/// head's `Kᵀ`, one tile of scores and the running statistics of a query block. The kernel is
/// [`linalg::attention`](crate::linalg::attention)'s, which a baked network's
/// `multi_head_attention` runs too, with that scratch at `B = 1` carved from its work arena.
///
/// The training forward is the same kernel keeping each query row's softmax statistics (its
/// largest score and `1/sum`), and `backward` recomputes the probabilities tile by tile from
/// Q, K and those statistics (flash-style, as FlashAttention's backward does), so training
/// holds no `T × T` matrix either. Its cache ([`AttentionCache`]) holds
/// `8·B·T·D + 2·B·H·T + 2·T·D/H + 2·min(T, 64)² + min(T, 64)` floats: Q, K and V, the
/// statistics, the heads' output, and for `backward` the gradients of the heads' output and of
/// Q, K and V, one head's `Kᵀ` and `Vᵀ`, and a tile of probabilities and one of their
/// gradients.
///
/// ```
/// use nn_core::layers::{Layer, MultiHeadAttention};
/// use nn_core::tensor::{Tensor3, Zeroed};
///
/// // Causal, 3 steps of 2 features, 1 head; Q = K = V = x and an identity output projection.
/// let mut mha = MultiHeadAttention::<3, 2, 1, true>::new(&mut nn_core::init::seeded(0));
/// let eye = [1.0, 0.0, 0.0, 1.0];
/// mha.in_proj_weight_mut().as_mut_slice().copy_from_slice(&[eye, eye, eye].concat());
/// mha.out_proj_weight_mut().as_mut_slice().copy_from_slice(&eye);
///
/// let x = Tensor3::<1, 3, 2>::from_slice(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0])?;
/// let mut y = Tensor3::<1, 3, 2>::zeros();
/// mha.forward(&x, &mut y, &mut Zeroed::zeroed());
/// // The first step sees only itself; the second a mix of the first two.
/// assert_eq!([y[[0, 0, 0]], y[[0, 0, 1]]], [1.0, 0.0]);
/// let w = 1.0 / (1.0 + (-0.5f32.sqrt()).exp()); // softmax([0, 1/√2])[1]
/// assert!((y[[0, 1, 1]] - w).abs() < 1e-6 && (y[[0, 1, 0]] - (1.0 - w)).abs() < 1e-6);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// A head count that does not divide the width does not compile:
///
/// ```compile_fail
/// use nn_core::layers::MultiHeadAttention;
/// let mha = MultiHeadAttention::<4, 6, 4, false>::new(&mut nn_core::init::seeded(0));
/// ```
#[derive(Clone, Debug)]
pub struct MultiHeadAttention<const T: usize, const D: usize, const H: usize, const CAUSAL: bool> {
    in_proj_weight: Tensor3<3, D, D>,
    in_proj_bias: Tensor2<3, D>,
    out_proj_weight: Tensor2<D, D>,
    out_proj_bias: Tensor1<D>,
    in_proj_weight_grad: Tensor3<3, D, D>,
    in_proj_bias_grad: Tensor2<3, D>,
    out_proj_weight_grad: Tensor2<D, D>,
    out_proj_bias_grad: Tensor1<D>,
}

/// The working space of [`MultiHeadAttention`]'s inference forward,
/// `4·B·T·D + T·D/H + min(T, 64)² + 2·min(T, 64)` floats, allocated once by
/// [`Zeroed::zeroed`].
#[derive(Clone, Debug)]
pub struct AttentionScratch<const B: usize, const T: usize, const D: usize, const H: usize> {
    /// `(B·T, 3·D)`: each row's Q, K and V.
    qkv: Aligned,
    /// `(B·T, D)`: the heads' output, side by side.
    heads: Aligned,
    /// The online softmax's: one head's `Kᵀ`, a tile of scores, a query block's running
    /// maximum and sum ([`TileBuffers`]).
    tiles: Aligned,
}

impl<const B: usize, const T: usize, const D: usize, const H: usize> Zeroed
    for AttentionScratch<B, T, D, H>
{
    fn zeroed() -> Self {
        Self {
            qkv: buffer(B * T * 3 * D),
            heads: buffer(B * T * D),
            tiles: buffer(TileBuffers::len(T, T, head_dim::<D, H>())),
        }
    }
}

/// The cache of [`MultiHeadAttention`]'s training forward and the working space of its
/// backward, `8·B·T·D + 2·B·H·T + 2·T·D/H + 2·min(T, 64)² + min(T, 64)` floats, allocated
/// once by [`Zeroed::zeroed`].
#[derive(Clone, Debug)]
pub struct AttentionCache<const B: usize, const T: usize, const D: usize, const H: usize> {
    /// `(B·T, 3·D)`: each row's Q, K and V.
    qkv: Aligned,
    /// `(B, H, T, 2)`: each query row's softmax statistics, its largest score and `1/sum`.
    stats: Aligned,
    /// `(B·T, D)`: the heads' output, side by side.
    heads: Aligned,
    /// `(B·T, D)`: the gradient of `heads`.
    dheads: Aligned,
    /// `(B·T, 3·D)`: the gradient of `qkv`.
    dqkv: Aligned,
    /// The tiles of the forward, then of the backward (the longer of the two).
    tiles: Aligned,
}

impl<const B: usize, const T: usize, const D: usize, const H: usize> Zeroed
    for AttentionCache<B, T, D, H>
{
    fn zeroed() -> Self {
        let dh = head_dim::<D, H>();
        Self {
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
            "MultiHeadAttention<T, D, H, _>: the width D must be a multiple of the head count H"
        )
    };
    D / H
}

impl<const T: usize, const D: usize, const H: usize, const CAUSAL: bool>
    MultiHeadAttention<T, D, H, CAUSAL>
{
    /// The number of scalar parameters: `3·D·D + 3·D + D·D + D`.
    pub const PARAM_COUNT: usize = 4 * D * D + 4 * D;

    /// Where a sample's Q, K and V lie in the projections.
    const LAYOUT: Layout = Layout::self_attention(T, D);

    /// A layer with PyTorch's initialisation: Xavier-uniform `in_proj_weight`,
    /// `U(−1/√D, 1/√D)` `out_proj.weight`, zero biases.
    pub fn new(rng: &mut Rng) -> Self {
        let _ = head_dim::<D, H>();
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

    /// The parameters as the inference kernel reads them.
    fn params(&self) -> AttentionParams<'_> {
        AttentionParams {
            in_proj_weight: self.in_proj_weight.as_slice(),
            in_proj_bias: self.in_proj_bias.as_slice(),
            out_proj_weight: self.out_proj_weight.as_slice(),
            out_proj_bias: self.out_proj_bias.as_slice(),
        }
    }

    /// `[Q K V] = x · in_proj_weightᵀ + in_proj_bias` over all `B·T` rows.
    fn project_in<const B: usize>(&self, x: &Tensor3<B, T, D>, qkv: &mut [f32]) {
        affine_forward(
            self.in_proj_weight.as_slice(),
            self.in_proj_bias.as_slice(),
            x.as_slice(),
            qkv,
            B * T,
            D,
        );
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

impl<const T: usize, const D: usize, const H: usize, const CAUSAL: bool> HasParams
    for MultiHeadAttention<T, D, H, CAUSAL>
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

impl<const T: usize, const D: usize, const H: usize, const CAUSAL: bool> Layer
    for MultiHeadAttention<T, D, H, CAUSAL>
{
    type Input<const B: usize> = Tensor3<B, T, D>;
    type Output<const B: usize> = Tensor3<B, T, D>;
    type Scratch<const B: usize> = AttentionScratch<B, T, D, H>;
    type Cache<const B: usize> = AttentionCache<B, T, D, H>;

    fn forward<const B: usize>(
        &self,
        x: &Tensor3<B, T, D>,
        y: &mut Tensor3<B, T, D>,
        scratch: &mut AttentionScratch<B, T, D, H>,
    ) {
        let AttentionScratch { qkv, heads, tiles } = scratch;
        let buffers = AttentionBuffers {
            qkv,
            heads,
            tiles: TileBuffers::split(tiles, T, T, head_dim::<D, H>()).0,
        };
        // The kernel of a baked network's `multi_head_attention`.
        attention::forward::<CAUSAL>(
            &self.params(),
            T,
            H,
            x.as_slice(),
            y.as_mut_slice(),
            buffers,
        );
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, D>,
        y: &mut Tensor3<B, T, D>,
        cache: &mut AttentionCache<B, T, D, H>,
    ) {
        if T == 0 {
            return;
        }
        let dh = head_dim::<D, H>();
        let AttentionCache {
            qkv,
            stats,
            heads,
            tiles,
            ..
        } = cache;
        self.project_in(x, qkv);
        // The inference kernel, each query row's softmax statistics kept for `backward`.
        let (mut tiles, _) = TileBuffers::split(tiles, T, T, dh);
        for b in 0..B {
            attention::attend_tiled::<CAUSAL>(
                &qkv[b * T * 3 * D..][..T * 3 * D],
                Self::LAYOUT,
                (H, None),
                &mut heads[b * T * D..][..T * D],
                &mut tiles,
                Some(&mut stats[b * H * T * 2..][..H * T * 2]),
            );
        }
        self.project_out(heads, y);
    }

    fn backward<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, D>,
        _y: &Tensor3<B, T, D>,
        cache: &mut AttentionCache<B, T, D, H>,
        dy: &Tensor3<B, T, D>,
        dx: Option<&mut Tensor3<B, T, D>>,
    ) {
        if T == 0 {
            return; // no steps: every gradient is an empty sum
        }
        let dh = head_dim::<D, H>();
        let AttentionCache {
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
        // recomputed tile by tile.
        dqkv.fill(0.0);
        let (mut tiles, _) = BackwardTiles::split(tiles, T, T, dh);
        for b in 0..B {
            let rows = b * T * D..(b + 1) * T * D;
            attention::attend_tiled_backward::<CAUSAL>(
                &qkv[b * T * 3 * D..][..T * 3 * D],
                Self::LAYOUT,
                (H, None),
                (
                    &heads[rows.clone()],
                    &dheads[rows],
                    &stats[b * H * T * 2..][..H * T * 2],
                ),
                &mut dqkv[b * T * 3 * D..][..T * 3 * D],
                &mut tiles,
            );
        }
        // dx = dQ·W_q + dK·W_k + dV·W_v: one product with the stacked weight.
        affine_backward(
            self.in_proj_weight.as_slice(),
            self.in_proj_weight_grad.as_mut_slice(),
            self.in_proj_bias_grad.as_mut_slice(),
            x.as_slice(),
            dqkv,
            dx.map(|dx| dx.as_mut_slice()),
            B * T,
            D,
        );
    }
}

impl<const T: usize, const D: usize, const H: usize, const CAUSAL: bool> Composable
    for MultiHeadAttention<T, D, H, CAUSAL>
{
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(rng: &mut Rng) -> Self {
        Self::new(rng)
    }
}

/// What causal attention keeps between decoded steps: every step's keys and values (the
/// key/value cache, `2·T·D` values) and the working space of one step
/// ([`linalg::attention::decode_scratch_len`](crate::linalg::attention::decode_scratch_len)).
#[derive(Clone, Debug)]
pub struct AttentionDecodeState {
    keys: Vec<f32>,
    values: Vec<f32>,
    scratch: Vec<f32>,
}

/// Causal attention decodes one step at a time: step `t` attends to the keys and values the
/// state kept of steps `0..=t` ([`linalg::attention::decode_step`](attention::decode_step)).
/// Non-causal attention has no step form: every step sees the later ones.
impl<const T: usize, const D: usize, const H: usize> WithoutMemory
    for MultiHeadAttention<T, D, H, true>
{
}

impl<const T: usize, const D: usize, const H: usize> Decode for MultiHeadAttention<T, D, H, true> {
    const STEPS: usize = T;
    const STEP_INPUTS: usize = D;
    const STEP_OUTPUTS: usize = D;
    type DecodeState = AttentionDecodeState;

    fn decode_state(&self) -> AttentionDecodeState {
        AttentionDecodeState {
            keys: vec![0.0; T * D],
            values: vec![0.0; T * D],
            scratch: vec![0.0; attention::decode_scratch_len(T, D)],
        }
    }

    fn decode_step(
        &self,
        x: &[f32],
        y: &mut [f32],
        state: &mut AttentionDecodeState,
        position: usize,
    ) {
        let AttentionDecodeState {
            keys,
            values,
            scratch,
        } = state;
        attention::decode_step(&self.params(), H, position, x, y, keys, values, scratch);
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::{String, ToString};
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;
    use crate::init::seeded;
    use crate::testing::{check_gradients, random_tensor};

    type Mha<const T: usize, const D: usize, const H: usize, const C: bool> =
        MultiHeadAttention<T, D, H, C>;

    /// PyTorch's initialisation with random biases; `spread` widens `in_proj_weight` so that
    /// the softmax is far from uniform.
    fn random_layer<const T: usize, const D: usize, const H: usize, const C: bool>(
        seed: u64,
        spread: f32,
    ) -> Mha<T, D, H, C> {
        let mut rng = seeded(seed);
        let mut mha = Mha::<T, D, H, C>::new(&mut rng);
        mha.in_proj_weight_mut()
            .as_mut_slice()
            .iter_mut()
            .for_each(|w| *w *= spread);
        let biases = [
            mha.in_proj_bias.as_mut_slice(),
            mha.out_proj_bias.as_mut_slice(),
        ];
        for b in biases.into_iter().flatten() {
            *b = uniform(&mut rng, -0.5, 0.5);
        }
        mha
    }

    /// The layer written plainly, in `f64`: per head, a full `T × T` softmax over the keys a
    /// query may see.
    fn reference<const B: usize, const T: usize, const D: usize, const H: usize, const C: bool>(
        mha: &Mha<T, D, H, C>,
        x: &Tensor3<B, T, D>,
    ) -> Vec<f64> {
        let dh = D / H;
        let f = |v: &[f32]| v.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
        let (w_in, b_in) = (
            f(mha.in_proj_weight().as_slice()),
            f(mha.in_proj_bias().as_slice()),
        );
        let (w_out, b_out) = (
            f(mha.out_proj_weight().as_slice()),
            f(mha.out_proj_bias().as_slice()),
        );
        let mut y = vec![0.0; B * T * D];
        for b in 0..B {
            let qkv: Vec<Vec<f64>> = (0..T)
                .map(|t| {
                    (0..3 * D)
                        .map(|r| {
                            let dot: f64 = (0..D)
                                .map(|c| w_in[r * D + c] * f64::from(x[[b, t, c]]))
                                .sum();
                            b_in[r] + dot
                        })
                        .collect()
                })
                .collect();
            let mut heads = vec![vec![0.0; D]; T];
            for h in 0..H {
                for i in 0..T {
                    let keys = if C { i + 1 } else { T };
                    let scores: Vec<f64> = (0..keys)
                        .map(|j| {
                            let dot: f64 = (0..dh)
                                .map(|c| qkv[i][h * dh + c] * qkv[j][D + h * dh + c])
                                .sum();
                            dot / (dh as f64).sqrt()
                        })
                        .collect();
                    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                    let total: f64 = e.iter().sum();
                    for c in 0..dh {
                        heads[i][h * dh + c] = (0..keys)
                            .map(|j| e[j] / total * qkv[j][2 * D + h * dh + c])
                            .sum();
                    }
                }
            }
            for t in 0..T {
                for o in 0..D {
                    let dot: f64 = (0..D).map(|c| w_out[o * D + c] * heads[t][c]).sum();
                    y[(b * T + t) * D + o] = b_out[o] + dot;
                }
            }
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
        const T: usize,
        const D: usize,
        const H: usize,
        const C: bool,
    >(
        seed: u64,
    ) {
        let mha = random_layer::<T, D, H, C>(seed, 3.0);
        let x = random_tensor::<Tensor3<B, T, D>>(&mut seeded(seed + 1));
        let mut y = Tensor3::<B, T, D>::zeros();
        mha.forward(&x, &mut y, &mut Zeroed::zeroed());
        assert_close(y.as_slice(), &reference(&mha, &x), 1e-5);
    }

    #[test]
    fn forward_matches_a_plain_reference() {
        forward_matches_reference::<2, 5, 8, 2, false>(1);
        forward_matches_reference::<2, 5, 8, 2, true>(2);
        // Past one tile of keys and one block of queries.
        forward_matches_reference::<2, 70, 16, 4, false>(3);
        forward_matches_reference::<2, 70, 16, 4, true>(4);
        forward_matches_reference::<1, 130, 8, 1, true>(5);
        forward_matches_reference::<1, 1, 4, 4, true>(6);
    }

    // `torch.nn.MultiheadAttention(4, 2, batch_first=True)` in float64 with these weights:
    // the layouts, the head split and the scale are PyTorch's.
    #[test]
    fn forward_matches_pytorch() {
        fn fill(values: &mut [f32], f: impl Fn(f64) -> f64) {
            for (i, v) in values.iter_mut().enumerate() {
                *v = f(i as f64) as f32;
            }
        }
        fn check<const C: bool>(want: [f64; 12]) {
            let mut mha = Mha::<3, 4, 2, C>::new(&mut seeded(0));
            fill(mha.in_proj_weight_mut().as_mut_slice(), |i| {
                0.5 * (0.7 * i + 0.1).sin()
            });
            fill(mha.in_proj_bias_mut().as_mut_slice(), |i| {
                0.1 * (1.3 * i).cos()
            });
            fill(mha.out_proj_weight_mut().as_mut_slice(), |i| {
                0.4 * (0.9 * i + 0.2).cos()
            });
            fill(mha.out_proj_bias_mut().as_mut_slice(), |i| 0.05 * (i - 1.5));
            let mut x = Tensor3::<1, 3, 4>::zeros();
            fill(x.as_mut_slice(), |i| (1.1 * i + 0.3).sin());
            let mut y = Tensor3::<1, 3, 4>::zeros();
            mha.forward(&x, &mut y, &mut Zeroed::zeroed());
            assert_close(y.as_slice(), &want, 1e-6);
            mha.forward_train(&x, &mut y, &mut Zeroed::zeroed());
            assert_close(y.as_slice(), &want, 1e-6);
        }
        check::<false>([
            -0.089_472_705,
            0.011_503_140,
            -0.025_996_291,
            0.129_959_566,
            -0.096_710_100,
            0.045_870_875,
            -0.080_398_007,
            0.193_162_225,
            -0.156_540_857,
            0.062_891_426,
            -0.051_093_894,
            0.123_584_254,
        ]);
        check::<true>([
            -0.234_836_443,
            0.152_930_883,
            -0.134_285_590,
            0.182_750_505,
            -0.287_109_325,
            0.178_625_311,
            -0.128_096_097,
            0.145_955_117,
            -0.156_540_857,
            0.062_891_426,
            -0.051_093_894,
            0.123_584_254,
        ]);
    }

    fn forwards_agree<
        const B: usize,
        const T: usize,
        const D: usize,
        const H: usize,
        const C: bool,
    >(
        seed: u64,
    ) {
        let mut mha = random_layer::<T, D, H, C>(seed, 3.0);
        let x = random_tensor::<Tensor3<B, T, D>>(&mut seeded(seed + 1));
        let (mut y, mut y_train) = (Tensor3::<B, T, D>::zeros(), Tensor3::<B, T, D>::zeros());
        mha.forward(&x, &mut y, &mut Zeroed::zeroed());
        mha.forward_train(&x, &mut y_train, &mut Zeroed::zeroed());
        assert_eq!(y.as_slice(), y_train.as_slice());
    }

    // Both forwards run the tiled kernel; training also keeps each row's softmax statistics.
    // The cache holds what the docs say: nothing grows with T².
    #[test]
    fn the_training_cache_is_as_documented() {
        const { assert!(130 > 2 * attention::KEY_TILE) };
        let cache = AttentionCache::<2, 130, 16, 4>::zeroed();
        let parts = [
            &cache.qkv,
            &cache.stats,
            &cache.heads,
            &cache.dheads,
            &cache.dqkv,
            &cache.tiles,
        ];
        let total: usize = parts.iter().map(|part| part.len()).sum();
        let (b, t, d, h) = (2, 130, 16, 4);
        assert_eq!(
            total,
            8 * b * t * d + 2 * b * h * t + 2 * t * d / h + 2 * 64 * 64 + 64
        );
    }

    #[test]
    fn forward_equals_forward_train() {
        forwards_agree::<3, 70, 16, 4, false>(7);
        forwards_agree::<3, 70, 16, 4, true>(8);
        forwards_agree::<2, 5, 8, 2, true>(9);
    }

    // Inputs after step `i` change nothing at or before `i`, bit for bit, in both forwards, and
    // no gradient flows to later steps: their recomputed probabilities and score gradients
    // are exactly 0.
    #[test]
    fn causal_outputs_ignore_later_steps() {
        const B: usize = 2;
        const T: usize = 70;
        let mut mha = random_layer::<T, 16, 4, true>(10, 3.0);
        let x = random_tensor::<Tensor3<B, T, 16>>(&mut seeded(11));
        let mut scratch = Zeroed::zeroed();
        let mut cache = AttentionCache::<B, T, 16, 4>::zeroed();
        let (mut y, mut y2) = (Tensor3::<B, T, 16>::zeros(), Tensor3::<B, T, 16>::zeros());
        let (mut t, mut t2) = (Tensor3::<B, T, 16>::zeros(), Tensor3::<B, T, 16>::zeros());
        mha.forward(&x, &mut y, &mut scratch);
        mha.forward_train(&x, &mut t, &mut cache);

        let mut rng = seeded(12);
        for i in [0, 1, 30, 63, 64, 68] {
            let mut x2 = x.clone();
            for b in 0..B {
                for t in i + 1..T {
                    for c in 0..16 {
                        x2[[b, t, c]] = uniform(&mut rng, -5.0, 5.0);
                    }
                }
            }
            mha.forward(&x2, &mut y2, &mut scratch);
            mha.forward_train(&x2, &mut t2, &mut cache);
            for b in 0..B {
                let upto =
                    |y: &Tensor3<B, T, 16>| y.as_slice()[b * T * 16..][..(i + 1) * 16].to_vec();
                assert_eq!(upto(&y), upto(&y2), "forward, step {i}");
                assert_eq!(upto(&t), upto(&t2), "forward_train, step {i}");
            }

            // A loss on steps ≤ i only: steps after i get exactly no gradient.
            let mut dy = random_tensor::<Tensor3<B, T, 16>>(&mut rng);
            for b in 0..B {
                dy.as_mut_slice()[(b * T + i + 1) * 16..(b + 1) * T * 16].fill(0.0);
            }
            let mut dx = Tensor3::<B, T, 16>::zeros();
            mha.backward(&x2, &t2, &mut cache, &dy, Some(&mut dx));
            for b in 0..B {
                let later = &dx.as_slice()[(b * T + i + 1) * 16..(b + 1) * T * 16];
                assert!(later.iter().all(|&g| g == 0.0), "gradient after step {i}");
            }
        }
    }

    #[test]
    fn gradients_match_central_differences() {
        let x = random_tensor::<Tensor3<2, 4, 8>>(&mut seeded(13));
        let mut mha = random_layer::<4, 8, 2, false>(14, 1.0);
        check_gradients::<_, 2>(&mut mha, &x, 15).unwrap();
        let mut causal = random_layer::<4, 8, 2, true>(16, 1.0);
        check_gradients::<_, 2>(&mut causal, &x, 17).unwrap();
    }

    // 70 steps: the backward recomputes the probabilities over two blocks of queries and two
    // tiles of keys.
    #[test]
    fn gradients_across_tiles_match_central_differences() {
        let x = random_tensor::<Tensor3<1, 70, 4>>(&mut seeded(60));
        let mut full = random_layer::<70, 4, 2, false>(61, 1.0);
        check_gradients::<_, 1>(&mut full, &x, 62).unwrap();
        let mut causal = random_layer::<70, 4, 2, true>(63, 1.0);
        check_gradients::<_, 1>(&mut causal, &x, 64).unwrap();
    }

    #[test]
    fn backward_accumulates() {
        let mut mha = random_layer::<3, 4, 2, true>(18, 1.0);
        let x = random_tensor::<Tensor3<1, 3, 4>>(&mut seeded(19));
        let dy = random_tensor::<Tensor3<1, 3, 4>>(&mut seeded(20));
        let mut y = Tensor3::<1, 3, 4>::zeros();
        let mut cache = Zeroed::zeroed();
        mha.forward_train(&x, &mut y, &mut cache);
        mha.backward(&x, &y, &mut cache, &dy, None);
        let once = mha.in_proj_weight_grad().clone();
        mha.backward(&x, &y, &mut cache, &dy, None);
        for (&a, &b) in mha
            .in_proj_weight_grad()
            .as_slice()
            .iter()
            .zip(once.as_slice())
        {
            assert!((a - 2.0 * b).abs() <= 1e-6 * b.abs().max(1.0));
        }
        mha.zero_grad();
        assert!(
            mha.out_proj_bias_grad()
                .as_slice()
                .iter()
                .all(|&g| g == 0.0)
        );
    }

    #[test]
    fn parameters_are_pytorchs() {
        let mut mha = Mha::<5, 8, 2, false>::build(&mut seeded(21));
        let mut names: Vec<(String, Vec<usize>, usize)> = Vec::new();
        mha.visit_params(
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
        mha.visit_params_ref(
            &ParamPath::root(),
            &mut |path: &ParamPath<'_>, p: ParamRef<'_>| {
                by_ref.push((path.to_string(), p.shape.to_vec(), p.value.len()));
            },
        );
        assert_eq!(by_ref, want);
        assert_eq!(<Mha<5, 8, 2, false> as Composable>::PARAM_COUNT, 288);
        assert_eq!(mha.param_count(), 288);

        // Xavier-uniform over fans (8, 24), U(±1/√8), zero biases.
        let limit = (6.0f32 / 32.0).sqrt();
        let w = mha.in_proj_weight().as_slice();
        assert!(w.iter().all(|v| v.abs() <= limit) && w.iter().any(|v| v.abs() > 0.8 * limit));
        let bound = 1.0 / 8.0f32.sqrt();
        let w = mha.out_proj_weight().as_slice();
        assert!(w.iter().all(|v| v.abs() <= bound) && w.iter().any(|v| v.abs() > 0.8 * bound));
        assert!(mha.in_proj_bias().as_slice().iter().all(|&b| b == 0.0));
        assert!(mha.out_proj_bias().as_slice().iter().all(|&b| b == 0.0));
    }

    #[test]
    fn an_empty_sequence_is_no_error() {
        let mut mha = Mha::<0, 4, 2, true>::new(&mut seeded(22));
        let x = Tensor3::<2, 0, 4>::zeros();
        let (mut y, mut dx) = (Tensor3::<2, 0, 4>::zeros(), Tensor3::<2, 0, 4>::zeros());
        mha.forward(&x, &mut y, &mut Zeroed::zeroed());
        let mut cache = Zeroed::zeroed();
        mha.forward_train(&x, &mut y, &mut cache);
        mha.backward(&x, &y, &mut cache, &y, Some(&mut dx));
        assert!(
            mha.in_proj_weight_grad()
                .as_slice()
                .iter()
                .all(|&g| g == 0.0)
        );
    }

    #[test]
    fn serves_threads() {
        fn send_sync<L: Layer + Send + Sync>() {}
        send_sync::<Mha<64, 64, 4, true>>();
    }
}
