// Rule: every size is at least 1, also when it is a named constant (checked by a const assert).
use nn::prelude::*;

const WIDTH: usize = 0;

network! {
    pub struct Mlp< dense(4 -> WIDTH) >
}

fn main() {}
