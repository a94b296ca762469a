// `slice` must end within the input along the axis (`START + LEN` at most its size), checked
// when the call is built.
use nn::ops::{Axis, Start, slice};
use nn::prelude::*;

fn main() {
    let x = Tensor2::<2, 4>::zeros();
    let mut out = Tensor2::<2, 2>::zeros();
    slice(Axis::<1>, Start::<3>, &x, &mut out);
}
