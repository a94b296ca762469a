// Rule: a branch reads an input the network declares.
use nn::prelude::*;

network! {
    pub struct Net<
        input(image: 784),
        input(meta: 10),
        fork {
            image => [dense(784 -> 64)],
            m: metta => [dense(10 -> 8)],
        } => concat,
    >
}

fn main() {}
