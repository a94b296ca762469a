//! What a dataset's samples are compared against: class labels, or values of a shape
//! (regression targets, and an autoencoder's own inputs).

use core::fmt;
use core::marker::PhantomData;
use std::boxed::Box;
use std::vec::Vec;

use super::DataError;
use crate::layers::Shape;
use crate::tensor::Tensor;

/// The targets of a [`Dataset`](super::Dataset): one per sample, stored flat.
///
/// Three kinds exist: [`Labels`] (classification, one label per sample; batches of
/// `[usize; B]`, what [`softmax_cross_entropy`](crate::loss::softmax_cross_entropy) takes),
/// [`StepLabels<T>`] (sequence tagging, one label per step) and [`Values<T>`] (regression and
/// autoencoders; batches of `T::Batch<B>`, what [`mse`](crate::loss::mse) takes).
pub trait Targets: Clone + PartialEq + fmt::Debug + Send + Sync {
    /// The targets of a batch of `B` samples.
    type Batch<const B: usize>;

    /// One sample's target, as losses and metrics read it: a `usize` label, or a `&[f32]`
    /// of values.
    type Sample<'a>: Copy;

    /// The number of samples.
    fn len(&self) -> usize;

    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A zeroed batch, allocated once.
    fn new_batch<const B: usize>() -> Self::Batch<B>;

    /// Writes the target of sample `index` into row `row` of `batch`. The caller guarantees
    /// `index < len()` and `row < B`.
    fn write_row<const B: usize>(&self, index: usize, batch: &mut Self::Batch<B>, row: usize);

    /// The target in row `row` of `batch` (`row < B`).
    fn batch_row<const B: usize>(batch: &Self::Batch<B>, row: usize) -> Self::Sample<'_>;

    /// The targets of the samples at `indices`, in that order. The caller guarantees every
    /// index is below `len()`.
    fn gather(&self, indices: &[usize]) -> Self;

    /// Checks that every target value is finite (labels always are).
    ///
    /// # Errors
    /// [`DataError::NonFinite`] for the first sample with a NaN or infinite target.
    fn check_finite(&self) -> Result<(), DataError> {
        Ok(())
    }
}

/// Class labels, each below `classes`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Labels {
    pub(crate) labels: Vec<usize>,
    pub(crate) classes: usize,
}

impl Labels {
    /// The labels, one per sample.
    pub fn as_slice(&self) -> &[usize] {
        &self.labels
    }

    /// The number of classes; every label is below it.
    pub fn classes(&self) -> usize {
        self.classes
    }
}

impl Targets for Labels {
    // Boxed, so that a batch of 1000 labels does not sit on the stack.
    type Batch<const B: usize> = Box<[usize; B]>;
    type Sample<'a> = usize;

    fn len(&self) -> usize {
        self.labels.len()
    }

    fn new_batch<const B: usize>() -> Box<[usize; B]> {
        let labels: Box<[usize]> = std::vec![0; B].into_boxed_slice();
        labels
            .try_into()
            .unwrap_or_else(|_| unreachable!("a Vec of B elements is a [usize; B]"))
    }

    fn write_row<const B: usize>(&self, index: usize, batch: &mut Box<[usize; B]>, row: usize) {
        batch[row] = self.labels[index];
    }

    fn batch_row<const B: usize>(batch: &Box<[usize; B]>, row: usize) -> usize {
        batch[row]
    }

    fn gather(&self, indices: &[usize]) -> Self {
        Self {
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes,
        }
    }
}

/// One class label per step of each sample, `T` steps, each label below `classes`: the targets
/// of a sequence tagger, whose network gives `(T, C)` class scores per sample (a recurrent
/// layer and a per-step `dense`, without `last`). Make a dataset of them with
/// [`Dataset::per_step`](super::Dataset::per_step).
///
/// Batches are `[[usize; T]; B]` (boxed); a loss or metric reads one sample's `T` labels as a
/// `&[usize]`, and [`CrossEntropy`](crate::train::CrossEntropy) and
/// [`Accuracy`](crate::train::Accuracy) average over the steps.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StepLabels<const T: usize> {
    pub(crate) labels: Vec<usize>,
    pub(crate) classes: usize,
}

