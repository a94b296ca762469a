// Rule: only the fork right after the inputs reads them.
use nn::prelude::*;

network! {
    pub struct Net<
        input(image: 784),
        input(meta: 10),
        fork {
            image => [dense(784 -> 64)],
            meta => [dense(10 -> 8)],
        } => concat,
        fork {
            body: [dense(72 -> 8)],
            again: meta => [dense(10 -> 8)],
        } => add,
    >
}

fn main() {}
