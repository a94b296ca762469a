// Rule: a training forward (batch statistics, dropout masks) needs a training tape.
use nn::prelude::*;

network! {
    pub struct Net< input(1, 4, 4), conv2d(1 -> 2, kernel = 3), batch_norm, flatten, dense(8 -> 2) >
}

fn main() {
    let mut net = Net::seeded(0);
    let mut tape = NetTape::<8, Eval>::new();
    net.forward_train(&Tensor4::<8, 1, 4, 4>::zeros(), &mut tape);
}
