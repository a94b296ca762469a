// Rule: every branch of the fork after several inputs names the input it reads.
use nn::prelude::*;

network! {
    pub struct Net<
        input(image: 784),
        input(meta: 10),
        fork {
            image => [dense(784 -> 64)],
            meta => [dense(10 -> 8)],
            extra: [dense(784 -> 4)],
        } => concat,
    >
}

fn main() {}
