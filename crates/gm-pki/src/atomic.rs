//! Crash-safe file writes.
//!
//! [`write_file`] writes to a temporary file in the same directory (created
//! with `O_EXCL` and the final permissions from the start: `0600` for
//! private keys), fsyncs it, renames it over the target and fsyncs the
//! directory. A crash leaves either the old file or the new one, never a
//! truncated or half-written file, and never a moment where a private key is
//! readable by others. [`replace_symlink`] does the same for symbolic links.
//!
//! [`write_files`] writes several files as a unit (an error takes back
//! what was published; a crash in the middle can still leave a mix), and
//! can refuse to replace existing files without a check-then-write race
//! where the file system has hard links.
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
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(access.mode());
    }
    #[cfg(not(unix))]
    let _ = access;
    let (tmp, mut file) = fresh_name(path, |tmp| {
        checkpoint(&format!("create {}", tmp.display()))?;
        opts.open(tmp)
    })?;
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

/// Runs `make` on fresh temporary names next to `path` until it does not
/// fail with `AlreadyExists` (a leftover of a crashed process whose PID
/// was reused), at most 16 times.
fn fresh_name<T>(
    path: &Path,
    mut make: impl FnMut(&Path) -> io::Result<T>,
) -> io::Result<(PathBuf, T)> {
    let mut tries = 0;
    loop {
        let tmp = temp_path(path);
        match make(&tmp) {
            Ok(v) => return Ok((tmp, v)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 15 => tries += 1,
            Err(e) => return Err(e),
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
    /// Replace them. Each is first kept under a temporary name (a hard
    /// link, or a copy where hard links are unavailable), so a failure
    /// puts the old contents back; if that copy cannot be made, nothing is
    /// written.
    Replace,
    /// Fail (with [`FileError::exists`] set) if any of them exists. Each
    /// file is published with a hard link, which never replaces anything,
    /// so a file another process creates meanwhile is not overwritten
    /// either. On a file system without hard links the check and the
    /// rename are two steps, with the usual small window between them.
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

/// A failure of [`write_files`]: the file it concerns, and the cause.
#[derive(Debug)]
pub struct FileError {
    /// The file that could not be written, published or removed.
    pub path: PathBuf,
    /// What went wrong (with anything that could not be undone appended).
    pub source: io::Error,
    /// The file exists and [`Existing::Keep`] was asked for.
    pub exists: bool,
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

/// Writes several files as a unit (a private key and its certificate, say):
/// [`write_files_removing`] with nothing to remove.
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
/// assert!(again.exists);
/// assert_eq!(again.path, key);
/// assert_eq!(std::fs::read(&cert)?, b"cert");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_files(outputs: &[Output<'_>], existing: Existing) -> Result<(), FileError> {
    write_files_removing(outputs, &[], existing)
}

/// Writes several files and removes others, as a unit.
///
/// Every file is first written and fsynced under a temporary name (and,
/// with [`Existing::Replace`], every file to be replaced or removed is
/// kept under another); only then are they published, in order, and the
/// `remove` ones removed. If a step fails, the files already published are
/// taken back (removed, or their previous contents restored), so an error
/// leaves the old files; the error names the file that failed, and says so
/// if something could not be undone. Paths must be distinct.
///
/// Not atomic against a crash in the middle of publishing: a crash there
/// can leave some files new and others old (and hidden `.NAME.tmp.*`
/// copies behind).
pub fn write_files_removing(
    outputs: &[Output<'_>],
    remove: &[&Path],
    existing: Existing,
) -> Result<(), FileError> {
    let error = |path: &Path, source: io::Error| FileError {
        path: path.to_path_buf(),
        source,
        exists: false,
    };
    let all: Vec<&Path> = outputs
        .iter()
        .map(|o| o.path)
        .chain(remove.iter().copied())
        .collect();
    for (i, p) in all.iter().enumerate() {
        if all[..i].iter().any(|q| same_file_name(p, q)) {
            return Err(error(
                p,
                io::Error::new(io::ErrorKind::InvalidInput, "given twice as an output"),
            ));
        }
    }
    let mut undo = Undo::default();
    let result = (|| {
        for out in outputs {
            let tmp = write_temp(out.path, out.data, out.access, &mut no_checkpoint)
                .map_err(|e| error(out.path, e))?;
            undo.temps.push(tmp);
        }
        if existing == Existing::Replace {
            for path in &all {
                if let Some(backup) = keep_copy(path).map_err(|e| {
                    error(
                        path,
                        io::Error::new(
                            e.kind(),
                            format!("cannot keep a copy to restore on failure: {e}"),
                        ),
                    )
                })? {
                    undo.backups.push((path.to_path_buf(), backup));
                }
            }
        }
        let temps = undo.temps.clone();
        for (out, tmp) in outputs.iter().zip(&temps) {
            let created = publish(tmp, out.path, existing).map_err(|e| FileError {
                path: out.path.to_path_buf(),
                exists: e.kind() == io::ErrorKind::AlreadyExists && existing == Existing::Keep,
                source: e,
            })?;
            undo.temps.retain(|t| t != tmp);
            if let Some(id) = created {
                undo.created.push((out.path.to_path_buf(), id));
            } else {
                undo.replaced.push(out.path.to_path_buf());
            }
        }
        for path in remove {
            match fs::remove_file(path) {
                Ok(()) => undo.replaced.push(path.to_path_buf()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(error(path, e)),
            }
        }
        Ok(())
    })();
    if let Err(mut e) = result {
        let failures = undo.roll_back();
        if !failures.is_empty() {
            e.source = io::Error::new(
                e.source.kind(),
                format!("{}; and could not undo: {}", e.source, failures.join("; ")),
            );
        }
        return Err(e);
    }
    undo.finish();
    let mut dirs: Vec<&Path> = all.iter().map(|p| parent_dir(p)).collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        sync_dir(dir).map_err(|e| {
            error(
                dir,
                io::Error::new(
                    e.kind(),
                    format!("files written, but the directory fsync failed: {e}"),
                ),
            )
        })?;
    }
    Ok(())
}

/// Whether two output paths name the same directory entry (their
/// directories compared after resolving symbolic links where possible).
fn same_file_name(a: &Path, b: &Path) -> bool {
    let key = |p: &Path| {
        let dir = parent_dir(p);
        (
            fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()),
            p.file_name().map(|n| n.to_os_string()),
        )
    };
    a == b || key(a) == key(b)
}

/// Identity of a file this process created (device and inode on Unix), so
/// that undoing never removes a file somebody else put there meanwhile.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

fn file_id(path: &Path) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs::symlink_metadata(path)
            .ok()
            .map(|m| FileId(m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        fs::symlink_metadata(path).ok().map(|_| FileId(0, 0))
    }
}

/// What [`write_files_removing`] has done so far, to take back.
#[derive(Default)]
struct Undo {
    /// Temporary files not published yet.
    temps: Vec<PathBuf>,
    /// (file, the copy of its previous contents).
    backups: Vec<(PathBuf, PathBuf)>,
    /// Files this call created, with their identity.
    created: Vec<(PathBuf, Option<FileId>)>,
    /// Files this call replaced or removed (restored from `backups`).
    replaced: Vec<PathBuf>,
}

impl Undo {
    /// Puts everything back; returns what could not be undone.
    fn roll_back(self) -> Vec<String> {
        let mut failed = Vec::new();
        for (path, id) in self.created.iter().rev() {
            if id.is_none() || file_id(path) != *id {
                failed.push(format!(
                    "{} is left as it is (it may not be ours any more)",
                    path.display()
                ));
            } else if let Err(e) = fs::remove_file(path) {
                failed.push(format!("{} is left new ({e})", path.display()));
            }
        }
        for path in self.replaced.iter().rev() {
            match self.backups.iter().find(|(p, _)| p == path) {
                Some((_, backup)) => {
                    if let Err(e) = fs::rename(backup, path) {
                        failed.push(format!("{} is left new ({e})", path.display()));
                    }
                }
                None => failed.push(format!("{} has no copy to restore", path.display())),
            }
        }
        for (path, backup) in &self.backups {
            if !self.replaced.contains(path) {
                let _ = fs::remove_file(backup);
            }
        }
        for tmp in &self.temps {
            let _ = fs::remove_file(tmp);
        }
        failed
    }

    /// Success: the copies of the old contents are no longer needed.
    fn finish(self) {
        for (_, backup) in &self.backups {
            let _ = fs::remove_file(backup);
        }
    }
}

/// With [`Existing::Replace`]: a copy of `path` under a temporary name, if
/// it exists: a hard link, else (no hard links here) a byte copy.
fn keep_copy(path: &Path) -> io::Result<Option<PathBuf>> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    match fresh_name(path, |b| fs::hard_link(path, b)) {
        Ok((backup, ())) => Ok(Some(backup)),
        Err(_) => {
            let (backup, _) = fresh_name(path, |b| {
                OpenOptions::new().write(true).create_new(true).open(b)
            })?;
            match fs::copy(path, &backup) {
                Ok(_) => Ok(Some(backup)),
                Err(e) => {
                    let _ = fs::remove_file(&backup);
                    Err(e)
                }
            }
        }
    }
}

/// Moves `tmp` to `path`. Returns the identity of the new file when it did
/// not exist before (None: it replaced one).
fn publish(tmp: &Path, path: &Path, existing: Existing) -> io::Result<Option<Option<FileId>>> {
    let exists = || io::Error::new(io::ErrorKind::AlreadyExists, "already exists");
    match existing {
        Existing::Keep => {
            match fs::hard_link(tmp, path) {
                Ok(()) => {
                    let _ = fs::remove_file(tmp);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(exists()),
                // No hard links on this file system: check, then rename.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
                    ) =>
                {
                    if fs::symlink_metadata(path).is_ok() {
                        return Err(exists());
                    }
                    fs::rename(tmp, path)?;
                }
                Err(e) => return Err(e),
            }
            Ok(Some(file_id(path)))
        }
        Existing::Replace => {
            let existed = fs::symlink_metadata(path).is_ok();
            fs::rename(tmp, path)?;
            Ok(if existed { None } else { Some(file_id(path)) })
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
        assert!(e.exists);
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
    fn write_files_edge_cases() {
        let dir = scratch("multi-edge");
        let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
        let out = |p: &'static str, path| Output {
            path,
            data: p.as_bytes(),
            access: Access::Public,
        };

        // The same file twice (also spelled differently): refused, nothing
        // written.
        let twice = dir.join(".").join("a");
        let e = write_files(&[out("1", &a), out("2", &twice)], Existing::Replace).unwrap_err();
        assert_eq!(e.source.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(names_in(&dir).is_empty());

        // A dangling symbolic link counts as existing for Keep.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("nowhere"), &b).unwrap();
            let e = write_files(&[out("1", &a), out("2", &b)], Existing::Keep).unwrap_err();
            assert!(e.exists && e.path == b, "{e}");
            assert_eq!(names_in(&dir), ["b"]);
            fs::remove_file(&b).unwrap();
        }

        // Removing as part of the unit: a failure after the removal was
        // planned puts everything back, success removes it.
        fs::write(&a, b"old a").unwrap();
        fs::write(&c, b"old c").unwrap();
        fs::create_dir_all(b.join("inside")).unwrap();
        write_files_removing(
            &[out("new a", &a), out("new b", &b)],
            &[&c],
            Existing::Replace,
        )
        .unwrap_err();
        assert_eq!(fs::read(&a).unwrap(), b"old a");
        assert_eq!(fs::read(&c).unwrap(), b"old c");
        assert_eq!(names_in(&dir), ["a", "b", "c"]);
        fs::remove_dir_all(&b).unwrap();
        write_files_removing(
            &[out("new a", &a), out("new b", &b)],
            &[&c],
            Existing::Replace,
        )
        .unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"new a");
        assert_eq!(names_in(&dir), ["a", "b"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A leftover temporary file with the name this process would pick
    /// (a crashed process with the same PID) is stepped over.
    #[test]
    fn taken_temporary_names_are_skipped() {
        let mut taken = 3;
        let (name, tries) = fresh_name(Path::new("x"), |_| {
            if taken > 0 {
                taken -= 1;
                Err(io::Error::from(io::ErrorKind::AlreadyExists))
            } else {
                Ok(4 - taken)
            }
        })
        .unwrap();
        assert_eq!(tries, 4);
        assert!(name.to_string_lossy().contains(".x.tmp."));
        // Other errors are not retried.
        let mut calls = 0;
        let e = fresh_name(Path::new("x"), |_| -> io::Result<()> {
            calls += 1;
            Err(io::Error::from(io::ErrorKind::PermissionDenied))
        })
        .unwrap_err();
        assert_eq!((e.kind(), calls), (io::ErrorKind::PermissionDenied, 1));
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
