//! An in-memory dataset, typed by its per-sample shape and its kind of target.

use core::fmt;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, Ordering};
use std::vec::Vec;

use super::error::{DataError, Origin};
use super::idx::IdxArray;
use super::normalize::pixels_to_unit;
use super::targets::{Labels, StepLabels, Targets, Values};
use crate::init::seeded;
use crate::layers::Shape;

/// A classification dataset in memory: `len()` samples of per-sample shape `S`, stored flat and
/// row-major (`S::SIZE` values each), and one class label below `classes` per sample.
///
/// The shape is the [`Shape`] the layers use, so batches come out typed:
/// `Dataset<Features<784>>` gives `Tensor2<B, 784>` batches, `Dataset<Shape2<T, F>>`
/// (sequences) `Tensor3<B, T, F>`, `Dataset<Shape3<C, H, W>>` (images) `Tensor4<B, C, H, W>`,
/// and `Dataset<InputOf<Net>>` whatever a network takes. Feeding a network batches of the wrong
/// shape is then a type error rather than a runtime check.
///
/// ```
/// use nn_core::data::Dataset;
/// use nn_core::layers::Features;
/// let data = Dataset::<Features<2>>::new(vec![0.0, 0.5, 1.0, 0.25], vec![1, 0], 2)?;
/// assert_eq!(data.len(), 2);
/// assert_eq!(data.sample(1), Some((&[1.0, 0.25][..], 0)));
/// // 2 samples but 3 labels, then label 2 of 2 classes:
/// assert!(Dataset::<Features<2>>::new(vec![0.0; 4], vec![1, 0, 1], 2).is_err());
/// assert!(Dataset::<Features<2>>::new(vec![0.0; 4], vec![1, 2], 2).is_err());
/// # Ok::<(), nn_core::data::DataError>(())
/// ```
///
/// # Targets
/// The second parameter says what each sample is compared against. It defaults to
/// [`Labels`] (classification, as above). [`Values<T>`] holds real-valued targets of shape `T`:
/// [`Dataset::regression`] pairs inputs with targets, [`Dataset::autoencoder`] makes every
/// sample its own target.
///
/// ```
/// use nn_core::data::{Dataset, Values};
/// use nn_core::layers::Features;
/// // y = 2x + 1 at x = 0, 1, 2.
/// let line = Dataset::<Features<1>, Values<Features<1>>>::regression(
///     vec![0.0, 1.0, 2.0],
///     vec![1.0, 3.0, 5.0],
/// )?;
/// assert_eq!(line.targets().as_slice(), &[1.0, 3.0, 5.0]);
/// let pixels = Dataset::<Features<2>, _>::autoencoder(vec![0.1, 0.2, 0.3, 0.4])?;
/// assert_eq!(pixels.targets().as_slice(), pixels.inputs());
/// # Ok::<(), nn_core::data::DataError>(())
/// ```
///
/// # Non-finite values
/// Every constructor rejects a NaN or infinite input or target with
/// [`DataError::NonFinite`], which names the sample; [`Dataset::check_finite`] checks again
/// after [`Dataset::inputs_mut`].
pub struct Dataset<S: Shape, T: Targets = Labels> {
    inputs: Vec<f32>,
    targets: T,
    // No `S` is stored; `fn() -> S` keeps the dataset `Send` and `Sync` whatever `S` is.
    shape: PhantomData<fn() -> S>,
    // Whether every value is known to be finite: set by the constructors' check, cleared by
    // `inputs_mut`, so that `check_finite` (which `fit` calls) rescans only after a change.
    finite: AtomicBool,
}

/// The first sample with a non-finite input in `values` (`per_sample` values each), as an
/// error.
fn first_non_finite(values: &[f32], per_sample: usize) -> Result<(), DataError> {
    match position_of_non_finite(values) {
        None => Ok(()),
        Some(at) => Err(DataError::NonFinite {
            what: "input",
            sample: at / per_sample.max(1),
            offset: at % per_sample.max(1),
            value: values[at],
        }),
    }
}

