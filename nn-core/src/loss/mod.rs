//! Losses. Each returns the mean loss over the batch and writes its gradient with respect to the
//! prediction into a caller-owned buffer, so a training step allocates nothing.

mod binary_cross_entropy;
mod cross_entropy;
mod mse;

pub use binary_cross_entropy::binary_cross_entropy_with_logits;
pub use cross_entropy::softmax_cross_entropy;
pub use mse::mse;
