//! Datasets (needs the `std` feature): the IDX file format, normalization and batching.
//!
//! - [`idx`]: a validating reader (and writer) of the IDX format MNIST ships in;
//! - [`Dataset`]: inputs as flat `f32` rows plus class labels, checked to belong together;
//! - [`mnist`]: loads the four MNIST files from a directory into train and test datasets;
//! - [`normalize`]: pixels to `[0, 1]`, and standardization by mean and standard deviation;
//! - [`Batches`]: shuffled batches of const size `B`, written into a reused [`Batch`]
//!   (a `Tensor2<B, F>` plus `[usize; B]` labels) without allocating, with an explicit
//!   [`LastBatch`] policy for the last partial batch.
//!
//! Errors are a [`DataError`], which names the file, the byte offset and what was expected;
//! nothing here panics on bad input.
//!
//! ```no_run
//! use nn_core::data::{Batch, Batches, LastBatch, mnist::Mnist};
//!
//! let mnist = Mnist::load("data/mnist")?; // pixels already divided by 255
//! let mut batches = Batches::<64, 784>::shuffled(&mnist.train, LastBatch::Drop, 0)?;
//! let mut batch = Batch::new();
//! for _epoch in 0..5 {
//!     while batches.fill_next(&mut batch).is_some() {
//!         // forward batch.inputs(), loss against batch.labels(), backward, step
//!     }
//! }
//! # Ok::<(), nn_core::data::DataError>(())
//! ```

mod batches;
mod dataset;
mod error;
pub mod idx;
pub mod mnist;
pub mod normalize;

pub use batches::{Batch, Batches, LastBatch};
pub use dataset::Dataset;
pub use error::{DataError, Origin};
pub use normalize::Standardize;
