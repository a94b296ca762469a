// `split`'s parts must add up to the input's size along the axis, checked when the call is
// built.
use nn::ops::{Axis, split};
use nn::prelude::*;

fn main() {
    let x = Tensor1::<5>::zeros();
    let (mut head, mut tail) = (Tensor1::<2>::zeros(), Tensor1::<2>::zeros());
    split(Axis::<0>, &x, &mut head, &mut tail);
}
