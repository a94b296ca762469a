// Rule: `padding = same` pads both sides equally, so the kernel must be odd.
use nn::prelude::*;

network! {
    pub struct Net< input(1, 8, 8), conv2d(1 -> 4, kernel = 4, padding = same) >
}

fn main() {}
