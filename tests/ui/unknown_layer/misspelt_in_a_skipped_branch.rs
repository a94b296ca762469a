// Rule: a misspelt kind is reported even where the chain is not checked (after an error).
use nn::prelude::*;

network! {
    pub struct Net<
        input(4),
        fork { a: [dense(4 -> 3)], b: [dense(4 -> 2)] } => add,
        fork { c: [rleu], d: skip } => add,
        dense(3 -> 1),
    >
}

fn main() {}
