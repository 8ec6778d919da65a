//! Known-answer vector runner for gmkit: Wycheproof JSON files and OpenSSL
//! `evp_test` data files, run against `gm-sm4` and `gm-sm3`.
//!
//! The format of each file is detected from its content (see
//! testvectors/README.md for the accepted schemas, algorithms and keywords).
//! Every vector ends up *passed*, *failed* (with the reason) or *skipped*
//! (with the reason): nothing is dropped silently, malformed input is reported
//! as a failure naming the file and line or `tcId`, and nothing panics.
//!
//! ```no_run
//! use gm_testvectors::{run_paths, RunOptions, BUNDLED_DATA_DIR};
//! use std::path::PathBuf;
//!
//! let report = run_paths(&[PathBuf::from(BUNDLED_DATA_DIR)], &RunOptions::default());
//! println!("{} passed, {} failed, {} skipped", report.passed, report.failed, report.skipped);
//! assert!(report.is_success());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use gm_sm4::Backend;

mod check;
mod engine;
mod error;
mod evp;
mod json;
mod report;

pub use error::RunError;
pub use report::{Failure, FileReport, Format, Report, Skip};

/// The bundled vector files (`testvectors/data` of this source tree).
pub const BUNDLED_DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data");

/// Files larger than this are refused (64 MiB).
pub const MAX_FILE_SIZE: u64 = 64 << 20;

/// Directory nesting beyond this depth is not followed (guards symlink loops).
const MAX_DEPTH: usize = 32;

/// How to run vectors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// The SM4 backend every SM4 operation runs on; `None` = detected
    /// ([`Backend::detect`], which honours `GMKIT_SM4_BACKEND`).
    pub backend: Option<Backend>,
}

impl RunOptions {
    /// Options for a backend given by name (`soft`, `aesni-avx2`,
    /// `vaes-avx2`, `gfni-avx512`, or `auto` for detection).
    ///
    /// Fails if the name is unknown or the backend cannot run on this CPU.
    pub fn with_backend_name(name: &str) -> Result<Self, RunError> {
        if name.trim().eq_ignore_ascii_case("auto") {
            return Ok(RunOptions { backend: None });
        }
        let backend: Backend = name.parse().map_err(|_| RunError::UnknownBackend {
            name: name.to_string(),
            expected: Backend::ALL
                .iter()
                .map(|b| b.name())
                .chain(["auto"])
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        Self::with_backend(backend)
    }

    /// Options for a backend; fails if it cannot run on this CPU.
    pub fn with_backend(backend: Backend) -> Result<Self, RunError> {
        if !backend.is_available() {
            return Err(RunError::BackendUnavailable {
                backend,
                available: available_backends(),
            });
        }
        Ok(RunOptions {
            backend: Some(backend),
        })
    }

    /// The name of the backend SM4 will run on.
    pub fn backend_name(&self) -> &'static str {
        self.backend.unwrap_or_else(Backend::detect).name()
    }
}

fn available_backends() -> String {
    Backend::available()
        .iter()
        .map(|b| b.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs one vector file.
///
/// `Err` means the file as a whole could not be run (unreadable, unknown
/// format, malformed JSON, no vectors, unavailable backend); problems with
/// single vectors are failures inside the returned report.
pub fn run_path(path: &Path, opts: &RunOptions) -> Result<FileReport, RunError> {
    let text = read_limited(path)?;
    run_str(path, &text, opts)
}

/// Runs vector data already in memory; `name` is used in the report.
pub fn run_str(name: &Path, text: &str, opts: &RunOptions) -> Result<FileReport, RunError> {
    if let Some(b) = opts.backend {
        if !b.is_available() {
            return Err(RunError::BackendUnavailable {
                backend: b,
                available: available_backends(),
            });
        }
    }
    let engine = engine::Engine::new(opts.backend);
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = body.trim_start().chars().next();
    if matches!(first, Some('{') | Some('[')) {
        return json::run(name, body, &engine);
    }
    evp::looks_like_evp(body).map_err(|reason| RunError::UnknownFormat {
        path: name.to_path_buf(),
        reason,
    })?;
    evp::run(name, body, &engine)
}

fn read_limited(path: &Path) -> Result<String, RunError> {
    let io = |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > MAX_FILE_SIZE {
        return Err(RunError::TooLarge {
            path: path.to_path_buf(),
            size,
            max: MAX_FILE_SIZE,
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    String::from_utf8(bytes).map_err(|e| RunError::UnknownFormat {
        path: path.to_path_buf(),
        reason: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// Expands `paths` into vector files: files are taken as given, directories
/// are walked recursively for `*.json` and `*.txt` files (sorted by path).
///
/// Unreadable paths are returned as errors in place, so the caller can report
/// them in order.
pub fn collect_files(paths: &[PathBuf]) -> Vec<Result<PathBuf, RunError>> {
    let mut out = Vec::new();
    for p in paths {
        match fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, 0, &mut out),
            Ok(_) => out.push(Ok(p.clone())),
            Err(source) => out.push(Err(RunError::Io {
                path: p.clone(),
                source,
            })),
        }
    }
    out
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<Result<PathBuf, RunError>>) {
    if depth > MAX_DEPTH {
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            out.push(Err(RunError::Io {
                path: dir.to_path_buf(),
                source,
            }));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for e in entries {
        match e {
            Ok(e) => paths.push(e.path()),
            Err(source) => out.push(Err(RunError::Io {
                path: dir.to_path_buf(),
                source,
            })),
        }
    }
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, depth + 1, out);
        } else if is_vector_file(&p) {
            out.push(Ok(p));
        }
    }
}

fn is_vector_file(p: &Path) -> bool {
    let hidden = p
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'));
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    !hidden && matches!(ext.as_deref(), Some("json") | Some("txt"))
}

/// Runs every vector file under `paths` (see [`collect_files`]).
///
/// A file that cannot be run becomes a [`FileReport`] with one failure naming
/// the problem and `error` set; the run always continues.
pub fn run_paths(paths: &[PathBuf], opts: &RunOptions) -> Report {
    let mut report = Report::new(opts.backend_name().to_string());
    for item in collect_files(paths) {
        let file = match item {
            Ok(p) => run_path(&p, opts).unwrap_or_else(|e| FileReport::from_error(&p, &e)),
            Err(e) => {
                let p = match &e {
                    RunError::Io { path, .. } => path.clone(),
                    _ => PathBuf::new(),
                };
                FileReport::from_error(&p, &e)
            }
        };
        report.push(file);
    }
    report
}
