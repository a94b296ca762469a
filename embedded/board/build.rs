//! Puts the board's `memory.x` where cortex-m-rt's `link.x` finds it, and the first MNIST test
//! images into the binary (`OUT_DIR/mnist_images.bin`, `mnist_labels.bin`).
//!
//! The images come from `MNIST_DIR`, else the workspace's `data/mnist` (where the examples and
//! `embedded/run.sh` fetch MNIST); `NN_EMBEDDED_IMAGES` says how many (100 by default). The data
//! is not committed (its licence asks for attribution, and the repository ships none of it), so
//! without it the files are empty and the firmware says how to fetch it: the workspace still
//! builds and lints on a fresh clone.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// Bytes of an IDX image file's header, and of a label file's.
const IMAGE_HEADER: usize = 16;
const LABEL_HEADER: usize = 8;
const PIXELS: usize = 28 * 28;
/// The most images the firmware's prediction buffer holds.
const MAX_IMAGES: usize = 1000;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    fs::copy(manifest.join("memory.x"), out.join("memory.x")).expect("memory.x copies");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");

    println!("cargo:rerun-if-env-changed=MNIST_DIR");
    println!("cargo:rerun-if-env-changed=NN_EMBEDDED_IMAGES");
    let dir = env::var_os("MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../data/mnist"));
    let count = env::var("NN_EMBEDDED_IMAGES")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(100)
        .min(MAX_IMAGES);
    let images = dir.join("t10k-images-idx3-ubyte");
    let labels = dir.join("t10k-labels-idx1-ubyte");
    println!("cargo:rerun-if-changed={}", images.display());
    println!("cargo:rerun-if-changed={}", labels.display());
    let (pixels, digits) = match (
        first(&images, IMAGE_HEADER, count * PIXELS),
        first(&labels, LABEL_HEADER, count),
    ) {
        (Some(pixels), Some(digits)) => (pixels, digits),
        _ => (Vec::new(), Vec::new()),
    };
    fs::write(out.join("mnist_images.bin"), pixels).expect("OUT_DIR is writable");
    fs::write(out.join("mnist_labels.bin"), digits).expect("OUT_DIR is writable");
}

/// `len` bytes after a `header` of `path`, when the file has them.
fn first(path: &Path, header: usize, len: usize) -> Option<Vec<u8>> {
    let bytes = fs::read(path).ok()?;
    bytes.get(header..header + len).map(<[u8]>::to_vec)
}
