//! The IDX file format, in which MNIST ships.
//!
//! An IDX file is a 4-byte magic number, then one big-endian `u32` per dimension, then the
//! elements in row-major order:
//!
//! | bytes | content |
//! |---|---|
//! | 0–1 | zero |
//! | 2 | element type: `0x08` unsigned byte (the only one read here) |
//! | 3 | rank `r` |
//! | 4 .. 4 + 4r | the dims, outermost first, big-endian `u32` |
//! | 4 + 4r .. | the payload: exactly the product of the dims, in elements |
//!
//! So MNIST images start with `0x00000803` (unsigned bytes, rank 3: count × 28 × 28) and labels
//! with `0x00000801` (rank 1: count).
//!
//! The reader checks every one of those fields and that the payload has exactly the announced
//! length; a truncated, corrupt or foreign file gives a [`DataError`] naming the file, the byte
//! offset and what was expected, and never a panic.

use std::path::Path;
use std::vec::Vec;

use super::error::{DataError, Origin};

/// The element type code for unsigned bytes.
pub const TYPE_U8: u8 = 0x08;
/// The magic number of an unsigned-byte rank-3 file (MNIST images).
pub const MAGIC_U8_RANK3: u32 = 0x0000_0803;
/// The magic number of an unsigned-byte rank-1 file (MNIST labels).
pub const MAGIC_U8_RANK1: u32 = 0x0000_0801;

/// The offset of the first dimension, right after the magic number.
const DIMS_OFFSET: usize = 4;

/// An unsigned-byte array read from (or to be written as) an IDX file: its dims and its elements
/// in row-major order. The element count always equals the product of the dims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    dims: Vec<usize>,
    data: Vec<u8>,
}

impl IdxArray {
    /// An array from its dims and elements.
    ///
    /// Returns `None` when `data.len()` is not the product of `dims`, when that product
    /// overflows, or when there are more than 255 dims or a dim above `u32::MAX` (IDX limits).
    ///
    /// ```
    /// use nn_core::data::idx::IdxArray;
    /// assert!(IdxArray::new(vec![2, 3], vec![0; 6]).is_some());
    /// assert!(IdxArray::new(vec![2, 3], vec![0; 5]).is_none());
    /// ```
    pub fn new(dims: Vec<usize>, data: Vec<u8>) -> Option<Self> {
        let len = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))?;
        let fits =
            u8::try_from(dims.len()).is_ok() && dims.iter().all(|&d| u32::try_from(d).is_ok());
        (fits && len == data.len()).then_some(Self { dims, data })
    }

    /// The dims, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The elements, consumed into a `Vec`.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The file's bytes: magic number, dims and payload. [`parse_idx`] reads them back.
    ///
    /// ```
    /// use nn_core::data::idx::{IdxArray, parse_idx};
    /// let labels = IdxArray::new(vec![3], vec![7, 2, 1]).unwrap();
    /// let bytes = labels.to_bytes();
    /// assert_eq!(bytes, [0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]);
    /// assert_eq!(parse_idx(&bytes, &[None])?, labels);
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(DIMS_OFFSET + 4 * self.dims.len() + self.data.len());
        // `new` checked that the rank fits a byte and each dim a u32.
        let rank = u8::try_from(self.dims.len()).unwrap_or(u8::MAX);
        out.extend_from_slice(&[0, 0, TYPE_U8, rank]);
        for &d in &self.dims {
            out.extend_from_slice(&u32::try_from(d).unwrap_or(u32::MAX).to_be_bytes());
        }
        out.extend_from_slice(&self.data);
        out
    }
}

