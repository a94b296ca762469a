//! The MNIST handwritten digits: 60 000 training and 10 000 test images of 28 × 28 pixels.
//!
//! [`Mnist::load`] reads the four uncompressed IDX files from a directory, each image a flat
//! sample of 784 pixels ([`Flat`], batches `Tensor2<B, 784>`); [`Mnist::load_images`] gives
//! them as `(1, 28, 28)` images ([`Image`], batches `Tensor4<B, 1, 28, 28>`), and
//! [`Mnist::load_as`] as any shape of 784 values. This module does not download the files
//! (that needs a network client and a checksum policy, which a library should not impose); the
//! `mnist` example shows how to fetch, verify and cache them. The data is by Yann LeCun and
//! Corinna Cortes, under CC BY-SA 3.0.

use std::path::Path;

use super::Dataset;
use super::error::{DataError, Origin};
use super::idx::read_idx;
use crate::layers::{Features, InputOf, Layer, Shape, Shape2, Shape3};
use crate::tensor::{Tensor2, Tensor3, Tensor4};

/// The side of an image, in pixels.
pub const SIDE: usize = 28;
/// The pixels per image, the network's input features.
pub const FEATURES: usize = SIDE * SIDE;
/// The digits 0 to 9.
pub const CLASSES: usize = 10;
/// The number of training images in the full set.
pub const TRAIN_LEN: usize = 60_000;
/// The number of test images in the full set.
pub const TEST_LEN: usize = 10_000;

/// The training images' file name.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// The training labels' file name.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// The test images' file name.
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// The test labels' file name.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";
/// The four file names, in the order train images, train labels, test images, test labels.
pub const FILES: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// An image as one flat sample of 784 pixels, for dense networks: batches are
/// `Tensor2<B, 784>`.
pub type Flat = Features<FEATURES>;
/// An image as one channel of 28 × 28 pixels: batches are `Tensor4<B, 1, 28, 28>`.
pub type Image = Shape3<1, SIDE, SIDE>;

/// A per-sample shape that holds exactly one MNIST image's 784 pixels, so that
/// [`Mnist::load_as`] can read the images as it: [`Flat`] (`Features<784>`), [`Image`]
/// (`Shape3<1, 28, 28>`), `Shape2<28, 28>` (rows as time steps), any other `Shape2` or
/// `Shape3` whose dims multiply to 784, and a network's `InputOf<Net>` when its input is one of
/// those.
///
/// # Why a trait
/// The size check is a trait bound, so a shape of another size fails under `cargo check`, at
/// the call, with a message naming the shape. A bound cannot say "`S::SIZE == 784`" on stable
/// Rust (that needs `generic_const_exprs`), so the trait is implemented for each shape of 784
/// values: every factorization of 784 into two or three dims (15 and 90 of them), listed
/// below and checked at compile time.
///
/// ```compile_fail,E0277
/// use nn_core::{data::mnist::Mnist, layers::Shape3};
/// // error: `Shape3<1, 14, 14>` is not a shape of an MNIST image's 784 pixels
/// let small = Mnist::<Shape3<1, 14, 14>>::load_as("data/mnist");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a shape of an MNIST image's 784 pixels",
    label = "MNIST images are 28 × 28 = 784 pixels, and `{Self}` holds another number of values",
    note = "use `Features<784>` (flat, what `Mnist::load` gives), `Shape3<1, 28, 28>` (one-channel images, what `Mnist::load_images` gives) or `Shape2<28, 28>` (rows as time steps); any `Shape2` or `Shape3` whose dims multiply to 784 works"
)]
pub trait MnistSample: Shape {}

/// Implements [`MnistSample`] for each listed shape, and checks at compile time that it holds
/// 784 values.
macro_rules! mnist_samples {
    ($shape:ident: $(($($dim:literal),+)),+ $(,)?) => {
        $(
            impl MnistSample for $shape<$($dim),+> {}
            const _: () = assert!(<$shape<$($dim),+> as Shape>::SIZE == FEATURES);
        )+
    };
}

