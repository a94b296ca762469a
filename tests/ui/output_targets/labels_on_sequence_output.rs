// Rule: one class label per sample needs one row of class scores per sample; a sequence output needs `last` or per-step labels.
use nn::data::{Dataset, LastBatch};
use nn::prelude::*;
use nn::train::{Accuracy, CrossEntropy, Fit};

network! {
    pub struct Seq< input(28, 28), lstm(28 -> 64), dense(64 -> 10) >
}

pub fn train(data: &Dataset<Shape2<28, 28>>) -> Result<(), Box<dyn std::error::Error>> {
    let mut net = Seq::seeded(0);
    let mut adam = Adam::new(1e-3);
    Fit::new(&mut net, &mut adam, CrossEntropy)
        .metric(Accuracy::default())
        .run(data.shuffled_batches::<64>(LastBatch::Drop, 0)?)?;
    Ok(())
}

fn main() {}
