// Rule: a key-padding mask masks the keys whose token id is the padding id, so the network
// reads token ids.
use nn::prelude::*;

network! {
    pub struct Net<
        input(10, 16),
        multi_head_attention(16, heads = 2, key_padding = 0),
    >
}

fn main() {}
