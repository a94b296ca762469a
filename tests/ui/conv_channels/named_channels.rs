// Rule: channels written as constants are checked by the compiler, with their values.
use nn::prelude::*;

const WIDTH: usize = 8;
const NARROW: usize = 4;

network! {
    pub struct Net<
        input(1, 16, 16),
        conv1: conv2d(1 -> WIDTH, kernel = 3, padding = same),
        conv2d(NARROW -> 8, kernel = 3),
    >
}

fn main() {}
