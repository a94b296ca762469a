// Rule: `dense` needs both sizes.
use nn::prelude::*;

network! {
    pub struct Mlp< dense, relu >
}

fn main() {}
