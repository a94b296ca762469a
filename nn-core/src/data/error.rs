//! The error type of the data module.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::vec::Vec;

/// Where a piece of data came from: a file, or bytes handed over in memory.
///
/// Every error about the content of a file carries one, so the message names the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Origin {
    /// Bytes or values given in memory (`parse_*` functions, [`Dataset::new`](super::Dataset::new)).
    #[default]
    Memory,
    /// A file on disk.
    File(PathBuf),
}

impl Origin {
    /// The file's path, or `None` for in-memory data.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::Memory => None,
            Origin::File(path) => Some(path),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Memory => f.write_str("<memory>"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A data loading error: an unreadable file, a malformed IDX file, or data that does not fit
/// the dataset or batch shape asked for.
///
/// Errors about a file's content name the file (its [`Origin`]), the byte offset at which the
/// problem sits, and what was expected against what was found:
///
/// ```
/// use nn_core::data::{DataError, idx};
/// // Magic 0x00000d03: an f32 rank-3 file, where unsigned bytes were expected.
/// let err = idx::parse_idx(&[0, 0, 0x0d, 3], &[None, None, None]).unwrap_err();
/// assert!(matches!(err, DataError::WrongElementType { offset: 2, expected: 0x08, found: 0x0d, .. }));
/// assert_eq!(
///     err.to_string(),
///     "<memory>: at byte 2: expected element type 0x08 (unsigned byte), found 0x0d (f32)"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },

    /// The first two bytes of the magic number are not zero: this is not an IDX file.
    #[error(
        "{origin}: at byte {offset}: expected the IDX magic number 0x{expected:08x}, found 0x{found:08x} \
         (not an IDX file; a compressed `.gz` file must be unpacked first)"
    )]
    BadMagic {
        /// The file.
        origin: Origin,
        /// Always 0.
        offset: usize,
        /// The magic number for the element type and rank asked for.
        expected: u32,
        /// The first four bytes, big-endian.
        found: u32,
    },

    /// The element type byte (the third byte of the magic number) is not the one asked for.
    #[error(
        "{origin}: at byte {offset}: expected element type 0x{expected:02x} ({}), found 0x{found:02x} ({})",
        element_type_name(*expected),
        element_type_name(*found)
    )]
    WrongElementType {
        /// The file.
        origin: Origin,
        /// Always 2.
        offset: usize,
        /// The type code asked for (0x08, unsigned byte).
        expected: u8,
        /// The type code in the file.
        found: u8,
    },

    /// The rank (the fourth byte of the magic number) is not the one asked for.
    #[error("{origin}: at byte {offset}: expected rank {expected}, found rank {found}")]
    WrongRank {
        /// The file.
        origin: Origin,
        /// Always 3.
        offset: usize,
        /// The rank asked for.
        expected: u8,
        /// The rank in the file.
        found: u8,
    },

    /// A dimension in the header differs from the one asked for (e.g. MNIST images are 28 × 28).
    #[error(
        "{origin}: at byte {offset}: expected dimension {axis} to be {expected}, found {found}"
    )]
    WrongDim {
        /// The file.
        origin: Origin,
        /// The offset of the dimension's big-endian `u32`.
        offset: usize,
        /// The axis, 0 being the outermost (the sample count).
        axis: usize,
        /// The size asked for.
        expected: usize,
        /// The size in the file.
        found: usize,
    },

    /// The dims' product does not fit in memory (`usize` overflow).
    #[error("{origin}: at byte {offset}: the dims {dims:?} hold more elements than fit in memory")]
    TooLarge {
        /// The file.
        origin: Origin,
        /// The offset of the first dimension (4).
        offset: usize,
        /// The dims read from the header.
        dims: Vec<usize>,
    },

    /// The data ends before a header field or the payload is complete.
    #[error(
        "{origin}: at byte {offset}: expected {expected} bytes of {what}, found only {found} (the file is truncated)"
    )]
    Truncated {
        /// The file.
        origin: Origin,
        /// Where the incomplete part starts.
        offset: usize,
        /// What was being read: `"magic number"`, `"dimension size"` or `"payload"`.
        what: &'static str,
        /// How many bytes that part needs.
        expected: usize,
        /// How many bytes were left.
        found: usize,
    },

    /// The data goes on after the payload the header announces.
    #[error(
        "{origin}: at byte {offset}: expected the end of the data ({offset} bytes in all, as the header's dims say), \
         found {found} more bytes"
    )]
    TrailingBytes {
        /// The file.
        origin: Origin,
        /// Where the payload should have ended.
        offset: usize,
        /// How many bytes follow it.
        found: usize,
    },

    /// The input values do not split into whole samples of `features` values.
    #[error("{len} input values do not split into samples of {features} features")]
    RaggedInputs {
        /// The number of input values.
        len: usize,
        /// The features per sample.
        features: usize,
    },

    /// The number of samples in the inputs and in the labels differ.
    #[error("{inputs} samples of inputs ({inputs_origin}) but {labels} labels ({labels_origin})")]
    CountMismatch {
        /// The number of input samples.
        inputs: usize,
        /// Where the inputs came from.
        inputs_origin: Origin,
        /// The number of labels.
        labels: usize,
        /// Where the labels came from.
        labels_origin: Origin,
    },

    /// Per-step labels that are not one per step of every sample.
    #[error(
        "{samples} samples of {steps} steps need {} labels, one per step, but {labels} were given",
        samples * steps
    )]
    StepLabelCount {
        /// The number of input samples.
        samples: usize,
        /// The steps per sample.
        steps: usize,
        /// The number of labels given.
        labels: usize,
    },

    /// A label is not below the number of classes.
    #[error("{origin}: label {label} of sample {index} is out of range for {classes} classes")]
    LabelOutOfRange {
        /// Where the labels came from.
        origin: Origin,
        /// The sample's index.
        index: usize,
        /// The label.
        label: usize,
        /// The number of classes.
        classes: usize,
    },

    /// A sample of the data does not hold as many values as the sample shape asked for
    /// ([`Dataset::from_idx`](super::Dataset::from_idx)).
    #[error(
        "samples of {expected} values were asked for, but the data has {found} values per sample"
    )]
    FeatureMismatch {
        /// The shape's `SIZE`.
        expected: usize,
        /// The values per sample in the data.
        found: usize,
    },

    /// A sample holds a NaN or infinite value, which would silently poison training.
    #[error(
        "{what} of sample {sample} holds {value} at value {offset}; every input and target must be finite"
    )]
    NonFinite {
        /// `"input"` or `"target"`.
        what: &'static str,
        /// The sample's index in the dataset.
        sample: usize,
        /// The value's index within the sample (row-major).
        offset: usize,
        /// The value.
        value: f32,
    },

    /// A validation split fraction outside `(0, 1)`.
    #[error("a validation split needs a fraction strictly between 0 and 1, got {fraction}")]
    BadSplit {
        /// The fraction asked for.
        fraction: f32,
    },

    /// The dataset cannot fill a single batch under the chosen policy.
    #[error("{samples} samples cannot fill one batch of {batch} under {policy:?}")]
    TooFewSamples {
        /// The dataset's sample count.
        samples: usize,
        /// The batch size.
        batch: usize,
        /// The last-batch policy.
        policy: super::LastBatch,
    },

    /// A sample holds a token id that no embedding row has (see [`Dataset::check_tokens`]).
    ///
    /// [`Dataset::check_tokens`]: super::Dataset::check_tokens
    #[error(transparent)]
    Token(#[from] crate::layers::TokenError),
}

