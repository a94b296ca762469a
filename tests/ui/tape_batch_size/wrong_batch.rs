// Rule: a tape serves one batch size; the input batch must match it.
use nn::prelude::*;

network! {
    pub struct Mlp< dense(4 -> 2) >
}

fn main() {
    let net = Mlp::seeded(0);
    let mut tape = MlpTape::<32>::new();
    let x = Tensor2::<64, 4>::zeros();
    let _ = net.forward_train(&x, &mut tape);
}
