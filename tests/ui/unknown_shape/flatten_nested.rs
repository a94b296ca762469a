// Rule: `flatten` needs a shape the macro knows; a nested network's shape is only known to the
// compiler.
use nn::prelude::*;

network! {
    pub struct Inner< dense(4 -> 6) >
    pub struct Outer< inner: Inner, flatten, dense(6 -> 1) >
}

fn main() {}
