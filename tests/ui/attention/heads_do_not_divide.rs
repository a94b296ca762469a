// Rule: the heads split the features evenly (D % H == 0); the error names D, H and the remainder.
use nn::prelude::*;

network! {
    pub struct Net< input(16, 60), attn: multi_head_attention(60, heads = 8) >
}

fn main() {}
