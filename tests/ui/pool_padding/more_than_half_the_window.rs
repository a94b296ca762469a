// Rule: a pool pads at most half its window (PyTorch's rule), so that every window holds an
// input value; the error names the layer, the padding and the most it allows.
use nn::prelude::*;

network! {
    pub struct Net<
        input(1, 28, 28),
        conv2d(1 -> 6, kernel = 5, padding = 2), relu,
        max_pool(2, padding = 2),
    >
}

fn main() {}
