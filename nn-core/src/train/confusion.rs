//! The confusion matrix of a classifier.

use core::fmt;
use std::vec::Vec;

use crate::Error;
use crate::metrics::argmax;

/// How many samples of each true class (rows) were predicted as each class (columns).
///
/// ```
/// use nn_core::train::ConfusionMatrix;
/// // Three samples, two classes: outputs (logits) row by row, and the true labels.
/// let outputs = [2.0, 0.0, /**/ 0.0, 1.0, /**/ 3.0, 1.0];
/// let matrix = ConfusionMatrix::from_outputs(2, &outputs, &[0, 1, 1])?;
/// assert_eq!(matrix.counts(), &[vec![1, 0], vec![1, 1]]);
/// assert_eq!(matrix.recall(1), 0.5);
/// assert!((matrix.accuracy() - 2.0 / 3.0).abs() < 1e-12);
/// println!("{matrix}"); // a text table
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    counts: Vec<Vec<usize>>,
}

impl ConfusionMatrix {
    /// The matrix of `labels` against the argmax of each `classes`-wide row of `outputs`
    /// (what [`predict`](super::predict) returns).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `outputs` does not hold one row per label, and
    /// [`Error::LabelOutOfRange`] for a label not below `classes`.
    pub fn from_outputs(classes: usize, outputs: &[f32], labels: &[usize]) -> Result<Self, Error> {
        if classes == 0 || outputs.len() != labels.len() * classes {
            return Err(Error::LengthMismatch {
                expected: labels.len() * classes,
                found: outputs.len(),
            });
        }
        let mut counts = std::vec![std::vec![0; classes]; classes];
        for (row, (output, &label)) in outputs.chunks_exact(classes).zip(labels).enumerate() {
            if label >= classes {
                return Err(Error::LabelOutOfRange {
                    label,
                    row,
                    classes,
                });
            }
            counts[label][argmax(output)] += 1;
        }
        Ok(Self { counts })
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.counts.len()
    }

    /// `counts()[i][j]`: samples of class `i` predicted as `j`.
    pub fn counts(&self) -> &[Vec<usize>] {
        &self.counts
    }

    /// The fraction of class `class`'s samples predicted right (0 for an absent class).
    pub fn recall(&self, class: usize) -> f64 {
        let row = &self.counts[class];
        row[class] as f64 / row.iter().sum::<usize>().max(1) as f64
    }

    /// The fraction of all samples predicted right.
    pub fn accuracy(&self) -> f64 {
        let right: usize = (0..self.classes()).map(|c| self.counts[c][c]).sum();
        let all: usize = self.counts.iter().flatten().sum();
        right as f64 / all.max(1) as f64
    }
}

/// A text table: one row per true class, one column per predicted class, and the recall.
impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .counts
            .iter()
            .flatten()
            .map(|c| c.to_string().len())
            .max()
            .unwrap_or(1)
            .max(self.classes().to_string().len());
        write!(f, "{:>5} |", "true")?;
        for class in 0..self.classes() {
            write!(f, " {class:>width$}")?;
        }
        writeln!(f, " | recall")?;
        for (class, row) in self.counts.iter().enumerate() {
            write!(f, "{class:>5} |")?;
            for count in row {
                write!(f, " {count:>width$}")?;
            }
            writeln!(f, " | {:.3}", self.recall(class))?;
        }
        Ok(())
    }
}

use std::string::ToString as _;
