// Rule: `dense` on a (T, F) sample acts on every step; when its size is the whole sample's,
// the error offers `flatten` too.
use nn::prelude::*;

network! {
    pub struct Net< input(4, 7), relu, dense(28 -> 2) >
}

fn main() {}
