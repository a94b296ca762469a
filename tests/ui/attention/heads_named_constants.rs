// Rule: D % H == 0 holds for sizes written as constants too; the compiler shows their values.
use nn::prelude::*;

const D: usize = 48;
const HEADS: usize = 5;

network! {
    pub struct Net< input(16, D), attn: multi_head_attention(D, heads = HEADS) >
}

fn main() {}
