//! Callbacks: code that `fit` runs at the start and end of every epoch, to stop early,
//! change the learning rate, save checkpoints, or anything a user needs.

use std::string::String;
use std::vec::Vec;

use super::{EpochLog, History, TrainError};

/// Whether training goes on after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Train the next epoch.
    Continue,
    /// Stop after this epoch (`fit` returns the history so far).
    Stop,
}

/// What a callback can see and change: the epoch, the history so far, the learning rate and
/// the network's weights.
pub struct Context<'c> {
    /// The epoch about to start (in `on_epoch_begin`) or just finished, from 1.
    pub epoch: usize,
    /// The last epoch `fit` will train, unless stopped.
    pub epochs: usize,
    /// Every finished epoch's log.
    pub history: &'c History,
    pub(crate) state: &'c mut dyn TrainState,
}

impl Context<'_> {
    /// The optimizer's learning rate.
    pub fn learning_rate(&self) -> f32 {
        self.state.learning_rate()
    }

    /// Sets the optimizer's learning rate (a non-finite or non-positive one is rejected by the
    /// optimizer's next step).
    pub fn set_learning_rate(&mut self, lr: f32) {
        self.state.set_learning_rate(lr);
    }

    /// Copies every parameter and buffer of the network into `into` (cleared first), in the
    /// network's visiting order.
    pub fn snapshot_weights(&mut self, into: &mut Vec<f32>) {
        into.clear();
        self.state.snapshot(into);
    }

    /// Writes back weights taken by [`Context::snapshot_weights`] from this network.
    pub fn restore_weights(&mut self, from: &[f32]) {
        self.state.restore(from);
    }

    /// Saves a checkpoint of the network (weights and buffers), the optimizer's state and
    /// this epoch to `path`, atomically (see `nn::weights::save_checkpoint`).
    ///
    /// # Errors
    /// [`TrainError::Save`] when the file cannot be written.
    #[cfg(feature = "safetensors")]
    pub fn save_checkpoint(&mut self, path: &std::path::Path) -> Result<(), TrainError> {
        let epoch = self.epoch;
        self.state
            .save_checkpoint(path, epoch)
            .map_err(|source| TrainError::Save {
                path: path.to_path_buf(),
                source,
            })
    }
}

/// The network and optimizer as callbacks reach them, without their types.
pub(crate) trait TrainState {
    #[cfg(feature = "safetensors")]
    fn save_checkpoint(
        &mut self,
        path: &std::path::Path,
        epoch: usize,
    ) -> Result<(), crate::weights::SaveError>;
    fn learning_rate(&self) -> f32;
    fn set_learning_rate(&mut self, lr: f32);
    fn snapshot(&mut self, into: &mut Vec<f32>);
    fn restore(&mut self, from: &[f32]);
}

/// Code run by `fit` around each epoch. Every method has a default that does nothing.
///
/// ```
/// use nn_core::train::{Callback, Context, Control, EpochLog, TrainError};
///
/// /// Stops once the training loss is below a target.
/// struct StopBelow(f64);
///
/// impl Callback for StopBelow {
///     fn on_epoch_end(&mut self, _cx: &mut Context<'_>, log: &EpochLog) -> Result<Control, TrainError> {
///         Ok(if log.loss < self.0 { Control::Stop } else { Control::Continue })
///     }
/// }
/// ```
pub trait Callback {
    /// Before epoch `cx.epoch` trains (a learning-rate schedule sets the rate here).
    ///
    /// # Errors
    /// A [`TrainError`] ends `fit` with that error.
    fn on_epoch_begin(&mut self, cx: &mut Context<'_>) -> Result<(), TrainError> {
        let _ = cx;
        Ok(())
    }

    /// After epoch `cx.epoch` trained and was validated; `log` is its record (already in
    /// `cx.history`).
    ///
    /// # Errors
    /// A [`TrainError`] ends `fit` with that error.
    fn on_epoch_end(
        &mut self,
        cx: &mut Context<'_>,
        log: &EpochLog,
    ) -> Result<Control, TrainError> {
        let _ = (cx, log);
        Ok(Control::Continue)
    }

    /// After the last epoch, or after a stop.
    ///
    /// # Errors
    /// A [`TrainError`] ends `fit` with that error.
    fn on_train_end(&mut self, cx: &mut Context<'_>) -> Result<(), TrainError> {
        let _ = cx;
        Ok(())
    }
}

/// Whether smaller values of a logged name are better: losses and errors, not accuracies.
pub(crate) fn lower_is_better(name: &str) -> bool {
    let base = name.strip_prefix("val_").unwrap_or(name);
    !(base.contains("accuracy") || base.starts_with("top_"))
}

