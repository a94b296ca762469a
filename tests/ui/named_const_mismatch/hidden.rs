// Rule: sizes written as constants must line up too; the compiler checks them with a const assert.
use nn::prelude::*;

const HIDDEN: usize = 128;
const FC2_IN: usize = 64;

network! {
    pub struct Mlp< fc1: dense(784 -> HIDDEN), relu, fc2: dense(FC2_IN -> 10) >
}

fn main() {}
