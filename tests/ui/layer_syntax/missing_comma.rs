// Rule: layers are separated by commas.
use nn::prelude::*;

network! {
    pub struct Mlp< dense(4 -> 2) relu >
}

fn main() {}
