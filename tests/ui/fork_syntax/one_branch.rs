// Rule: a `fork` has at least two branches.
use nn::prelude::*;

network! {
    pub struct Net< input(3), fork { only: [relu] } => concat, dense(3 -> 1) >
}

fn main() {}
