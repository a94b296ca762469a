//! Atomic file replacement: a temporary file in the same directory, fsync, rename, fsync of
//! the directory.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::SaveError;

/// Replaces `path` with `bytes` atomically: after a crash at any point the file holds either
/// its old content or `bytes`.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), SaveError> {
    write_with(path, bytes, |file| file)
}

/// [`write`], writing the bytes through `wrap(file)`: tests inject a writer that fails
/// midway, as a crash would stop it.
pub(crate) fn write_with<W: Write>(
    path: &Path,
    bytes: &[u8],
    wrap: impl FnOnce(File) -> W,
) -> Result<(), SaveError> {
    let io_error = |source| SaveError::Io {
        path: path.to_path_buf(),
        source,
    };
    let temporary = temporary_path(path).map_err(io_error)?;
    let result = (|| {
        let file = File::create(&temporary)?;
        let mut writer = wrap(file.try_clone()?);
        writer.write_all(bytes)?;
        writer.flush()?;
        drop(writer);
        file.sync_all()?;
        drop(file);
        fs::rename(&temporary, path)?;
        sync_directory(path)
    })();
    if result.is_err() {
        // Best effort: the temporary file is ours, and the target is untouched.
        let _ = fs::remove_file(&temporary);
    }
    result.map_err(io_error)
}

/// `.NAME.tmp-PID-N` beside `path`, unique within this process.
fn temporary_path(path: &Path) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut temporary = std::ffi::OsString::from(".");
    temporary.push(name);
    temporary.push(std::format!(".tmp-{}-{n}", std::process::id()));
    Ok(path.with_file_name(temporary))
}

/// Flushes the directory entry of the rename to disk.
#[cfg(unix)]
fn sync_directory(path: &Path) -> io::Result<()> {
    let directory = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(directory)?.sync_all()
}

/// Windows has no directory handles to sync; the rename is durable once it returns.
#[cfg(not(unix))]
fn sync_directory(_: &Path) -> io::Result<()> {
    Ok(())
}
