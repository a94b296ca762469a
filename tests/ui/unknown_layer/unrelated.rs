// Rule: an unknown layer keyword lists the known ones when nothing is close.
use nn::prelude::*;

network! {
    pub struct Mlp< dense(4 -> 4), pooling >
}

fn main() {}
