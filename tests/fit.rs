//! `Fit`, `evaluate` and `predict` on generated networks: the same arithmetic as a hand-written
//! loop, the epoch and batch rules, early stopping, schedules and the numerics checks.

use std::cell::RefCell;
use std::rc::Rc;

use nn::data::{Batches, DataError, Dataset, LastBatch, StepLabels, Values};
use nn::layers::Features;
use nn::param::{Param, ParamPath};
use nn::prelude::*;
use nn::train::{
    Accuracy, Callback, Context, Control, CrossEntropy, EarlyStopping, EpochLog, Fit,
    LearningRateSchedule, MeanSquaredError, Metric, Mse, Progress, TopK, TrainError, evaluate,
    predict,
};

network! {
    pub struct Classifier< fc1: dense(4 -> 16), relu, fc2: dense(16 -> 3) >
}

network! {
    pub struct Regressor< fc1: dense(2 -> 8), tanh, fc2: dense(8 -> 1) >
}

/// `n` samples of 4 features; the class is which of the first three features is largest.
fn blobs(n: usize, seed: u64) -> Dataset<Features<4>> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let mut inputs = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..n {
        let x = [uniform(), uniform(), uniform(), uniform()];
        labels.push(argmax(&x[..3]));
        inputs.extend_from_slice(&x);
    }
    Dataset::new(inputs, labels, 3).unwrap()
}

fn weights(net: &mut impl HasParams) -> Vec<f32> {
    let mut all = Vec::new();
    net.visit_params(
        &ParamPath::root(),
        &mut |_: &ParamPath<'_>, p: Param<'_>| all.extend_from_slice(p.value),
    );
    all
}

#[test]
fn fit_takes_the_same_steps_as_a_hand_written_loop() {
    let data = blobs(200, 1);
    let mut by_hand = Classifier::seeded(3);
    let mut adam = Adam::new(0.01);
    let mut batches = Batches::<16, _>::shuffled(&data, LastBatch::Drop, 9).unwrap();
    let mut batch = nn::data::Batch::new();
    let mut tape = ClassifierTape::<16>::new();
    let mut dlogits = Tensor2::<16, 3>::zeros();
    for _epoch in 0..3 {
        while batches.fill_next(&mut batch).is_some() {
            by_hand.zero_grad();
            let logits = by_hand.forward_train(batch.inputs(), &mut tape);
            softmax_cross_entropy(logits, batch.labels(), &mut dlogits).unwrap();
            by_hand.backward_params(&mut tape, &dlogits);
            adam.step(&mut by_hand).unwrap();
        }
    }

    let mut fitted = Classifier::seeded(3);
    let mut adam = Adam::new(0.01);
    let history = Fit::new(&mut fitted, &mut adam, CrossEntropy)
        .epochs(3)
        .progress(Progress::Silent)
        .run(Batches::<16, _>::shuffled(&data, LastBatch::Drop, 9).unwrap())
        .unwrap();
    assert_eq!(history.epochs.len(), 3);
    assert_eq!(history.epochs[0].steps, 200 / 16);
    assert_eq!(weights(&mut fitted), weights(&mut by_hand));
}

