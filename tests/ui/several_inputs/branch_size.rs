// Rule: a branch's first layer expects the size of the input it reads.
use nn::prelude::*;

network! {
    pub struct Net<
        input(image: 784),
        input(meta: 10),
        fork {
            image => [dense(784 -> 64), relu],
            meta => [dense(12 -> 8), relu],
        } => concat,
        dense(72 -> 10),
    >
}

fn main() {}
