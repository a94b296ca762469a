// Rule: per-step labels need a network that keeps the steps (no `last`).
use nn::data::{Dataset, LastBatch, StepLabels};
use nn::prelude::*;
use nn::train::{CrossEntropy, Fit};

network! {
    pub struct Classifier< input(20, 3), lstm(3 -> 16), last, dense(16 -> 2) >
}

pub fn train(data: &Dataset<Shape2<20, 3>, StepLabels<20>>) -> Result<(), Box<dyn std::error::Error>> {
    let mut net = Classifier::seeded(0);
    let mut adam = Adam::new(1e-3);
    Fit::new(&mut net, &mut adam, CrossEntropy)
        .run(data.shuffled_batches::<16>(LastBatch::Drop, 0)?)?;
    Ok(())
}

fn main() {}