/// The index of the first NaN or infinity in `values`. Scans blocks with a branch-free test of
/// the exponent bits, which the compiler vectorizes, so that checking MNIST's 47 million
/// values runs at memory speed.
pub(crate) fn position_of_non_finite(values: &[f32]) -> Option<usize> {
    const EXPONENT: u32 = 0x7f80_0000;
    let mut start = 0;
    for block in values.chunks(4096) {
        let any = block.iter().fold(0u32, |any, v| {
            any | u32::from(v.to_bits() & EXPONENT == EXPONENT)
        });
        if any != 0 {
            return block
                .iter()
                .position(|v| !v.is_finite())
                .map(|at| start + at);
        }
        start += block.len();
    }
    None
}

/// Checks that `inputs` cut into samples of `features` values, and returns their count.
fn sample_count(inputs: &[f32], features: usize) -> Result<usize, DataError> {
    if features == 0 || !inputs.len().is_multiple_of(features) {
        return Err(DataError::RaggedInputs {
            len: inputs.len(),
            features,
        });
    }
    Ok(inputs.len() / features)
}

impl<S: Shape> Dataset<S> {
    /// A dataset from flat row-major inputs of `S::SIZE` values per sample and one label per
    /// sample.
    ///
    /// # Errors
    /// [`DataError::RaggedInputs`] when `S::SIZE` is 0 or does not divide `inputs.len()`,
    /// [`DataError::CountMismatch`] when the sample and label counts differ, and
    /// [`DataError::LabelOutOfRange`] for the first label not below `classes`, and
    /// [`DataError::NonFinite`] for the first sample with a NaN or infinite input.
    pub fn new(inputs: Vec<f32>, labels: Vec<usize>, classes: usize) -> Result<Self, DataError> {
        let samples = sample_count(&inputs, S::SIZE)?;
        if samples != labels.len() {
            return Err(DataError::CountMismatch {
                inputs: samples,
                inputs_origin: Origin::Memory,
                labels: labels.len(),
                labels_origin: Origin::Memory,
            });
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, label)| **label >= classes)
        {
            return Err(DataError::LabelOutOfRange {
                origin: Origin::Memory,
                index,
                label,
                classes,
            });
        }
        first_non_finite(&inputs, S::SIZE)?;
        Ok(Self {
            inputs,
            targets: Labels { labels, classes },
            shape: PhantomData,
            finite: AtomicBool::new(true),
        })
    }

    /// A dataset from unsigned-byte pixels, scaled to `[0, 1]` by dividing by 255, and byte
    /// labels (the layout of MNIST's IDX files).
    ///
    /// # Errors
    /// As [`Dataset::new`].
    ///
    /// ```
    /// use nn_core::data::Dataset;
    /// use nn_core::layers::Features;
    /// let data = Dataset::<Features<2>>::from_u8(&[0, 255, 51, 102], &[3, 7], 10)?;
    /// assert_eq!(data.inputs(), &[0.0, 1.0, 0.2, 0.4]);
    /// assert_eq!(data.labels(), &[3, 7]);
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn from_u8(pixels: &[u8], labels: &[u8], classes: usize) -> Result<Self, DataError> {
        let labels = labels.iter().map(|&l| usize::from(l)).collect();
        Self::new(pixels_to_unit(pixels), labels, classes)
    }

    /// A dataset from IDX arrays (see [`idx`](super::idx)): `images`' first axis counts the
    /// samples and its other axes make one sample; `labels` is rank 1, one byte label per
    /// sample. Pixels are divided by 255.
    ///
    /// Only the element count of a sample is checked against `S`, so `(28, 28)` images load as
    /// `Shape3<1, 28, 28>` and as `Features<784>` alike (row-major, as a reshape would read
    /// them). Fix the dims themselves when reading, with [`read_idx`](super::idx::read_idx)'s
    /// `dims`.
    ///
    /// # Errors
    /// [`DataError::FeatureMismatch`] when a sample of `images` does not hold `S::SIZE` values,
    /// [`DataError::WrongRank`] when `images` has no axis or `labels` is not rank 1, and the
    /// errors of [`Dataset::new`].
    ///
    /// ```
    /// use nn_core::data::{Dataset, idx::IdxArray};
    /// use nn_core::layers::{Features, Shape3};
    /// // Two 1 × 2 images.
    /// let images = IdxArray::new(vec![2, 1, 2], vec![0, 255, 255, 0]).unwrap();
    /// let labels = IdxArray::new(vec![2], vec![1, 0]).unwrap();
    /// let data = Dataset::<Shape3<1, 1, 2>>::from_idx(&images, &labels, 2)?;
    /// assert_eq!(data.sample(1), Some((&[1.0, 0.0][..], 0)));
    /// assert!(Dataset::<Features<3>>::from_idx(&images, &labels, 2).is_err());
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn from_idx(
        images: &IdxArray,
        labels: &IdxArray,
        classes: usize,
    ) -> Result<Self, DataError> {
        // The rank byte of an IDX header is at offset 3.
        let wrong_rank = |expected, found: usize| DataError::WrongRank {
            origin: Origin::Memory,
            offset: 3,
            expected,
            found: u8::try_from(found).unwrap_or(u8::MAX),
        };
        let Some((_, sample_dims)) = images.dims().split_first() else {
            return Err(wrong_rank(1, 0));
        };
        if labels.dims().len() != 1 {
            return Err(wrong_rank(1, labels.dims().len()));
        }
        // `IdxArray::new` checked that the product of all dims fits, so this one does too.
        let per_sample: usize = sample_dims.iter().product();
        if per_sample != S::SIZE {
            return Err(DataError::FeatureMismatch {
                expected: S::SIZE,
                found: per_sample,
            });
        }
        Self::from_u8(images.data(), labels.data(), classes)
    }
}

