//! `PaddedCrossAttention<TQ, TK, N, D, H, PAD, NR>`: cross-attention that never attends a
//! padded key, the keys whose token id (packed after the rows) is `PAD`.

use crate::init::Rng;
use crate::layers::cross_attention::{
    CrossAttention, CrossAttentionCache, CrossAttentionScratch, CrossDecodeState,
};
use crate::layers::{Composable, CrossDecode, Layer};
use crate::linalg::attention::keep_unpadded;
use crate::param::{HasParams, ParamPath, ParamRefVisitor, ParamVisitor};
use crate::tensor::{Aligned, Tensor2, Tensor3, Zeroed};

/// Multi-head attention of `TQ` query steps over `TK` key/value steps, `D` features each, `H`
/// heads, with the keys masked by their token ids: `Tensor2<B, N>` in (each sample the
/// `NR = TQ + 2·TK` packed rows of [`CrossAttention`], then the `TK` keys' ids:
/// `N = NR·D + TK`), `Tensor3<B, TQ, D>` out.
///
/// PyTorch's `nn.MultiheadAttention(D, H, batch_first=True)` called as
/// `mha(q, k, v, key_padding_mask=(ids == PAD), need_weights=False)`: an encoder-decoder's
/// `memory_key_padding_mask`, the decoder's queries attending to an encoder's padded
/// sequence. Key `j` of a sample is masked when its id is `PAD`, compared as
/// `id == PAD as f32`; its probability is exactly 0 and so is its gradient, so a padded key's
/// features reach no output. A query whose keys are all padding gets heads' output exactly 0
/// (its output row is `out_proj.bias`), as PyTorch's `scaled_dot_product_attention` path
/// gives. The ids are not differentiable: their part of the input gradient is 0.
///
/// A network builds the input by packing a fork's branches (queries, keys, values) and the
/// keys' token ids one after another, sample by sample; the layer is a [`CrossAttention`]
/// ([`attention`](Self::attention)) that reads the mask, with its parameters, names and
/// initialisation. `N` must be `(TQ + 2·TK)·D + TK` and `NR` must be `TQ + 2·TK`; anything else
/// fails to compile.
///
/// # Memory
/// [`CrossAttention`]'s, and the keys' mask: the scratch ([`PaddedCrossAttentionScratch`])
/// and the cache ([`PaddedCrossAttentionCache`]) each hold `B·TK` floats more than
/// [`CrossAttentionScratch`] and [`CrossAttentionCache`]. No `TQ × TK` matrix exists beyond a
/// 64 × 64 tile, in training either.
///
/// ```
/// use nn_core::layers::{Layer, PaddedCrossAttention};
/// use nn_core::tensor::{Tensor2, Tensor3, Zeroed};
///
/// // 1 query over 2 keys of 2 features, 1 head, padding id 0; identity projections.
/// let mut attn = PaddedCrossAttention::<1, 2, 12, 2, 1, 0, 5>::new(&mut nn_core::init::seeded(0));
/// let eye = [1.0, 0.0, 0.0, 1.0];
/// let inner = attn.attention_mut();
/// inner.in_proj_weight_mut().as_mut_slice().copy_from_slice(&[eye, eye, eye].concat());
/// inner.out_proj_weight_mut().as_mut_slice().copy_from_slice(&eye);
///
/// // The query, the keys k₀ and k₁, the values v₀ and v₁, then the keys' ids: k₁ is padding.
/// let x = Tensor2::<1, 12>::from_slice(&[
///     1.0, 0.0, /* k */ 1.0, 0.0, 5.0, 5.0, /* v */ 3.0, -1.0, 9.0, 9.0, /* ids */ 7.0, 0.0,
/// ])?;
/// let mut y = Tensor3::<1, 1, 2>::zeros();
/// attn.forward(&x, &mut y, &mut Zeroed::zeroed());
/// // Only k₀ is seen, so the query gets v₀ whatever k₁ and v₁ hold.
/// assert_eq!(y.as_slice(), &[3.0, -1.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// An input length that is not `(TQ + 2·TK)·D + TK` does not compile:
///
/// ```compile_fail
/// use nn_core::layers::PaddedCrossAttention;
/// // 1 query and 2 keys of 2 features need 5 rows of 2 and 2 ids: 12 values, not 10.
/// let attn = PaddedCrossAttention::<1, 2, 10, 2, 1, 0, 5>::new(&mut nn_core::init::seeded(0));
/// ```
#[derive(Clone, Debug)]
pub struct PaddedCrossAttention<
    const TQ: usize,
    const TK: usize,
    const N: usize,
    const D: usize,
    const H: usize,
    const PAD: usize,
    const NR: usize,
