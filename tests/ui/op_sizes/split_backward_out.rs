// `split_backward`'s input gradient must be as long as both part gradients along the axis,
// checked when the call is built.
use nn::ops::{Axis, split_backward};
use nn::prelude::*;

fn main() {
    let (da, dc) = (Tensor4::<2, 1, 4, 4>::zeros(), Tensor4::<2, 2, 4, 4>::zeros());
    let mut dx = Tensor4::<2, 4, 4, 4>::zeros();
    split_backward(Axis::<1>, &da, &dc, &mut dx);
}
