// The file has the batch norm's parameters and running mean, not its running variance.
use nn::prelude::*;

network! {
    #[weights = "tests/ui/baked_weights/bn_no_running_var.safetensors"]
    pub struct Normed< fc1: dense(4 -> 3), bn: batch_norm >
}

fn main() {}
