// Rule: the branches of one fork have different names (they prefix the parameter names).
use nn::prelude::*;

network! {
    pub struct Net< input(3), fork { a: [relu], a: [tanh] } => add, dense(3 -> 1) >
}

fn main() {}
