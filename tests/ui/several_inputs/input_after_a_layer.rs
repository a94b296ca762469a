// Rule: the inputs come before the first layer.
use nn::prelude::*;

network! {
    pub struct Net<
        input(image: 784),
        input(meta: 10),
        fork {
            image => [dense(784 -> 64)],
            meta => [dense(10 -> 8)],
        } => concat,
        dense(72 -> 10),
        input(hint: 2),
    >
}

fn main() {}
