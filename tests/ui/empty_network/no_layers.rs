// Rule: a network has at least one layer.
use nn::prelude::*;

network! {
    pub struct Empty<>
}

fn main() {}
