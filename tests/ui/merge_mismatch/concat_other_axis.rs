// Rule: `concat` joins one axis; every other axis must be equal.
use nn::prelude::*;

network! {
    pub struct Net<
        input(2, 3),
        fork {
            rows: [relu],
            turned: [reshape(3, 2)],
        } => concat(0),
        flatten,
        dense(12 -> 1),
    >
}

fn main() {}
