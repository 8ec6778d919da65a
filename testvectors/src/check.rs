//! Shared helpers: judging outcomes, hex parsing and short hex rendering.

use crate::engine::OpResult;

/// What a vector file expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Must succeed and match.
    Valid,
    /// Must fail (rejected parameters, tag mismatch, or output mismatch).
    Invalid,
    /// Either outcome is acceptable (Wycheproof "acceptable").
    Acceptable,
}

impl Expect {
    pub(crate) fn parse(s: &str) -> Result<Expect, String> {
        match s {
            "valid" => Ok(Expect::Valid),
            "invalid" => Ok(Expect::Invalid),
            "acceptable" => Ok(Expect::Acceptable),
            other => Err(format!(
                "`result` must be \"valid\", \"invalid\" or \"acceptable\", got {other:?}"
            )),
        }
    }
}

/// The verdict on one vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// Renders bytes as hex, shortened past 40 bytes.
pub(crate) fn short_hex(b: &[u8]) -> String {
    const MAX: usize = 40;
    if b.len() <= MAX {
        if b.is_empty() {
            "(empty)".to_string()
        } else {
            hex::encode(b)
        }
    } else {
        format!("{}... ({} bytes)", hex::encode(&b[..MAX]), b.len())
    }
}

/// `Ok` if `got == want`, else a description of the difference.
pub(crate) fn compare(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    Err(format!(
        "{what} mismatch at byte {at}: got {}, expected {}",
        short_hex(got),
        short_hex(want)
    ))
}

/// Checks an operation result against an expected output.
pub(crate) fn matches(what: &str, got: &OpResult<Vec<u8>>, want: &[u8]) -> Result<(), String> {
    match got {
        Ok(v) => compare(what, v, want),
        Err(e) => Err(e.to_string()),
    }
}

/// Decodes a hex string (either case; surrounding whitespace ignored).
pub(crate) fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim();
    hex::decode(s).map_err(|e| match e {
        hex::FromHexError::OddLength => format!("odd number of hex digits ({})", s.len()),
        hex::FromHexError::InvalidHexCharacter { c, index } => {
            format!("invalid hex character {c:?} at position {index}")
        }
        other => other.to_string(),
    })
}

/// The verdict for a vector with one or more directions, each `Ok` when it
/// reproduced the vector.
///
/// * valid: every direction must reproduce it;
/// * invalid: no direction may reproduce it;
/// * acceptable: anything goes.
///
/// A panic is a failure in every case (`panics` lists them).
pub(crate) fn judge(
    expect: Expect,
    dirs: &[(&str, Result<(), String>)],
    panics: &[String],
) -> Outcome {
    if let Some(p) = panics.first() {
        return Outcome::Fail(p.clone());
    }
    match expect {
        Expect::Valid => match dirs.iter().find(|(_, r)| r.is_err()) {
            Some((name, Err(e))) => Outcome::Fail(format!("valid vector: {name}: {e}")),
            _ => Outcome::Pass,
        },
        Expect::Invalid => match dirs.iter().find(|(_, r)| r.is_ok()) {
            Some((name, _)) => Outcome::Fail(format!(
                "invalid vector was reproduced by {name} (expected a rejection or a mismatch)"
            )),
            None => Outcome::Pass,
        },
        Expect::Acceptable => Outcome::Pass,
    }
}

/// Collects the panic messages of operation results.
pub(crate) fn panics_of<'a, T: 'a>(
    results: impl IntoIterator<Item = (&'a str, &'a OpResult<T>)>,
) -> Vec<String> {
    results
        .into_iter()
        .filter_map(|(name, r)| match r {
            Err(e) if e.is_panic() => Some(format!("{name}: {e}")),
            _ => None,
        })
        .collect()
}