impl<const T: usize> StepLabels<T> {
    /// The labels, `T` per sample, sample after sample.
    pub fn as_slice(&self) -> &[usize] {
        &self.labels
    }

    /// The number of classes; every label is below it.
    pub fn classes(&self) -> usize {
        self.classes
    }
}

impl<const T: usize> Targets for StepLabels<T> {
    // Boxed, so that a batch of 1000 sequences' labels does not sit on the stack.
    type Batch<const B: usize> = Box<[[usize; T]; B]>;
    type Sample<'a> = &'a [usize];

    fn len(&self) -> usize {
        self.labels.len() / T.max(1)
    }

    fn new_batch<const B: usize>() -> Box<[[usize; T]; B]> {
        let labels: Box<[[usize; T]]> = std::vec![[0; T]; B].into_boxed_slice();
        labels
            .try_into()
            .unwrap_or_else(|_| unreachable!("a Vec of B elements is a [_; B]"))
    }

    fn write_row<const B: usize>(
        &self,
        index: usize,
        batch: &mut Box<[[usize; T]; B]>,
        row: usize,
    ) {
        batch[row].copy_from_slice(&self.labels[index * T..(index + 1) * T]);
    }

    fn batch_row<const B: usize>(batch: &Box<[[usize; T]; B]>, row: usize) -> &[usize] {
        &batch[row]
    }

    fn gather(&self, indices: &[usize]) -> Self {
        let mut labels = Vec::with_capacity(indices.len() * T);
        for &i in indices {
            labels.extend_from_slice(&self.labels[i * T..(i + 1) * T]);
        }
        Self {
            labels,
            classes: self.classes,
        }
    }
}

/// Real-valued targets of per-sample shape `T`, stored flat and row-major (`T::SIZE` values
/// per sample): regression targets, or a (clean) image an autoencoder should reproduce.
pub struct Values<T: Shape> {
    pub(crate) values: Vec<f32>,
    // `fn() -> T` keeps the targets `Send` and `Sync` whatever `T` is.
    shape: PhantomData<fn() -> T>,
}

impl<T: Shape> Values<T> {
    pub(crate) fn new(values: Vec<f32>) -> Self {
        Self {
            values,
            shape: PhantomData,
        }
    }

    /// All values, flat and row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.values
    }

    /// The values of sample `index`. The caller guarantees `index < len()`.
    pub(crate) fn row(&self, index: usize) -> &[f32] {
        &self.values[index * T::SIZE..(index + 1) * T::SIZE]
    }
}

// By hand rather than derived: a derive would ask the shape marker `T` for the same traits.
impl<T: Shape> Clone for Values<T> {
    fn clone(&self) -> Self {
        Self::new(self.values.clone())
    }
}

impl<T: Shape> PartialEq for Values<T> {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values
    }
}

impl<T: Shape> fmt::Debug for Values<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Values")
            .field("shape", &core::any::type_name::<T>())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<T: Shape> Targets for Values<T> {
    type Batch<const B: usize> = T::Batch<B>;
    type Sample<'a> = &'a [f32];

    fn len(&self) -> usize {
        self.values.len() / T::SIZE.max(1)
    }

    fn new_batch<const B: usize>() -> T::Batch<B> {
        <T::Batch<B> as Tensor>::zeros()
    }

    fn write_row<const B: usize>(&self, index: usize, batch: &mut T::Batch<B>, row: usize) {
        batch.as_mut_slice()[row * T::SIZE..(row + 1) * T::SIZE].copy_from_slice(self.row(index));
    }

    fn batch_row<const B: usize>(batch: &T::Batch<B>, row: usize) -> &[f32] {
        &batch.as_slice()[row * T::SIZE..(row + 1) * T::SIZE]
    }

    fn gather(&self, indices: &[usize]) -> Self {
        let mut values = Vec::with_capacity(indices.len() * T::SIZE);
        for &i in indices {
            values.extend_from_slice(self.row(i));
        }
        Self::new(values)
    }

    fn check_finite(&self) -> Result<(), DataError> {
        match super::dataset::position_of_non_finite(&self.values) {
            None => Ok(()),
            Some(at) => Err(DataError::NonFinite {
                what: "target",
                sample: at / T::SIZE.max(1),
                offset: at % T::SIZE.max(1),
                value: self.values[at],
            }),
        }
    }
}
