// Rule: layer names are unique.
use nn::prelude::*;

network! {
    pub struct Mlp< fc1: dense(4 -> 3), relu, fc1: dense(3 -> 2) >
}

fn main() {}
