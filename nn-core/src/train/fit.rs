//! `Fit`: the training loop, and `evaluate` and `predict` over whole datasets.

use core::ops::DerefMut;
use std::boxed::Box;
use std::string::String;
use std::time::Instant;
use std::vec::Vec;

use super::callbacks::{Callback, Context, Control, TrainState};
use super::metric::BoxedMetric;
use super::progress::{Progress, Reporter};
use super::shapes::{InputBatch, LayerShapes, TargetsFor};
use super::{EpochLog, History, Loss, Metric, TrainError};
use crate::data::{Batches, LastBatch, Targets};
use crate::layers::{Layer, Shape};
use crate::optim::{Optimizer, OptimizerState};
use crate::param::{HasParams, Param, ParamPath};
use crate::tensor::{Tensor, Zeroed};

/// The loss and metrics of one pass over a dataset (see [`evaluate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The mean loss per sample.
    pub loss: f64,
    /// Each metric's `(name, value)`.
    pub metrics: Vec<(String, f64)>,
    /// The samples counted (each once, padding rows left out).
    pub samples: usize,
}

/// Trains a network, Keras's `model.fit` in Rust: a builder of the run, then
/// [`Fit::run`] on the training batches.
///
/// ```
/// use nn_core::data::{Batches, Dataset, LastBatch};
/// use nn_core::layers::{Dense, Features};
/// use nn_core::optim::Adam;
/// use nn_core::train::{Accuracy, CrossEntropy, EarlyStopping, Fit, Progress};
///
/// // Two classes on a line: x < 0 is class 0, x > 0 class 1.
/// let xs: Vec<f32> = (0..64).map(|i| i as f32 / 32.0 - 1.0).collect();
/// let labels = xs.iter().map(|&x| usize::from(x > 0.0)).collect();
/// let data = Dataset::<Features<1>>::new(xs, labels, 2)?;
/// let (train, validation) = data.split_validation(0.25, 0)?;
///
/// let mut net = Dense::<1, 2>::new(&mut nn_core::init::seeded(0));
/// let mut adam = Adam::new(0.1);
/// let history = Fit::new(&mut net, &mut adam, CrossEntropy)
///     .epochs(30)
///     .metric(Accuracy::default())
///     .validation(Batches::<16, _>::sequential(&validation, LastBatch::Pad)?)
///     .callback(EarlyStopping::new("val_loss").patience(5).restore_best_weights())
///     .progress(Progress::Silent)
///     .run(Batches::<8, _>::shuffled(&train, LastBatch::Drop, 0)?)?;
/// assert!(history.last().unwrap().get("val_accuracy").unwrap() > 0.9);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # What one epoch is
/// One pass over the training batches (their shuffling seed and [`LastBatch`] policy are
/// the batches' own), or [`Fit::steps_per_epoch`] batches, continuing where the last epoch
/// stopped and starting a new pass whenever one ends (tf.data's `.repeat()`). Each step is
/// `zero_grad`, a training forward, the loss over the batch's valid rows (padding rows of a
/// last partial batch under [`LastBatch::Pad`] get no gradient), backward and one optimizer
/// step; nothing is allocated after the first. Then the validation batches (if any) are
/// evaluated, the epoch's [`EpochLog`] is added to the [`History`], printed, and the callbacks
/// run.
///
/// # Numerics
/// A step whose loss is NaN or infinite ends `fit` with [`TrainError::NonFiniteLoss`], which
/// names the epoch and step, unless [`Fit::check_finite`] turns the check off. The training
/// and validation data are checked for non-finite values before the first step.
///
/// [`LastBatch`]: crate::data::LastBatch
/// [`LastBatch::Pad`]: crate::data::LastBatch::Pad
pub struct Fit<'a, N, O, L, T: Targets, V = NoValidation> {
    net: &'a mut N,
    optimizer: &'a mut O,
    loss: L,
    epochs: usize,
    initial_epoch: usize,
    steps_per_epoch: Option<usize>,
    validation_steps: Option<usize>,
    metrics: Vec<BoxedMetric<'a, T>>,
    callbacks: Vec<Box<dyn Callback + 'a>>,
    check_finite: bool,
    clip_grad_norm: Option<f32>,
    progress: Progress,
    #[cfg(feature = "threading")]
    threads: Option<usize>,
    validation: V,
}

/// The validation set of a [`Fit`] without one.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoValidation;

