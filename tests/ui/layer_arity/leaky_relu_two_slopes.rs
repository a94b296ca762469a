// Rule: `leaky_relu` takes at most one argument, its negative slope.
use nn::prelude::*;

network! {
    pub struct Mlp< dense(4 -> 2), leaky_relu(0.1, 0.2) >
}

fn main() {}
