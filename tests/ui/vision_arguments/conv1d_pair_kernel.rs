// Rule: a `conv1d`'s sizes are single numbers.
use nn::prelude::*;

network! {
    pub struct Net< input(4, 20), conv1d(4 -> 8, kernel = (3, 3)) >
}

fn main() {}
