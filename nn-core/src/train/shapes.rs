//! What `fit`, `evaluate` and `predict` check about a network and its data before training:
//! the batches' sample shape against the network's input, the kind and shape of the targets
//! against its output (both at compile time), and the class count (when training starts).
//!
//! Each rule is a trait bound whose `#[diagnostic::on_unimplemented]` message names the network,
//! both shapes and the fix, so that a mismatch is one error in the user's terms rather than a
//! type mismatch between generated tensor types.

use core::any::type_name;

use super::TrainError;
use crate::data::{Labels, StepLabels, Targets, Values};
use crate::layers::{Features, Layer, SampleShape, Shape, Shape2};

/// The per-sample shape of a layer's output, read off its batch type (`Tensor3<B, 28, 10>`
/// is `Shape2<28, 10>` per sample). Every layer and every network `network!` makes has it.
///
/// ```
/// use nn_core::layers::{Dense, Features};
/// use nn_core::train::LayerShapes;
/// fn is<T>(_: core::marker::PhantomData<T>, _: core::marker::PhantomData<T>) {}
/// is(
///     core::marker::PhantomData::<<Dense<4, 3> as LayerShapes>::OutputShape>,
///     core::marker::PhantomData::<Features<3>>,
/// );
/// ```
pub trait LayerShapes: Layer {
    /// What the layer gives per sample: `Features<C>`, `Shape2<T, F>` or `Shape3<C, H, W>`.
    type OutputShape: Shape;
}

impl<N: Layer> LayerShapes for N
where
    N::Output<1>: SampleShape,
{
    type OutputShape = <N::Output<1> as SampleShape>::Sample;
}

/// Batches whose tensor `Self` (made of samples of shape `S`) is what network `N` takes, `I`.
/// Implemented only when `Self` and `I` are the same type; the bound of [`Fit::run`],
/// [`Fit::validation`], [`evaluate`] and [`predict`], so that data of the wrong shape is one
/// error that names both.
///
/// [`Fit::run`]: super::Fit::run
/// [`Fit::validation`]: super::Fit::validation
/// [`evaluate`]: super::evaluate
/// [`predict`]: super::predict
#[diagnostic::on_unimplemented(
    message = "`{N}` takes batches of `{I}`, but these batches hold `{S}` samples, `{Self}`",
    label = "batches of `{S}` samples, not `{N}`'s input",
    note = "a dataset's sample shape must be the network's input: `Features<N>` for a `dense(N -> ..)` first layer, `Shape2<T, F>` for `input(T, F)`, `Shape3<C, H, W>` for `input(C, H, W)`; `Dataset::reshape::<Shape>()` views the same values as another shape of as many",
    note = "for MNIST, `Mnist::load` gives flat `Features<784>` samples (dense networks), `Mnist::load_images` gives `(1, 28, 28)` images, `Shape3<1, 28, 28>` (conv networks), and `Mnist::load_as::<Shape2<28, 28>>` gives rows as time steps (recurrent networks)"
)]
pub trait InputBatch<N, S, I> {}

impl<N, S, I> InputBatch<N, S, I> for I {}

