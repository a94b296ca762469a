// Rule: "did you mean" offers only kinds that take the input the layer gets; a closer kind
// that does not is mentioned, not suggested.
use nn::prelude::*;

network! {
    pub struct Net< fc1: dense(784 -> 128), max_pol(2), dense(128 -> 10) >
}

fn main() {}
