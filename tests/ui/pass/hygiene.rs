// Valid: names a user may well pick do not collide with the generated code (the batch and mode
// parameters are `__B` and `__M`), and `network!` works inside users' own `macro_rules!`.
#![deny(warnings)]
use nn::prelude::*;

/// Networks named like the batch parameter and a neighbour, in one module. (A struct `B` and a
/// constant `B` in one module would be ambiguous in any Rust code, so the sizes live below.)
mod named {
    use nn::prelude::*;

    network! {
        pub struct B< dense(2 -> 3), relu, dense(3 -> 1) >
        pub struct N< input(2), fc: dense(2 -> 2), fork { a: [relu], b: skip } => add >
    }
}
use named::{B as NetB, BTape, N as NetN};

const B: usize = 3;
const N: usize = 4;
const T: usize = 2;
const IN: usize = 5;
const OUT: usize = 1;

network! {
    /// Sizes named like the generated code's own parameters once were.
    pub struct X< dense(IN -> N), tanh, dense(N -> B), relu, dense(B -> T), dense(T -> OUT) >
}

/// A library author's wrapper: the layers come as tokens, the nested network as a type.
macro_rules! declare {
    ($name:ident, $inner:ty, $($layer:tt)*) => {
        network! {
            pub struct $name< input(5), inner: $inner, $($layer)* >
        }
    };
}

network! {
    pub struct Inner< dense(5 -> 4), relu >
}

declare!(Wrapped, Inner, dense(4 -> 4), fork { a: [dense(4 -> 2)], b: [dense(4 -> 2), relu] } => concat, head: dense(4 -> 1));

fn main() {
    let mut tape = BTape::<8>::new();
    let mut b = NetB::seeded(0);
    let y: &Tensor2<8, 1> = b.forward_train(&Tensor2::<8, 2>::zeros(), &mut tape);
    assert_eq!(y.shape(), [8, 1]);
    let x: Tensor2<B, OUT> = X::seeded(1).forward(&Tensor2::<B, IN>::zeros());
    assert_eq!(x.shape(), [3, 1]);
    let n: Tensor2<1, 2> = NetN::seeded(3).forward(&Tensor2::<1, 2>::full(1.0));
    assert_eq!(n.shape(), [1, 2]);
    let mut wrapped = Wrapped::seeded(2);
    let mut tape = WrappedTape::<2>::new();
    wrapped.forward_train(&Tensor2::<2, 5>::full(0.5), &mut tape);
    let head: &Tensor2<2, 1> = tape.outputs().head;
    assert_eq!(head.shape(), [2, 1]);
    assert_eq!(Wrapped::LAYER_NAMES[0], "inner");
}
