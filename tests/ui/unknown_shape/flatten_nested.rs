// Rule: `flatten` needs a shape the macro knows; the shape of a network declared in another
// `network!` call is only known to the compiler.
use nn::prelude::*;

network! {
    pub struct Inner< dense(4 -> 6) >
}

network! {
    pub struct Outer< inner: Inner, flatten, dense(6 -> 1) >
}

fn main() {}
