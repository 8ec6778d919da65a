//! Crash-safe file writes.
//!
//! [`write_file`] writes to a temporary file in the same directory (created
//! with `O_EXCL` and the final permissions from the start: `0600` for
//! private keys), fsyncs it, renames it over the target and fsyncs the
//! directory. A crash leaves either the old file or the new one, never a
//! truncated or half-written file, and never a moment where a private key is
//! readable by others. [`replace_symlink`] does the same for symbolic links.
//!
//! [`write_files`] writes several files as a unit, and can refuse to
//! replace existing files without a check-then-write race.
//!
//! Every step of [`write_file_with`] calls a [`Checkpoint`] first, so tests can inject a failure
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
    let tmp = write_temp(path, data, access, checkpoint)?;
    let result = checkpoint(&format!("rename {} -> {}", tmp.display(), path.display()))
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        discard_unless_crash(&tmp, &e);
        return Err(e);
    }
    checkpoint(&format!("fsync directory {}", parent_dir(path).display()))?;
    sync_dir(parent_dir(path))
}

/// Writes `data` to a fresh temporary file next to `path` (created with
/// `O_EXCL` and the final permissions) and fsyncs it; returns its name.
fn write_temp(
    path: &Path,
    data: &[u8],
    access: Access,
    checkpoint: Checkpoint<'_>,
) -> io::Result<PathBuf> {
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
        file.sync_all()
    })();
    drop(file);
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            discard_unless_crash(&tmp, &e);
            Err(e)
        }
    }
}

/// Removes a temporary file after a genuine I/O error; a simulated crash
/// (see [`simulated_crash`]) leaves it, as a real one would.
fn discard_unless_crash(tmp: &Path, e: &io::Error) {
    if e.kind() != io::ErrorKind::Interrupted {
        let _ = fs::remove_file(tmp);
    }
}

/// Whether [`write_files`] may replace files that already exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Replace them (their old contents come back if a later file fails).
    Replace,
    /// Fail with [`io::ErrorKind::AlreadyExists`] if any of them exists,
    /// including one created by another process while this one was working:
    /// each file is published with a hard link, which never replaces
    /// anything. (On a file system without hard links the check and the
    /// rename are two steps, with the usual small window between them.)
    Keep,
}

/// One file for [`write_files`].
#[derive(Clone, Copy, Debug)]
pub struct Output<'a> {
    /// Where it goes.
    pub path: &'a Path,
    /// Its contents.
    pub data: &'a [u8],
    /// Who may read it.
    pub access: Access,
}

/// Writes several files as a unit (a private key and its certificate, say):
/// every file is first written and fsynced under a temporary name; only
/// then are they published, in order. If publishing one fails, the ones
/// already published are taken back (removed, or their previous contents
/// restored), so an error leaves all of the old files and none of the new.
/// The error names the file that failed; its kind is
/// [`io::ErrorKind::AlreadyExists`] when [`Existing::Keep`] found one.
///
/// ```
/// use gm_pki::atomic::{write_files, Access, Existing, Output};
/// let dir = std::env::temp_dir().join(format!("gm-pki-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
/// let out = [
///     Output { path: &key, data: b"key", access: Access::Private },
///     Output { path: &cert, data: b"cert", access: Access::Public },
/// ];
/// write_files(&out, Existing::Keep)?;
/// // Both exist now: writing them again without replacing fails, and
/// // leaves them as they were.
/// let again = write_files(&out, Existing::Keep).unwrap_err();
/// assert_eq!(again.source.kind(), std::io::ErrorKind::AlreadyExists);
/// assert_eq!(again.path, key);
/// assert_eq!(std::fs::read(&cert)?, b"cert");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_files(outputs: &[Output<'_>], existing: Existing) -> Result<(), FileError> {
    let named = |path: &Path, source: io::Error| FileError {
        path: path.to_path_buf(),
        source,
    };
    let mut temps = Vec::with_capacity(outputs.len());
    for out in outputs {
        match write_temp(out.path, out.data, out.access, &mut no_checkpoint) {
            Ok(tmp) => temps.push(tmp),
            Err(e) => {
                for tmp in &temps {
                    let _ = fs::remove_file(tmp);
                }
                return Err(named(out.path, e));
            }
        }
    }
    // (destination, backup of its previous contents) of each published file.
    let mut published: Vec<(&Path, Option<PathBuf>)> = Vec::with_capacity(outputs.len());
    for (i, (out, tmp)) in outputs.iter().zip(&temps).enumerate() {
        match publish(tmp, out.path, existing) {
            Ok(backup) => published.push((out.path, backup)),
            Err(e) => {
                for (path, backup) in published.iter().rev() {
                    let _ = match backup {
                        Some(b) => fs::rename(b, path),
                        None => fs::remove_file(path),
                    };
                }
                for tmp in &temps[i..] {
                    let _ = fs::remove_file(tmp);
                }
                return Err(named(out.path, e));
            }
        }
    }
    for (_, backup) in &published {
        if let Some(b) = backup {
            let _ = fs::remove_file(b);
        }
    }
    let mut dirs: Vec<&Path> = outputs.iter().map(|o| parent_dir(o.path)).collect();
    dirs.dedup();
    for dir in dirs {
        sync_dir(dir).map_err(|e| named(dir, e))?;
    }
    Ok(())
}

