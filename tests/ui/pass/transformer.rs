// Every attention kind: token ids, an embedding, both position codes, layer and RMS norms,
// causal and full multi-head attention in residual blocks, patches, mean_pool.
use nn::prelude::*;

const D: usize = 16;

network! {
    /// A causal language model over 8 tokens of a 20-symbol vocabulary.
    pub struct TinyLm<
        input(8) tokens,
        embed: embedding(20 -> D),
        positional(sinusoidal),
        block: fork {
            attn: [layer_norm, multi_head_attention(D, heads = 4, causal)],
            skip: skip,
        } => add,
        mlp: fork {
            ff: [rms_norm(eps = 1e-6), dense(D -> 32), gelu, dense(32 -> D)],
            skip: skip,
        } => add,
        head: dense(D -> 20),
    >

    /// A vision transformer on 1 x 12 x 12 images: 9 patches of 16 pixels.
    pub struct TinyVit<
        input(1, 12, 12),
        patches(4),
        embed: dense(16 -> D),
        pos: positional(9, D),
        fork { attn: [layer_norm, multi_head_attention(D, heads = 2)], skip: skip } => add,
        layer_norm(eps = 1e-6),
        mean_pool,
        head: dense(D -> 10),
    >
}

fn main() {
    let mut lm = TinyLm::seeded(0);
    let ids = Tensor2::<2, 8>::from_fn(|[b, t]| ((3 * b + t) % 20) as f32);
    let mut tape = TinyLmTape::<2>::new();
    let logits: &Tensor3<2, 8, 20> = lm.forward_train(&ids, &mut tape);
    assert!(logits.iter().all(|v| v.is_finite()));

    let mut vit = TinyVit::seeded(0);
    let images = Tensor4::<2, 1, 12, 12>::full(0.5);
    let mut tape = TinyVitTape::<2>::new();
    let y: &Tensor2<2, 10> = vit.forward_train(&images, &mut tape);
    assert!(y.iter().all(|v| v.is_finite()));
    let pos: &Tensor3<2, 9, D> = tape.outputs().pos;
    assert_eq!(pos.shape(), [2, 9, D]);
}
