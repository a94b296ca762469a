// Rule: branch shapes written as constants must line up for a merge; a const assert checks them.
use nn::prelude::*;

const LEFT: usize = 3;
const RIGHT: usize = 4;

network! {
    pub struct Net< input(3), fork { l: [dense(3 -> LEFT)], r: [dense(3 -> RIGHT)] } => stack >
}

fn main() {}
