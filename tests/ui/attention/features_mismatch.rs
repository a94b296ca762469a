// Rule: attention's D is the features of each step it reads.
use nn::prelude::*;

network! {
    pub struct Net< input(16, 49), embed: dense(49 -> 64), attn: multi_head_attention(32, heads = 4) >
}

fn main() {}
