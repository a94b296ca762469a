//! An in-memory classification dataset.

use std::vec::Vec;

use super::error::{DataError, Origin};
use super::normalize::pixels_to_unit;

/// A classification dataset in memory: `len()` samples of `features` `f32` inputs each, stored
/// flat and row-major, and one class label below `classes` per sample.
///
/// ```
/// use nn_core::data::Dataset;
/// let data = Dataset::new(vec![0.0, 0.5, 1.0, 0.25], 2, vec![1, 0], 2)?;
/// assert_eq!(data.len(), 2);
/// assert_eq!(data.sample(1), Some((&[1.0, 0.25][..], 0)));
/// assert!(Dataset::new(vec![0.0; 4], 2, vec![1, 0, 1], 2).is_err()); // 2 samples, 3 labels
/// assert!(Dataset::new(vec![0.0; 4], 2, vec![1, 2], 2).is_err()); // label 2 of 2 classes
/// # Ok::<(), nn_core::data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    inputs: Vec<f32>,
    features: usize,
    labels: Vec<usize>,
    classes: usize,
}

impl Dataset {
    /// A dataset from flat row-major inputs of `features` values per sample and one label per
    /// sample.
    ///
    /// # Errors
    /// [`DataError::RaggedInputs`] when `features` is 0 or does not divide `inputs.len()`,
    /// [`DataError::CountMismatch`] when the sample and label counts differ, and
    /// [`DataError::LabelOutOfRange`] for the first label not below `classes`.
    pub fn new(
        inputs: Vec<f32>,
        features: usize,
        labels: Vec<usize>,
        classes: usize,
    ) -> Result<Self, DataError> {
        if features == 0 || !inputs.len().is_multiple_of(features) {
            return Err(DataError::RaggedInputs {
                len: inputs.len(),
                features,
            });
        }
        let samples = inputs.len() / features;
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
        Ok(Self {
            inputs,
            features,
            labels,
            classes,
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
    /// let data = Dataset::from_u8(&[0, 255, 51, 102], 2, &[3, 7], 10)?;
    /// assert_eq!(data.inputs(), &[0.0, 1.0, 0.2, 0.4]);
    /// assert_eq!(data.labels(), &[3, 7]);
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn from_u8(
        pixels: &[u8],
        features: usize,
        labels: &[u8],
        classes: usize,
    ) -> Result<Self, DataError> {
        let labels = labels.iter().map(|&l| usize::from(l)).collect();
        Self::new(pixels_to_unit(pixels), features, labels, classes)
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The number of input values per sample.
    pub fn features(&self) -> usize {
        self.features
    }

    /// The number of classes; every label is below it.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// All inputs, flat and row-major (`len() * features()` values).
    pub fn inputs(&self) -> &[f32] {
        &self.inputs
    }

    /// All inputs, mutably (to normalize them in place). The labels cannot change through this.
    pub fn inputs_mut(&mut self) -> &mut [f32] {
        &mut self.inputs
    }

    /// All labels, one per sample.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The inputs and label of sample `index`, or `None` when out of range.
    pub fn sample(&self, index: usize) -> Option<(&[f32], usize)> {
        let label = *self.labels.get(index)?;
        let start = index.checked_mul(self.features)?;
        let inputs = self.inputs.get(start..start.checked_add(self.features)?)?;
        Some((inputs, label))
    }

    /// The inputs of sample `index`. The caller guarantees `index < len()`.
    pub(crate) fn row(&self, index: usize) -> &[f32] {
        &self.inputs[index * self.features..(index + 1) * self.features]
    }

    /// How many samples carry each label, indexed by class.
    ///
    /// ```
    /// use nn_core::data::Dataset;
    /// let data = Dataset::new(vec![0.0; 3], 1, vec![2, 0, 2], 3)?;
    /// assert_eq!(data.class_counts(), vec![1, 0, 2]);
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = std::vec![0; self.classes];
        for &label in &self.labels {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn constructor_checks_counts_and_labels() {
        assert!(matches!(
            Dataset::new(vec![0.0; 6], 3, vec![0], 2),
            Err(DataError::CountMismatch {
                inputs: 2,
                labels: 1,
                ..
            })
        ));
        assert!(matches!(
            Dataset::new(vec![0.0; 7], 3, vec![0, 1], 2),
            Err(DataError::RaggedInputs {
                len: 7,
                features: 3
            })
        ));
        assert!(matches!(
            Dataset::new(vec![], 0, vec![], 2),
            Err(DataError::RaggedInputs { .. })
        ));
        assert!(matches!(
            Dataset::new(vec![0.0; 6], 3, vec![0, 5], 5),
            Err(DataError::LabelOutOfRange {
                index: 1,
                label: 5,
                classes: 5,
                ..
            })
        ));
        let empty = Dataset::new(vec![], 3, vec![], 2).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn sample_access() {
        let data = Dataset::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, vec![1, 0], 2).unwrap();
        assert_eq!(data.sample(0), Some((&[1.0, 2.0, 3.0][..], 1)));
        assert_eq!(data.row(1), &[4.0, 5.0, 6.0]);
        assert_eq!(data.sample(2), None);
        assert_eq!(data.sample(usize::MAX), None);
    }
}
