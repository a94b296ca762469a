// A dense layer after a nested network takes exactly what that network gives. Declared in the
// same `network!` call, the nested network's shape is the macro's, so the error is the one a
// dense layer gets after any kind.
use nn::prelude::*;

network! {
    pub struct Encoder< dense(3 -> 4) >
    pub struct Head< input(3), encoder: Encoder, dense(5 -> 1) >
}

fn main() {}
