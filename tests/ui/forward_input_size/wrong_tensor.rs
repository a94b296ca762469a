// Rule: `forward` takes a batch of exactly the network's input size.
use nn::prelude::*;

network! {
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

fn main() {
    let net = Mlp::seeded(0);
    let x = Tensor2::<1, 100>::zeros();
    let _ = net.forward(&x);
}
