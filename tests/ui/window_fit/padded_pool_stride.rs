// Rule: a padded pool's windows tile the padded input exactly, unless written with `floor`.
use nn::prelude::*;

network! {
    pub struct Net<
        input(1, 28, 28),
        conv2d(1 -> 8, kernel = 3, padding = 1), relu,
        max_pool(3, stride = 2, padding = 1),
    >
}

fn main() {}
