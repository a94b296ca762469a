// Rule: a window over a size written as a constant is checked by the compiler.
use nn::prelude::*;

const SIDE: usize = 15;

network! {
    pub struct Net< input(2, SIDE, 16), avg_pool(2) >
}

fn main() {}
