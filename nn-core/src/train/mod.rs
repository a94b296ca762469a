//! Training as Keras users know it: [`Fit`] (`model.fit`), [`evaluate`] and [`predict`]
//! over whole datasets, a [`History`] of every epoch, [`Callback`]s (early stopping,
//! learning-rate schedules, your own), losses and metrics that work one sample at a time.
//! Needs the `std` feature.
//!
//! | Keras | here |
//! |---|---|
//! | `model.fit(x, y, batch_size=64, epochs=10)` | `Fit::new(&mut net, &mut adam, CrossEntropy).epochs(10).run(Batches::<64, _>::shuffled(&train, LastBatch::Drop, seed)?)` |
//! | `validation_data=(x, y)`, `validation_steps` | [`Fit::validation`], [`Fit::validation_steps`] |
//! | `steps_per_epoch` with `.repeat()` | [`Fit::steps_per_epoch`] |
//! | `metrics=["accuracy"]` | [`Fit::metric`] with [`Accuracy`], [`TopK`], [`Mse`], [`Mae`], [`metric_fn`] |
//! | `callbacks=[EarlyStopping(...)]` | [`Fit::callback`] with [`EarlyStopping`], [`LearningRateSchedule`], [`StopOnNonFinite`], `ModelCheckpoint` (feature `safetensors`) |
//! | `initial_epoch` (resume) | [`Fit::initial_epoch`], after `nn::weights::load_checkpoint` |
//! | `history.history["val_loss"]` | [`History::series`], [`History::to_csv`], [`History::to_json`] |
//! | `model.evaluate`, `model.predict` | [`evaluate`], [`predict`] |
//!
//! The batch size is a const generic, so it comes with the batches: [`Batches`]`::<64, _>`.
//! A last partial batch is filled by the batches' [`LastBatch`] policy; `fit`, `evaluate` and
//! `predict` leave the padding rows out of every loss, metric, gradient and prediction, so a
//! dataset of any length needs no second tape.
//!
//! # What `fit` checks
//! [`Fit::run`], [`Fit::validation`], [`evaluate`] and [`predict`] compare the data with the
//! network before anything runs. The first two rules are trait bounds, so a mismatch is one
//! compile error (under `cargo check`) that names the network, both shapes and the fix:
//!
//! - **The batches' sample shape is the network's input.** A `Dataset<Features<784>>` feeds a
//!   network whose first layer is `dense(784 -> ..)`; a network declared with
//!   `input(1, 28, 28)` takes `Dataset<Shape3<1, 28, 28>>` (MNIST: [`Mnist::load`] gives
//!   flat samples, [`Mnist::load_images`] images). Bound: [`InputBatch`].
//! - **The targets fit the output** ([`TargetsFor`], with what the network gives per sample
//!   read off its output type, [`LayerShapes`]):
//!   - class labels, one per sample ([`Labels`], [`Dataset::new`]), need one row of class
//!     scores per sample, `Features<C>`. A recurrent network without `last` gives `(T, C)`
//!     per sample, one row per step: treating it as one `T·C`-way softmax would train to
//!     chance without a word, so it does not compile; add `last` to classify each sequence,
//!     or label every step;
//!   - per-step labels, `T` per sample ([`StepLabels<T>`], [`Dataset::per_step`]), need
//!     `(T, C)` scores, `Shape2<T, C>`: a sequence tagger. [`CrossEntropy`], [`Accuracy`] and
//!     [`TopK`] average over the steps (every step of every sample weighs the same);
//!   - values ([`Values<S>`]: [`Dataset::regression`], [`Dataset::autoencoder`]) need an
//!     output of shape `S` itself.
//! - **The class count is the network's**: a dataset whose [`classes`](crate::data::Dataset::classes) is
//!   not the network's class scores per sample (per step) stops `fit` and `evaluate` before
//!   the first step with [`TrainError::ClassCountMismatch`], naming both numbers.
//!
//! The losses and metrics themselves stay per sample and shape-free ([`Loss<T>`],
//! [`Metric<T>`] take one sample's output as a slice), so one loss serves every network.
//!
//! A sequence tagger labels every step; here each step's label is the sign of its value, and a
//! per-step dense layer learns it:
//!
//! ```
//! use nn_core::data::{Dataset, LastBatch, StepLabels};
//! use nn_core::layers::{SequenceDense, Shape2};
//! use nn_core::optim::Adam;
//! use nn_core::train::{Accuracy, CrossEntropy, Fit, Progress};
//!
//! // 64 sequences of 5 steps of 1 value; 5 labels per sequence, one per step.
//! let xs: Vec<f32> = (0..64 * 5).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
//! let labels = xs.iter().map(|&x| usize::from(x > 0.0)).collect();
//! let data = Dataset::<Shape2<5, 1>, StepLabels<5>>::per_step(xs, labels, 2)?;
//!
//! // `(5, 1)` in, `(5, 2)` class scores out: a `network!` with a recurrent layer and no `last`
//! // gives the same shape.
//! let mut net = SequenceDense::<5, 1, 2>::new(&mut nn_core::init::seeded(0));
//! let mut adam = Adam::new(0.1);
//! let history = Fit::new(&mut net, &mut adam, CrossEntropy)
//!     .epochs(20)
//!     .metric(Accuracy::default())
//!     .progress(Progress::Silent)
//!     .run(data.shuffled_batches::<8>(LastBatch::Drop, 0)?)?;
//! assert!(history.last().unwrap().get("accuracy").unwrap() > 0.95); // over every step
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! One label per sample on that `(5, 2)` output does not compile:
//!
//! ```compile_fail,E0277
//! use nn_core::data::{Dataset, LastBatch};
//! use nn_core::layers::{SequenceDense, Shape2};
//! use nn_core::optim::Adam;
//! use nn_core::train::{CrossEntropy, Fit};
//!
//! let data = Dataset::<Shape2<5, 1>>::new(vec![0.0; 10], vec![0, 1], 2)?;
//! let mut net = SequenceDense::<5, 1, 2>::new(&mut nn_core::init::seeded(0));
//! let mut adam = Adam::new(0.1);
//! // `SequenceDense<5, 1, 2>` gives `Shape2<5, 2>` per sample, but labels of one class per
//! // sample need one row of class scores, `Features<C>`
//! Fit::new(&mut net, &mut adam, CrossEntropy).run(data.shuffled_batches::<2>(LastBatch::Drop, 0)?)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With the `progress` feature, a bar shows each epoch's progress on a terminal; with the
//! `plots` feature, `History::write_png` draws the loss and metric curves and
//! `ConfusionMatrix::write_png` a classifier's confusion matrix (module `plot`).
//!
//! [`Batches`]: crate::data::Batches
//! [`LastBatch`]: crate::data::LastBatch
//! [`Mnist::load`]: crate::data::mnist::Mnist::load
//! [`Mnist::load_images`]: crate::data::mnist::Mnist::load_images
//! [`Labels`]: crate::data::Labels
//! [`StepLabels<T>`]: crate::data::StepLabels
//! [`Values<S>`]: crate::data::Values
//! [`Dataset::new`]: crate::data::Dataset::new
//! [`Dataset::per_step`]: crate::data::Dataset::per_step
//! [`Dataset::regression`]: crate::data::Dataset::regression
//! [`Dataset::autoencoder`]: crate::data::Dataset::autoencoder
//! [`Dataset::classes`]: crate::data::Dataset::classes