mnist_samples!(Features: (784));
mnist_samples!(Shape2:
    (1, 784), (2, 392), (4, 196), (7, 112), (8, 98), (14, 56), (16, 49), (28, 28), (49, 16),
    (56, 14), (98, 8), (112, 7), (196, 4), (392, 2), (784, 1),
);
mnist_samples!(Shape3:
    (1, 1, 784), (1, 2, 392), (1, 4, 196), (1, 7, 112), (1, 8, 98), (1, 14, 56), (1, 16, 49),
    (1, 28, 28), (1, 49, 16), (1, 56, 14), (1, 98, 8), (1, 112, 7), (1, 196, 4), (1, 392, 2),
    (1, 784, 1), (2, 1, 392), (2, 2, 196), (2, 4, 98), (2, 7, 56), (2, 8, 49), (2, 14, 28),
    (2, 28, 14), (2, 49, 8), (2, 56, 7), (2, 98, 4), (2, 196, 2), (2, 392, 1), (4, 1, 196),
    (4, 2, 98), (4, 4, 49), (4, 7, 28), (4, 14, 14), (4, 28, 7), (4, 49, 4), (4, 98, 2),
    (4, 196, 1), (7, 1, 112), (7, 2, 56), (7, 4, 28), (7, 7, 16), (7, 8, 14), (7, 14, 8),
    (7, 16, 7), (7, 28, 4), (7, 56, 2), (7, 112, 1), (8, 1, 98), (8, 2, 49), (8, 7, 14),
    (8, 14, 7), (8, 49, 2), (8, 98, 1), (14, 1, 56), (14, 2, 28), (14, 4, 14), (14, 7, 8),
    (14, 8, 7), (14, 14, 4), (14, 28, 2), (14, 56, 1), (16, 1, 49), (16, 7, 7), (16, 49, 1),
    (28, 1, 28), (28, 2, 14), (28, 4, 7), (28, 7, 4), (28, 14, 2), (28, 28, 1), (49, 1, 16),
    (49, 2, 8), (49, 4, 4), (49, 8, 2), (49, 16, 1), (56, 1, 14), (56, 2, 7), (56, 7, 2),
    (56, 14, 1), (98, 1, 8), (98, 2, 4), (98, 4, 2), (98, 8, 1), (112, 1, 7), (112, 7, 1),
    (196, 1, 4), (196, 2, 2), (196, 4, 1), (392, 1, 2), (392, 2, 1), (784, 1, 1),
);

/// A batch-of-one tensor whose sample is an [`MnistSample`]: how a network's `InputOf<Net>`
/// (whose shape is known through its tensors only) qualifies.
pub trait MnistBatchOfOne {}

impl<const N: usize> MnistBatchOfOne for Tensor2<1, N> where Features<N>: MnistSample {}
impl<const T: usize, const F: usize> MnistBatchOfOne for Tensor3<1, T, F> where
    Shape2<T, F>: MnistSample
{
}
impl<const C: usize, const H: usize, const W: usize> MnistBatchOfOne for Tensor4<1, C, H, W> where
    Shape3<C, H, W>: MnistSample
{
}

impl<L: Layer> MnistSample for InputOf<L> where L::Input<1>: MnistBatchOfOne {}

/// The MNIST training and test sets, with pixels scaled to `[0, 1]` (divided by 255), each
/// sample of shape `S`: [`Flat`] unless said otherwise.
///
/// Standardize further with [`Standardize::MNIST`](super::normalize::Standardize::MNIST) if
/// wanted, on both sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist<S: Shape = Flat> {
    /// The training set (60 000 samples in the full set).
    pub train: Dataset<S>,
    /// The test set (10 000 samples in the full set).
    pub test: Dataset<S>,
}

impl Mnist {
    /// Reads the four IDX files named in [`FILES`] from `dir`, each image a flat sample of 784
    /// pixels (row by row). See [`Mnist::load_as`] for the checks and errors.
    ///
    /// # Errors
    /// As [`Mnist::load_as`].
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, DataError> {
        Self::load_as(dir)
    }
}

impl Mnist<Image> {
    /// Reads the four IDX files named in [`FILES`] from `dir`, each image a `(1, 28, 28)`
    /// sample (one channel). See [`Mnist::load_as`] for the checks and errors.
    ///
    /// # Errors
    /// As [`Mnist::load_as`].
    pub fn load_images(dir: impl AsRef<Path>) -> Result<Self, DataError> {
        Self::load_as(dir)
    }
}

impl<S: Shape> Mnist<S> {
    /// Reads the four IDX files named in [`FILES`] from `dir`, each image's 784 pixels (row by
    /// row) read as a sample of shape `S`: [`Flat`], [`Image`], `Shape2<28, 28>` (rows as time
    /// steps), or a network's `InputOf<Net>`. `S` must hold 784 values: the bound
    /// [`MnistSample`] checks it under `cargo check`, and a shape of another size is an error
    /// at the call that names it and lists the shapes to use.
    ///
    /// Each file is fully validated (see [`idx`](super::idx)); the images must be 28 × 28, the
    /// labels below 10, and each split must have as many labels as images. Smaller sets in the
    /// same format load too.
    ///
    /// # Errors
    /// A [`DataError`] naming the offending file: [`DataError::Io`] when one is missing or
    /// unreadable, a format error for a malformed one, [`DataError::CountMismatch`] or
    /// [`DataError::LabelOutOfRange`] for images and labels that do not belong together.
    ///
    /// A shape of another size does not type-check (`cargo check` reports it):
    ///
    /// ```compile_fail,E0277
    /// use nn_core::{data::mnist::Mnist, layers::Shape3};
    /// let small = Mnist::<Shape3<1, 14, 14>>::load_as("data/mnist"); // 196 values, not 784
    /// ```
    // The bound is on the method, not the impl block: there it is an `E0277` that shows
    // `MnistSample`'s message, where an impl-block bound gives a bare "method exists but its
    // trait bounds were not satisfied" (`E0599`).
    pub fn load_as(dir: impl AsRef<Path>) -> Result<Self, DataError>
    where
        S: MnistSample,
    {
        let dir = dir.as_ref();
        Ok(Self {
            train: load_split(&dir.join(TRAIN_IMAGES), &dir.join(TRAIN_LABELS))?,
            test: load_split(&dir.join(TEST_IMAGES), &dir.join(TEST_LABELS))?,
        })
    }
}