impl<S: Shape, T: Targets> Dataset<S, T> {
    /// The same samples viewed as shape `R`, without copying: the row-major values of each
    /// sample are read as `R`, as [`Reshape`](crate::layers::Reshape) does. `R::SIZE` must be
    /// `S::SIZE`, checked when the call is built (`cargo build`, not `cargo check`).
    ///
    /// ```
    /// use nn_core::data::Dataset;
    /// use nn_core::layers::{Features, Shape3};
    /// let flat = Dataset::<Features<4>>::new(vec![0.0, 1.0, 2.0, 3.0], vec![0], 1)?;
    /// let image: Dataset<Shape3<1, 2, 2>> = flat.reshape();
    /// assert_eq!(image.inputs(), &[0.0, 1.0, 2.0, 3.0]);
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    ///
    /// ```compile_fail,E0080
    /// # use nn_core::data::Dataset;
    /// # use nn_core::layers::{Features, Shape3};
    /// let flat = Dataset::<Features<4>>::new(vec![0.0; 4], vec![0], 1).unwrap();
    /// let image: Dataset<Shape3<1, 2, 3>> = flat.reshape(); // 4 values into 6
    /// ```
    pub fn reshape<R: Shape>(self) -> Dataset<R, T> {
        const {
            assert!(
                R::SIZE == S::SIZE,
                "Dataset::reshape: the values per sample must not change"
            )
        };
        Dataset {
            inputs: self.inputs,
            targets: self.targets,
            shape: PhantomData,
            finite: AtomicBool::new(self.finite.load(Ordering::Relaxed)),
        }
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.targets.len() == 0
    }

    /// The number of input values per sample, `S::SIZE`.
    pub fn sample_len(&self) -> usize {
        S::SIZE
    }

    /// All inputs, flat and row-major (`len() * sample_len()` values).
    pub fn inputs(&self) -> &[f32] {
        &self.inputs
    }

    /// All inputs, mutably (to normalize them in place). The targets cannot change through this; call
    /// [`Dataset::check_finite`] afterwards if the change could make a value non-finite.
    pub fn inputs_mut(&mut self) -> &mut [f32] {
        *self.finite.get_mut() = false;
        &mut self.inputs
    }

