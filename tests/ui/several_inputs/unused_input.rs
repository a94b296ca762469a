// Rule: every input is read by a branch; an unread one is an error, not a warning, since it
// would still be an argument of every method.
use nn::prelude::*;

network! {
    pub struct Net<
        input(image: 784),
        input(meta: 10),
        input(hint: 2),
        fork {
            image => [dense(784 -> 64)],
            meta => [dense(10 -> 8)],
        } => concat,
    >
}

fn main() {}
