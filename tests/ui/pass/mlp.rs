// A valid declaration compiles, in a crate that denies warnings and forbids unsafe code.
#![deny(warnings, missing_docs)]
#![forbid(unsafe_code)]
//! A user crate.

use nn::prelude::*;

network! {
    /// MNIST classifier
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

network! {
    struct Private< dense(2 -> 3), leaky_relu(0.2), dense(3 -> 1), sigmoid >
}

fn main() {
    let net = Mlp::seeded(0);
    let y = net.forward(&Tensor2::<1, 784>::zeros());
    assert_eq!(y.shape(), [1, 10]);
    let _ = Private::seeded(1);
}