/// Reads one MNIST split from an images file and a labels file, pixels divided by 255, each
/// image a sample of shape `S` (784 values: the bound [`MnistSample`] checks it under
/// `cargo check`).
///
/// # Errors
/// As [`Mnist::load_as`].
pub fn load_split<S: MnistSample>(images: &Path, labels: &Path) -> Result<Dataset<S>, DataError> {
    // A backstop for a shape of your own that implements `MnistSample` wrongly: the listed
    // impls are checked where they are declared.
    const {
        assert!(
            S::SIZE == FEATURES,
            "an MNIST sample holds 784 pixels, but this `MnistSample` shape holds another number of values; implement `MnistSample` only for shapes of 784 values"
        )
    };
    let pixels = read_idx(images, &[None, Some(SIDE), Some(SIDE)])?;
    let label_bytes = read_idx(labels, &[None])?;
    Dataset::from_idx(&pixels, &label_bytes, CLASSES).map_err(|e| {
        Dataset::<S>::attach_origins(
            e,
            &Origin::File(images.to_path_buf()),
            &Origin::File(labels.to_path_buf()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::IdxArray;
    use crate::data::{Batch, Batches, LastBatch};
    use crate::tensor::Tensor4;
    use std::path::PathBuf;
    use std::string::ToString;
    use std::vec;

    /// A fresh directory holding a tiny MNIST: `train` and `test` samples, labels as given.
    fn tiny_mnist(name: &str, train: &[u8], test: &[u8]) -> PathBuf {
        let dir =
            std::env::temp_dir().join(std::format!("nn-core-mnist-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (images, labels, set) in [
            (TRAIN_IMAGES, TRAIN_LABELS, train),
            (TEST_IMAGES, TEST_LABELS, test),
        ] {
            let pixels = (0..set.len() * FEATURES).map(|i| (i % 256) as u8).collect();
            let idx = IdxArray::new(vec![set.len(), SIDE, SIDE], pixels).unwrap();
            std::fs::write(dir.join(images), idx.to_bytes()).unwrap();
            let idx = IdxArray::new(vec![set.len()], set.to_vec()).unwrap();
            std::fs::write(dir.join(labels), idx.to_bytes()).unwrap();
        }
        dir
    }

    #[test]
    fn loads_a_tiny_mnist() {
        let dir = tiny_mnist("ok", &[5, 0, 4], &[7, 2]);
        let mnist = Mnist::load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((mnist.train.len(), mnist.test.len()), (3, 2));
        assert_eq!(mnist.train.labels(), &[5, 0, 4]);
        assert_eq!(mnist.test.sample_len(), FEATURES);
        assert_eq!(mnist.train.inputs()[255], 1.0);
        assert!(mnist.train.inputs().iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn loads_images_as_one_channel_28_by_28() {
        let dir = tiny_mnist("images", &[5, 0, 4], &[7, 2]);
        let images = Mnist::load_images(&dir).unwrap();
        let flat = Mnist::load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(images.train.inputs(), flat.train.inputs());
        assert_eq!(images.test.labels(), &[7, 2]);
        let mut batches = Batches::<2, _>::sequential(&images.train, LastBatch::Drop).unwrap();
        let mut batch = Batch::new();
        batches.fill_next(&mut batch).unwrap();
        let x: &Tensor4<2, 1, SIDE, SIDE> = batch.inputs();
        // Image 1, row 2, column 3 is pixel 784 + 2 · 28 + 3 of the file, whose byte is its
        // index mod 256.
        assert_eq!(x[[1, 0, 2, 3]], ((784 + 2 * 28 + 3) % 256) as f32 / 255.0);
        assert_eq!(batch.labels(), &[5, 0]);
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tiny_mnist("bad-label", &[5, 10], &[1]);
        let err = Mnist::load(&dir).unwrap_err();
        assert!(
            matches!(&err, DataError::LabelOutOfRange { index: 1, label: 10, classes: 10, origin }
                if origin.path() == Some(dir.join(TRAIN_LABELS).as_path())),
            "{err:?}"
        );

        // Test labels for 2 images, test images for 1.
        let idx = IdxArray::new(vec![2], vec![1, 2]).unwrap();
        std::fs::write(dir.join(TEST_LABELS), idx.to_bytes()).unwrap();
        std::fs::write(
            dir.join(TRAIN_LABELS),
            IdxArray::new(vec![2], vec![1, 2]).unwrap().to_bytes(),
        )
        .unwrap();
        let err = Mnist::load(&dir).unwrap_err();
        assert!(
            matches!(
                &err,
                DataError::CountMismatch {
                    inputs: 1,
                    labels: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(TEST_IMAGES) && message.contains(TEST_LABELS),
            "{message}"
        );

        std::fs::remove_file(dir.join(TEST_IMAGES)).unwrap();
        let err = Mnist::load(&dir).unwrap_err();
        assert_eq!(err.path(), Some(dir.join(TEST_IMAGES).as_path()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
