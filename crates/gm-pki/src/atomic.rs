//! Crash-safe file writes.
//!
//! [`write_file`] writes to a temporary file in the same directory (created
//! with `O_EXCL` and the final permissions from the start: `0600` for
//! private keys), fsyncs it, renames it over the target and fsyncs the
//! directory. A crash leaves either the old file or the new one, never a
//! truncated or half-written file, and never a moment where a private key is
//! readable by others. [`replace_symlink`] does the same for symbolic links.
//!
//! Every step calls a [`Checkpoint`] first, so tests can inject a failure
//! (a simulated crash) between any two file-system operations.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Who may read a file written here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Owner read/write only (`0600`): private keys, CSRs with secrets.
    Private,
    /// World-readable (`0644`): certificates, chains, manifests.
    Public,
}

impl Access {
    #[cfg(unix)]
    fn mode(self) -> u32 {
        match self {
            Access::Private => 0o600,
            Access::Public => 0o644,
        }
    }
}

/// Called before every file-system step with a short description of it; an
/// error aborts the operation at that point *without cleaning up*, exactly
/// as a crash would.
pub type Checkpoint<'a> = &'a mut dyn FnMut(&str) -> io::Result<()>;

/// A checkpoint that never fails.
pub fn no_checkpoint(_: &str) -> io::Result<()> {
    Ok(())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary name next to `path` (same directory, hidden, unique per
/// process and call).
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    path.with_file_name(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fsyncs a directory so that renames and creations in it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Atomically replaces (or creates) `path` with `data`.
pub fn write_file(path: &Path, data: &[u8], access: Access) -> io::Result<()> {
    write_file_with(path, data, access, &mut no_checkpoint)
}

/// [`write_file`] with a [`Checkpoint`] before each step.
pub fn write_file_with(
    path: &Path,
    data: &[u8],
    access: Access,
    checkpoint: Checkpoint<'_>,
) -> io::Result<()> {
    let tmp = temp_path(path);
    checkpoint(&format!("create {}", tmp.display()))?;
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(access.mode());
    }
    #[cfg(not(unix))]
    let _ = access;
    let mut file = opts.open(&tmp)?;
    let result = (|| {
        checkpoint(&format!("write {}", tmp.display()))?;
        file.write_all(data)?;
        checkpoint(&format!("fsync {}", tmp.display()))?;
        file.sync_all()?;
        drop(file);
        checkpoint(&format!("rename {} -> {}", tmp.display(), path.display()))?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        // A simulated crash leaves the temporary file, as a real one would;
        // a genuine I/O error cleans up.
        if e.kind() != io::ErrorKind::Interrupted {
            let _ = fs::remove_file(&tmp);
        }
        return Err(e);
    }
    checkpoint(&format!("fsync directory {}", parent_dir(path).display()))?;
    sync_dir(parent_dir(path))
}

/// Atomically points the symbolic link `link` at `target` (creating it, or
/// replacing a link or a regular file there): a temporary link is created
/// next to it and renamed over it, then the directory is fsynced.
#[cfg(unix)]
pub fn replace_symlink(target: &Path, link: &Path, checkpoint: Checkpoint<'_>) -> io::Result<()> {
    let tmp = temp_path(link);
    checkpoint(&format!(
        "symlink {} -> {}",
        tmp.display(),
        target.display()
    ))?;
    std::os::unix::fs::symlink(target, &tmp)?;
    checkpoint(&format!("rename {} -> {}", tmp.display(), link.display()))?;
    if let Err(e) = fs::rename(&tmp, link) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    checkpoint(&format!("fsync directory {}", parent_dir(link).display()))?;
    sync_dir(parent_dir(link))
}

/// Symbolic links are needed for atomic set switching.
#[cfg(not(unix))]
pub fn replace_symlink(_: &Path, _: &Path, _: Checkpoint<'_>) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "atomic certificate switching needs symbolic links (Unix)",
    ))
}

/// The error a test [`Checkpoint`] returns to simulate a crash: its kind is
/// `Interrupted`, which tells the writers here not to clean up.
pub fn simulated_crash(step: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Interrupted,
        format!("simulated crash before: {step}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gm-pki-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_and_replaces() {
        let dir = scratch("writes");
        let p = dir.join("a.pem");
        write_file(&p, b"one", Access::Public).unwrap();
        write_file(&p, b"two", Access::Private).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let leftovers: Vec<_> = fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn crash_at_every_step_leaves_old_or_new() {
        let dir = scratch("crash");
        let p = dir.join("k.pem");
        write_file(&p, b"old", Access::Private).unwrap();
        for fail_at in 0..10 {
            let mut n = 0;
            let mut cp = |step: &str| {
                n += 1;
                if n > fail_at {
                    Err(simulated_crash(step))
                } else {
                    Ok(())
                }
            };
            let r = write_file_with(&p, b"new", Access::Private, &mut cp);
            let now = fs::read(&p).unwrap();
            assert!(now == b"old" || now == b"new", "{now:?}");
            if r.is_ok() {
                assert_eq!(now, b"new");
            }
            write_file(&p, b"old", Access::Private).unwrap();
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
