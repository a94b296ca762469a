// A network declared in the same `network!` call is seen through: the layers after it (a
// `flatten`, a merge, a pool over its steps) know its output shape.
use nn::prelude::*;

network! {
    pub struct Inner< dense(4 -> 6) >
    pub struct Steps< input(2, 4), dense(4 -> 6) >
    pub struct Flattened< input(2, 4), steps: Steps, flatten, dense(12 -> 1) >
    pub struct Merged< input(4), fork { a: [inner: Inner], b: [dense(4 -> 6)] } => add, dense(6 -> 1) >

    pub struct Block<
        input(16, 32),
        attn: fork { attn: [layer_norm, multi_head_attention(32, heads = 4)], skip: skip } => add,
        mlp: fork { mlp: [layer_norm, dense(32 -> 64), gelu, dense(64 -> 32)], skip: skip } => add,
    >
    pub struct Encoder<
        input(16) tokens,
        embedding(100 -> 32),
        positional(sinusoidal),
        b1: Block,
        b2: Block,
        mean_pool,
        dense(32 -> 2),
    >
}

fn main() {
    let y = Flattened::seeded(0).forward(&Tensor3::<1, 2, 4>::zeros());
    assert_eq!(y.shape(), [1, 1]);
    let y = Merged::seeded(0).forward(&Tensor2::<1, 4>::zeros());
    assert_eq!(y.shape(), [1, 1]);
    let y = Encoder::seeded(0).forward(&Tensor2::<2, 16>::zeros());
    assert!(y.iter().all(|v| v.is_finite()));
}
