// Layer types may be written as `super::`, `crate::` and `self::` paths.
#![deny(warnings)]

mod nets {
    nn::network! {
        pub struct Encoder< fc: dense(3 -> 2) >
    }
}

mod models {
    use nn::prelude::*;

    network! {
        pub struct FromSuper< input(3), encoder: super::nets::Encoder, dense(2 -> 1) >
        pub struct FromCrate< input(3), encoder: crate::nets::Encoder, dense(2 -> 1) >
        pub struct FromSelf< input(3), inner: self::Local, dense(2 -> 1) >
        pub struct Local< dense(3 -> 2) >
    }
}

fn main() {
    use nn::prelude::*;
    let x = Tensor2::<1, 3>::full(1.0);
    assert_eq!(models::FromSuper::seeded(0).forward(&x).shape(), [1, 1]);
    assert_eq!(models::FromCrate::seeded(0).forward(&x).shape(), [1, 1]);
    assert_eq!(models::FromSelf::seeded(0).forward(&x).shape(), [1, 1]);
}
