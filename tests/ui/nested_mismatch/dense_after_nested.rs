// A dense layer after a nested network takes exactly what that network gives. Declared in
// another `network!` call, the nested network's shape is the compiler's, so a `const` check
// compares them.
use nn::prelude::*;

network! {
    pub struct Encoder< dense(3 -> 4) >
}

network! {
    pub struct Head< input(3), encoder: Encoder, dense(5 -> 1) >
}

fn main() {}
