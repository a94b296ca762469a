// Stacking needs parts of one shape: a type equality, so this fails under `cargo check`.
use nn::ops::{Axis, stack};
use nn::prelude::*;

fn main() {
    let a = Tensor1::<3>::full(1.0);
    let c = Tensor1::<4>::full(2.0);
    let mut stacked = Tensor2::<2, 3>::zeros();
    stack(Axis::<0>, [&a, &c], &mut stacked);
}
