// Rule: when a network has several inputs, each is named.
use nn::prelude::*;

network! {
    pub struct Net<
        input(784),
        input(meta: 10),
        fork {
            meta => [dense(10 -> 8)],
            other: meta => [dense(10 -> 8)],
        } => concat,
    >
}

fn main() {}
