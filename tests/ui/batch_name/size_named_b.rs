// Rule: a size constant is not named `B`, the batch-size parameter of the generated code.
use nn::prelude::*;

const B: usize = 8;

network! {
    pub struct Net< dense(4 -> B), relu, dense(B -> 1) >
}

fn main() {}
