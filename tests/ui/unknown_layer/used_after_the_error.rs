// Rule: after an unknown layer, the program's uses of the network and its tape are still
// accepted, so the one mistake is the only error.
use nn::prelude::*;

network! {
    pub struct Mlp< fc1: dense(784 -> 128), pooling, fc2: dense(128 -> 10) >
}

fn main() {
    let mut net = Mlp::seeded(0);
    let mut tape = MlpTape::<2>::new();
    let x = Tensor2::<2, 784>::zeros();
    let logits: &Tensor2<2, 10> = net.forward_train(&x, &mut tape);
    let dy = logits.clone();
    net.zero_grad();
    net.backward_params(&mut tape, &dy);
    let mut eval = MlpTape::<1, Eval>::new();
    let _: &Tensor2<1, 10> = net.infer(&Tensor2::<1, 784>::zeros(), &mut eval);
    Adam::new(1e-3).step(&mut net).expect("one optimizer per model");
}