> {
    attention: CrossAttention<TQ, TK, NR, D, H>,
}

/// The working space of [`PaddedCrossAttention`]'s inference forward: [`CrossAttention`]'s,
/// and the keys' mask of every sample (`B·TK` floats).
#[derive(Clone, Debug)]
pub struct PaddedCrossAttentionScratch<
    const B: usize,
    const TQ: usize,
    const TK: usize,
    const D: usize,
    const H: usize,
> {
    attention: CrossAttentionScratch<B, TQ, TK, D, H>,
    /// `(B, TK)`: 1 for a key that may be attended, 0 for padding.
    keep: Aligned,
}

impl<const B: usize, const TQ: usize, const TK: usize, const D: usize, const H: usize> Zeroed
    for PaddedCrossAttentionScratch<B, TQ, TK, D, H>
{
    fn zeroed() -> Self {
        Self {
            attention: Zeroed::zeroed(),
            keep: Aligned::filled(B * TK, 0.0),
        }
    }
}

/// The cache of [`PaddedCrossAttention`]'s training forward and the working space of its
/// backward: [`CrossAttention`]'s, and the keys' mask of every sample (`B·TK` floats).
#[derive(Clone, Debug)]
pub struct PaddedCrossAttentionCache<
    const B: usize,
    const TQ: usize,
    const TK: usize,
    const D: usize,
    const H: usize,
> {
    attention: CrossAttentionCache<B, TQ, TK, D, H>,
    /// `(B, TK)`: 1 for a key that may be attended, 0 for padding.
    keep: Aligned,
}

impl<const B: usize, const TQ: usize, const TK: usize, const D: usize, const H: usize> Zeroed
    for PaddedCrossAttentionCache<B, TQ, TK, D, H>
{
    fn zeroed() -> Self {
        Self {
            attention: Zeroed::zeroed(),
            keep: Aligned::filled(B * TK, 0.0),
        }
    }
}

/// Checks the packed lengths: anything but `NR = TQ + 2·TK` rows of `D` and `TK` ids fails to
/// compile.
const fn check_lengths<
    const TQ: usize,
    const TK: usize,
    const N: usize,
    const D: usize,
    const NR: usize,
>() {
    const {
        assert!(
            NR == TQ + 2 * TK && N == NR * D + TK,
            "PaddedCrossAttention<TQ, TK, N, D, H, PAD, NR>: NR must be TQ + 2·TK (the packed \
             rows) and N must be NR·D + TK (the rows, then the keys' ids)"
        )
    };
}

impl<
    const TQ: usize,
    const TK: usize,
    const N: usize,
    const D: usize,
    const H: usize,
    const PAD: usize,
    const NR: usize,
> PaddedCrossAttention<TQ, TK, N, D, H, PAD, NR>
{
    /// The number of scalar parameters, [`CrossAttention`]'s: `3·D·D + 3·D + D·D + D`.
    pub const PARAM_COUNT: usize = CrossAttention::<TQ, TK, NR, D, H>::PARAM_COUNT;

    /// A layer with PyTorch's initialisation, [`CrossAttention::new`]'s.
    pub fn new(rng: &mut Rng) -> Self {
        check_lengths::<TQ, TK, N, D, NR>();
        Self {
            attention: CrossAttention::new(rng),
        }
    }

    /// The attention that reads the mask: its parameters and their gradients.
    pub fn attention(&self) -> &CrossAttention<TQ, TK, NR, D, H> {
        &self.attention
    }

    /// The attention, mutably.
    pub fn attention_mut(&mut self) -> &mut CrossAttention<TQ, TK, NR, D, H> {
        &mut self.attention
    }

    /// Every sample's keys' mask from its ids, the last `TK` values of its `N`.
    fn unpack<const B: usize>(x: &Tensor2<B, N>, keep: &mut [f32]) {
        check_lengths::<TQ, TK, N, D, NR>();
        for (sample, keep) in x.as_slice().chunks_exact(N).zip(keep.chunks_exact_mut(TK)) {
            keep_unpadded(&sample[NR * D..], PAD, keep);
        }
    }
}

