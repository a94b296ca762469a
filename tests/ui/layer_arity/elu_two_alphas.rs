// Rule: `elu` takes at most one alpha.
use nn::prelude::*;

network! {
    pub struct Smooth< dense(4 -> 2), elu(1.0, 0.5) >
}

fn main() {}