#[test]
fn fit_learns_and_reports_metrics_and_validation() {
    let (train, validation) = blobs(600, 2).split_validation(0.25, 0).unwrap();
    let mut net = Classifier::seeded(0);
    let mut adam = Adam::new(0.01);
    let history = Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(15)
        .metric(Accuracy::default())
        .metric(TopK::new(2))
        .validation(Batches::<64, _>::sequential(&validation, LastBatch::Pad).unwrap())
        .progress(Progress::Silent)
        .run(Batches::<32, _>::shuffled(&train, LastBatch::Drop, 0).unwrap())
        .unwrap();
    let first = &history.epochs[0];
    let last = history.last().unwrap();
    assert!(last.loss < first.loss / 2.0, "{first:?} -> {last:?}");
    assert!(last.get("val_accuracy").unwrap() > 0.85, "{last:?}");
    assert!(last.get("top_2_accuracy").unwrap() >= last.get("accuracy").unwrap());
    assert_eq!(history.series("val_loss").len(), 15);

    // `evaluate` on the same set agrees with the last epoch's validation.
    let mut accuracy = Accuracy::default();
    let mut batches = Batches::<64, _>::sequential(&validation, LastBatch::Pad).unwrap();
    let result = evaluate(&net, &mut batches, &CrossEntropy, &mut [&mut accuracy]).unwrap();
    assert_eq!(result.samples, validation.len());
    assert!((result.loss - last.val_loss.unwrap()).abs() < 1e-9);
    assert_eq!(accuracy.value(), last.get("val_accuracy").unwrap());

    // `predict` gives one row per sample, and its argmax is that accuracy.
    let outputs = predict(&net, &mut batches).unwrap();
    assert_eq!(outputs.len(), validation.len() * 3);
    let right = outputs
        .chunks(3)
        .zip(validation.labels())
        .filter(|(row, label)| argmax(row) == **label)
        .count();
    assert_eq!(right as f64 / validation.len() as f64, accuracy.value());
}

#[test]
fn steps_per_epoch_repeats_the_data_and_pad_counts_every_sample() {
    let data = blobs(100, 3);
    let mut net = Classifier::seeded(0);
    let mut adam = Adam::new(0.01);
    // 100 samples are 3 whole batches of 32 per pass; 5 steps continue into the next pass.
    let history = Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(2)
        .steps_per_epoch(5)
        .progress(Progress::Silent)
        .run(Batches::<32, _>::shuffled(&data, LastBatch::Drop, 0).unwrap())
        .unwrap();
    assert!(
        history
            .epochs
            .iter()
            .all(|log| log.steps == 5 && log.samples == 160)
    );

    // Under Pad, the last batch of each pass has 4 new samples: 100 in all.
    let history = Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(2)
        .progress(Progress::Silent)
        .run(Batches::<32, _>::shuffled(&data, LastBatch::Pad, 0).unwrap())
        .unwrap();
    assert!(
        history
            .epochs
            .iter()
            .all(|log| log.steps == 4 && log.samples == 100)
    );

    // Evaluating under Drop would leave 4 samples out: an error, not a silent undercount.
    let mut batches = Batches::<32, _>::sequential(&data, LastBatch::Drop).unwrap();
    let err = evaluate(&net, &mut batches, &CrossEntropy, &mut []).unwrap_err();
    assert!(
        matches!(err, TrainError::WouldDropSamples { dropped: 4, .. }),
        "{err}"
    );
}

#[test]
fn regression_and_autoencoder_targets() {
    // y = x0 - 2 x1 on a grid.
    let xs: Vec<f32> = (0..64)
        .flat_map(|i| [(i % 8) as f32 / 8.0, (i / 8) as f32 / 8.0])
        .collect();
    let ys: Vec<f32> = xs.chunks(2).map(|x| x[0] - 2.0 * x[1]).collect();
    let data = Dataset::<Features<2>, Values<Features<1>>>::regression(xs, ys).unwrap();
    let mut net = Regressor::seeded(0);
    let mut adam = Adam::new(0.02);
    let history = Fit::new(&mut net, &mut adam, MeanSquaredError)
        .epochs(60)
        .metric(Mse::default())
        .progress(Progress::Silent)
        .run(data.shuffled_batches::<16>(LastBatch::Drop, 0).unwrap())
        .unwrap();
    let last = history.last().unwrap();
    assert!(last.loss < 0.01, "{last:?}");
    // The MSE metric is the loss (both are the mean over every value).
    assert!((last.get("mse").unwrap() - last.loss).abs() < 1e-5);

    let pixels = Dataset::<Features<4>, _>::autoencoder(blobs(10, 0).inputs().to_vec()).unwrap();
    assert_eq!(pixels.targets().as_slice(), pixels.inputs());
}

