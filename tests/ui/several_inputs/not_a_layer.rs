// Rule: a network with several inputs is not a layer (`Layer` has one input type), so it
// cannot be nested in another network.
use nn::prelude::*;

network! {
    pub struct Pair<
        input(image: 784),
        input(meta: 10),
        fork { image => [dense(784 -> 8)], meta => [dense(10 -> 8)] } => add,
    >

    pub struct Outer< pair: Pair, dense(8 -> 1) >
}

fn main() {}
