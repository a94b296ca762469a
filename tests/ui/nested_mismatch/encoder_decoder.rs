// Rule: a nested network's input must match what the previous layer gives: one `const` check of
// both shapes at the boundary, which prints them.
use nn::prelude::*;

network! {
    pub struct Encoder< fc1: dense(64 -> 16) >
    pub struct Decoder< fc1: dense(32 -> 64) >
    pub struct Autoencoder< encoder: Encoder, decoder: Decoder >
}

fn main() {}
