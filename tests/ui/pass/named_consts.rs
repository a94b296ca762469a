// Sizes may be named constants, paths and const blocks; several networks may share a module.
#![deny(warnings)]

use nn::prelude::*;

const IN: usize = 4;
const HIDDEN: usize = 8;

mod sizes {
    pub const OUT: usize = 2;
}

network! {
    struct Encoder< dense(IN -> HIDDEN), tanh, dense(HIDDEN -> { HIDDEN / 2 }) >
}

network! {
    struct Head< dense({ HIDDEN / 2 } -> sizes::OUT), softmax >

    struct Other< fc: dense(IN -> 1) >
}

fn main() {
    let x = Tensor2::<3, IN>::zeros();
    let z = Encoder::seeded(0).forward(&x);
    let p = Head::seeded(0).forward(&z);
    assert_eq!(p.shape(), [3, sizes::OUT]);
    assert_eq!(Other::PARAM_COUNT, IN + 1);
}
