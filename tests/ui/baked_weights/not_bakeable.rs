// The recurrent kinds cannot be baked yet: the error is on the layer and says why.
use nn::prelude::*;

network! {
    #[weights = "tests/ui/baked_weights/fc1_100.safetensors"]
    #[baked_only]
    pub struct Sequence< input(4, 3), rnn(3 -> 4), flatten, fc1: dense(16 -> 2) >
}

fn main() {}
