// Rule: `upsample` knows `nearest` and `bilinear`.
use nn::prelude::*;

network! {
    pub struct Net< input(1, 8, 8), upsample(2, bicubic) >
}

fn main() {}
