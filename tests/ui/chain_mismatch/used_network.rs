// Rule: a chain mismatch is one error, even in a program that uses the network (no cascade).
use nn::prelude::*;

network! {
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(64 -> 10) >
}

fn main() {
    let mut net = Mlp::seeded(0);
    let mut tape = MlpTape::<1>::new();
    let logits = net.forward_train(&Tensor2::<1, 784>::zeros(), &mut tape).clone();
    net.backward_params(&mut tape, &logits);
    assert_eq!(Mlp::PARAM_COUNT, 784 * 128 + 128 + 128 * 10 + 10);
}
