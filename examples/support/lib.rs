//! What the examples share: their flags, fetching and verifying MNIST and Fashion-MNIST,
//! Grad-CAM's arithmetic, and (feature `plots`) the pictures they draw.

pub mod args;
pub mod cli;
pub mod fashion_fetch;
pub mod fetch;
pub mod grad_cam;
#[cfg(feature = "plots")]
pub mod images;
pub mod mnist_fetch;
#[cfg(feature = "plots")]
pub mod scatter;
#[cfg(feature = "plots")]
pub mod series_plots;