/// Stops training when a monitored value has not improved for `patience` epochs, and
/// optionally puts back the weights of the best epoch (Keras's `EarlyStopping`).
///
/// The monitored name is any logged one (see [`EpochLog::get`]); `val_loss` by default.
/// Losses and errors improve downwards, names with `accuracy` upwards. An epoch improves
/// when it beats the best by more than `min_delta`.
///
/// ```
/// use nn_core::train::EarlyStopping;
/// let early = EarlyStopping::new("val_accuracy").patience(3).restore_best_weights();
/// ```
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    monitor: String,
    patience: usize,
    min_delta: f64,
    restore_best: bool,
    best: Option<(usize, f64)>,
    best_weights: Vec<f32>,
}

impl EarlyStopping {
    /// Monitors `name`, with patience 0, `min_delta` 0 and no restore.
    pub fn new(monitor: &str) -> Self {
        Self {
            monitor: monitor.into(),
            patience: 0,
            min_delta: 0.0,
            restore_best: false,
            best: None,
            best_weights: Vec::new(),
        }
    }

    /// Epochs without improvement to wait before stopping.
    #[must_use]
    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = epochs;
        self
    }

    /// The least change that counts as an improvement.
    #[must_use]
    pub fn min_delta(mut self, delta: f64) -> Self {
        self.min_delta = delta.abs();
        self
    }

    /// At the end of training, puts back the weights of the best epoch.
    #[must_use]
    pub fn restore_best_weights(mut self) -> Self {
        self.restore_best = true;
        self
    }

    /// The best epoch so far and its value.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best
    }
}

impl Callback for EarlyStopping {
    fn on_epoch_end(
        &mut self,
        cx: &mut Context<'_>,
        log: &EpochLog,
    ) -> Result<Control, TrainError> {
        let Some(value) = log.get(&self.monitor) else {
            return Err(TrainError::UnknownMonitor {
                name: self.monitor.clone(),
            });
        };
        let lower = lower_is_better(&self.monitor);
        let improved = match self.best {
            None => value.is_finite(),
            Some((_, best)) if lower => value < best - self.min_delta,
            Some((_, best)) => value > best + self.min_delta,
        };
        if improved {
            self.best = Some((log.epoch, value));
            if self.restore_best {
                cx.snapshot_weights(&mut self.best_weights);
            }
            return Ok(Control::Continue);
        }
        let best_epoch = self.best.map_or(0, |(epoch, _)| epoch);
        // Keras's rule: stop once `patience` epochs in a row have not improved.
        Ok(if log.epoch - best_epoch >= self.patience.max(1) {
            Control::Stop
        } else {
            Control::Continue
        })
    }

    fn on_train_end(&mut self, cx: &mut Context<'_>) -> Result<(), TrainError> {
        if self.restore_best && !self.best_weights.is_empty() {
            cx.restore_weights(&self.best_weights);
        }
        Ok(())
    }
}

/// Stops training (without an error) after an epoch whose loss is NaN or infinite. `fit`
/// already fails on the first non-finite step unless [`Fit::check_finite`] turned that off;
/// this is the gentler check for that case (Keras's `TerminateOnNaN`).
///
/// [`Fit::check_finite`]: super::Fit::check_finite
#[derive(Debug, Clone, Copy, Default)]
pub struct StopOnNonFinite;

impl Callback for StopOnNonFinite {
    fn on_epoch_end(
        &mut self,
        _cx: &mut Context<'_>,
        log: &EpochLog,
    ) -> Result<Control, TrainError> {
        let finite = log.loss.is_finite() && log.val_loss.is_none_or(f64::is_finite);
        Ok(if finite {
            Control::Continue
        } else {
            Control::Stop
        })
    }
}

/// A learning rate that follows the epoch: multiplied by `factor` every `every` epochs
/// ([`LearningRateSchedule::step`]) or along a half cosine from the initial rate down to a
/// floor ([`LearningRateSchedule::cosine`], PyTorch's `CosineAnnealingLR`).
///
/// The initial rate is the optimizer's when training starts.
///
/// ```
/// use nn_core::train::LearningRateSchedule;
/// let step = LearningRateSchedule::step(2, 0.5);
/// assert_eq!([1, 2, 3, 4, 5].map(|e| step.rate(1.0, e)), [1.0, 1.0, 0.5, 0.5, 0.25]);
/// let cosine = LearningRateSchedule::cosine(4, 0.0);
/// assert_eq!(cosine.rate(1.0, 1), 1.0);
/// assert!((cosine.rate(1.0, 3) - 0.5).abs() < 1e-6);
/// assert!(cosine.rate(1.0, 5).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LearningRateSchedule {
    kind: Schedule,
    initial: Option<f32>,
}

