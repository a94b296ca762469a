// Rule: vision layers read (C, H, W) images; after a flat layer the error says what to add.
use nn::prelude::*;

network! {
    pub struct Net<
        fc: dense(10 -> 784),
        conv2d(1 -> 6, kernel = 5),
    >
}

fn main() {}
