// Rule: `reshape` keeps the element count of a sample.
use nn::prelude::*;

network! {
    pub struct Net< fc1: dense(4 -> 12), reshape(5, 3), flatten, dense(15 -> 1) >
}

fn main() {}
