// Rule: conv strides tile the padded input exactly (opt into PyTorch's rounding with `floor`).
use nn::prelude::*;

network! {
    pub struct Net<
        input(1, 28, 20),
        conv2d(1 -> 4, kernel = 3, stride = 2),
    >
}

fn main() {}
