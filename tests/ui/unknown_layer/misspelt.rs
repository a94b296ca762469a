// Rule: every layer keyword is known; a near miss gets a suggestion.
use nn::prelude::*;

network! {
    pub struct Mlp< fc1: dens(784 -> 128), relu >
}

fn main() {}