/// Scripted per-epoch values of a metric named `score`, to drive early stopping exactly.
struct Scripted {
    values: Vec<f64>,
    epoch: usize,
}

impl Metric<nn::data::Labels> for Scripted {
    fn name(&self) -> &str {
        "score"
    }
    fn reset(&mut self) {
        self.epoch += 1;
    }
    fn update(&mut self, _: &[f32], _: usize) -> Result<(), nn::Error> {
        Ok(())
    }
    fn value(&self) -> f64 {
        self.values[self.epoch - 1]
    }
}

/// Records the weights after every epoch.
struct Snapshots(Rc<RefCell<Vec<Vec<f32>>>>);

impl Callback for Snapshots {
    fn on_epoch_end(&mut self, cx: &mut Context<'_>, _: &EpochLog) -> Result<Control, TrainError> {
        let mut weights = Vec::new();
        cx.snapshot_weights(&mut weights);
        self.0.borrow_mut().push(weights);
        Ok(Control::Continue)
    }
}

#[test]
fn early_stopping_stops_at_the_right_epoch_and_restores_the_best_weights() {
    let data = blobs(64, 4);
    let mut net = Classifier::seeded(0);
    let mut adam = Adam::new(0.01);
    let snapshots = Rc::new(RefCell::new(Vec::new()));
    // Lower is better for `score`; the best is epoch 3, then 2 epochs without improvement
    // (3.05 is not better by min_delta 0.1).
    let scores = vec![5.0, 4.0, 3.0, 3.05, 3.5, 1.0, 1.0, 1.0];
    let history = Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(8)
        .metric(Scripted {
            values: scores,
            epoch: 0,
        })
        .callback(Snapshots(snapshots.clone()))
        .callback(
            EarlyStopping::new("score")
                .patience(2)
                .min_delta(0.1)
                .restore_best_weights(),
        )
        .progress(Progress::Silent)
        .run(Batches::<16, _>::shuffled(&data, LastBatch::Drop, 0).unwrap())
        .unwrap();
    assert_eq!(history.epochs.len(), 5, "stops after epoch 3 + patience 2");
    assert_eq!(history.stopped_early_after, Some(5));
    let snapshots = snapshots.borrow();
    assert_ne!(
        snapshots[2], snapshots[4],
        "training moved the weights after epoch 3"
    );
    assert_eq!(weights(&mut net), snapshots[2][..weights(&mut net).len()]);
}