    /// Checks that every input is a token id of a vocabulary of `vocab`: a whole number in
    /// `0..vocab`. The error names the first bad id's sample and position. Run it on the
    /// datasets of a network that starts with `embedding(VOCAB -> D)` before training: at run
    /// time a bad id only turns its position's output to NaN.
    ///
    /// ```
    /// use nn_core::data::Dataset;
    /// use nn_core::layers::Features;
    /// let ids = Dataset::<Features<3>>::new(vec![0.0, 4.0, 2.0, 1.0, 5.0, 0.0], vec![0, 1], 2)?;
    /// let error = ids.check_tokens(5).unwrap_err();
    /// assert_eq!(error.to_string(), "token 5 at sample 1, position 1 is not below the vocabulary size 5");
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn check_tokens(&self, vocab: usize) -> Result<(), DataError> {
        crate::layers::check_tokens(&self.inputs, S::SIZE, vocab)?;
        Ok(())
    }

    /// The targets, one per sample.
    pub fn targets(&self) -> &T {
        &self.targets
    }

    /// The inputs of sample `index`. The caller guarantees `index < len()`.
    pub(crate) fn row(&self, index: usize) -> &[f32] {
        &self.inputs[index * S::SIZE..(index + 1) * S::SIZE]
    }

    /// Checks that every input (and every real-valued target) is finite.
    ///
    /// # Errors
    /// [`DataError::NonFinite`] for the first sample with a NaN or infinite value.
    ///
    /// ```
    /// use nn_core::data::{DataError, Dataset};
    /// use nn_core::layers::Features;
    /// let mut data = Dataset::<Features<2>>::new(vec![0.0; 6], vec![0, 1, 0], 2)?;
    /// data.inputs_mut()[3] = f32::NAN; // sample 1, value 1
    /// let err = data.check_finite().unwrap_err();
    /// assert!(matches!(err, DataError::NonFinite { sample: 1, offset: 1, .. }));
    /// assert_eq!(err.to_string(), "input of sample 1 holds NaN at value 1; every input and target must be finite");
    /// # Ok::<(), DataError>(())
    /// ```
    pub fn check_finite(&self) -> Result<(), DataError> {
        if self.finite.load(Ordering::Relaxed) {
            return Ok(());
        }
        first_non_finite(&self.inputs, S::SIZE)?;
        self.targets.check_finite()?;
        self.finite.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Splits off a validation set: a seeded shuffle of the samples, of which the first
    /// `round(len * fraction)` become the second dataset and the rest the first, each in the
    /// shuffled order (Keras's `validation_split`, but shuffled first, so a sorted dataset
    /// does not give a one-class validation set). The same seed gives the same split.
    ///
    /// # Errors
    /// [`DataError::BadSplit`] unless `0 < fraction < 1`.
    ///
    /// ```
    /// use nn_core::data::Dataset;
    /// use nn_core::layers::Features;
    /// let data = Dataset::<Features<1>>::new((0..10).map(|i| i as f32).collect(), vec![0; 10], 1)?;
    /// let (train, validation) = data.split_validation(0.2, 7)?;
    /// assert_eq!((train.len(), validation.len()), (8, 2));
    /// let mut all: Vec<f32> = train.inputs().iter().chain(validation.inputs()).copied().collect();
    /// all.sort_by(f32::total_cmp);
    /// assert_eq!(all, data.inputs()); // nothing lost, nothing repeated
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn split_validation(&self, fraction: f32, seed: u64) -> Result<(Self, Self), DataError> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(DataError::BadSplit { fraction });
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        rand::seq::SliceRandom::shuffle(order.as_mut_slice(), &mut seeded(seed));
        let held_out = libm::roundf(self.len() as f32 * fraction) as usize;
        let (validation, train) = order.split_at(held_out.min(self.len()));
        Ok((self.gather(train), self.gather(validation)))
    }

