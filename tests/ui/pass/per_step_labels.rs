// Per-step labels train a sequence tagger (no `last`): one class label per step, `(T, C)` scores.
use nn::data::{Dataset, LastBatch, StepLabels};
use nn::prelude::*;
use nn::train::{Accuracy, CrossEntropy, Fit, Progress, TopK, evaluate};

network! {
    pub struct Tagger< input(4, 2), lstm(2 -> 8), dense(8 -> 3) >
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = Dataset::<Shape2<4, 2>, StepLabels<4>>::per_step(
        (0..16).map(|v| v as f32 / 16.0).collect(),
        vec![0, 1, 2, 0, /**/ 2, 2, 1, 0],
        3,
    )?;
    let mut net = Tagger::seeded(0);
    let mut adam = Adam::new(1e-2);
    let history = Fit::new(&mut net, &mut adam, CrossEntropy)
        .metric(Accuracy::default())
        .metric(TopK::new(2))
        .progress(Progress::Silent)
        .run(data.shuffled_batches::<2>(LastBatch::Drop, 0)?)?;
    assert!(history.last().unwrap().loss.is_finite());
    let mut accuracy = Accuracy::default();
    let mut batches = data.sequential_batches::<2>(LastBatch::Pad)?;
    let result = evaluate(&net, &mut batches, &CrossEntropy, &mut [&mut accuracy])?;
    assert_eq!(result.samples, 2);
    assert!((0.0..=1.0).contains(&accuracy.value()));
    Ok(())
}
