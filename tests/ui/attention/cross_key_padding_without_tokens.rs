// Rule: a cross-attention's key-padding mask comes from the keys' token ids, so the keys' branch
// starts from an `input(T) tokens`.
use nn::prelude::*;

network! {
    pub struct Captioner<
        input(text: 16) tokens,
        input(image: 49, 32),
        cross: fork {
            text => [embedding(100 -> 64)],
            memory: image => [dense(32 -> 64)],
        } => multi_head_attention(64, heads = 4, key_padding = 0),
    >
}

fn main() {}