mod callbacks;
mod confusion;
mod fit;
mod history;
mod loss;
mod metric;
#[cfg(feature = "plots")]
pub mod plot;
mod progress;
mod shapes;

#[cfg(feature = "safetensors")]
pub use callbacks::ModelCheckpoint;
pub use callbacks::{
    Callback, Context, Control, EarlyStopping, LearningRateSchedule, StopOnNonFinite,
};
pub use confusion::ConfusionMatrix;
pub use fit::{Evaluation, Fit, NoValidation, Validation, ValidationSet, evaluate, predict};
pub use history::{EpochLog, History};
pub use loss::{BinaryCrossEntropyWithLogits, CrossEntropy, Loss, MeanSquaredError};
pub use metric::{Accuracy, BoxedMetric, FnMetric, Mae, Metric, Mse, TopK, metric_fn};
pub use progress::Progress;
pub use shapes::{ClassScores, InputBatch, LayerShapes, StepScores, TargetShape, TargetsFor};

use std::string::String;

use crate::data::DataError;
use crate::optim::OptimError;

/// Why training stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// `Fit::threads` was given 0.
    #[cfg(feature = "threading")]
    #[error("Fit::threads: {0}")]
    Threads(crate::linalg::threads::ThreadsError),
    /// A step's loss was NaN or infinite: the data, the learning rate or the model diverged.
    #[error(
        "epoch {epoch}, step {step}: the loss is {loss}; training stopped before the bad step could \
         change the weights further (check the data and the learning rate, or turn this check off \
         with `Fit::check_finite(false)`)"
    )]
    NonFiniteLoss {
        /// The epoch, from 1.
        epoch: usize,
        /// The step within the epoch, from 1.
        step: usize,
        /// The loss.
        loss: f32,
    },
    /// The training or validation data holds a non-finite value, or cannot be batched.
    #[error("{0}")]
    Data(#[from] DataError),
    /// A target does not fit the network's output (a label out of range, say).
    #[error("epoch {epoch}, step {step}: {source}")]
    Target {
        /// The epoch, from 1 (0 in an evaluation outside `fit`).
        epoch: usize,
        /// The step, from 1.
        step: usize,
        /// What does not fit.
        source: crate::Error,
    },
    /// The dataset's class count is not the network's class scores per sample (per step for
    /// per-step labels): a label could be out of range, or a class never predicted.
    #[error(
        "`{network}` gives {outputs} class scores, but the {data} data has {classes} classes; \
         make the network's last layer give {classes} (`dense(.. -> {classes})`), or make the \
         dataset with {outputs} classes"
    )]
    ClassCountMismatch {
        /// The network's type.
        network: &'static str,
        /// Its class scores per sample (per step).
        outputs: usize,
        /// The dataset's classes.
        classes: usize,
        /// Which data: `training`, `validation` or `evaluation`.
        data: &'static str,
    },
    /// The optimizer refused a step.
    #[error("epoch {epoch}, step {step}: {source}")]
    Optimizer {
        /// The epoch, from 1.
        epoch: usize,
        /// The step within the epoch, from 1.
        step: usize,
        /// The optimizer's error.
        source: OptimError,
    },
    /// Evaluation batches under [`LastBatch::Drop`](crate::data::LastBatch::Drop) would leave
    /// samples out.
    #[error(
        "{samples} samples in batches of {batch} under LastBatch::Drop leave {dropped} out of the \
         evaluation; make the batches with LastBatch::Pad (padding rows are not counted)"
    )]
    WouldDropSamples {
        /// The dataset's samples.
        samples: usize,
        /// The batch size.
        batch: usize,
        /// How many would not be counted.
        dropped: usize,
    },
    /// A callback monitors a name no epoch logs.
    #[error(
        "no epoch logs `{name}` (logged: loss, the metrics' names, and val_ forms with validation data)"
    )]
    UnknownMonitor {
        /// The name asked for.
        name: String,
    },
    /// A callback failed to write a file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A checkpoint could not be saved.
    #[cfg(feature = "safetensors")]
    #[error("saving a checkpoint: {source}")]
    Save {
        /// The checkpoint's path.
        path: std::path::PathBuf,
        /// Why.
        source: crate::weights::SaveError,
    },
}
