// Rule: only a causal network decodes step by step; attention that sees the later steps has no
// step form, so `Decoder` refuses the network at compile time.
use nn::layers::Decoder;
use nn::prelude::*;

network! {
    pub struct Encoder<
        input(16) tokens,
        embedding(100 -> 32),
        positional(sinusoidal),
        fork { attn: [layer_norm, multi_head_attention(32, heads = 4)], skip: skip } => add,
        dense(32 -> 100),
    >
}

fn main() {
    let net = Encoder::seeded(0);
    let _decoder = Decoder::new(&net);
}