    /// The first `n` samples (all of them when there are fewer), to train on part of a
    /// dataset.
    ///
    /// ```
    /// use nn_core::data::Dataset;
    /// use nn_core::layers::Features;
    /// let data = Dataset::<Features<1>>::new(vec![0.0, 1.0, 2.0], vec![0, 1, 0], 2)?;
    /// assert_eq!(data.first(2).inputs(), &[0.0, 1.0]);
    /// assert_eq!(data.first(9).len(), 3);
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn first(&self, n: usize) -> Self {
        let indices: Vec<usize> = (0..n.min(self.len())).collect();
        self.gather(&indices)
    }

    /// The samples at `indices`, in that order (each below `len()`).
    fn gather(&self, indices: &[usize]) -> Self {
        let mut inputs = Vec::with_capacity(indices.len() * S::SIZE);
        for &i in indices {
            inputs.extend_from_slice(self.row(i));
        }
        Self {
            inputs,
            targets: self.targets.gather(indices),
            shape: PhantomData,
            finite: AtomicBool::new(self.finite.load(Ordering::Relaxed)),
        }
    }
}

impl<S: Shape, T: Shape> Dataset<S, Values<T>> {
    /// A regression dataset: flat row-major inputs of `S::SIZE` values per sample and
    /// targets of `T::SIZE` values per sample.
    ///
    /// # Errors
    /// [`DataError::RaggedInputs`] when either does not cut into whole samples,
    /// [`DataError::CountMismatch`] when their sample counts differ, and
    /// [`DataError::NonFinite`] for the first sample with a NaN or infinite value.
    pub fn regression(inputs: Vec<f32>, targets: Vec<f32>) -> Result<Self, DataError> {
        let samples = sample_count(&inputs, S::SIZE)?;
        let target_samples = sample_count(&targets, T::SIZE)?;
        if samples != target_samples {
            return Err(DataError::CountMismatch {
                inputs: samples,
                inputs_origin: Origin::Memory,
                labels: target_samples,
                labels_origin: Origin::Memory,
            });
        }
        first_non_finite(&inputs, S::SIZE)?;
        let targets = Values::new(targets);
        targets.check_finite()?;
        Ok(Self {
            inputs,
            targets,
            shape: PhantomData,
            finite: AtomicBool::new(true),
        })
    }
}

impl<S: Shape> Dataset<S, Values<S>> {
    /// An autoencoder's dataset: every sample is its own target (the values are stored
    /// twice, so that the inputs can later be corrupted, for denoising or inpainting, while
    /// the targets stay clean).
    ///
    /// # Errors
    /// As [`Dataset::regression`].
    pub fn autoencoder(inputs: Vec<f32>) -> Result<Self, DataError> {
        let targets = inputs.clone();
        Self::regression(inputs, targets)
    }
}

impl<S: Shape> Dataset<S> {
    /// The number of classes; every label is below it.
    pub fn classes(&self) -> usize {
        self.targets.classes
    }

    /// All labels, one per sample.
    pub fn labels(&self) -> &[usize] {
        &self.targets.labels
    }

    /// The inputs (flat, row-major) and label of sample `index`, or `None` when out of range.
    pub fn sample(&self, index: usize) -> Option<(&[f32], usize)> {
        let label = *self.targets.labels.get(index)?;
        let start = index.checked_mul(S::SIZE)?;
        let inputs = self.inputs.get(start..start.checked_add(S::SIZE)?)?;
        Some((inputs, label))
    }

