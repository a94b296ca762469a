//! Metrics.

use crate::Error;
use crate::tensor::Tensor2;

/// The index of the largest value in `row` (the first one on ties); 0 for an empty row.
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Checks that every label is below `N`, the number of classes.
fn check_labels<const N: usize>(labels: &[usize]) -> Result<(), Error> {
    match labels.iter().position(|&label| label >= N) {
        None => Ok(()),
        Some(row) => Err(Error::LabelOutOfRange {
            label: labels[row],
            row,
            classes: N,
        }),
    }
}

/// How many rows of `scores` have their largest value at the row's label.
///
/// Works on logits or probabilities alike, since softmax keeps the order.
///
/// # Errors
/// [`Error::LabelOutOfRange`] when a label is not below `N`: such a row can never be right,
/// so counting it as wrong would hide a bug in the data.
pub fn correct<const B: usize, const N: usize>(
    scores: &Tensor2<B, N>,
    labels: &[usize; B],
) -> Result<usize, Error> {
    check_labels::<N>(labels)?;
    Ok(scores
        .rows()
        .zip(labels)
        .filter(|(row, label)| argmax(row) == **label)
        .count())
}

/// The fraction of rows of `scores` whose largest value is at the row's label.
///
/// # Errors
/// [`Error::LabelOutOfRange`] when a label is not below `N`.
///
/// ```
/// use nn_core::tensor::Tensor2;
/// let scores = Tensor2::<2, 3>::from_slice(&[0.1, 0.7, 0.2, 0.9, 0.05, 0.05])?;
/// assert_eq!(nn_core::metrics::accuracy(&scores, &[1, 2])?, 0.5);
/// // Label 3 of 3 classes:
/// assert!(nn_core::metrics::accuracy(&scores, &[1, 3]).is_err());
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn accuracy<const B: usize, const N: usize>(
    scores: &Tensor2<B, N>,
    labels: &[usize; B],
) -> Result<f32, Error> {
    Ok(correct(scores, labels)? as f32 / B.max(1) as f32)
}

/// How many of the first `valid` rows of `scores` have their label among the `K` largest
/// values (top-k accuracy's numerator; `K = 1` is [`correct`]). A tie with the label's score
/// counts against it, so a constant output never scores.
///
/// # Errors
/// [`Error::LabelOutOfRange`] when a label is not below `N`.
///
/// ```
/// use nn_core::tensor::Tensor2;
/// let scores = Tensor2::<2, 3>::from_slice(&[0.1, 0.7, 0.2, 0.9, 0.05, 0.06])?;
/// // Row 0: label 2 is second-best; row 1: label 1 is last.
/// assert_eq!(nn_core::metrics::top_k_correct::<2, 3, 2>(&scores, &[2, 1], 2)?, 1);
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn top_k_correct<const B: usize, const N: usize, const K: usize>(
    scores: &Tensor2<B, N>,
    labels: &[usize; B],
    valid: usize,
) -> Result<usize, Error> {
    check_labels::<N>(labels)?;
    Ok(scores
        .rows()
        .zip(labels)
        .take(valid)
        .filter(|(row, label)| {
            let own = row[**label];
            // The label is in the top K when at most K scores (its own included) reach it; a
            // NaN score reaches everything, and a NaN label score is never in.
            !own.is_nan() && row.iter().filter(|&&v| v >= own || v.is_nan()).count() <= K
        })
        .count())
}