#[derive(Debug, Clone, Copy)]
enum Schedule {
    Step { every: usize, factor: f32 },
    Cosine { epochs: usize, floor: f32 },
}

impl LearningRateSchedule {
    /// The rate times `factor` every `every` epochs (PyTorch's `StepLR`).
    pub fn step(every: usize, factor: f32) -> Self {
        Self {
            kind: Schedule::Step {
                every: every.max(1),
                factor,
            },
            initial: None,
        }
    }

    /// From the initial rate at epoch 1 down to `floor` after `epochs` epochs, along a half
    /// cosine; `floor` from then on.
    pub fn cosine(epochs: usize, floor: f32) -> Self {
        Self {
            kind: Schedule::Cosine {
                epochs: epochs.max(1),
                floor,
            },
            initial: None,
        }
    }

    /// The rate for `epoch` (from 1) given the initial rate.
    pub fn rate(&self, initial: f32, epoch: usize) -> f32 {
        let done = epoch.saturating_sub(1);
        match self.kind {
            Schedule::Step { every, factor } => initial * libm::powf(factor, (done / every) as f32),
            Schedule::Cosine { epochs, floor } => {
                let progress = done.min(epochs) as f32 / epochs as f32;
                floor
                    + (initial - floor) * 0.5 * (1.0 + libm::cosf(core::f32::consts::PI * progress))
            }
        }
    }
}

impl Callback for LearningRateSchedule {
    fn on_epoch_begin(&mut self, cx: &mut Context<'_>) -> Result<(), TrainError> {
        let initial = *self.initial.get_or_insert(cx.learning_rate());
        cx.set_learning_rate(self.rate(initial, cx.epoch));
        Ok(())
    }
}

/// Saves checkpoints while training (Keras's `ModelCheckpoint`): every `n` epochs, to a path
/// in which `{epoch}` is replaced by the epoch, and/or the best epoch so far by a monitored
/// value, to one path. A checkpoint holds the weights and buffers, the optimizer's state and
/// the epoch, written atomically (a crash mid-save leaves the previous file intact); load it
/// with `nn::weights::load_checkpoint` and resume with [`Fit::initial_epoch`].
///
/// ```no_run
/// use nn_core::train::ModelCheckpoint;
/// let every_two = ModelCheckpoint::every(2, "target/run/epoch-{epoch}.safetensors");
/// let best = ModelCheckpoint::best("val_accuracy", "target/run/best.safetensors");
/// ```
///
/// [`Fit::initial_epoch`]: super::Fit::initial_epoch
#[cfg(feature = "safetensors")]
#[derive(Debug, Clone)]
pub struct ModelCheckpoint {
    path: String,
    every: Option<usize>,
    monitor: Option<String>,
    best: Option<f64>,
}

#[cfg(feature = "safetensors")]
impl ModelCheckpoint {
    /// Every `epochs` epochs, to `path` with `{epoch}` replaced by the epoch number.
    pub fn every(epochs: usize, path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            every: Some(epochs.max(1)),
            monitor: None,
            best: None,
        }
    }

    /// After each epoch that improves on the best value of `monitor` so far (see
    /// [`EarlyStopping`] for which direction improves), to `path`.
    pub fn best(monitor: &str, path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            every: None,
            monitor: Some(monitor.into()),
            best: None,
        }
    }

    /// The best monitored value saved so far.
    pub fn best_value(&self) -> Option<f64> {
        self.best
    }

    fn path_for(&self, epoch: usize) -> std::path::PathBuf {
        self.path.replace("{epoch}", &epoch.to_string()).into()
    }
}

#[cfg(feature = "safetensors")]
impl Callback for ModelCheckpoint {
    fn on_epoch_end(
        &mut self,
        cx: &mut Context<'_>,
        log: &EpochLog,
    ) -> Result<Control, TrainError> {
        let due = match (&self.every, &self.monitor) {
            (Some(every), _) => log.epoch.is_multiple_of(*every),
            (None, Some(monitor)) => {
                let Some(value) = log.get(monitor) else {
                    return Err(TrainError::UnknownMonitor {
                        name: monitor.clone(),
                    });
                };
                let better = match self.best {
                    None => value.is_finite(),
                    Some(best) if lower_is_better(monitor) => value < best,
                    Some(best) => value > best,
                };
                if better {
                    self.best = Some(value);
                }
                better
            }
            (None, None) => false,
        };
        if due {
            let path = self.path_for(log.epoch);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            cx.save_checkpoint(&path)?;
        }
        Ok(Control::Continue)
    }
}

#[cfg(feature = "safetensors")]
use std::string::ToString as _;