    /// How many samples carry each label, indexed by class.
    ///
    /// ```
    /// use nn_core::data::Dataset;
    /// use nn_core::layers::Features;
    /// let data = Dataset::<Features<1>>::new(vec![0.0; 3], vec![2, 0, 2], 3)?;
    /// assert_eq!(data.class_counts(), vec![1, 0, 2]);
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = std::vec![0; self.targets.classes];
        for &label in &self.targets.labels {
            // Labels are below `classes` by construction.
            if let Some(count) = counts.get_mut(label) {
                *count += 1;
            }
        }
        counts
    }

    /// Sets the origins that [`Dataset::new`]'s errors report (for loaders that read files).
    pub(crate) fn attach_origins(error: DataError, inputs: &Origin, labels: &Origin) -> DataError {
        match error {
            DataError::CountMismatch {
                inputs: n,
                labels: m,
                ..
            } => DataError::CountMismatch {
                inputs: n,
                inputs_origin: inputs.clone(),
                labels: m,
                labels_origin: labels.clone(),
            },
            DataError::LabelOutOfRange {
                index,
                label,
                classes,
                ..
            } => DataError::LabelOutOfRange {
                origin: labels.clone(),
                index,
                label,
                classes,
            },
            other => other,
        }
    }

    /// The same inputs with themselves as targets, for an autoencoder (see
    /// [`Dataset::autoencoder`]); the labels are dropped.
    pub fn into_autoencoder(self) -> Dataset<S, Values<S>> {
        let targets = Values::new(self.inputs.clone());
        Dataset {
            inputs: self.inputs,
            targets,
            shape: PhantomData,
            finite: AtomicBool::new(self.finite.load(Ordering::Relaxed)),
        }
    }
}

impl<S: Shape, const T: usize> Dataset<S, StepLabels<T>> {
    /// A sequence-tagging dataset: flat row-major inputs of `S::SIZE` values per sample (a
    /// `Shape2<T, F>` sequence, typically) and `T` class labels per sample, one per step,
    /// sample after sample. A network whose output is `(T, C)` per sample (a recurrent layer
    /// and a per-step `dense`, without `last`) trains on it with
    /// [`CrossEntropy`](crate::train::CrossEntropy), which averages over the steps.
    ///
    /// # Errors
    /// [`DataError::RaggedInputs`] when the inputs do not cut into whole samples,
    /// [`DataError::StepLabelCount`] unless there are `T` labels per sample,
    /// [`DataError::LabelOutOfRange`] for the first label not below `classes` (naming its
    /// sample), and [`DataError::NonFinite`] for the first sample with a NaN or infinite input.
    ///
    /// ```
    /// use nn_core::data::{Dataset, StepLabels};
    /// use nn_core::layers::Shape2;
    /// // Two sequences of 3 steps of 1 feature; each step is labelled by its sign.
    /// let data = Dataset::<Shape2<3, 1>, StepLabels<3>>::per_step(
    ///     vec![0.5, -1.0, 2.0, /**/ -0.5, -0.25, 1.0],
    ///     vec![1, 0, 1, /**/ 0, 0, 1],
    ///     2,
    /// )?;
    /// assert_eq!((data.len(), data.classes()), (2, 2));
    /// assert_eq!(data.step_labels(1), Some(&[0, 0, 1][..]));
    /// // 5 labels for 2 samples of 3 steps:
    /// assert!(Dataset::<Shape2<3, 1>, StepLabels<3>>::per_step(vec![0.0; 6], vec![0; 5], 2).is_err());
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn per_step(
        inputs: Vec<f32>,
        labels: Vec<usize>,
        classes: usize,
    ) -> Result<Self, DataError> {
        let samples = sample_count(&inputs, S::SIZE)?;
        if T == 0 || samples.checked_mul(T) != Some(labels.len()) {
            return Err(DataError::StepLabelCount {
                samples,
                steps: T,
                labels: labels.len(),
            });
        }
        if let Some((at, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, label)| **label >= classes)
        {
            return Err(DataError::LabelOutOfRange {
                origin: Origin::Memory,
                index: at / T,
                label,
                classes,
            });
        }
        first_non_finite(&inputs, S::SIZE)?;
        Ok(Self {
            inputs,
            targets: StepLabels { labels, classes },
            shape: PhantomData,
            finite: AtomicBool::new(true),
        })
    }

    /// The number of classes; every label is below it.
    pub fn classes(&self) -> usize {
        self.targets.classes
    }

    /// The `T` labels of sample `index`, or `None` when out of range.
    pub fn step_labels(&self, index: usize) -> Option<&[usize]> {
        let start = index.checked_mul(T)?;
        self.targets.labels.get(start..start.checked_add(T)?)
    }
}

