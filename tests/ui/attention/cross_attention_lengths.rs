// Rule: cross-attention needs one value per key: the keys' and values' branches give as many
// steps.
use nn::prelude::*;

network! {
    pub struct Net<
        input(8, 12),
        fork {
            queries: [dense(12 -> 16)],
            keys: [reshape(4, 24), dense(24 -> 16)],
            values: [reshape(6, 16)],
        } => multi_head_attention(16, heads = 2),
    >
}

fn main() {}
