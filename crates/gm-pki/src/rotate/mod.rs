//! The certificate rotation engine.
//!
//! From a declared state ([`config::Config`]: for each managed certificate
//! its paths, renew window, key algorithm, names and issuer) it
//!
//! * [`plan()`]s: says for every certificate whether it is `ok`, due for
//!   `renew`al, `expired`, `missing` or a `mismatch` (key not matching the
//!   certificate, names not covered, chain not verifying), with the days
//!   left and the reason;
//! * [`apply()`]s: generates a new key and CSR, has a local CA issue the
//!   certificate (or, for an `external` issuer such as CFCA, writes the key
//!   and CSR and waits for [`install`]), checks that the new certificate
//!   matches the key, chains to the configured roots and covers the same
//!   names, then switches to the new set;
//! * [`rollback`]s to the previous set;
//! * runs an optional hook command after every switch (never on a dry
//!   run); a failing hook is reported, and retried by the next `apply`.
//!
//! # Crash safety: how a set is switched
//!
//! A server reads a certificate, a key and a chain: three files that must
//! change together. Renaming three files is three operations, so instead
//! every set lives in its own **version directory**, and one symbolic link
//! decides which set is live:
//!
//! ```text
//! <store>/<name>/versions/v1/{cert.pem,key.pem,chain.pem,meta.json}
//! <store>/<name>/versions/v2/{...}
//! <store>/<name>/current -> versions/v2
//! <configured cert path>  -> <store>/<name>/current/cert.pem
//! <configured key path>   -> <store>/<name>/current/key.pem
//! <configured chain path> -> <store>/<name>/current/chain.pem
//! ```
//!
//! 1. The configured paths become symbolic links through `current` (once;
//!    existing regular files are first *adopted* as version 1, so each link
//!    that replaces a file shows the same bytes as the file it replaces).
//! 2. A new set is written into a staging directory, every file via
//!    temp-file + fsync + rename (the key `0600`), the directory is fsynced
//!    and renamed to `versions/vN`, and `versions/` is fsynced. A version
//!    directory therefore exists complete or not at all.
//! 3. The switch: a new symlink `current.tmp -> versions/vN` is renamed over
//!    `current` (rename(2) is atomic) and the directory is fsynced.
//!
//! A crash before step 3 leaves `current` on the old set (plus an unused
//! complete `vN` or a staging directory, removed by the next run); a crash
//! after it leaves the new set. Readers resolve each path through
//! `current`, so they see the old complete set or the new one. (A reader
//! that opens the certificate just before the switch and the key just
//! after can still pair old with new; servers must check that the pair
//! matches and retry, as the rustls-gm reloading resolver does.)
//!
//! Old versions beyond `keep` are renamed away and deleted after the switch
//! (a half-deleted version never looks complete). A pending external
//! request is a directory written the same way. Runs on the same store are
//! serialised by an advisory lock on `<store>/.lock`.
//!
//! Every file-system step calls a checkpoint first ([`apply_with`],
//! [`install_with`], [`rollback_with`]); the tests inject a failure at each
//! one in turn and check that the installed set is always complete and
//! consistent, and the tests also kill a real process at every step.
//!
//! Unix only (symbolic links and directory fsync).

pub mod apply;
pub mod config;
pub mod plan;
pub mod state;

use std::fmt;
use std::path::{Path, PathBuf};

pub use apply::{
    apply, apply_with, install, install_with, rollback, rollback_with, ActionTaken, ApplyItem,
    ApplyOptions, ApplyReport, HookResult,
};
pub use config::{Config, Issuer, ManagedCert};
pub use plan::{plan, plan_one, Plan, PlanItem, PlannedAction, Status};

/// What went wrong in the rotation engine.
#[derive(Debug)]
#[non_exhaustive]
pub enum RotateError {
    /// The configuration file is invalid.
    Config(String),
    /// No managed certificate has this name.
    UnknownName(String),
    /// A file-system operation failed.
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The store is not in a state this operation can work from.
    State(String),
    /// A key, request or certificate operation failed.
    Pki(crate::Error),
    /// The new (or rollback) set fails a check; nothing was switched.
    Check {
        /// Which managed certificate.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// `install` without a pending request (run `apply` first).
    NoPending(String),
    /// `install` on a certificate whose issuer is not external.
    NotExternal(String),
    /// `rollback` with no earlier version.
    NothingToRollBack(String),
    /// Another rotation holds the store lock.
    Locked(PathBuf),
}

impl RotateError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        RotateError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A stable short name for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            RotateError::Config(_) => "config",
            RotateError::UnknownName(_) => "unknown_name",
            RotateError::Io { .. } => "io",
            RotateError::State(_) => "state",
            RotateError::Pki(_) => "pki",
            RotateError::Check { .. } => "check_failed",
            RotateError::NoPending(_) => "no_pending",
            RotateError::NotExternal(_) => "not_external",
            RotateError::NothingToRollBack(_) => "nothing_to_roll_back",
            RotateError::Locked(_) => "locked",
        }
    }

    /// Whether the error is the caller's (bad configuration or arguments:
    /// exit status 2) rather than a failed action (exit status 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            RotateError::Config(_) | RotateError::UnknownName(_) | RotateError::NotExternal(_)
        )
    }
}

impl fmt::Display for RotateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RotateError::Config(why) => write!(f, "configuration: {why}"),
            RotateError::UnknownName(n) => write!(f, "no managed certificate named {n:?}"),
            RotateError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            RotateError::State(why) => write!(f, "store: {why}"),
            RotateError::Pki(e) => write!(f, "{e}"),
            RotateError::Check { name, reason } => {
                write!(f, "{name}: new set rejected, nothing switched: {reason}")
            }
            RotateError::NoPending(n) => write!(
                f,
                "{n}: no pending request (run `gmkit rotate apply` first to write the key and CSR)"
            ),
            RotateError::NotExternal(n) => write!(
                f,
                "{n}: the issuer is a local CA; `apply` issues directly, `install` is for issuer \"external\""
            ),
            RotateError::NothingToRollBack(n) => write!(f, "{n}: no earlier version to roll back to"),
            RotateError::Locked(p) => write!(
                f,
                "another rotation is running (lock {} is held)",
                p.display()
            ),
        }
    }
}

impl std::error::Error for RotateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RotateError::Io { source, .. } => Some(source),
            RotateError::Pki(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::Error> for RotateError {
    fn from(e: crate::Error) -> Self {
        RotateError::Pki(e)
    }
}

/// An exclusive advisory lock on `<store>/.lock`, released on drop (and by
/// the kernel when the process dies).
pub(crate) struct StoreLock {
    _file: std::fs::File,
}

impl StoreLock {
    pub(crate) fn acquire(store: &Path) -> Result<Self, RotateError> {
        state::create_private_dir_all(store)?;
        let path = store.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| RotateError::io(&path, e))?;
        // Wait a little: a process forked by another thread of ours holds a
        // copy of the descriptor (and so the lock) until it execs.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StoreLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => return Err(RotateError::Locked(path)),
                Err(std::fs::TryLockError::Error(e)) => return Err(RotateError::io(&path, e)),
            }
        }
    }
}
