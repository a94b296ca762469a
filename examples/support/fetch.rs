//! What the dataset fetchers share: running a system tool with errors that say what failed, a
//! temporary directory that removes itself, and the sizes of the four IDX files.
//!
//! The fetchers unpack with the system's `tar` (and `gzip`, `dpkg-deb`) rather than with Rust
//! crates: the main job, `cargo run --release --example mnist`, then compiles no archive or hash
//! code, which keeps a fresh clone's first run within half a minute. Integrity comes from a pinned
//! digest of the downloaded archive; the cached files are then checked by size on every run, and
//! the IDX loader checks their headers.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

use nn::data::mnist;

pub type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// `program args...` in `cwd`, its stdout, or an error that names `dataset` and what failed.
pub fn run(dataset: &str, program: &str, args: &[&str], cwd: &Path) -> Result<Vec<u8>> {
    let shown = format!("{program} {}", args.join(" "));
    let output = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("could not fetch {dataset}: `{program}` was not found on the PATH")
            } else {
                format!("could not fetch {dataset}: cannot run `{shown}`: {e}")
            }
        })?;
    if !output.status.success() {
        return Err(format!(
            "could not fetch {dataset}: `{shown}` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        )
        .into());
    }
    Ok(output.stdout)
}

/// A fresh directory under the system's temporary directory, removed (best effort) on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        // A leftover from a killed run with the same process id holds nothing we need.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create `{}`: {e}", path.display()))?;
        Ok(Self(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The byte length of each IDX file of an MNIST-shaped dataset: a 16-byte header and 28 × 28
/// pixels per image, an 8-byte header and one byte per label.
pub const IDX_LENGTHS: [(&str, u64); 4] = [
    (
        mnist::TRAIN_IMAGES,
        16 + (mnist::TRAIN_LEN * mnist::FEATURES) as u64,
    ),
    (mnist::TRAIN_LABELS, 8 + mnist::TRAIN_LEN as u64),
    (
        mnist::TEST_IMAGES,
        16 + (mnist::TEST_LEN * mnist::FEATURES) as u64,
    ),
    (mnist::TEST_LABELS, 8 + mnist::TEST_LEN as u64),
];

/// The IDX files that are not in `dir`.
pub fn missing(dir: &Path) -> Vec<&'static str> {
    IDX_LENGTHS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !dir.join(name).is_file())
        .collect()
}

/// Checks that every IDX file in `dir` has its length; the error says how to recover.
pub fn check_lengths(dataset: &str, dir: &Path) -> Result<()> {
    for (name, expected) in IDX_LENGTHS {
        let path = dir.join(name);
        let found = std::fs::metadata(&path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?
            .len();
        if found != expected {
            return Err(format!(
                "`{}` has {found} bytes where {dataset}'s has {expected}: the file is truncated or not \
                 {dataset}; delete it to fetch it again",
                path.display()
            )
            .into());
        }
    }
    Ok(())
}

/// Moves the unpacked `from/name` files (for each of `names`) into `dir` (created if needed),
/// each through a `.partial` copy and a rename, so that an interrupted run never leaves a
/// partial file behind. `origin` names the archive in the error for a file of the wrong length.
pub fn install(dataset: &str, origin: &str, from: &Path, dir: &Path, names: &[&str]) -> Result<()> {
    let wanted = IDX_LENGTHS.iter().filter(|(name, _)| names.contains(name));
    for &(name, expected) in wanted.clone() {
        let found = std::fs::metadata(from.join(name)).map(|m| m.len());
        match found {
            Ok(found) if found == expected => {}
            Ok(found) => {
                return Err(format!(
                    "`{name}` in {origin} has {found} bytes where {dataset}'s has {expected}"
                )
                .into());
            }
            Err(_) => return Err(format!("{origin} lacks `{name}`").into()),
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    for (name, _) in wanted {
        let partial = dir.join(format!("{name}.partial"));
        std::fs::copy(from.join(name), &partial)
            .map_err(|e| format!("cannot write `{}`: {e}", partial.display()))?;
        std::fs::rename(&partial, dir.join(name))?;
    }
    Ok(())
}