/// The validation set of a [`Fit`]: batches and the inference tape they run on, made once.
pub struct Validation<'a, const B: usize, S: Shape, T: Targets, N: Layer> {
    batches: Batches<'a, B, S, T>,
    runner: Runner<B, T, N>,
    scratch: N::Scratch<B>,
}

impl<'a, N, O, L, T> Fit<'a, N, O, L, T>
where
    N: Layer,
    O: Optimizer + OptimizerState,
    L: Loss<T>,
    T: Targets,
{
    /// A run of 1 epoch training `net` with `optimizer` on `loss`, no metrics, no callbacks,
    /// progress [`Progress::Auto`].
    pub fn new(net: &'a mut N, optimizer: &'a mut O, loss: L) -> Self {
        Self {
            net,
            optimizer,
            loss,
            epochs: 1,
            initial_epoch: 0,
            steps_per_epoch: None,
            validation_steps: None,
            metrics: Vec::new(),
            callbacks: Vec::new(),
            check_finite: true,
            clip_grad_norm: None,
            progress: Progress::Auto,
            #[cfg(feature = "threading")]
            threads: None,
            validation: NoValidation,
        }
    }

    /// Validates on `batches` after every epoch; use [`LastBatch::Pad`] so that every sample
    /// counts exactly once (the padding rows of the last batch are left out).
    ///
    /// [`LastBatch::Pad`]: crate::data::LastBatch::Pad
    pub fn validation<const VB: usize, S: Shape>(
        self,
        batches: Batches<'a, VB, S, T>,
    ) -> Fit<'a, N, O, L, T, Validation<'a, VB, S, T, N>>
    where
        S::Batch<VB>: InputBatch<N, S, N::Input<VB>>,
    {
        Fit {
            net: self.net,
            optimizer: self.optimizer,
            loss: self.loss,
            epochs: self.epochs,
            initial_epoch: self.initial_epoch,
            steps_per_epoch: self.steps_per_epoch,
            validation_steps: self.validation_steps,
            metrics: self.metrics,
            callbacks: self.callbacks,
            check_finite: self.check_finite,
            clip_grad_norm: self.clip_grad_norm,
            progress: self.progress,
            #[cfg(feature = "threading")]
            threads: self.threads,
            validation: Validation {
                batches,
                runner: Runner::new(),
                scratch: <N::Scratch<VB> as Zeroed>::zeroed(),
            },
        }
    }
}

