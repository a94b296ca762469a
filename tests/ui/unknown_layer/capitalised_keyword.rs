// `Relu` alone is the keyword with a capital, not a layer type.
use nn::prelude::*;

network! {
    pub struct Capital< dense(3 -> 3), Relu, dense(3 -> 1) >
}

fn main() {}
