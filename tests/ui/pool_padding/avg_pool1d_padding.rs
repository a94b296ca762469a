// Rule: a 1-D pool pads at most half its window, as a 2-D one does.
use nn::prelude::*;

network! {
    pub struct Net<
        input(16, 50),
        conv1d(16 -> 16, kernel = 3, padding = same), relu,
        avg_pool1d(3, stride = 1, padding = 2),
    >
}

fn main() {}