impl<'a, N, O, L, T, V> Fit<'a, N, O, L, T, V>
where
    N: Layer,
    O: Optimizer + OptimizerState,
    L: Loss<T>,
    T: Targets,
    V: ValidationSet<N, T, L>,
{
    /// Trains `epochs` epochs in all (Keras's `epochs`; with [`Fit::initial_epoch`], the
    /// number of the last one).
    #[must_use]
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Starts counting at `epoch + 1`, to resume a run that trained `epoch` epochs (the logs
    /// and callbacks see the true epoch numbers). When an epoch is one pass, the training
    /// batches first draw the shuffles of the `epoch` passes already trained
    /// ([`Batches::skip_passes`]), so that with the network and optimizer restored from that
    /// run's checkpoint (`nn::weights::load_checkpoint`, see `ModelCheckpoint`) training
    /// continues exactly, bit for bit, as if it had not stopped.
    #[must_use]
    pub fn initial_epoch(mut self, epoch: usize) -> Self {
        self.initial_epoch = epoch;
        self
    }

    /// Makes an epoch `steps` batches instead of one pass (see [What one epoch
    /// is](Fit#what-one-epoch-is)).
    #[must_use]
    pub fn steps_per_epoch(mut self, steps: usize) -> Self {
        self.steps_per_epoch = Some(steps.max(1));
        self
    }

    /// Validates on the first `steps` batches only, instead of one whole pass.
    #[must_use]
    pub fn validation_steps(mut self, steps: usize) -> Self {
        self.validation_steps = Some(steps.max(1));
        self
    }

    /// Adds a metric, reported on the training batches and on the validation set.
    #[must_use]
    pub fn metric(mut self, metric: impl Metric<T> + 'a) -> Self {
        self.metrics.push(Box::new(metric));
        self
    }

    /// Adds a callback; callbacks run in the order they were added.
    #[must_use]
    pub fn callback(mut self, callback: impl Callback + 'a) -> Self {
        self.callbacks.push(Box::new(callback));
        self
    }

    /// Whether a non-finite loss ends training with an error (on by default).
    #[must_use]
    pub fn check_finite(mut self, check: bool) -> Self {
        self.check_finite = check;
        self
    }

    /// Scales the gradients down before each step so that their global L2 norm is at most
    /// `max_norm` (see [`clip_grad_norm`](crate::optim::clip_grad_norm)): the usual guard of
    /// recurrent networks against exploding gradients.
    #[must_use]
    pub fn clip_grad_norm(mut self, max_norm: f32) -> Self {
        self.clip_grad_norm = Some(max_norm);
        self
    }

    /// Runs every step on up to `threads` threads of the process's pool (clamped to the
    /// cores); by default `NN_THREADS`, else every core (see
    /// [`threads`](crate::linalg::threads)). The results are bit for bit the same on any count.
    /// [`Fit::run`] refuses 0 with [`TrainError::Threads`].
    #[cfg(feature = "threading")]
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// How progress is shown.
    #[must_use]
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Trains on `train` and returns the history.
    ///
    /// The batches' sample shape must be the network's input, and the targets must fit its
    /// output (see [the rules](super#what-fit-checks)): both are compile errors otherwise.
    ///
    /// # Errors
    /// [`TrainError`]: a class count that is not the network's, non-finite data, a token id
    /// outside the vocabulary of a network that reads `input(T) tokens` (all before the first
    /// step), a non-finite loss (with its epoch and step), a target that does not fit
    /// the output, an optimizer error, or a callback's error. The network keeps the weights of
    /// the last step taken.
    pub fn run<const B: usize, S: Shape>(
        self,
        train: Batches<'_, B, S, T>,
    ) -> Result<History, TrainError>
    where
        N: LayerShapes,
        S::Batch<B>: InputBatch<N, S, N::Input<B>>,
        T: TargetsFor<N, N::OutputShape>,
    {
        #[cfg(feature = "threading")]
        if let Some(threads) = self.threads {
            if threads == 0 {
                return Err(TrainError::Threads(
                    crate::linalg::threads::ThreadsError::Zero,
                ));
            }
            return crate::linalg::threads::with_threads(threads, || self.run_here(train));
        }
        self.run_here(train)
    }

    /// [`Fit::run`] with the thread count in force.
    fn run_here<const B: usize, S: Shape>(
        mut self,
        mut train: Batches<'_, B, S, T>,
    ) -> Result<History, TrainError>
    where
        N: LayerShapes,
        S::Batch<B>: InputBatch<N, S, N::Input<B>>,
        T: TargetsFor<N, N::OutputShape>,
    {
        train.data().targets().check_fits("training")?;
        if let Some(targets) = self.validation.targets() {
            targets.check_fits("validation")?;
        }
        train.data().check_finite()?;
        self.validation.check_finite()?;
        // A bad token id would train as a NaN row: name it now.
        if let Some(vocab) = N::TOKEN_VOCAB {
            train.data().check_tokens(vocab)?;
            self.validation.check_tokens(vocab)?;
        }
        let mut runner = Runner::<B, T, N>::new();
        let mut cache = <N::Cache<B> as Zeroed>::zeroed();
        let mut history = History::default();
        let steps = self
            .steps_per_epoch
            .unwrap_or_else(|| train.steps_per_epoch());
        let mut reporter = Reporter::new(self.progress);
        if self.steps_per_epoch.is_none() {
            train.skip_passes(self.initial_epoch);
        }

        for epoch in self.initial_epoch + 1..=self.epochs {
            self.each_callback(epoch, &history, |callback, cx| callback.on_epoch_begin(cx))?;
            let learning_rate = self.optimizer.learning_rate();
            reporter.begin_epoch(epoch, self.epochs, steps);
            self.metrics.iter_mut().for_each(|m| m.reset());
            if self.steps_per_epoch.is_none() {
                // A whole pass per epoch, from its start.
                train.reset();
            }
            let start = Instant::now();
            let (mut loss_sum, mut samples) = (0.0f64, 0usize);
            for step in 1..=steps {
                let valid = match runner.fill(&mut train) {
                    Some(valid) => valid,
                    // The end of a pass within a longer epoch: start the next pass.
                    None => runner.fill(&mut train).unwrap_or(0),
                };
                self.net.zero_grad();
                self.net
                    .forward_train(&runner.inputs, &mut runner.output, &mut cache);
                let loss = runner
                    .loss_and_gradient(&self.loss, valid, &mut self.metrics)
                    .map_err(|source| TrainError::Target {
                        epoch,
                        step,
                        source,
                    })?;
                if self.check_finite && !loss.is_finite() {
                    return Err(TrainError::NonFiniteLoss { epoch, step, loss });
                }
                self.net.backward(
                    &runner.inputs,
                    &runner.output,
                    &mut cache,
                    &runner.gradient,
                    None,
                );
                if let Some(max_norm) = self.clip_grad_norm {
                    crate::optim::clip_grad_norm(self.net, max_norm);
                }
                self.optimizer
                    .step(self.net)
                    .map_err(|source| TrainError::Optimizer {
                        epoch,
                        step,
                        source,
                    })?;
                loss_sum += f64::from(loss) * valid as f64;
                samples += valid;
                reporter.step(
                    step,
                    loss_sum / samples.max(1) as f64,
                    samples,
                    start,
                    &self.metrics,
                );
            }
            let seconds = start.elapsed().as_secs_f64();
            let metrics = self
                .metrics
                .iter()
                .map(|m| (String::from(m.name()), m.value()))
                .collect();
            let validation = self.validation.evaluate(
                self.net,
                &self.loss,
                &mut self.metrics,
                self.validation_steps,
            )?;
            let log = EpochLog {
                epoch,
                loss: loss_sum / samples.max(1) as f64,
                metrics,
                val_loss: validation.as_ref().map(|v| v.loss),
                val_metrics: validation.map(|v| v.metrics).unwrap_or_default(),
                learning_rate,
                steps,
                samples,
                seconds,
            };
            reporter.end_epoch(&log, self.epochs);
            history.epochs.push(log.clone());
            let mut stop = false;
            self.each_callback(epoch, &history, |callback, cx| {
                stop |= callback.on_epoch_end(cx, &log)? == Control::Stop;
                Ok(())
            })?;
            if stop {
                if epoch < self.epochs {
                    history.stopped_early_after = Some(epoch);
                }
                break;
            }
        }
        let last = history.last().map_or(self.initial_epoch, |log| log.epoch);
        self.each_callback(last, &history, |callback, cx| callback.on_train_end(cx))?;
        Ok(history)
    }

    /// Runs `f` on every callback with a fresh [`Context`].
    fn each_callback(
        &mut self,
        epoch: usize,
        history: &History,
        mut f: impl FnMut(&mut dyn Callback, &mut Context<'_>) -> Result<(), TrainError>,
    ) -> Result<(), TrainError> {
        let mut state = State {
            net: &mut *self.net,
            optimizer: &mut *self.optimizer,
        };
        for callback in &mut self.callbacks {
            let mut cx = Context {
                epoch,
                epochs: self.epochs,
                history,
                state: &mut state,
            };
            f(callback.as_mut(), &mut cx)?;
        }
        Ok(())
    }
}

/// A network and its optimizer, as callbacks reach them.
struct State<'s, N, O> {
    net: &'s mut N,
    optimizer: &'s mut O,
}

impl<N: HasParams, O: Optimizer + OptimizerState> TrainState for State<'_, N, O> {
    #[cfg(feature = "safetensors")]
    fn save_checkpoint(
        &mut self,
        path: &std::path::Path,
        epoch: usize,
    ) -> Result<(), crate::weights::SaveError> {
        let checkpoint = crate::weights::Checkpoint::new(epoch as u64);
        crate::weights::save_checkpoint(path, self.net, self.optimizer, &checkpoint)
    }
    fn learning_rate(&self) -> f32 {
        self.optimizer.learning_rate()
    }
    fn set_learning_rate(&mut self, lr: f32) {
        self.optimizer.set_learning_rate(lr);
    }
    fn snapshot(&mut self, into: &mut Vec<f32>) {
        self.net.visit_params(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, p: Param<'_>| into.extend_from_slice(p.value),
        );
        self.net.visit_buffers(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, b: &mut [f32]| into.extend_from_slice(b),
        );
    }
    fn restore(&mut self, from: &[f32]) {
        let mut at = 0;
        let mut take = |dst: &mut [f32]| {
            if let Some(src) = from.get(at..at + dst.len()) {
                dst.copy_from_slice(src);
            }
            at += dst.len();
        };
        self.net.visit_params(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, p: Param<'_>| take(p.value),
        );
        self.net.visit_buffers(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, b: &mut [f32]| take(b),
        );
    }
}

