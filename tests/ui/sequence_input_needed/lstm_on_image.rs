// Rule: an image is not a sequence; the error says how to read it row by row.
use nn::prelude::*;

network! {
    pub struct Net< input(1, 28, 28), lstm(28 -> 64) >
}

fn main() {}
