// `concat_backward`'s part gradients must add up to the output gradient's size along the axis,
// checked when the call is built.
use nn::ops::{Axis, concat_backward};
use nn::prelude::*;

fn main() {
    let dy = Tensor3::<2, 3, 5>::zeros();
    let (mut da, mut dc) = (Tensor3::<2, 3, 2>::zeros(), Tensor3::<2, 3, 2>::zeros());
    concat_backward(Axis::<2>, &dy, &mut da, &mut dc);
}
