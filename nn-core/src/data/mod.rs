//! Datasets (needs the `std` feature): the IDX file format, normalization and batching.
//!
//! - [`idx`]: a validating reader (and writer) of the IDX format MNIST ships in;
//! - [`Dataset<S>`](Dataset): inputs as flat `f32` samples of per-sample shape `S` plus class
//!   labels, checked to belong together. `S` is the [`Shape`](crate::layers::Shape) the layers
//!   use: `Features<N>`, `Shape2<T, F>` (sequences), `Shape3<C, H, W>` (images);
//! - [`mnist`]: loads the four MNIST files from a directory into train and test datasets, as
//!   flat samples of 784 pixels or as `(1, 28, 28)` images;
//! - [`normalize`]: pixels to `[0, 1]`, and standardization by mean and standard deviation;
//! - [`Batches`]: shuffled batches of const size `B`, written into a reused [`Batch`]
//!   (an `S::Batch<B>`, e.g. `Tensor2<B, N>`, `Tensor3<B, T, F>` or `Tensor4<B, C, H, W>`,
//!   plus `[usize; B]` labels) without allocating, with an explicit [`LastBatch`] policy for
//!   the last partial batch.
//!
//! Errors are a [`DataError`], which names the file, the byte offset and what was expected;
//! nothing here panics on bad input.
//!
//! ```no_run
//! use nn_core::data::{Batch, Batches, LastBatch, mnist::Mnist};
//!
//! let mnist = Mnist::load("data/mnist")?; // pixels already divided by 255
//! // The sample shape comes from the dataset: batches are `Tensor2<64, 784>`.
//! let mut batches = Batches::<64, _>::shuffled(&mnist.train, LastBatch::Drop, 0)?;
//! let mut batch = Batch::new();
//! for _epoch in 0..5 {
//!     while batches.fill_next(&mut batch).is_some() {
//!         // forward batch.inputs(), loss against batch.labels(), backward, step
//!     }
//! }
//!
//! // The same files as images, for a network that takes `(1, 28, 28)` samples: batches are
//! // `Tensor4<64, 1, 28, 28>`.
//! let images = Mnist::load_images("data/mnist")?;
//! let mut batches = Batches::<64, _>::shuffled(&images.train, LastBatch::Drop, 0)?;
//! let mut batch = Batch::new();
//! batches.fill_next(&mut batch);
//! let x: &nn_core::tensor::Tensor4<64, 1, 28, 28> = batch.inputs();
//! # Ok::<(), nn_core::data::DataError>(())
//! ```

mod batches;
mod dataset;
mod error;
pub mod idx;
pub mod mnist;
pub mod normalize;
mod targets;

pub use batches::{Batch, Batches, LastBatch};
pub use dataset::Dataset;
pub use error::{DataError, Origin};
pub use normalize::Standardize;
pub use targets::{Labels, StepLabels, Targets, Values};
