// A dense layer after a nested network takes exactly what that network gives.
use nn::prelude::*;

network! {
    pub struct Encoder< dense(3 -> 4) >
    pub struct Head< input(3), encoder: Encoder, dense(5 -> 1) >
}

fn main() {}