/// Parses an unsigned-byte IDX file from memory.
///
/// `dims` says what to expect: its length is the rank, and each `Some(n)` requires that
/// dimension to be `n` (`None` accepts any size). MNIST images are `&[None, Some(28), Some(28)]`,
/// labels `&[None]`.
///
/// # Errors
/// [`DataError::Truncated`], [`DataError::BadMagic`], [`DataError::WrongElementType`],
/// [`DataError::WrongRank`], [`DataError::WrongDim`], [`DataError::TooLarge`] or
/// [`DataError::TrailingBytes`], with [`Origin::Memory`] and the byte offset of the problem.
///
/// ```
/// use nn_core::data::{DataError, idx::parse_idx};
/// // Two 1 × 2 images.
/// let bytes = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 10, 20, 30, 40];
/// let images = parse_idx(&bytes, &[None, Some(1), Some(2)])?;
/// assert_eq!(images.dims(), &[2, 1, 2]);
/// assert_eq!(images.data(), &[10, 20, 30, 40]);
///
/// // One byte short.
/// let err = parse_idx(&bytes[..19], &[None, Some(1), Some(2)]).unwrap_err();
/// assert_eq!(err.offset(), Some(16));
/// # Ok::<(), DataError>(())
/// ```
pub fn parse_idx(bytes: &[u8], dims: &[Option<usize>]) -> Result<IdxArray, DataError> {
    parse_with_origin(bytes, dims, &Origin::Memory)
}

/// Reads an unsigned-byte IDX file from disk; see [`parse_idx`] for `dims`.
///
/// # Errors
/// [`DataError::Io`] when the file cannot be read, or any error of [`parse_idx`], naming the
/// file.
pub fn read_idx(path: impl AsRef<Path>, dims: &[Option<usize>]) -> Result<IdxArray, DataError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_with_origin(&bytes, dims, &Origin::File(path.to_path_buf()))
}

/// Parses, naming `origin` in errors.
pub(crate) fn parse_with_origin(
    bytes: &[u8],
    dims: &[Option<usize>],
    origin: &Origin,
) -> Result<IdxArray, DataError> {
    let truncated = |offset: usize, what: &'static str, expected: usize| DataError::Truncated {
        origin: origin.clone(),
        offset,
        what,
        expected,
        found: bytes.len().saturating_sub(offset),
    };

    // Rank 256 and above cannot be written in the rank byte; report it as a wrong rank of 255.
    let expected_rank = u8::try_from(dims.len()).unwrap_or(u8::MAX);
    let expected_magic = u32::from_be_bytes([0, 0, TYPE_U8, expected_rank]);

    let [zero0, zero1, element_type, rank] =
        word(bytes, 0).ok_or_else(|| truncated(0, "magic number", 4))?;
    if zero0 != 0 || zero1 != 0 {
        return Err(DataError::BadMagic {
            origin: origin.clone(),
            offset: 0,
            expected: expected_magic,
            found: u32::from_be_bytes([zero0, zero1, element_type, rank]),
        });
    }
    if element_type != TYPE_U8 {
        return Err(DataError::WrongElementType {
            origin: origin.clone(),
            offset: 2,
            expected: TYPE_U8,
            found: element_type,
        });
    }
    if usize::from(rank) != dims.len() {
        return Err(DataError::WrongRank {
            origin: origin.clone(),
            offset: 3,
            expected: expected_rank,
            found: rank,
        });
    }

    let mut found_dims = Vec::with_capacity(dims.len());
    for (axis, expected) in dims.iter().enumerate() {
        let offset = DIMS_OFFSET + 4 * axis;
        let raw = word(bytes, offset).ok_or_else(|| truncated(offset, "dimension size", 4))?;
        let size = u32::from_be_bytes(raw);
        // A u32 that does not fit usize (16-bit targets) is too large to load anyway.
        let Ok(size) = usize::try_from(size) else {
            return Err(DataError::TooLarge {
                origin: origin.clone(),
                offset: DIMS_OFFSET,
                dims: found_dims,
            });
        };
        if let Some(expected) = *expected
            && expected != size
        {
            return Err(DataError::WrongDim {
                origin: origin.clone(),
                offset,
                axis,
                expected,
                found: size,
            });
        }
        found_dims.push(size);
    }

    let payload_offset = DIMS_OFFSET + 4 * dims.len();
    let Some(len) = found_dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
    else {
        return Err(DataError::TooLarge {
            origin: origin.clone(),
            offset: DIMS_OFFSET,
            dims: found_dims,
        });
    };
    let available = bytes.len().saturating_sub(payload_offset);
    if available < len {
        return Err(truncated(payload_offset, "payload", len));
    }
    if available > len {
        return Err(DataError::TrailingBytes {
            origin: origin.clone(),
            offset: payload_offset + len,
            found: available - len,
        });
    }
    let payload = bytes.get(payload_offset..).unwrap_or_default();
    Ok(IdxArray {
        dims: found_dims,
        data: payload.to_vec(),
    })
}

