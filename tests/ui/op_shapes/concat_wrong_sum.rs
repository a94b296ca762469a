// Concatenating computes a size (3 + 3): the caller names it and a const assert checks it when
// the call is built.
use nn::ops::{Axis, concat};
use nn::prelude::*;

fn main() {
    let a = Tensor1::<3>::full(1.0);
    let b = Tensor1::<3>::full(2.0);
    let mut joined = Tensor1::<5>::zeros();
    concat(Axis::<0>, &a, &b, &mut joined);
}
