// Rule: a cross-attention's key-padding mask has one token id per key: a layer in the keys'
// branch that changes the number of steps leaves the ids without keys.
use nn::prelude::*;

network! {
    pub struct Translator<
        input(source: 16) tokens,
        input(target: 8) tokens,
        cross: fork {
            target => [embedding(100 -> 64)],
            memory: source => [embedding(100 -> 32), reshape(8, 64)],
        } => multi_head_attention(64, heads = 4, key_padding = 0),
    >
}

fn main() {}
