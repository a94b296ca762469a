//! The runtime error type of nn-core.

/// A runtime error. Shape errors between tensors are compile errors; what remains at run time is
/// data whose length or content is only known then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A slice or `Vec` did not have the element count the tensor type needs.
    #[error("expected {expected} elements for this tensor type, found {found}")]
    LengthMismatch {
        /// The element count of the tensor type.
        expected: usize,
        /// The length that was given.
        found: usize,
    },
    /// A class label was not below the number of classes.
    #[error("label {label} at row {row} is out of range for {classes} classes")]
    LabelOutOfRange {
        /// The offending label.
        label: usize,
        /// Its row in the batch.
        row: usize,
        /// The number of classes (the logits' width).
        classes: usize,
    },
}
