//! Errors that stop a whole file (or run) from being processed.

use std::path::PathBuf;

use crate::Format;

/// Why a file (or the run configuration) could not be processed.
///
/// Problems with single vectors are not errors: they are reported as
/// [`crate::Failure`]s and the rest of the file still runs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The file or directory could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than the runner accepts.
    #[error("{}: file of {size} bytes exceeds the {max}-byte limit", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        max: u64,
    },
    /// The content is not a vector format the runner knows.
    #[error("{}: unknown vector file format: {reason}", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// The file was identified but is malformed as a whole.
    #[error("{}: {location}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: Format,
        /// Where: `line 3 column 7`, `testGroups[2]`, ...
        location: String,
        /// What is wrong.
        message: String,
    },
    /// The requested SM4 backend does not exist.
    #[error("unknown SM4 backend `{name}` (expected one of: {expected})")]
    UnknownBackend {
        /// The name given.
        name: String,
        /// The names that exist.
        expected: String,
    },
    /// The requested SM4 backend cannot run on this CPU.
    #[error("SM4 backend `{}` is not available on this CPU (available: {available})", backend.name())]
    BackendUnavailable {
        /// The backend requested.
        backend: gm_sm4::Backend,
        /// The backends this CPU can run.
        available: String,
    },
}

impl RunError {
    /// The format the file was identified as, if it got that far.
    pub fn format(&self) -> Format {
        match self {
            RunError::Parse { format, .. } => *format,
            _ => Format::Unknown,
        }
    }

    /// Where in the file the problem is (`file` when it concerns the whole file).
    pub fn location(&self) -> String {
        match self {
            RunError::Parse { location, .. } => location.clone(),
            _ => "file".to_string(),
        }
    }

    /// The problem without the path prefix.
    pub fn detail(&self) -> String {
        match self {
            RunError::Io { source, .. } => format!("cannot read: {source}"),
            RunError::TooLarge { size, max, .. } => {
                format!("file of {size} bytes exceeds the {max}-byte limit")
            }
            RunError::UnknownFormat { reason, .. } => {
                format!("unknown vector file format: {reason}")
            }
            RunError::Parse { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}