// By hand rather than derived: a derive would ask the shape marker `S` for the same traits.
impl<S: Shape, T: Targets> Clone for Dataset<S, T> {
    fn clone(&self) -> Self {
        Self {
            inputs: self.inputs.clone(),
            targets: self.targets.clone(),
            shape: PhantomData,
            finite: AtomicBool::new(self.finite.load(Ordering::Relaxed)),
        }
    }
}

impl<S: Shape, T: Targets> PartialEq for Dataset<S, T> {
    fn eq(&self, other: &Self) -> bool {
        self.targets == other.targets && self.inputs == other.inputs
    }
}

/// A summary: the shape, the counts and the classes, not the (possibly millions of) values.
impl<S: Shape, T: Targets> fmt::Debug for Dataset<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("shape", &core::any::type_name::<S>())
            .field("len", &self.len())
            .field("sample_len", &S::SIZE)
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Features, Shape2, Shape3};
    use std::vec;

    #[test]
    fn constructor_checks_counts_and_labels() {
        assert!(matches!(
            Dataset::<Features<3>>::new(vec![0.0; 6], vec![0], 2),
            Err(DataError::CountMismatch {
                inputs: 2,
                labels: 1,
                ..
            })
        ));
        assert!(matches!(
            Dataset::<Features<3>>::new(vec![0.0; 7], vec![0, 1], 2),
            Err(DataError::RaggedInputs {
                len: 7,
                features: 3
            })
        ));
        assert!(matches!(
            Dataset::<Features<0>>::new(vec![], vec![], 2),
            Err(DataError::RaggedInputs { .. })
        ));
        assert!(matches!(
            Dataset::<Features<3>>::new(vec![0.0; 6], vec![0, 5], 5),
            Err(DataError::LabelOutOfRange {
                index: 1,
                label: 5,
                classes: 5,
                ..
            })
        ));
        let empty = Dataset::<Features<3>>::new(vec![], vec![], 2).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn non_finite_values_are_rejected_with_their_sample() {
        let mut inputs = vec![0.5; 12];
        inputs[7] = f32::INFINITY; // sample 2 of 3-value samples, value 1
        assert!(matches!(
            Dataset::<Features<3>>::new(inputs, vec![0; 4], 1),
            Err(DataError::NonFinite {
                what: "input",
                sample: 2,
                offset: 1,
                ..
            })
        ));
        let targets = vec![1.0, f32::NAN];
        assert!(matches!(
            Dataset::<Features<1>, Values<Features<1>>>::regression(vec![0.0, 1.0], targets),
            Err(DataError::NonFinite {
                what: "target",
                sample: 1,
                offset: 0,
                ..
            })
        ));
        // A change through `inputs_mut` is caught by the next check, and only then rescanned.
        let mut data = Dataset::<Features<2>>::new(vec![0.0; 4], vec![0, 0], 1).unwrap();
        assert!(data.check_finite().is_ok());
        data.inputs_mut()[0] = f32::NEG_INFINITY;
        assert!(data.check_finite().is_err());
        data.inputs_mut()[0] = 0.0;
        assert!(data.check_finite().is_ok());
        // A NaN far into a long dataset is found by the blocked scan.
        let mut long = vec![0.0; 3 * 10_000];
        long[3 * 9_999 + 2] = f32::NAN;
        assert_eq!(super::position_of_non_finite(&long), Some(3 * 9_999 + 2));
    }

    #[test]
    fn sample_access() {
        let data = Dataset::<Shape2<1, 3>>::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![1, 0], 2)
            .unwrap();
        assert_eq!(data.sample_len(), 3);
        assert_eq!(data.sample(0), Some((&[1.0, 2.0, 3.0][..], 1)));
        assert_eq!(data.row(1), &[4.0, 5.0, 6.0]);
        assert_eq!(data.sample(2), None);
        assert_eq!(data.sample(usize::MAX), None);
    }

    #[test]
    fn from_idx_checks_the_sample_size_and_ranks() {
        let images = IdxArray::new(vec![3, 2, 2], (0..12).collect()).unwrap();
        let labels = IdxArray::new(vec![3], vec![0, 1, 2]).unwrap();
        let data = Dataset::<Shape3<1, 2, 2>>::from_idx(&images, &labels, 3).unwrap();
        assert_eq!((data.len(), data.sample_len()), (3, 4));
        assert_eq!(data.sample(2).unwrap().0[3], 11.0 / 255.0);
        assert!(Dataset::<Features<4>>::from_idx(&images, &labels, 3).is_ok());
        assert!(matches!(
            Dataset::<Features<6>>::from_idx(&images, &labels, 3),
            Err(DataError::FeatureMismatch {
                expected: 6,
                found: 4
            })
        ));
        let square = IdxArray::new(vec![3, 1], vec![0, 1, 2]).unwrap();
        assert!(matches!(
            Dataset::<Features<4>>::from_idx(&images, &square, 3),
            Err(DataError::WrongRank {
                expected: 1,
                found: 2,
                ..
            })
        ));
        let scalar = IdxArray::new(vec![], vec![7]).unwrap();
        assert!(matches!(
            Dataset::<Features<1>>::from_idx(&scalar, &labels, 3),
            Err(DataError::WrongRank { found: 0, .. })
        ));
        // 4 labels for 3 images.
        let four = IdxArray::new(vec![4], vec![0; 4]).unwrap();
        assert!(matches!(
            Dataset::<Features<4>>::from_idx(&images, &four, 3),
            Err(DataError::CountMismatch {
                inputs: 3,
                labels: 4,
                ..
            })
        ));
    }

    #[test]
    fn per_step_labels_are_checked_and_batched_by_sample() {
        use crate::data::{Batch, LastBatch, StepLabels};
        type Tagged = Dataset<Shape2<2, 1>, StepLabels<2>>;
        // Sample i is [i, -i] with labels [i % 3, (i + 1) % 3].
        let inputs = (0..5)
            .flat_map(|i| [i as f32, -(i as f32)])
            .collect::<Vec<_>>();
        let labels = (0..5)
            .flat_map(|i| [i % 3, (i + 1) % 3])
            .collect::<Vec<_>>();
        let data = Tagged::per_step(inputs.clone(), labels.clone(), 3).unwrap();
        assert_eq!((data.len(), data.classes()), (5, 3));
        assert_eq!(data.step_labels(4), Some(&[1, 2][..]));
        assert_eq!(data.step_labels(5), None);
        let mut batches = data.shuffled_batches::<2>(LastBatch::Pad, 1).unwrap();
        let mut batch = Batch::new();
        let mut seen = 0;
        while let Some(valid) = batches.fill_next(&mut batch) {
            for row in 0..valid {
                let i = batch.inputs().as_slice()[row * 2] as usize;
                assert_eq!(batch.targets()[row], [i % 3, (i + 1) % 3]);
                seen += 1;
            }
        }
        assert_eq!(seen, 5);
        // 9 labels for 5 samples of 2 steps; label 3 of 3 classes in sample 2.
        assert!(matches!(
            Tagged::per_step(inputs.clone(), labels[..9].to_vec(), 3),
            Err(DataError::StepLabelCount {
                samples: 5,
                steps: 2,
                labels: 9
            })
        ));
        let mut bad = labels;
        bad[5] = 3;
        assert!(matches!(
            Tagged::per_step(inputs, bad, 3),
            Err(DataError::LabelOutOfRange {
                index: 2,
                label: 3,
                ..
            })
        ));
    }

    #[test]
    fn reshape_keeps_values_and_labels() {
        let flat = Dataset::<Features<6>>::new((0..12).map(|v| v as f32).collect(), vec![1, 0], 2)
            .unwrap();
        let seq: Dataset<Shape2<3, 2>> = flat.clone().reshape();
        assert_eq!(seq.inputs(), flat.inputs());
        assert_eq!(seq.labels(), flat.labels());
        assert_eq!(seq.sample_len(), 6);
        let debug = std::format!("{seq:?}");
        assert!(
            debug.contains("len: 2") && debug.contains("Shape2<3, 2>"),
            "{debug}"
        );
    }
}
