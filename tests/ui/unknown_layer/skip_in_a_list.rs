// `skip` is a whole branch, written bare; in a list of layers it is no layer.
use nn::prelude::*;

network! {
    pub struct Net<
        input(8),
        fork { a: [dense(8 -> 8)], b: [skip] } => add,
    >
}

fn main() {}