/// The buffers one batch size needs: the network's input and the targets of a batch, the
/// output and its gradient.
struct Runner<const B: usize, T: Targets, N: Layer> {
    inputs: N::Input<B>,
    targets: T::Batch<B>,
    output: N::Output<B>,
    gradient: N::Output<B>,
}

impl<const B: usize, T: Targets, N: Layer> Runner<B, T, N> {
    fn new() -> Self {
        Self {
            inputs: <N::Input<B> as Tensor>::zeros(),
            targets: T::new_batch(),
            output: <N::Output<B> as Tensor>::zeros(),
            gradient: <N::Output<B> as Tensor>::zeros(),
        }
    }

    /// Copies the next batch of `batches` into the network's input and the targets, as
    /// [`Batches::fill_next`] does. The public functions' `InputBatch` bound made sure that
    /// `S::Batch<B>` is `N::Input<B>`; the assertion restates what this relies on.
    fn fill<S: Shape>(&mut self, batches: &mut Batches<'_, B, S, T>) -> Option<usize> {
        const {
            assert!(
                <N::Input<B> as Tensor>::LEN == B * S::SIZE,
                "the network's input batch must hold B samples of the dataset's shape"
            )
        };
        batches.fill_next_parts(self.inputs.as_mut_slice(), &mut self.targets)
    }

