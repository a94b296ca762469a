//! Fetching Fashion-MNIST for `examples/fashion_mnist.rs`: the Debian package
//! `dataset-fashion-mnist` (pinned version, its `.deb` checked by SHA-256 with `sha256sum`) is
//! downloaded with `apt-get download` into a temporary folder (no root needed), unpacked with
//! `dpkg-deb -x`, and its four gzip IDX files with `gzip -d`. The cache holds the raw IDX files
//! under the MNIST file names, so that `nn::data::mnist::Mnist::load_images` reads them as it
//! reads MNIST (see `fetch` for why system tools).
//!
//! A folder that already holds the four `.gz` files (as downloaded from the dataset's GitHub
//! page) is unpacked the same way, without apt.

use std::path::{Path, PathBuf};

use nn::data::mnist;

use crate::fetch::{self, Result, TempDir};

/// The Debian package that ships the dataset, and the pinned version (Debian 12 "bookworm").
const DEB_PACKAGE: &str = "dataset-fashion-mnist";
const DEB_VERSION: &str = "0.0~git20200523.55506a9-1";
/// The `.deb`'s SHA-256, as `apt-cache show dataset-fashion-mnist` lists it.
const DEB_SHA256: &str = "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0";
/// Where the package installs the gzip IDX files (a path inside its data archive).
const DEB_DATA_DIR: &str = "usr/share/datasets/fashion-mnist";

/// Where the example caches Fashion-MNIST unless told otherwise: `data/fashion-mnist` at the
/// workspace root (git-ignored with the rest of `data/`).
pub fn default_dir() -> PathBuf {
    Path::new(env!("WORKSPACE_DIR"))
        .join("data")
        .join("fashion-mnist")
}

/// Makes sure the four raw IDX files are in `dir`: unpacks `.gz` copies found there, or else
/// fetches the Debian package. Checks their lengths.
pub fn ensure_fashion_mnist(dir: &Path) -> Result<()> {
    let missing = fetch::missing(dir);
    if !missing.is_empty() {
        let gz_here = missing
            .iter()
            .all(|name| dir.join(format!("{name}.gz")).is_file());
        if gz_here {
            eprintln!("unpacking the .gz files in {}", dir.display());
            let tmp = TempDir::new("nn-fashion-unzip")?;
            for name in &missing {
                let gz = format!("{name}.gz");
                std::fs::copy(dir.join(&gz), tmp.path().join(&gz))
                    .map_err(|e| format!("cannot copy `{}`: {e}", dir.join(&gz).display()))?;
            }
            unzip(tmp.path(), &missing)?;
            fetch::install("Fashion-MNIST", "the .gz files", tmp.path(), dir, &missing)?;
        } else {
            eprintln!(
                "Fashion-MNIST is not in {} (missing: {}); fetching it",
                dir.display(),
                missing.join(", ")
            );
            fetch_deb(dir).map_err(|error| {
                format!(
                    "{error}\n\nTo get Fashion-MNIST, either run this on Debian or Ubuntu, where `apt-get download \
                     {DEB_PACKAGE}={DEB_VERSION}` and `dpkg-deb` work without root (after `sudo apt-get update` \
                     when the package is unknown), or download the four files ({}, .gz or not) from \
                     https://github.com/zalandoresearch/fashion-mnist/tree/master/data/fashion into a directory \
                     and pass it with --data-dir or FASHION_MNIST_DIR.",
                    mnist::FILES.join(", ")
                )
            })?;
        }
    }
    fetch::check_lengths("Fashion-MNIST", dir)
}

/// `gzip -d` on the `.gz` files of `names` in `dir`, which leaves the raw files in their place.
fn unzip(dir: &Path, names: &[&str]) -> Result<()> {
    let names: Vec<String> = names.iter().map(|n| format!("{n}.gz")).collect();
    let mut args = vec!["-d", "-f"];
    args.extend(names.iter().map(String::as_str));
    fetch::run("Fashion-MNIST", "gzip", &args, dir)?;
    Ok(())
}

/// Downloads the package into a temporary directory, checks it, and unpacks the four files into
/// `dir`.
fn fetch_deb(dir: &Path) -> Result<()> {
    let tmp = TempDir::new("nn-fashion-fetch")?;
    let spec = format!("{DEB_PACKAGE}={DEB_VERSION}");
    eprintln!(
        "running `apt-get download {spec}` in {}",
        tmp.path().display()
    );
    fetch::run(
        "Fashion-MNIST",
        "apt-get",
        &["-qq", "download", &spec],
        tmp.path(),
    )?;
    let deb = std::fs::read_dir(tmp.path())?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .ok_or_else(|| {
            format!(
                "`apt-get download` made no .deb in {}",
                tmp.path().display()
            )
        })?;
    let deb_name = deb.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let digest = fetch::run("Fashion-MNIST", "sha256sum", &[deb_name], tmp.path())?;
    let digest = String::from_utf8_lossy(&digest);
    let found = digest.split_whitespace().next().unwrap_or_default();
    if found != DEB_SHA256 {
        return Err(format!("`{deb_name}` has SHA-256 {found}, expected {DEB_SHA256}").into());
    }
    fetch::run(
        "Fashion-MNIST",
        "dpkg-deb",
        &["-x", deb_name, "tree"],
        tmp.path(),
    )?;
    let data = tmp.path().join("tree").join(DEB_DATA_DIR);
    unzip(&data, &mnist::FILES)?;
    fetch::install(
        "Fashion-MNIST",
        &format!("`{deb_name}`"),
        &data,
        dir,
        &mnist::FILES,
    )?;
    eprintln!(
        "Fashion-MNIST verified (SHA-256 of the .deb) and cached in {}",
        dir.display()
    );
    Ok(())
}
