// Rule: the classic LeNet mistake: `flatten` after the second pool gives 16 x 4 x 4.
use nn::prelude::*;

network! {
    pub struct LeNet<
        input(1, 28, 28),
        conv2d(1 -> 6, kernel = 5), relu, max_pool(2),
        conv2d(6 -> 16, kernel = 5), relu, max_pool(2),
        flatten,
        dense(400 -> 120), relu,
        dense(120 -> 10),
    >
}

fn main() {}
