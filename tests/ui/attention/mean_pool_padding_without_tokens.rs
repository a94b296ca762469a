// Rule: a padded mean leaves out the steps whose token id is the padding id, so the network
// reads token ids.
use nn::prelude::*;

network! {
    pub struct Net<
        input(10, 16),
        mean_pool(key_padding = 0),
        dense(16 -> 2),
    >
}

fn main() {}
