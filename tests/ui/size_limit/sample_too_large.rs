// Each size is allowed, but their product is not.
use nn::prelude::*;

network! {
    pub struct Wide< input(65536, 65536), flatten, dense(8 -> 1) >
}

fn main() {}
