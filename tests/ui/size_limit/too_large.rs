// A size beyond 2^31 - 1 is refused where it is written, instead of overflowing later.
use nn::prelude::*;

network! {
    pub struct Huge< input(4294967296, 4294967296, 4294967296), flatten, dense(8 -> 1) >
}

fn main() {}
