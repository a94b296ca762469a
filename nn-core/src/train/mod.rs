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
//! With the `progress` feature, a bar shows each epoch's progress on a terminal; with the
//! `plots` feature, `History::write_png` draws the loss and metric curves and
//! `ConfusionMatrix::write_png` a classifier's confusion matrix (module `plot`).
//!
//! [`Batches`]: crate::data::Batches
//! [`LastBatch`]: crate::data::LastBatch

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
