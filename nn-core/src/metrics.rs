//! Metrics.

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

/// How many rows of `scores` have their largest value at the row's label.
///
/// Works on logits or probabilities alike, since softmax keeps the order.
pub fn correct<const B: usize, const N: usize>(
    scores: &Tensor2<B, N>,
    labels: &[usize; B],
) -> usize {
    scores
        .rows()
        .zip(labels)
        .filter(|(row, label)| argmax(row) == **label)
        .count()
}

/// The fraction of rows of `scores` whose largest value is at the row's label.
///
/// ```
/// use nn_core::tensor::Tensor2;
/// let scores = Tensor2::<2, 3>::from_slice(&[0.1, 0.7, 0.2, 0.9, 0.05, 0.05])?;
/// assert_eq!(nn_core::metrics::accuracy(&scores, &[1, 2]), 0.5);
/// # Ok::<(), nn_core::Error>(())
/// ```
pub fn accuracy<const B: usize, const N: usize>(
    scores: &Tensor2<B, N>,
    labels: &[usize; B],
) -> f32 {
    correct(scores, labels) as f32 / B.max(1) as f32
}
