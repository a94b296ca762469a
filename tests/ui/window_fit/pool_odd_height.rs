// Rule: pool windows tile the input exactly; a remainder names the layer and the size.
use nn::prelude::*;

network! {
    pub struct Net<
        input(1, 28, 28),
        conv1: conv2d(1 -> 6, kernel = 4),
        max_pool(2),
    >
}

fn main() {}
