// A zero inside `reshape` is one error, not also an element-count mismatch.
use nn::prelude::*;

network! {
    pub struct Squash< input(3), reshape(0, 3), flatten, dense(3 -> 1) >
}

fn main() {}
