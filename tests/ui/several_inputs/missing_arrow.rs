// Rule: a branch reads an input with `=>`: `img: image => [..]`.
use nn::prelude::*;

network! {
    pub struct Net<
        input(image: 784),
        input(meta: 10),
        fork {
            img: image [dense(784 -> 8)],
            meta => [dense(10 -> 8)],
        } => add,
    >
}

fn main() {}
