// Rule: batch norm normalises features of flat samples or channels of images.
use nn::prelude::*;

network! {
    pub struct Net< input(30, 8), batch_norm >
}

fn main() {}
