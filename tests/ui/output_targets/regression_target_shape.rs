// Rule: a regression target has the shape of the network's output.
use nn::data::{Dataset, LastBatch, Values};
use nn::prelude::*;
use nn::train::{Fit, MeanSquaredError};

network! {
    pub struct Regressor< dense(2 -> 8), tanh, dense(8 -> 1) >
}

pub fn train(data: &Dataset<Features<2>, Values<Features<2>>>) -> Result<(), Box<dyn std::error::Error>> {
    let mut net = Regressor::seeded(0);
    let mut adam = Adam::new(1e-3);
    Fit::new(&mut net, &mut adam, MeanSquaredError)
        .run(data.shuffled_batches::<16>(LastBatch::Drop, 0)?)?;
    Ok(())
}

fn main() {}