impl<
    const TQ: usize,
    const TK: usize,
    const N: usize,
    const D: usize,
    const H: usize,
    const PAD: usize,
    const NR: usize,
> HasParams for PaddedCrossAttention<TQ, TK, N, D, H, PAD, NR>
{
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        self.attention.visit_params(path, visitor);
    }

    fn visit_params_ref<V: ParamRefVisitor>(&self, path: &ParamPath<'_>, visitor: &mut V) {
        self.attention.visit_params_ref(path, visitor);
    }

    fn param_count(&mut self) -> usize {
        Self::PARAM_COUNT
    }
}

impl<
    const TQ: usize,
    const TK: usize,
    const N: usize,
    const D: usize,
    const H: usize,
    const PAD: usize,
    const NR: usize,
> Layer for PaddedCrossAttention<TQ, TK, N, D, H, PAD, NR>
{
    type Input<const B: usize> = Tensor2<B, N>;
    type Output<const B: usize> = Tensor3<B, TQ, D>;
    type Scratch<const B: usize> = PaddedCrossAttentionScratch<B, TQ, TK, D, H>;
    type Cache<const B: usize> = PaddedCrossAttentionCache<B, TQ, TK, D, H>;

    fn forward<const B: usize>(
        &self,
        x: &Tensor2<B, N>,
        y: &mut Tensor3<B, TQ, D>,
        scratch: &mut PaddedCrossAttentionScratch<B, TQ, TK, D, H>,
    ) {
        let PaddedCrossAttentionScratch { attention, keep } = scratch;
        Self::unpack(x, keep);
        self.attention
            .forward_samples(x.as_slice(), N, Some(keep), y, attention);
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor2<B, N>,
        y: &mut Tensor3<B, TQ, D>,
        cache: &mut PaddedCrossAttentionCache<B, TQ, TK, D, H>,
    ) {
        let PaddedCrossAttentionCache { attention, keep } = cache;
        Self::unpack(x, keep);
        self.attention
            .forward_train_samples(x.as_slice(), N, Some(keep), y, attention);
    }

    fn backward<const B: usize>(
        &mut self,
        x: &Tensor2<B, N>,
        _y: &Tensor3<B, TQ, D>,
        cache: &mut PaddedCrossAttentionCache<B, TQ, TK, D, H>,
        dy: &Tensor3<B, TQ, D>,
        dx: Option<&mut Tensor2<B, N>>,
    ) {
        let PaddedCrossAttentionCache { attention, keep } = cache;
        let mut dx = dx.map(|dx| dx.as_mut_slice());
        // The ids are not differentiable.
        for dx in dx.iter_mut() {
            for sample in dx.chunks_exact_mut(N) {
                sample[NR * D..].fill(0.0);
            }
        }
        self.attention
            .backward_samples(x.as_slice(), N, Some(keep), attention, dy, dx);
    }
}

/// [`CrossAttention`]'s step form, the memory's keys masked by their ids.
impl<
    const TQ: usize,
    const TK: usize,
    const N: usize,
    const D: usize,
    const H: usize,
    const PAD: usize,
    const NR: usize,
> CrossDecode for PaddedCrossAttention<TQ, TK, N, D, H, PAD, NR>
{
    type CrossState = CrossDecodeState;

    fn cross_state(&self) -> CrossDecodeState {
        self.attention.cross_state()
    }

    fn remember(&self, keys: &[f32], values: &[f32], ids: &[f32], state: &mut CrossDecodeState) {
        assert_eq!(ids.len(), TK, "one id per key");
        self.attention
            .remember_masked((keys, values), Some((ids, PAD)), state);
    }

    fn attend(&self, x: &[f32], y: &mut [f32], state: &mut CrossDecodeState) {
        self.attention.attend(x, y, state);
    }
}

