// Rule: every size is at least 1.
use nn::prelude::*;

network! {
    pub struct Mlp< dense(4 -> 0) >
}

fn main() {}
