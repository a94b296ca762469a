// `slice_backward`'s gradient must fit in the input gradient from its start along the axis,
// checked when the call is built.
use nn::ops::{Axis, Start, slice_backward};
use nn::prelude::*;

fn main() {
    let dy = Tensor2::<2, 3>::zeros();
    let mut dx = Tensor2::<2, 4>::zeros();
    slice_backward(Axis::<1>, Start::<2>, &dy, &mut dx);
}