impl<
    const TQ: usize,
    const TK: usize,
    const N: usize,
    const D: usize,
    const H: usize,
    const PAD: usize,
    const NR: usize,
> Composable for PaddedCrossAttention<TQ, TK, N, D, H, PAD, NR>
{
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(rng: &mut Rng) -> Self {
        Self::new(rng)
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;
    use crate::init::{seeded, uniform};
    use crate::tensor::Tensor;
    use crate::testing::{
        check_param_gradients, compare_gradients, numeric_gradient, random_tensor, weighted_loss,
    };

    /// 2 samples of 3 queries over 5 keys of 4 features, 2 heads, padding id 0.
    const B: usize = 2;
    const TQ: usize = 3;
    const TK: usize = 5;
    const D: usize = 4;
    const NR: usize = TQ + 2 * TK;
    const N: usize = NR * D + TK;
    type Padded = PaddedCrossAttention<TQ, TK, N, D, 2, 0, NR>;

    /// PyTorch's initialisation with random biases and a widened `in_proj_weight`, so that the
    /// softmax is far from uniform.
    fn random_layer(seed: u64) -> Padded {
        let mut rng = seeded(seed);
        let mut layer = Padded::new(&mut rng);
        let inner = layer.attention_mut();
        inner
            .in_proj_weight_mut()
            .as_mut_slice()
            .iter_mut()
            .for_each(|w| *w *= 2.0);
        for b in inner.in_proj_bias_mut().as_mut_slice() {
            *b = uniform(&mut rng, -0.5, 0.5);
        }
        for b in inner.out_proj_bias_mut().as_mut_slice() {
            *b = uniform(&mut rng, -0.5, 0.5);
        }
        layer
    }

    /// Random rows with the keys' `ids` (`B·TK`) after each sample's.
    fn packed(seed: u64, ids: &[f32]) -> Tensor2<B, N> {
        let rows = random_tensor::<Tensor3<B, NR, D>>(&mut seeded(seed));
        let mut x = Tensor2::<B, N>::zeros();
        for b in 0..B {
            let sample = &mut x.as_mut_slice()[b * N..][..N];
            sample[..NR * D].copy_from_slice(&rows.as_slice()[b * NR * D..][..NR * D]);
            sample[NR * D..].copy_from_slice(&ids[b * TK..][..TK]);
        }
        x
    }

    /// Keys 1 and 3 of the first sample are padding, none of the second's.
    const IDS: [f32; B * TK] = [4.0, 0.0, 2.0, 0.0, 9.0, 1.0, 2.0, 3.0, 4.0, 5.0];

    /// The first sample without its padded keys, through a `CrossAttention` over its 3 keys,
    /// gives the padded layer's output for it, and the same gradients for the queries, the
    /// kept keys and values, and every parameter; the padded keys and values get none.
    #[test]
    fn a_padded_key_is_as_if_absent() {
        const KEPT: [usize; 3] = [0, 2, 4];
        let mut layer = random_layer(1);
        let x = packed(2, &IDS);
        let dy = random_tensor::<Tensor3<1, TQ, D>>(&mut seeded(3));
        let mut dy_both = Tensor3::<B, TQ, D>::zeros();
        dy_both.as_mut_slice()[..TQ * D].copy_from_slice(dy.as_slice());
        let mut y = Tensor3::<B, TQ, D>::zeros();
        let mut cache = Zeroed::zeroed();
        layer.forward_train(&x, &mut y, &mut cache);
        let mut dx = Tensor2::<B, N>::full(7.0);
        layer.backward(&x, &y, &mut cache, &dy_both, Some(&mut dx));

        let mut short = CrossAttention::<TQ, 3, { TQ + 6 }, D, 2>::new(&mut seeded(0));
        short
            .in_proj_weight_mut()
            .copy_from(layer.attention().in_proj_weight());
        short
            .in_proj_bias_mut()
            .copy_from(layer.attention().in_proj_bias());
        short
            .out_proj_weight_mut()
            .copy_from(layer.attention().out_proj_weight());
        short
            .out_proj_bias_mut()
            .copy_from(layer.attention().out_proj_bias());
        let row = |r: usize| &x.as_slice()[r * D..][..D];
        let mut rows: Vec<f32> = (0..TQ).flat_map(|r| row(r).to_vec()).collect();
        for section in [TQ, TQ + TK] {
            rows.extend(KEPT.iter().flat_map(|&k| row(section + k).to_vec()));
        }
        let x_short = Tensor3::<1, { TQ + 6 }, D>::from_slice(&rows).unwrap();
        let mut y_short = Tensor3::<1, TQ, D>::zeros();
        let mut cache_short = Zeroed::zeroed();
        short.forward_train(&x_short, &mut y_short, &mut cache_short);
        let mut dx_short = Tensor3::<1, { TQ + 6 }, D>::zeros();
        short.backward(
            &x_short,
            &y_short,
            &mut cache_short,
            &dy,
            Some(&mut dx_short),
        );

        let close = |a: &[f32], b: &[f32], what: &str| {
            assert_eq!(a.len(), b.len());
            for (i, (&a, &b)) in a.iter().zip(b).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                    "{what} {i}: {a} against {b}"
                );
            }
        };
        close(&y.as_slice()[..TQ * D], y_short.as_slice(), "output");
        let dx = dx.as_slice();
        let grad_row = |r: usize| &dx[r * D..][..D];
        let short_row = |r: usize| &dx_short.as_slice()[r * D..][..D];
        for r in 0..TQ {
            close(grad_row(r), short_row(r), "query gradient");
        }
        for (s, section) in [TQ, TQ + TK].into_iter().enumerate() {
            for k in 0..TK {
                match KEPT.iter().position(|&kept| kept == k) {
                    Some(at) => close(grad_row(section + k), short_row(TQ + 3 * s + at), "kept"),
                    None => assert!(grad_row(section + k).iter().all(|&g| g == 0.0)),
                }
            }
        }
        assert!(dx[NR * D..N].iter().all(|&g| g == 0.0), "the ids' gradient");
        // The second sample's dy is 0, so the parameter gradients are the first sample's.
        let inner = layer.attention();
        close(
            inner.in_proj_weight_grad().as_slice(),
            short.in_proj_weight_grad().as_slice(),
            "in_proj_weight gradient",
        );
        close(
            inner.out_proj_weight_grad().as_slice(),
            short.out_proj_weight_grad().as_slice(),
            "out_proj.weight gradient",
        );
    }

    /// With no key padded, the layer is `CrossAttention`, bit for bit.
    #[test]
    fn without_padding_it_is_cross_attention() {
        let layer = random_layer(10);
        let ids = [1.0; B * TK];
        let x = packed(11, &ids);
        let mut rows = Tensor3::<B, NR, D>::zeros();
        for b in 0..B {
            rows.as_mut_slice()[b * NR * D..][..NR * D]
                .copy_from_slice(&x.as_slice()[b * N..][..NR * D]);
        }
        let (mut y, mut want) = (Tensor3::<B, TQ, D>::zeros(), Tensor3::zeros());
        layer.forward(&x, &mut y, &mut Zeroed::zeroed());
        layer
            .attention()
            .forward(&rows, &mut want, &mut Zeroed::zeroed());
        assert_eq!(y, want);
    }

    /// A sample whose keys are all padding gets `out_proj.bias` on every query, and its
    /// queries, keys and values no gradient.
    #[test]
    fn all_padding_gives_the_bias() {
        let mut layer = random_layer(20);
        let mut ids = IDS;
        ids[TK..].fill(0.0);
        let x = packed(21, &ids);
        let mut y = Tensor3::<B, TQ, D>::zeros();
        let mut cache = Zeroed::zeroed();
        layer.forward_train(&x, &mut y, &mut cache);
        let bias = layer.attention().out_proj_bias().as_slice().to_vec();
        for row in y.as_slice()[TQ * D..].chunks_exact(D) {
            assert_eq!(row, bias.as_slice());
        }
        let dy = random_tensor::<Tensor3<B, TQ, D>>(&mut seeded(22));
        let mut dx = Tensor2::<B, N>::zeros();
        layer.backward(&x, &y, &mut cache, &dy, Some(&mut dx));
        assert!(dx.as_slice()[N..].iter().all(|&g| g == 0.0));
    }

    /// Central differences for every parameter, and for every row of the input (not the ids:
    /// a step of an id would unpad a key).
    #[test]
    fn gradients_match_central_differences() {
        let mut layer = random_layer(30);
        let x = packed(31, &IDS);
        check_param_gradients::<_, B>(&mut layer, &x, 32).unwrap();

        let r = random_tensor::<Tensor3<B, TQ, D>>(&mut seeded(33));
        let mut y = Tensor3::<B, TQ, D>::zeros();
        let mut cache = Zeroed::zeroed();
        layer.forward_train(&x, &mut y, &mut cache);
        let mut dx = Tensor2::<B, N>::zeros();
        layer.backward(&x, &y, &mut cache, &r, Some(&mut dx));
        let mut probe = x.as_slice().to_vec();
        let numeric = numeric_gradient(&mut probe, |v| {
            let mut v = Tensor2::<B, N>::from_slice(v).unwrap();
            for b in 0..B {
                v.as_mut_slice()[b * N + NR * D..][..TK].copy_from_slice(&IDS[b * TK..][..TK]);
            }
            layer.forward_train(&v, &mut y, &mut cache);
            weighted_loss(y.as_slice(), r.as_slice())
        });
        compare_gradients("input", dx.as_slice(), &numeric).unwrap();
    }

    // 70 queries over 66 keys, the first tile mostly padding: the backward recomputes the
    // probabilities over two blocks of queries and two tiles of keys, masked in each.
    #[test]
    fn gradients_across_tiles_match_central_differences() {
        const TQ: usize = 70;
        const TK: usize = 66;
        const NR: usize = TQ + 2 * TK;
        const N: usize = NR * 4 + TK;
        let mut layer = PaddedCrossAttention::<TQ, TK, N, 4, 2, 0, NR>::new(&mut seeded(40));
        let mut x = random_tensor::<Tensor2<1, N>>(&mut seeded(41));
        for (k, id) in x.as_mut_slice()[NR * 4..].iter_mut().enumerate() {
            *id = if k < 60 && k % 7 != 3 { 0.0 } else { 2.0 };
        }
        check_param_gradients::<_, 1>(&mut layer, &x, 42).unwrap();
    }

    #[test]
    fn forward_equals_forward_train() {
        let mut layer = random_layer(50);
        let x = packed(51, &IDS);
        let (mut y, mut y_train) = (Tensor3::<B, TQ, D>::zeros(), Tensor3::zeros());
        layer.forward(&x, &mut y, &mut Zeroed::zeroed());
        layer.forward_train(&x, &mut y_train, &mut Zeroed::zeroed());
        assert_eq!(y, y_train);
    }

    #[test]
    fn parameters_are_cross_attentions() {
        let mut layer = Padded::build(&mut seeded(60));
        let inner = CrossAttention::<TQ, TK, NR, D, 2>::new(&mut seeded(60));
        assert_eq!(layer.attention().in_proj_weight(), inner.in_proj_weight());
        assert_eq!(layer.attention().out_proj_weight(), inner.out_proj_weight());
        let mut names = Vec::new();
        layer.visit_params(
            &ParamPath::root(),
            &mut |path: &ParamPath<'_>, p: crate::param::Param<'_>| {
                names.push((alloc::string::ToString::to_string(path), p.shape.to_vec()));
            },
        );
        let names: Vec<(&str, Vec<usize>)> =
            names.iter().map(|(n, s)| (n.as_str(), s.clone())).collect();
        assert_eq!(
            names,
            [
                ("in_proj_weight", alloc::vec![12, 4]),
                ("in_proj_bias", alloc::vec![12]),
                ("out_proj.weight", alloc::vec![4, 4]),
                ("out_proj.bias", alloc::vec![4]),
            ]
        );
        assert_eq!(layer.param_count(), 4 * 4 * 4 + 4 * 4);
    }

    #[test]
    fn serves_threads() {
        fn send_sync<L: Layer + Send + Sync>() {}
        send_sync::<Padded>();
    }
}
