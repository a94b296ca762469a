// Rule: `dense` on an image needs `flatten` first.
use nn::prelude::*;

network! {
    pub struct Net<
        input(1, 28, 28),
        conv1: conv2d(1 -> 6, kernel = 5),
        dense(3456 -> 10),
    >
}

fn main() {}