/// A failure of [`write_files`]: the file it concerns, and the cause.
#[derive(Debug)]
pub struct FileError {
    /// The file that could not be written or published.
    pub path: PathBuf,
    /// What went wrong.
    pub source: io::Error,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.source)
    }
}

/// The same kind, with the path in the message.
impl From<FileError> for io::Error {
    fn from(e: FileError) -> io::Error {
        io::Error::new(e.source.kind(), e.to_string())
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Moves `tmp` to `path`; with [`Existing::Replace`] returns a hard-linked
/// backup of what `path` held before, if anything (and if the file system
/// allows it).
fn publish(tmp: &Path, path: &Path, existing: Existing) -> io::Result<Option<PathBuf>> {
    match existing {
        Existing::Keep => match fs::hard_link(tmp, path) {
            Ok(()) => {
                let _ = fs::remove_file(tmp);
                Ok(None)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "already exists",
            )),
            Err(_) if fs::symlink_metadata(path).is_ok() => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "already exists",
            )),
            // No hard links here: check-then-rename.
            Err(_) => fs::rename(tmp, path).map(|()| None),
        },
        Existing::Replace => {
            let backup = fs::symlink_metadata(path).ok().and_then(|_| {
                let b = temp_path(path);
                fs::hard_link(path, &b).ok().map(|()| b)
            });
            match fs::rename(tmp, path) {
                Ok(()) => Ok(backup),
                Err(e) => {
                    if let Some(b) = backup {
                        let _ = fs::remove_file(b);
                    }
                    Err(e)
                }
            }
        }
    }
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

    fn names_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_files_publishes_all_or_none() {
        let dir = scratch("multi");
        let (a, b) = (dir.join("a.key"), dir.join("b.crt"));
        let outs = |x: &'static [u8]| {
            [
                Output {
                    path: &a,
                    data: x,
                    access: Access::Private,
                },
                Output {
                    path: &b,
                    data: x,
                    access: Access::Public,
                },
            ]
        };
        write_files(&outs(b"one"), Existing::Keep).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"one");
        assert_eq!(fs::read(&b).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!((mode(&a), mode(&b)), (0o600, 0o644));
        }

        // Keep: the second exists, so nothing is written, the first is
        // not created, and the error names the second.
        fs::remove_file(&a).unwrap();
        let e = write_files(&outs(b"two"), Existing::Keep).unwrap_err();
        assert_eq!(e.source.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(e.path, b);
        assert!(e.to_string().contains("b.crt"), "{e}");
        assert_eq!(names_in(&dir), ["b.crt"]);
        assert_eq!(fs::read(&b).unwrap(), b"one");

        // Replace: both change.
        write_files(&outs(b"one"), Existing::Replace).unwrap();
        write_files(&outs(b"two"), Existing::Replace).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"two");
        assert_eq!(names_in(&dir), ["a.key", "b.crt"]);

        // Replace where the second cannot be published (a directory is in
        // the way): the first gets its old contents back.
        fs::remove_file(&b).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(b.join("inside"), b"x").unwrap();
        let e = write_files(&outs(b"three"), Existing::Replace).unwrap_err();
        assert!(e.to_string().contains("b.crt"), "{e}");
        assert_eq!(fs::read(&a).unwrap(), b"two");
        assert_eq!(names_in(&dir), ["a.key", "b.crt"]);

        // Keep where the first does not exist and the second is in the
        // way: the first is removed again.
        fs::remove_file(&a).unwrap();
        write_files(&outs(b"four"), Existing::Keep).unwrap_err();
        assert_eq!(names_in(&dir), ["b.crt"]);
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
