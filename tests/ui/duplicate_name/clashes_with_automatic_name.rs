// Rule: a layer name may not take the automatic name of an unnamed layer.
use nn::prelude::*;

network! {
    pub struct Mlp< dense(4 -> 3), relu, relu_1: dense(3 -> 2) >
}

fn main() {}