/// The four bytes at `offset`, or `None` past the end.
fn word(bytes: &[u8], offset: usize) -> Option<[u8; 4]> {
    match bytes.get(offset..offset.checked_add(4)?)? {
        &[a, b, c, d] => Some([a, b, c, d]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use std::vec;

    const IMAGE_DIMS: [Option<usize>; 3] = [None, Some(2), Some(3)];

    /// A valid file of three 2 × 3 images with pixels 0, 1, 2, ...
    fn images_file() -> Vec<u8> {
        let mut bytes = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3];
        bytes.extend(0..18u8);
        bytes
    }

    #[test]
    fn round_trip_of_a_tiny_file() {
        let parsed = parse_idx(&images_file(), &IMAGE_DIMS).unwrap();
        assert_eq!(parsed.dims(), &[3, 2, 3]);
        assert_eq!(parsed.data(), (0..18).collect::<Vec<u8>>().as_slice());
        assert_eq!(parsed.to_bytes(), images_file());

        let labels = IdxArray::new(vec![4], vec![1, 0, 9, 3]).unwrap();
        assert_eq!(parse_idx(&labels.to_bytes(), &[None]).unwrap(), labels);
        assert_eq!(&labels.to_bytes()[..4], &MAGIC_U8_RANK1.to_be_bytes());
        assert_eq!(&parsed.to_bytes()[..4], &MAGIC_U8_RANK3.to_be_bytes());
    }

    #[test]
    fn empty_arrays_are_valid() {
        let empty = IdxArray::new(vec![0, 28, 28], vec![]).unwrap();
        assert_eq!(
            parse_idx(&empty.to_bytes(), &[None, Some(28), Some(28)]).unwrap(),
            empty
        );
    }

    #[test]
    fn every_truncation_is_an_error_at_the_right_offset() {
        let file = images_file();
        for cut in 0..file.len() {
            let err = parse_idx(&file[..cut], &IMAGE_DIMS).unwrap_err();
            let DataError::Truncated {
                offset,
                what,
                expected,
                found,
                ..
            } = &err
            else {
                panic!("cut at {cut}: {err:?}");
            };
            let (want_offset, want_what, want_expected) = match cut {
                0..4 => (0, "magic number", 4),
                4..16 => (4 * (cut / 4), "dimension size", 4),
                _ => (16, "payload", 18),
            };
            assert_eq!(
                (*offset, *what, *expected),
                (want_offset, want_what, want_expected),
                "cut at {cut}"
            );
            assert_eq!(*found, cut - want_offset);
            assert_eq!(err.offset(), Some(want_offset));
        }
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let mut file = images_file();
        file.extend([0, 0]);
        let err = parse_idx(&file, &IMAGE_DIMS).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::TrailingBytes {
                    offset: 34,
                    found: 2,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn wrong_magic_is_an_error() {
        let mut file = images_file();
        file[0..4].copy_from_slice(&[0x1f, 0x8b, 0x08, 0x08]); // a gzip header
        let err = parse_idx(&file, &IMAGE_DIMS).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadMagic {
                    offset: 0,
                    expected: 0x0803,
                    found: 0x1f8b_0808,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("0x00000803"), "{err}");
    }

    #[test]
    fn wrong_element_type_is_an_error() {
        let mut file = images_file();
        file[2] = 0x0d;
        let err = parse_idx(&file, &IMAGE_DIMS).unwrap_err();
        assert!(matches!(
            err,
            DataError::WrongElementType {
                offset: 2,
                expected: 8,
                found: 0x0d,
                ..
            }
        ));
    }

    #[test]
    fn wrong_rank_is_an_error() {
        // A labels file where images are expected, and the reverse.
        let labels = IdxArray::new(vec![3], vec![1, 2, 3]).unwrap().to_bytes();
        let err = parse_idx(&labels, &IMAGE_DIMS).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::WrongRank {
                    offset: 3,
                    expected: 3,
                    found: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = parse_idx(&images_file(), &[None]).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::WrongRank {
                    offset: 3,
                    expected: 1,
                    found: 3,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn dims_that_disagree_with_the_payload_or_the_request_are_errors() {
        // The header announces 4 images, the payload holds 3.
        let mut file = images_file();
        file[7] = 4;
        let err = parse_idx(&file, &IMAGE_DIMS).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    offset: 16,
                    what: "payload",
                    expected: 24,
                    found: 18,
                    ..
                }
            ),
            "{err:?}"
        );
        // The header announces 2 images, the payload holds 3.
        file[7] = 2;
        let err = parse_idx(&file, &IMAGE_DIMS).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::TrailingBytes {
                    offset: 28,
                    found: 6,
                    ..
                }
            ),
            "{err:?}"
        );
        // 2 × 3 images where 3 × 2 are asked for.
        let err = parse_idx(&images_file(), &[None, Some(3), Some(2)]).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::WrongDim {
                    offset: 8,
                    axis: 1,
                    expected: 3,
                    found: 2,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn huge_dims_are_an_error_not_an_allocation() {
        let file = [
            0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        let err = parse_idx(&file, &[None, None, None]).unwrap_err();
        if usize::BITS <= 64 {
            assert!(
                matches!(err, DataError::TooLarge { offset: 4, .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn random_corruption_never_panics() {
        let file = images_file();
        let mut rng = crate::init::seeded(3);
        for _ in 0..2_000 {
            let mut bytes = file.clone();
            let flips = rand::RngExt::random_range(&mut rng, 1..4);
            for _ in 0..flips {
                let at = rand::RngExt::random_range(&mut rng, 0..bytes.len());
                bytes[at] = rand::RngExt::random(&mut rng);
            }
            let cut = rand::RngExt::random_range(&mut rng, 0..=bytes.len());
            let _ = parse_idx(&bytes[..cut], &IMAGE_DIMS);
            let _ = parse_idx(&bytes, &[None, None, None]);
        }
    }

    #[test]
    fn reading_a_missing_file_names_it() {
        let path = std::env::temp_dir().join("nn-core-idx-test-missing-file");
        let err = read_idx(&path, &[None]).unwrap_err();
        assert!(matches!(&err, DataError::Io { path: p, .. } if *p == path));
        assert!(
            err.to_string().contains("nn-core-idx-test-missing-file"),
            "{err}"
        );
    }

    #[test]
    fn errors_from_files_name_the_file() {
        let path =
            std::env::temp_dir().join(std::format!("nn-core-idx-test-{}", std::process::id()));
        std::fs::write(&path, &images_file()[..20]).unwrap();
        let err = read_idx(&path, &IMAGE_DIMS).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(err.path(), Some(path.as_path()));
        let message = err.to_string();
        assert!(
            message.starts_with(&std::format!("{}: at byte 16:", path.display())),
            "{message}"
        );
        assert!(
            message.contains("expected 18 bytes of payload, found only 4"),
            "{message}"
        );
    }
}
