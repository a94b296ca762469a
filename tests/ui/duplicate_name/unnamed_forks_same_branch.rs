// Two unnamed forks with a branch `body` would give their layers the same automatic names.
use nn::prelude::*;

network! {
    pub struct TwoBlocks<
        input(3),
        fork { body: [dense(3 -> 3), relu], shortcut: skip } => add,
        fork { body: [dense(3 -> 3), relu], shortcut: skip } => add,
        dense(3 -> 1),
    >
}

fn main() {}
