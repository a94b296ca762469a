// A budget in a unit the macro does not know: the error lists the ones it does.
use nn::prelude::*;

network! {
    #[weights = "tests/ui/baked_weights/fc1_100.safetensors"]
    #[budget(ram = "64 kib")]
    pub struct Tiny< fc1: dense(4 -> 100), relu, fc2: dense(100 -> 2) >
}

fn main() {}
