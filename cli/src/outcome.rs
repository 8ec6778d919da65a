//! What the file-producing subcommands (`key`, `csr`, `ca`, `cert`, `cfca`)
//! share: the failure type and exit codes, printing an outcome as text or
//! JSON, passwords, and atomic, no-clobber output files.

use std::path::Path;
use std::process::ExitCode;

use gm_pki::atomic::{self, Access};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::tls_common::PASSWORD_ENV;

/// Exit status: success.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit status: the operation or verification failed.
pub(crate) const EXIT_FAILED: u8 = 1;
/// Exit status: usage error or bad input.
pub(crate) const EXIT_USAGE: u8 = 2;

/// A failure: message, exit status, and for verification a reason code.
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) code: u8,
    pub(crate) reason: Option<&'static str>,
}

impl Failure {
    /// Bad input or usage (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: EXIT_USAGE,
            reason: None,
        }
    }

    /// The operation failed (exit 1).
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: EXIT_FAILED,
            reason: None,
        }
    }
}

impl From<gm_pki::Error> for Failure {
    fn from(e: gm_pki::Error) -> Self {
        use gm_pki::Error as E;
        let code = match &e {
            E::CsrSignatureInvalid(_) | E::KeyMismatch | E::Signing(_) | E::Rng | E::Io { .. } => {
                EXIT_FAILED
            }
            _ => EXIT_USAGE,
        };
        Failure {
            message: e.to_string(),
            code,
            reason: None,
        }
    }
}

/// A command's result: a JSON object (with an optional `text` field for the
/// human-readable output) or a failure.
pub(crate) type Outcome = Result<Value, Failure>;

/// Prints the outcome (JSON on stdout, or text: the `text` field's lines on
/// stdout, errors on stderr) and returns the exit status.
pub(crate) fn finish(command: &str, json_out: bool, outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(mut v) => {
            if json_out {
                if let Some(o) = v.as_object_mut() {
                    o.remove("text");
                    o.insert("ok".into(), Value::Bool(true));
                }
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else if let Some(t) = v.get("text").and_then(Value::as_str) {
                print!("{t}");
                if !t.ends_with('\n') {
                    println!();
                }
            }
            ExitCode::from(EXIT_OK)
        }
        Err(f) => {
            if json_out {
                let mut v = json!({ "ok": false, "error": f.message, "exit_code": f.code });
                if let Some(r) = f.reason {
                    v["reason"] = Value::from(r);
                }
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                eprintln!("gmkit {command}: {}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

/// The one password rule of every gmkit command: the first line of `file`
/// (a trailing CR removed; an empty line is an error), else the environment
/// variable `env` as raw bytes (unset or empty: `None`). Passwords are never
/// taken on the command line. Errors name the file.
pub(crate) fn password_from(
    file: Option<&Path>,
    env: Option<&str>,
) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    if let Some(p) = file {
        let mut data = Zeroizing::new(
            std::fs::read(p)
                .map_err(|e| format!("cannot read the password file {}: {e}", p.display()))?,
        );
        if let Some(end) = data.iter().position(|b| *b == b'\n') {
            data.truncate(end);
        }
        if data.last() == Some(&b'\r') {
            data.pop();
        }
        if data.is_empty() {
            return Err(format!("{}: empty password", p.display()));
        }
        return Ok(Some(data));
    }
    Ok(env
        .and_then(std::env::var_os)
        .filter(|v| !v.is_empty())
        .map(|v| Zeroizing::new(v.into_encoded_bytes())))
}

/// [`password_from`] with [`PASSWORD_ENV`]; `required` makes a missing
/// password a usage error.
pub(crate) fn read_password(
    file: Option<&Path>,
    required: bool,
) -> Result<Option<Zeroizing<Vec<u8>>>, Failure> {
    match password_from(file, Some(PASSWORD_ENV)).map_err(Failure::usage)? {
        None if required => Err(Failure::usage(format!(
            "a password is required: --password-file FILE or {PASSWORD_ENV}"
        ))),
        pw => Ok(pw),
    }
}

/// Reads an input file; an unreadable file is bad input.
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

/// Refuses to overwrite existing outputs unless `force`.
pub(crate) fn check_overwrite(paths: &[&Path], force: bool) -> Result<(), Failure> {
    for p in paths {
        // symlink_metadata: a dangling symbolic link counts as existing.
        if !force && p.symlink_metadata().is_ok() {
            return Err(already_exists(p));
        }
    }
    Ok(())
}

/// The usage error for an output that exists and may not be replaced.
fn already_exists(path: &Path) -> Failure {
    Failure::usage(format!(
        "{} already exists (use --force to overwrite)",
        path.display()
    ))
}

/// Writes output files as a unit, each atomically (temp file, fsync, then
/// publish, dir fsync): if any fails, the others are taken back. Without
/// `force` an existing file is not replaced, even one that appeared after
/// [`check_overwrite`] looked (where the file system has hard links).
pub(crate) fn write_outputs(files: &[(&Path, &[u8], Access)], force: bool) -> Result<(), Failure> {
    let outputs: Vec<atomic::Output<'_>> = files
        .iter()
        .map(|&(path, data, access)| atomic::Output { path, data, access })
        .collect();
    let existing = if force {
        atomic::Existing::Replace
    } else {
        atomic::Existing::Keep
    };
    atomic::write_files(&outputs, existing).map_err(|e| {
        if e.exists {
            already_exists(&e.path)
        } else {
            Failure::failed(format!("writing {}: {}", e.path.display(), e.source))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rule_is_the_first_line_of_the_file_else_the_variable() {
        let dir = std::env::temp_dir().join(format!("gmkit-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        for (content, want) in [
            (&b"secret\nsecond line\n"[..], &b"secret"[..]),
            (b"secret\r\n", b"secret"),
            (b"pass phrase", b"pass phrase"),
        ] {
            std::fs::write(&file, content).unwrap();
            let got = password_from(Some(&file), None).unwrap().unwrap();
            assert_eq!(&got[..], want);
        }
        std::fs::write(&file, b"\nsecret\n").unwrap();
        assert!(password_from(Some(&file), None)
            .unwrap_err()
            .contains("empty password"));
        let missing = dir.join("missing");
        assert!(password_from(Some(&missing), None)
            .unwrap_err()
            .contains("missing"));
        // No file and no variable name: no password.
        assert!(password_from(None, None).unwrap().is_none());
        // A variable that is not set gives none as well.
        assert!(
            password_from(None, Some("GMKIT_TEST_UNSET_PASSWORD_VARIABLE"))
                .unwrap()
                .is_none()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
