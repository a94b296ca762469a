// Rule: each input has a name of its own.
use nn::prelude::*;

network! {
    pub struct Net<
        input(image: 784),
        input(image: 10),
        fork {
            a: image => [dense(784 -> 8)],
            b: image => [dense(784 -> 8)],
        } => concat,
    >
}

fn main() {}
