// Rule: a branch that names an input needs a network with several named inputs.
use nn::prelude::*;

network! {
    pub struct Net<
        input(3),
        fork {
            left: x => [dense(3 -> 2)],
            right: [dense(3 -> 2)],
        } => concat,
    >
}

fn main() {}
