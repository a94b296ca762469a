// Rule: `count_include_pad` is about averages; `max_pool` never counts anything.
use nn::prelude::*;

network! {
    pub struct Net< input(1, 8, 8), max_pool(3, stride = 1, padding = 1, count_include_pad = false) >
}

fn main() {}