impl DataError {
    /// The file the error is about, when it came from one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            DataError::Io { path, .. } => Some(path),
            DataError::BadMagic { origin, .. }
            | DataError::WrongElementType { origin, .. }
            | DataError::WrongRank { origin, .. }
            | DataError::WrongDim { origin, .. }
            | DataError::TooLarge { origin, .. }
            | DataError::Truncated { origin, .. }
            | DataError::TrailingBytes { origin, .. }
            | DataError::LabelOutOfRange { origin, .. } => origin.path(),
            DataError::CountMismatch { labels_origin, .. } => labels_origin.path(),
            DataError::RaggedInputs { .. }
            | DataError::FeatureMismatch { .. }
            | DataError::NonFinite { .. }
            | DataError::BadSplit { .. }
            | DataError::StepLabelCount { .. }
            | DataError::TooFewSamples { .. }
            | DataError::Token(_) => None,
        }
    }

    /// The byte offset in the file (or in-memory bytes) where the problem sits, for errors about
    /// an IDX file's content.
    pub fn offset(&self) -> Option<usize> {
        match self {
            DataError::BadMagic { offset, .. }
            | DataError::WrongElementType { offset, .. }
            | DataError::WrongRank { offset, .. }
            | DataError::WrongDim { offset, .. }
            | DataError::TooLarge { offset, .. }
            | DataError::Truncated { offset, .. }
            | DataError::TrailingBytes { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

/// The name of an IDX element type code.
fn element_type_name(code: u8) -> &'static str {
    match code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0b => "i16",
        0x0c => "i32",
        0x0d => "f32",
        0x0e => "f64",
        _ => "not an IDX type",
    }
}
