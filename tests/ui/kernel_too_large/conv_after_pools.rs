// Rule: a kernel is no larger than its padded input.
use nn::prelude::*;

network! {
    pub struct Net<
        input(1, 16, 16),
        conv2d(1 -> 8, kernel = 3, padding = 1), max_pool(2),
        pool2: max_pool(2),
        conv2d(8 -> 16, kernel = 5),
    >
}

fn main() {}
