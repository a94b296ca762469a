//! Datasets (needs the `std` feature): the IDX file format, normalization and batching.
