// Rule: a key-padding mask comes from the token ids, one per step: the attention that uses it
// reads as many steps as there are ids.
use nn::prelude::*;

network! {
    pub struct Net<
        input(16) tokens,
        embedding(100 -> 32),
        reshape(8, 64),
        fork {
            attn: [layer_norm, multi_head_attention(64, heads = 4, key_padding = 0)],
            skip: skip,
        } => add,
    >
}

fn main() {}
