// Rule: a swap of two neighbouring letters is one edit, so `rleu` still gets `relu`.
use nn::prelude::*;

network! {
    pub struct Mlp< dense(4 -> 4), rleu, dense(4 -> 1) >
}

fn main() {}
