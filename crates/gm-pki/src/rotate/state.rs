//! The on-disk state of one managed certificate: versioned sets, the
//! `current` link, the live links and a pending external request.
//!
//! ```text
//! <store>/<name>/versions/v7/{cert.pem,key.pem,chain.pem,meta.json}
//! <store>/<name>/versions/.stage-v8-<pid>-<n>/   (being written; never read)
//! <store>/<name>/current -> versions/v7          (symlink: THE switch)
//! <store>/<name>/pending/{key.pem,csr.pem,meta.json}   (external issuer)
//! <cert path>  -> <store>/<name>/current/cert.pem      (live links)
//! <key path>   -> <store>/<name>/current/key.pem
//! <chain path> -> <store>/<name>/current/chain.pem
//! ```
//!
//! A version directory is complete by construction: it is written under a
//! staging name, fsynced and renamed into place. `current` is replaced by
//! renaming a new symlink over it. See the [module docs](super) for why
//! this makes every crash safe.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::RotateError;
use crate::atomic::{self, Access, Checkpoint};

/// File names inside a version directory.
pub mod files {
    /// The certificate (PEM).
    pub const CERT: &str = "cert.pem";
    /// The private key (PKCS#8 PEM, 0600).
    pub const KEY: &str = "key.pem";
    /// The chain (PEM, issuing CA first).
    pub const CHAIN: &str = "chain.pem";
    /// What the version is (JSON, informational).
    pub const META: &str = "meta.json";
    /// A pending request (PEM).
    pub const CSR: &str = "csr.pem";
}

/// The files of one set, in memory.
pub struct SetFiles {
    /// Certificate PEM.
    pub cert: Vec<u8>,
    /// Private key PEM (secret).
    pub key: gm_sm2::Zeroizing<Vec<u8>>,
    /// Chain PEM.
    pub chain: Vec<u8>,
    /// meta.json.
    pub meta: Vec<u8>,
}

/// The state directory of one managed certificate.
#[derive(Clone, Debug)]
pub struct CertStore {
    dir: PathBuf,
}

impl CertStore {
    /// The store of `name` under `store_root` (nothing is created yet).
    pub fn new(store_root: &Path, name: &str) -> Self {
        CertStore {
            dir: store_root.join(name),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn versions_dir(&self) -> PathBuf {
        self.dir.join("versions")
    }

    /// The `current` symlink.
    pub fn current_link(&self) -> PathBuf {
        self.dir.join("current")
    }

    /// The directory of version `n`.
    pub fn version_dir(&self, n: u32) -> PathBuf {
        self.versions_dir().join(format!("v{n}"))
    }

    /// The pending-request directory.
    pub fn pending_dir(&self) -> PathBuf {
        self.dir.join("pending")
    }

    /// Creates the directories (0700) if missing.
    pub fn create(&self) -> Result<(), RotateError> {
        create_private_dir_all(&self.versions_dir())
    }

    /// Complete versions, ascending.
    pub fn versions(&self) -> Result<Vec<u32>, RotateError> {
        let dir = self.versions_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RotateError::io(&dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| RotateError::io(&dir, e))?;
            if let Some(n) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.strip_prefix('v'))
                .and_then(|s| s.parse::<u32>().ok())
            {
                out.push(n);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// The version `current` points to, if any.
    pub fn current(&self) -> Result<Option<u32>, RotateError> {
        let link = self.current_link();
        match fs::read_link(&link) {
            Ok(target) => {
                let n = target
                    .file_name()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.strip_prefix('v'))
                    .and_then(|s| s.parse::<u32>().ok())
                    .ok_or_else(|| {
                        RotateError::State(format!(
                            "{} points to {}, not to a version",
                            link.display(),
                            target.display()
                        ))
                    })?;
                Ok(Some(n))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RotateError::io(&link, e)),
        }
    }

    /// Removes staging directories and temporary files left by a crash.
    pub fn clean_leftovers(&self) -> Result<(), RotateError> {
        for dir in [self.versions_dir(), self.dir.clone()] {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(RotateError::io(&dir, e)),
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.starts_with(".stage-") || name.starts_with(".trash-") {
                    let p = entry.path();
                    fs::remove_dir_all(&p).map_err(|e| RotateError::io(&p, e))?;
                } else if name.starts_with('.') && name.contains(".tmp.") {
                    let p = entry.path();
                    fs::remove_file(&p).map_err(|e| RotateError::io(&p, e))?;
                }
            }
        }
        Ok(())
    }

    /// Writes `set` as the next version (staged, fsynced, renamed into
    /// place) and returns its number. Does not switch to it.
    pub fn write_version(&self, set: &SetFiles, cp: Checkpoint<'_>) -> Result<u32, RotateError> {
        self.create()?;
        let n = self.versions()?.last().copied().unwrap_or(0) + 1;
        let final_dir = self.version_dir(n);
        let stage =
            self.versions_dir()
                .join(format!(".stage-v{n}-{}-{}", std::process::id(), unique()));
        write_dir(&stage, &final_dir, set_entries(set), cp)?;
        Ok(n)
    }

    /// Atomically points `current` at version `n`.
    pub fn switch_to(&self, n: u32, cp: Checkpoint<'_>) -> Result<(), RotateError> {
        let target = PathBuf::from("versions").join(format!("v{n}"));
        let link = self.current_link();
        atomic::replace_symlink(&target, &link, cp).map_err(|e| RotateError::io(&link, e))
    }

    /// Deletes versions other than `current` and the `keep` newest below it.
    pub fn prune(&self, keep: u32, cp: Checkpoint<'_>) -> Result<Vec<u32>, RotateError> {
        let Some(current) = self.current()? else {
            return Ok(Vec::new());
        };
        let versions = self.versions()?;
        let older: Vec<u32> = versions.iter().copied().filter(|&v| v < current).collect();
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        let drop_n = older.len().saturating_sub(keep);
        let mut removed = Vec::new();
        for &v in &older[..drop_n] {
            let dir = self.version_dir(v);
            // Rename first so that a half-deleted version never looks complete.
            let trash = self
                .dir
                .join(format!(".trash-v{v}-{}-{}", std::process::id(), unique()));
            cp(&format!("retire {}", dir.display())).map_err(|e| RotateError::io(&dir, e))?;
            fs::rename(&dir, &trash).map_err(|e| RotateError::io(&dir, e))?;
            fs::remove_dir_all(&trash).map_err(|e| RotateError::io(&trash, e))?;
            removed.push(v);
        }
        Ok(removed)
    }

    /// Reads one file of version `n`.
    pub fn read_version_file(&self, n: u32, file: &str) -> Result<Vec<u8>, RotateError> {
        let p = self.version_dir(n).join(file);
        fs::read(&p).map_err(|e| RotateError::io(&p, e))
    }

    /// Writes the pending request directory atomically (replacing none:
    /// fails if one exists).
    pub fn write_pending(
        &self,
        key_pem: &[u8],
        csr_pem: &[u8],
        meta: &[u8],
        cp: Checkpoint<'_>,
    ) -> Result<(), RotateError> {
        self.create()?;
        let final_dir = self.pending_dir();
        if final_dir.exists() {
            return Err(RotateError::State(format!(
                "{} already exists",
                final_dir.display()
            )));
        }
        let stage = self.dir.join(format!(
            ".stage-pending-{}-{}",
            std::process::id(),
            unique()
        ));
        let entries = vec![
            (files::KEY, key_pem, Access::Private),
            (files::CSR, csr_pem, Access::Public),
            (files::META, meta, Access::Public),
        ];
        write_dir(&stage, &final_dir, entries, cp)
    }

    /// Reads a pending file, `None` when there is no pending request.
    pub fn read_pending(&self, file: &str) -> Result<Option<Vec<u8>>, RotateError> {
        let p = self.pending_dir().join(file);
        match fs::read(&p) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RotateError::io(&p, e)),
        }
    }

    /// Removes the pending request (renamed away first, then deleted).
    pub fn remove_pending(&self, cp: Checkpoint<'_>) -> Result<(), RotateError> {
        let dir = self.pending_dir();
        if !dir.exists() {
            return Ok(());
        }
        let trash = self.dir.join(format!(
            ".trash-pending-{}-{}",
            std::process::id(),
            unique()
        ));
        cp(&format!("retire {}", dir.display())).map_err(|e| RotateError::io(&dir, e))?;
        fs::rename(&dir, &trash).map_err(|e| RotateError::io(&dir, e))?;
        atomic::sync_dir(&self.dir).map_err(|e| RotateError::io(&self.dir, e))?;
        fs::remove_dir_all(&trash).map_err(|e| RotateError::io(&trash, e))
    }
}

