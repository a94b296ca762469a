// Rule: a dilated kernel spans `dilation · (kernel − 1) + 1` positions, which must fit.
use nn::prelude::*;

network! {
    pub struct Net<
        input(16, 28),
        conv1d(16 -> 16, kernel = 3, dilation = 8),
        conv1d(16 -> 16, kernel = 3, dilation = 16),
    >
}

fn main() {}