    /// The mean loss over the first `valid` rows of the output, with its gradient (zero in
    /// the padding rows); feeds the metrics every valid row.
    fn loss_and_gradient<L: Loss<T>, M: DerefMut<Target = D>, D: Metric<T> + ?Sized>(
        &mut self,
        loss: &L,
        valid: usize,
        metrics: &mut [M],
    ) -> Result<f32, crate::Error> {
        let per_row = <N::Output<B> as Tensor>::LEN / B.max(1);
        let scale = 1.0 / valid.max(1) as f32;
        let outputs = self.output.as_slice().chunks_exact(per_row.max(1));
        let gradients = self
            .gradient
            .as_mut_slice()
            .chunks_exact_mut(per_row.max(1));
        let mut total = 0.0f32;
        for (row, (output, gradient)) in outputs.zip(gradients).enumerate() {
            if row >= valid {
                gradient.fill(0.0);
                continue;
            }
            let target = T::batch_row(&self.targets, row);
            total += loss
                .sample(output, target, gradient)
                .map_err(|e| at_row(e, row))?;
            gradient.iter_mut().for_each(|g| *g *= scale);
            for metric in metrics.iter_mut() {
                metric.update(output, target).map_err(|e| at_row(e, row))?;
            }
        }
        Ok(total * scale)
    }

    /// The loss and metrics of one inference pass over `batches` (or its first `steps`
    /// batches).
    #[allow(
        clippy::too_many_arguments,
        reason = "internal; each is a separate buffer"
    )]
    fn evaluate<S: Shape, L: Loss<T>, M: DerefMut<Target = D>, D: Metric<T> + ?Sized>(
        &mut self,
        net: &N,
        batches: &mut Batches<'_, B, S, T>,
        loss: &L,
        metrics: &mut [M],
        steps: Option<usize>,
        scratch: &mut N::Scratch<B>,
        mut predictions: Option<&mut Vec<f32>>,
    ) -> Result<Evaluation, TrainError> {
        if steps.is_none() {
            check_covers(batches)?;
        }
        // `evaluate` and `predict` name a bad token id as `fit` does.
        if let Some(vocab) = N::TOKEN_VOCAB {
            batches.data().check_tokens(vocab)?;
        }
        metrics.iter_mut().for_each(|m| m.reset());
        batches.reset();
        let (mut loss_sum, mut samples) = (0.0f64, 0usize);
        let steps = steps.unwrap_or(usize::MAX);
        let mut step = 0;
        while step < steps {
            let Some(valid) = self.fill(batches) else {
                break;
            };
            step += 1;
            net.forward(&self.inputs, &mut self.output, scratch);
            if let Some(predictions) = predictions.as_deref_mut() {
                let per_row = <N::Output<B> as Tensor>::LEN / B.max(1);
                predictions.extend_from_slice(&self.output.as_slice()[..valid * per_row]);
            }
            let mean = self
                .loss_and_gradient(loss, valid, metrics)
                .map_err(|source| TrainError::Target {
                    epoch: 0,
                    step,
                    source,
                })?;
            loss_sum += f64::from(mean) * valid as f64;
            samples += valid;
        }
        batches.reset();
        Ok(Evaluation {
            loss: loss_sum / samples.max(1) as f64,
            metrics: metrics
                .iter()
                .map(|m| (String::from(m.name()), m.value()))
                .collect(),
            samples,
        })
    }
}

