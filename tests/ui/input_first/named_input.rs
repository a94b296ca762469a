// `input(..)` is a shape, not a layer: a name on it would do nothing.
use nn::prelude::*;

network! {
    pub struct Named< x: input(3), dense(3 -> 1) >
}

fn main() {}
