// `concat`'s output size must be the sum of its parts' along the axis; stable Rust cannot bound
// on a sum, so a const check reports it when the call is built, naming the axis, the sizes and
// the type to write.
use nn::ops::{Axis, concat};
use nn::prelude::*;

fn main() {
    let (a, c) = (Tensor2::<2, 3>::zeros(), Tensor2::<2, 2>::zeros());
    let mut out = Tensor2::<2, 4>::zeros();
    concat(Axis::<1>, &a, &c, &mut out);
}
