// Rule: train and eval mode are types: backward needs a training tape, so it cannot follow
// an inference pass through batch norm and dropout.
use nn::prelude::*;

network! {
    pub struct Net< input(4), dense(4 -> 4), batch_norm, relu, dropout(0.5), dense(4 -> 2) >
}

fn main() {
    let mut net = Net::seeded(0);
    let mut tape = NetTape::<8, Eval>::new();
    let x = Tensor2::<8, 4>::zeros();
    net.infer(&x, &mut tape);
    net.backward(&mut tape, &Tensor2::<8, 2>::zeros());
}
