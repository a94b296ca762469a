// `Mnist::load_as` reads each 28 × 28 image as a sample of 784 values: a shape of another size
// is a trait error under `cargo check`, naming the shape and the shapes to use.
use nn::data::mnist::Mnist;
use nn::prelude::*;

fn main() {
    let _ = Mnist::<Shape3<1, 14, 14>>::load_as("data/mnist");
}