/// `error` with its row in the batch, when it has one.
fn at_row(error: crate::Error, row: usize) -> crate::Error {
    match error {
        crate::Error::LabelOutOfRange { label, classes, .. } => crate::Error::LabelOutOfRange {
            label,
            row,
            classes,
        },
        other => other,
    }
}

/// A validation set, or none: what [`Fit`] evaluates after each epoch.
pub trait ValidationSet<N: Layer, T: Targets, L: Loss<T>> {
    /// The loss and metrics on the set, or `None` without one.
    ///
    /// # Errors
    /// A target that does not fit the output.
    fn evaluate(
        &mut self,
        net: &N,
        loss: &L,
        metrics: &mut [BoxedMetric<'_, T>],
        steps: Option<usize>,
    ) -> Result<Option<Evaluation>, TrainError>;

    /// Checks the set for non-finite values.
    ///
    /// # Errors
    /// [`TrainError::Data`] naming the first bad sample.
    fn check_finite(&self) -> Result<(), TrainError>;

    /// Checks that every input is a token id below `vocab` (a network that reads
    /// `input(T) tokens`).
    ///
    /// # Errors
    /// [`TrainError::Data`] naming the first bad id's sample and position.
    fn check_tokens(&self, _vocab: usize) -> Result<(), TrainError> {
        Ok(())
    }

    /// The set's targets, for [`Fit::run`]'s class-count check; `None` (the default) skips it.
    fn targets(&self) -> Option<&T> {
        None
    }
}

impl<N: Layer, T: Targets, L: Loss<T>> ValidationSet<N, T, L> for NoValidation {
    fn evaluate(
        &mut self,
        _: &N,
        _: &L,
        _: &mut [BoxedMetric<'_, T>],
        _: Option<usize>,
    ) -> Result<Option<Evaluation>, TrainError> {
        Ok(None)
    }
    fn check_finite(&self) -> Result<(), TrainError> {
        Ok(())
    }
}

impl<const B: usize, S, T, N, L> ValidationSet<N, T, L> for Validation<'_, B, S, T, N>
where
    S: Shape,
    T: Targets,
    N: Layer,
    L: Loss<T>,
{
    fn evaluate(
        &mut self,
        net: &N,
        loss: &L,
        metrics: &mut [BoxedMetric<'_, T>],
        steps: Option<usize>,
    ) -> Result<Option<Evaluation>, TrainError> {
        self.runner
            .evaluate(
                net,
                &mut self.batches,
                loss,
                metrics,
                steps,
                &mut self.scratch,
                None,
            )
            .map(Some)
    }
    fn check_finite(&self) -> Result<(), TrainError> {
        Ok(self.batches.data().check_finite()?)
    }
    fn check_tokens(&self, vocab: usize) -> Result<(), TrainError> {
        Ok(self.batches.data().check_tokens(vocab)?)
    }
    fn targets(&self) -> Option<&T> {
        Some(self.batches.data().targets())
    }
}

/// Errors unless one pass over `batches` counts every sample: [`LastBatch::Drop`] leaves out
/// the last `len % B` samples.
fn check_covers<const B: usize, S: Shape, T: Targets>(
    batches: &Batches<'_, B, S, T>,
) -> Result<(), TrainError> {
    let samples = batches.data().len();
    if batches.policy() == LastBatch::Drop && !samples.is_multiple_of(B) {
        return Err(TrainError::WouldDropSamples {
            samples,
            batch: B,
            dropped: samples % B,
        });
    }
    Ok(())
}

/// The loss and metrics of `net` over one pass of `batches` (Keras's `model.evaluate`), in
/// inference mode, each sample counted once: make the batches with [`LastBatch::Pad`] so that
/// a dataset of any length fits a const batch size (the padding rows are left out).
///
/// The batches' sample shape must be the network's input, and the targets must fit its output
/// (see [the rules](super#what-fit-checks)): both are compile errors otherwise.
///
/// # Errors
/// [`TrainError::ClassCountMismatch`] when the dataset's classes are not the network's,
/// [`TrainError::WouldDropSamples`] for [`LastBatch::Drop`] batches that would leave samples
/// out, and [`TrainError::Target`] for a target that does not fit the output.
///
/// ```
/// use nn_core::data::{Batches, Dataset, LastBatch};
/// use nn_core::layers::{Dense, Features};
/// use nn_core::train::{Accuracy, CrossEntropy, evaluate};
///
/// let data = Dataset::<Features<1>>::new(vec![-1.0, 1.0, 2.0], vec![0, 1, 1], 2)?;
/// let net = Dense::<1, 2>::new(&mut nn_core::init::seeded(0));
/// let mut accuracy = Accuracy::default();
/// // 3 samples in batches of 2: the second batch has one padding row, not counted.
/// let mut batches = Batches::<2, _>::sequential(&data, LastBatch::Pad)?;
/// let result = evaluate(&net, &mut batches, &CrossEntropy, &mut [&mut accuracy])?;
/// assert_eq!(result.samples, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn evaluate<const B: usize, N, S, T, L>(
    net: &N,
    batches: &mut Batches<'_, B, S, T>,
    loss: &L,
    metrics: &mut [&mut dyn Metric<T>],
) -> Result<Evaluation, TrainError>
where
    N: LayerShapes,
    S: Shape,
    S::Batch<B>: InputBatch<N, S, N::Input<B>>,
    T: TargetsFor<N, N::OutputShape>,
    L: Loss<T>,
{
    batches.data().targets().check_fits("evaluation")?;
    let mut runner = Runner::<B, T, N>::new();
    let mut scratch = <N::Scratch<B> as Zeroed>::zeroed();
    runner.evaluate(net, batches, loss, metrics, None, &mut scratch, None)
}

/// The outputs of `net` for every sample of one pass of `batches`, flat and row-major
/// (Keras's `model.predict`): sample `i`'s output is `[i * OUT, (i + 1) * OUT)`, in the
/// batches' order, which is the dataset's for [`Batches::sequential`]. Make the batches with
/// [`LastBatch::Pad`]; the padding rows are left out.
///
/// The batches' sample shape must be the network's input (a compile error otherwise).
///
/// # Errors
/// [`TrainError::WouldDropSamples`] for [`LastBatch::Drop`] batches that would leave samples
/// out.
///
/// ```
/// use nn_core::data::{Batches, Dataset, LastBatch};
/// use nn_core::layers::{Dense, Features};
/// use nn_core::train::predict;
///
/// let data = Dataset::<Features<1>>::new(vec![1.0, 2.0, 3.0], vec![0; 3], 1)?;
/// let net = Dense::<1, 2>::new(&mut nn_core::init::seeded(0));
/// let outputs = predict(&net, &mut Batches::<2, _>::sequential(&data, LastBatch::Pad)?)?;
/// assert_eq!(outputs.len(), 3 * 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn predict<const B: usize, N, S, T>(
    net: &N,
    batches: &mut Batches<'_, B, S, T>,
) -> Result<Vec<f32>, TrainError>
where
    N: Layer,
    S: Shape,
    S::Batch<B>: InputBatch<N, S, N::Input<B>>,
    T: Targets,
{
    let mut runner = Runner::<B, T, N>::new();
    let mut scratch = <N::Scratch<B> as Zeroed>::zeroed();
    let per_row = <N::Output<B> as Tensor>::LEN / B.max(1);
    let mut outputs = Vec::with_capacity(batches.data().len() * per_row);
    let mut no_metrics: [&mut dyn Metric<T>; 0] = [];
    runner.evaluate(
        net,
        batches,
        &NoLoss,
        &mut no_metrics,
        None,
        &mut scratch,
        Some(&mut outputs),
    )?;
    Ok(outputs)
}

/// The loss of [`predict`], which has none.
struct NoLoss;

impl<T: Targets> Loss<T> for NoLoss {
    fn sample(&self, _: &[f32], _: T::Sample<'_>, grad: &mut [f32]) -> Result<f32, crate::Error> {
        grad.fill(0.0);
        Ok(0.0)
    }
}
