// Rule: the first layer must fix the input size.
use nn::prelude::*;

network! {
    pub struct Mlp< relu, dense(4 -> 2) >
}

fn main() {}
