// Rule: only named layers are readable and open to injected gradients; another name is an error.
use nn::prelude::*;

network! {
    pub struct Net< input(4), hidden: dense(4 -> 3), tanh, out: dense(3 -> 2) >
}

fn main() {
    let net = Net::seeded(0);
    let mut tape = NetTape::<1>::new();
    net.forward_train(&Tensor2::zeros(), &mut tape);
    let _ = tape.outputs().hiden;
    let _ = NetInject::<1> {
        fc9: None,
        ..Default::default()
    };
}
