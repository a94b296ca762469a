// Rule: a residual `add` needs the branch to give its input's shape back.
use nn::prelude::*;

network! {
    pub struct Net<
        fc: dense(4 -> 3),
        block: fork {
            body: [dense(3 -> 5), relu],
            shortcut: skip,
        } => add,
        dense(3 -> 1),
    >
}

fn main() {}