/// Targets that can be compared with what network `N` gives per sample, `O`: class labels
/// ([`Labels`]) with one row of class scores `Features<C>`, per-step labels
/// ([`StepLabels<T>`]) with `(T, C)` scores `Shape2<T, C>`, values ([`Values<S>`]) with an
/// output of shape `S`. The bound of [`Fit::run`] and [`evaluate`]: anything else is a compile
/// error that says what to change.
///
/// [`Fit::run`]: super::Fit::run
/// [`evaluate`]: super::evaluate
pub trait TargetsFor<N, O>: Targets {
    /// Checks what the types cannot: that the dataset's classes are the network's class
    /// scores per sample (per step). `data` names the data in the error (`training`, ...).
    ///
    /// # Errors
    /// [`TrainError::ClassCountMismatch`] naming both counts.
    fn check_fits(&self, data: &'static str) -> Result<(), TrainError>;
}

/// The error of a class count that is not the network's.
fn class_count<N>(outputs: usize, classes: usize, data: &'static str) -> Result<(), TrainError> {
    if outputs == classes {
        return Ok(());
    }
    Err(TrainError::ClassCountMismatch {
        network: type_name::<N>(),
        outputs,
        classes,
        data,
    })
}

/// A per-sample output that is one row of class scores, `Features<C>`: what class labels
/// ([`Labels`], one per sample) are compared with.
#[diagnostic::on_unimplemented(
    message = "`{N}` gives `{Self}` per sample, but labels of one class per sample need one row of class scores, `Features<C>`",
    label = "one label per sample, against `{Self}` scores per sample",
    note = "a recurrent layer gives one output per step: add `last` after it (`lstm(..), last, dense(.. -> C)`) to classify each sequence by its final state, or label every step (`Dataset::per_step`, targets `StepLabels<T>`) to tag each one",
    note = "an image output `Shape3<C, H, W>` needs `flatten` (or `global_avg_pool`) and a `dense(.. -> classes)` head"
)]
pub trait ClassScores<N> {
    /// The number of classes, `C`.
    const CLASSES: usize;
}

impl<N, const C: usize> ClassScores<N> for Features<C> {
    const CLASSES: usize = C;
}

/// A per-sample output of `T` steps of class scores, `Shape2<T, C>`: what per-step labels
/// ([`StepLabels<T>`]) are compared with.
#[diagnostic::on_unimplemented(
    message = "`{N}` gives `{Self}` per sample, but labels of {T} steps need {T} steps of class scores, `Shape2<{T}, C>`",
    label = "{T} labels per sample, against `{Self}` scores per sample",
    note = "per-step labels tag every step of a sequence: the network must keep the steps (no `last`) and end with a per-step `dense(.. -> C)`; to classify whole sequences, use one label per sample (`Dataset::new`) with `last`"
)]
pub trait StepScores<N, const T: usize> {
    /// The number of classes, `C`.
    const CLASSES: usize;
}

impl<N, const T: usize, const C: usize> StepScores<N, T> for Shape2<T, C> {
    const CLASSES: usize = C;
}

/// Targets of per-sample shape `Self` (`Values<Self>`) for a network `N` that gives `O` per
/// sample: implemented only when `Self` is `O`.
#[diagnostic::on_unimplemented(
    message = "`{N}` gives `{O}` per sample, but the targets are `{Self}` per sample",
    label = "targets of shape `{Self}`, not `{N}`'s output `{O}`",
    note = "a regression or autoencoder target has the shape of the network's output: make the targets `Values<{O}>` (`Dataset::<_, Values<{O}>>::regression(..)`), or end the network with a layer that gives `{Self}` (`reshape(..)`, `flatten`, a `dense` of that width)"
)]
pub trait TargetShape<N, O> {}

impl<N, S> TargetShape<N, S> for S {}

impl<N, O: ClassScores<N>> TargetsFor<N, O> for Labels {
    fn check_fits(&self, data: &'static str) -> Result<(), TrainError> {
        class_count::<N>(O::CLASSES, self.classes(), data)
    }
}

impl<N, O: StepScores<N, T>, const T: usize> TargetsFor<N, O> for StepLabels<T> {
    fn check_fits(&self, data: &'static str) -> Result<(), TrainError> {
        class_count::<N>(O::CLASSES, self.classes(), data)
    }
}

// The targets' shape is read back from its batch type, so that `Values<InputOf<Net>>` (an
// autoencoder's targets typed by the network) is the concrete shape it stands for.
impl<N, O, S: Shape> TargetsFor<N, O> for Values<S>
where
    S::Batch<1>: SampleShape,
    <S::Batch<1> as SampleShape>::Sample: TargetShape<N, O>,
{
    fn check_fits(&self, _: &'static str) -> Result<(), TrainError> {
        Ok(())
    }
}
