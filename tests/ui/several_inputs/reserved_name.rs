// Rule: an input cannot take the name of a parameter the generated methods already have.
use nn::prelude::*;

network! {
    pub struct Net<
        input(tape: 3),
        input(meta: 2),
        fork { tape => [dense(3 -> 2)], meta => skip } => concat,
    >
}

fn main() {}
