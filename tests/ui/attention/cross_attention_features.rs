// Rule: cross-attention reads keys and values of the queries' D features (PyTorch's packed
// in_proj_weight, 3·D x D).
use nn::prelude::*;

network! {
    pub struct Captioner<
        input(text: 16) tokens,
        input(image: 49, 32),
        cross: fork {
            text => [embedding(100 -> 64)],
            memory: image => [layer_norm],
        } => multi_head_attention(64, heads = 4),
        head: dense(64 -> 100),
    >
}

fn main() {}