/// Removes temporary files a crash left next to `path` (named
/// `.<file name>.tmp.<pid>.<n>` by [`crate::atomic`]).
pub(crate) fn clean_temp_files_next_to(path: &Path) -> Result<(), RotateError> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(());
    };
    let prefix = format!(".{name}.tmp.");
    let dir = atomic::parent_dir(path);
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(RotateError::io(dir, e)),
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix))
        {
            let p = entry.path();
            fs::remove_file(&p).map_err(|e| RotateError::io(&p, e))?;
        }
    }
    Ok(())
}

fn set_entries(set: &SetFiles) -> Vec<(&'static str, &[u8], Access)> {
    vec![
        (files::KEY, &set.key[..], Access::Private),
        (files::CERT, &set.cert[..], Access::Public),
        (files::CHAIN, &set.chain[..], Access::Public),
        (files::META, &set.meta[..], Access::Public),
    ]
}

/// Writes `entries` into a fresh `stage` directory, fsyncs it and renames
/// it to `final_dir` (which must not exist), then fsyncs the parent.
fn write_dir(
    stage: &Path,
    final_dir: &Path,
    entries: Vec<(&str, &[u8], Access)>,
    cp: Checkpoint<'_>,
) -> Result<(), RotateError> {
    cp(&format!("mkdir {}", stage.display())).map_err(|e| RotateError::io(stage, e))?;
    create_private_dir(stage)?;
    for (name, data, access) in entries {
        let p = stage.join(name);
        atomic::write_file_with(&p, data, access, cp).map_err(|e| RotateError::io(&p, e))?;
    }
    cp(&format!("fsync {}", stage.display())).map_err(|e| RotateError::io(stage, e))?;
    atomic::sync_dir(stage).map_err(|e| RotateError::io(stage, e))?;
    cp(&format!(
        "rename {} -> {}",
        stage.display(),
        final_dir.display()
    ))
    .map_err(|e| RotateError::io(final_dir, e))?;
    fs::rename(stage, final_dir).map_err(|e| RotateError::io(final_dir, e))?;
    let parent = atomic::parent_dir(final_dir);
    cp(&format!("fsync directory {}", parent.display())).map_err(|e| RotateError::io(parent, e))?;
    atomic::sync_dir(parent).map_err(|e| RotateError::io(parent, e))
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Creates one directory with mode 0700.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), RotateError> {
    let mut b = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| RotateError::io(dir, e))
}

/// Creates a directory and its parents with mode 0700 (existing ones are
/// left as they are).
pub(crate) fn create_private_dir_all(dir: &Path) -> Result<(), RotateError> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| RotateError::io(dir, e))
}
