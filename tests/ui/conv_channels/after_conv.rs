// Rule: a conv's input channels equal the channels the previous layer gives.
use nn::prelude::*;

network! {
    pub struct Net<
        input(3, 32, 32),
        conv1: conv2d(3 -> 6, kernel = 5),
        relu,
        conv2d(3 -> 16, kernel = 3),
    >
}

fn main() {}
