//! Fetching and verifying Fashion-MNIST for `examples/fashion_mnist.rs`: the Debian package
//! `dataset-fashion-mnist` (pinned version, its `.deb` checked by SHA-256) is downloaded with
//! `apt-get download` into a temporary folder (no root needed), its data read with
//! `dpkg-deb --fsys-tarfile` and `tar`, and its four gzip IDX files unpacked with `flate2`: the
//! cache holds the raw IDX files, each checked by SHA-256, under the MNIST file names, so that
//! `nn::data::mnist::Mnist::load_images` reads them as it reads MNIST.
//!
//! A folder that already holds the four `.gz` files (as downloaded from the dataset's GitHub
//! page) is unpacked and verified the same way, without apt.

use std::error::Error;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use nn::data::mnist;
use sha2::{Digest, Sha256};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// The Debian package that ships the dataset, and the pinned version (Debian 12 "bookworm").
const DEB_PACKAGE: &str = "dataset-fashion-mnist";
const DEB_VERSION: &str = "0.0~git20200523.55506a9-1";
/// The `.deb`'s SHA-256, as `apt-cache show dataset-fashion-mnist` lists it.
const DEB_SHA256: &str = "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0";
/// Where the package installs the gzip IDX files (a path inside its data archive).
const DEB_DATA_DIR: &str = "./usr/share/datasets/fashion-mnist";
/// Each file's expected SHA-256, as the raw (unzipped) IDX file.
const SHA256: [(&str, &str); 4] = [
    (
        mnist::TRAIN_IMAGES,
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    (
        mnist::TRAIN_LABELS,
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    (
        mnist::TEST_IMAGES,
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    (
        mnist::TEST_LABELS,
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
];

/// Where the example caches Fashion-MNIST unless told otherwise: `data/fashion-mnist` at the
/// workspace root (git-ignored with the rest of `data/`).
pub fn default_dir() -> PathBuf {
    Path::new(env!("WORKSPACE_DIR"))
        .join("data")
        .join("fashion-mnist")
}

/// Makes sure the four raw IDX files are in `dir` with the right SHA-256: unpacks `.gz` copies
/// found there, or else fetches the Debian package.
pub fn ensure_fashion_mnist(dir: &Path) -> Result<()> {
    let missing: Vec<&str> = SHA256
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !dir.join(name).is_file())
        .collect();
    if !missing.is_empty() {
        let gz_here = missing
            .iter()
            .all(|name| dir.join(format!("{name}.gz")).is_file());
        if gz_here {
            eprintln!("unpacking the .gz files in {}", dir.display());
            for name in &missing {
                let path = dir.join(format!("{name}.gz"));
                let bytes = std::fs::read(&path)
                    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
                save_unzipped(dir, name, &bytes, &path.display().to_string())?;
            }
        } else {
            eprintln!(
                "Fashion-MNIST is not in {} (missing: {}); fetching it",
                dir.display(),
                missing.join(", ")
            );
            fetch(dir).map_err(|error| {
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
    for (name, expected) in SHA256 {
        let path = dir.join(name);
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let found = sha256_hex(&bytes);
        if found != expected {
            return Err(format!(
                "`{}` has SHA-256 {found}, expected {expected}: the file is corrupt or not Fashion-MNIST; delete \
                 it to fetch it again",
                path.display()
            )
            .into());
        }
    }
    Ok(())
}

/// Downloads the package into a temporary directory and unpacks and verifies the four files.
fn fetch(dir: &Path) -> Result<()> {
    let tmp = std::env::temp_dir().join(format!("nn-fashion-fetch-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("cannot create `{}`: {e}", tmp.display()))?;
    let result = fetch_into(&tmp, dir);
    // Best effort: a leftover temporary directory is harmless.
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// `program args...` in `cwd`, its stdout, or an error that says what failed.
fn run(program: &str, args: &[&str], cwd: &Path) -> Result<Vec<u8>> {
    let shown = format!("{program} {}", args.join(" "));
    let output = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("could not fetch Fashion-MNIST: `{program}` was not found on the PATH")
            } else {
                format!("could not fetch Fashion-MNIST: cannot run `{shown}`: {e}")
            }
        })?;
    if !output.status.success() {
        return Err(format!(
            "could not fetch Fashion-MNIST: `{shown}` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        )
        .into());
    }
    Ok(output.stdout)
}

fn fetch_into(tmp: &Path, dir: &Path) -> Result<()> {
    let spec = format!("{DEB_PACKAGE}={DEB_VERSION}");
    eprintln!("running `apt-get download {spec}` in {}", tmp.display());
    run("apt-get", &["-qq", "download", &spec], tmp)?;
    let deb = std::fs::read_dir(tmp)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .ok_or_else(|| format!("`apt-get download` made no .deb in {}", tmp.display()))?;
    let found = sha256_hex(&std::fs::read(&deb)?);
    if found != DEB_SHA256 {
        return Err(format!(
            "`{}` has SHA-256 {found}, expected {DEB_SHA256}",
            deb.display()
        )
        .into());
    }

    // The package's file tree as an uncompressed tar stream (dpkg-deb undoes the .xz).
    let deb_name = deb.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let tarball = run("dpkg-deb", &["--fsys-tarfile", deb_name], tmp)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let mut archive = tar::Archive::new(tarball.as_slice());
    let mut saved = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let Some((name, _)) = SHA256
            .iter()
            .find(|(name, _)| path == Path::new(DEB_DATA_DIR).join(format!("{name}.gz")))
        else {
            continue;
        };
        let mut gz = Vec::new();
        entry.read_to_end(&mut gz)?;
        save_unzipped(dir, name, &gz, &format!("{deb_name}:{}", path.display()))?;
        saved.push(*name);
    }
    if saved.len() != SHA256.len() {
        let absent: Vec<&str> = SHA256
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| !saved.contains(name))
            .collect();
        return Err(format!(
            "`{deb_name}` lacks {DEB_DATA_DIR}/{}.gz",
            absent.join(".gz, ")
        )
        .into());
    }
    eprintln!(
        "Fashion-MNIST verified (SHA-256 of the .deb and of each file) and cached in {}",
        dir.display()
    );
    Ok(())
}

/// Unzips `gz` (the gzip of the file `name`, read from `origin`), checks its SHA-256 and writes
/// it to `dir/name`.
fn save_unzipped(dir: &Path, name: &str, gz: &[u8], origin: &str) -> Result<()> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot unzip `{origin}`: {e}"))?;
    let expected = SHA256
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, sha)| *sha);
    let found = sha256_hex(&bytes);
    if found != expected {
        return Err(format!("`{origin}` unzips to SHA-256 {found}, expected {expected}").into());
    }
    // Write then rename, so an interrupted run never leaves a partial file behind.
    let partial = dir.join(format!("{name}.partial"));
    std::fs::write(&partial, &bytes)
        .map_err(|e| format!("cannot write `{}`: {e}", partial.display()))?;
    std::fs::rename(&partial, dir.join(name))?;
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