#[test]
fn learning_rate_schedules_set_each_epochs_rate() {
    let data = blobs(64, 5);
    let mut net = Classifier::seeded(0);
    let mut adam = Adam::new(0.1);
    let history = Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(5)
        .callback(LearningRateSchedule::step(2, 0.5))
        .progress(Progress::Silent)
        .run(Batches::<16, _>::shuffled(&data, LastBatch::Drop, 0).unwrap())
        .unwrap();
    assert_eq!(
        history.series("learning_rate"),
        [0.1, 0.1, 0.05, 0.05, 0.025].map(|r: f32| f64::from(r))
    );

    // A schedule that reaches 0 is refused by the optimizer at the first step with it.
    let mut adam = Adam::new(0.1);
    let err = Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(3)
        .callback(LearningRateSchedule::step(1, 0.0))
        .progress(Progress::Silent)
        .run(Batches::<16, _>::shuffled(&data, LastBatch::Drop, 0).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::Optimizer {
                epoch: 2,
                step: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn one_nan_pixel_is_an_error_that_names_the_sample() {
    // The experiment that used to end at 11 % accuracy without a word: one NaN pixel in one
    // of the training images.
    let mut data = blobs(500, 6);
    data.inputs_mut()[4 * 321 + 2] = f32::NAN;
    let mut net = Classifier::seeded(0);
    let mut adam = Adam::new(0.01);
    let err = Fit::new(&mut net, &mut adam, CrossEntropy)
        .progress(Progress::Silent)
        .run(Batches::<16, _>::shuffled(&data, LastBatch::Drop, 0).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::Data(DataError::NonFinite {
                sample: 321,
                offset: 2,
                ..
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("sample 321"), "{err}");

    // And the pixel does reach the loss: relu passes NaN on, so the step would see it.
    let mut x = Tensor2::<1, 4>::full(0.5);
    x.as_mut_slice()[2] = f32::NAN;
    assert!(net.forward(&x).as_slice().iter().all(|v| v.is_nan()));
}

#[test]
fn a_diverging_run_stops_with_the_epoch_and_step() {
    let data = blobs(256, 7);
    let mut net = Classifier::seeded(0);
    // Far too high a rate for plain SGD: the logits overflow within a few steps.
    let mut sgd = Sgd::new(1e30);
    let err = Fit::new(&mut net, &mut sgd, CrossEntropy)
        .epochs(3)
        .progress(Progress::Silent)
        .run(Batches::<16, _>::shuffled(&data, LastBatch::Drop, 0).unwrap())
        .unwrap_err();
    let TrainError::NonFiniteLoss { epoch, step, loss } = err else {
        panic!("{err}");
    };
    assert!(
        !loss.is_finite() && epoch == 1 && step > 1,
        "{epoch} {step} {loss}"
    );
}

#[test]
fn a_class_count_that_is_not_the_networks_is_an_error_before_the_first_step() {
    let mut net = Classifier::seeded(0);
    let before = weights(&mut net);
    let mut adam = Adam::new(0.01);
    // 5 classes for a network of 3 class scores: label 4 could not be scored.
    let five = Dataset::<Features<4>>::new(vec![0.0; 8], vec![0, 4], 5).unwrap();
    let err = Fit::new(&mut net, &mut adam, CrossEntropy)
        .progress(Progress::Silent)
        .run(Batches::<2, _>::sequential(&five, LastBatch::Drop).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::ClassCountMismatch {
                outputs: 3,
                classes: 5,
                data: "training",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "`fit::Classifier` gives 3 class scores, but the training data has 5 classes; make the \
         network's last layer give 5 (`dense(.. -> 5)`), or make the dataset with 3 classes"
    );
    assert_eq!(weights(&mut net), before, "no step was taken");

    // Fewer classes than scores is a mistake too, in the validation data and in `evaluate`.
    let two = Dataset::<Features<4>>::new(vec![0.0; 8], vec![0, 1], 2).unwrap();
    let three = blobs(32, 9);
    let err = Fit::new(&mut net, &mut adam, CrossEntropy)
        .validation(Batches::<2, _>::sequential(&two, LastBatch::Pad).unwrap())
        .progress(Progress::Silent)
        .run(Batches::<16, _>::sequential(&three, LastBatch::Drop).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::ClassCountMismatch {
                outputs: 3,
                classes: 2,
                data: "validation",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(weights(&mut net), before, "no step was taken");
    let mut batches = Batches::<2, _>::sequential(&two, LastBatch::Pad).unwrap();
    let err = evaluate(&net, &mut batches, &CrossEntropy, &mut []).unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::ClassCountMismatch {
                data: "evaluation",
                ..
            }
        ),
        "{err}"
    );
}

network! {
    /// A sequence tagger: a GRU over the steps and a per-step dense, no `last`, so the output
    /// is `(STEPS, 2)` class scores per sample.
    pub struct Tagger< input(STEPS, 1), gru(1 -> 16), dense(16 -> 2) >
}

const STEPS: usize = 10;

/// `n` sequences of `STEPS` values in [-1, 1]; step `t`'s label is the sign of the value at
/// step `t - 1` (1 when positive; 0 at the first step), which only a network that remembers
/// the previous step can tell.
fn previous_sign(n: usize, seed: u64) -> Dataset<Shape2<STEPS, 1>, StepLabels<STEPS>> {
    let mut state = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    let inputs: Vec<f32> = (0..n * STEPS).map(|_| uniform()).collect();
    let labels = inputs
        .chunks(STEPS)
        .flat_map(|x| (0..STEPS).map(move |t| usize::from(t > 0 && x[t - 1] > 0.0)))
        .collect();
    Dataset::per_step(inputs, labels, 2).unwrap()
}

#[test]
fn a_per_step_tagger_learns_from_per_step_labels() {
    let (train, validation) = previous_sign(600, 1).split_validation(0.2, 0).unwrap();
    let mut net = Tagger::seeded(0);
    let mut adam = Adam::new(0.01);
    let history = Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(12)
        .metric(Accuracy::default())
        .validation(validation.sequential_batches::<64>(LastBatch::Pad).unwrap())
        .progress(Progress::Silent)
        .run(train.shuffled_batches::<32>(LastBatch::Drop, 0).unwrap())
        .unwrap();
    let (first, last) = (&history.epochs[0], history.last().unwrap());
    // Predicting the current step's sign, or always 1, is right about half the time.
    assert!(
        last.get("val_accuracy").unwrap() > 0.95,
        "{first:?} -> {last:?}"
    );
    assert!(last.loss < first.loss / 3.0, "{first:?} -> {last:?}");

    // The accuracy is over steps: `predict`'s `(STEPS, 2)` rows, step by step.
    let mut batches = validation.sequential_batches::<64>(LastBatch::Pad).unwrap();
    let outputs = predict(&net, &mut batches).unwrap();
    assert_eq!(outputs.len(), validation.len() * STEPS * 2);
    let right = outputs
        .chunks(2)
        .zip(validation.targets().as_slice())
        .filter(|(scores, label)| argmax(scores) == **label)
        .count();
    let per_step = right as f64 / (validation.len() * STEPS) as f64;
    assert!((per_step - last.get("val_accuracy").unwrap()).abs() < 1e-9);
}

#[test]
fn a_run_resumed_from_its_checkpoint_ends_bit_identical() {
    use nn::train::ModelCheckpoint;
    let data = blobs(200, 8);
    let dir = std::env::temp_dir().join(format!("nn-fit-resume-{}", std::process::id()));
    let batches = || data.shuffled_batches::<16>(LastBatch::Drop, 11).unwrap();

    let mut straight = Classifier::seeded(0);
    let mut adam = Adam::new(0.01);
    Fit::new(&mut straight, &mut adam, CrossEntropy)
        .epochs(3)
        .progress(Progress::Silent)
        .run(batches())
        .unwrap();

    // 1 epoch, a checkpoint after it, and everything dropped.
    {
        let mut net = Classifier::seeded(0);
        let mut adam = Adam::new(0.01);
        Fit::new(&mut net, &mut adam, CrossEntropy)
            .epochs(1)
            .callback(ModelCheckpoint::every(
                1,
                dir.join("epoch-{epoch}.safetensors").display().to_string(),
            ))
            .callback(ModelCheckpoint::best(
                "loss",
                dir.join("best.safetensors").display().to_string(),
            ))
            .progress(Progress::Silent)
            .run(batches())
            .unwrap();
    }
    assert!(dir.join("best.safetensors").exists());
    // A fresh network and optimizer, restored, train epochs 2 and 3.
    let mut resumed = Classifier::seeded(99);
    let mut adam = Adam::new(0.5);
    let checkpoint =
        nn::weights::load_checkpoint(dir.join("epoch-1.safetensors"), &mut resumed, &mut adam)
            .unwrap();
    assert_eq!(checkpoint.epoch, 1);
    let history = Fit::new(&mut resumed, &mut adam, CrossEntropy)
        .initial_epoch(1)
        .epochs(3)
        .progress(Progress::Silent)
        .run(batches())
        .unwrap();
    assert_eq!(
        history.epochs.iter().map(|l| l.epoch).collect::<Vec<_>>(),
        [2, 3]
    );
    assert_eq!(weights(&mut resumed), weights(&mut straight));
    std::fs::remove_dir_all(&dir).unwrap();
}
