// Rule: the patch size divides the image's height and width.
use nn::prelude::*;

network! {
    pub struct Net< input(1, 28, 28), patches(8) >
}

fn main() {}
