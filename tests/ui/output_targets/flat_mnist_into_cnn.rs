// Rule: the batches' sample shape is the network's input; flat MNIST does not feed a conv network.
use nn::data::{LastBatch, mnist::Mnist};
use nn::prelude::*;
use nn::train::{CrossEntropy, Fit};

network! {
    pub struct Cnn< input(1, 28, 28), conv2d(1 -> 4, kernel = 3), relu, flatten, dense(2704 -> 10) >
}

pub fn train() -> Result<(), Box<dyn std::error::Error>> {
    let mnist = Mnist::load("data/mnist")?;
    let mut net = Cnn::seeded(0);
    let mut adam = Adam::new(1e-3);
    Fit::new(&mut net, &mut adam, CrossEntropy)
        .run(mnist.train.shuffled_batches::<64>(LastBatch::Drop, 0)?)?;
    Ok(())
}

fn main() {}
