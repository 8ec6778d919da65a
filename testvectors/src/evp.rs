//! OpenSSL `evp_test` data files (test/recipes/30-test_evp_data/*.txt).
//!
//! Stanzas of `Keyword = value` lines separated by blank lines; `#` starts a
//! comment line. The first keyword names the test type. Supported:
//!
//! * `Cipher = SM4-ECB | SM4-CBC | SM4-CTR | SM4-OFB | SM4-CFB | SM4-XTS |
//!   SM4-GCM | SM4-CCM` with `Key`, `IV`, `Plaintext`, `Ciphertext`, `AAD`
//!   (repeatable, concatenated), `Tag`, `Operation = ENCRYPT | DECRYPT`,
//!   `XTSStandard = IEEE` and `Result`;
//! * `Digest = SM3` with `Input` (repeatable), `Count` / `Ncopy` (repeat
//!   the preceding `Input`), `Output`, `Result`;
//! * `MAC = HMAC` with `Algorithm = SM3`, `Key`, `Input`, `Output`, `Result`.
//!
//! Values are hex, or a `"quoted string"` taken byte for byte. A `Result`
//! line means the test must fail: no direction may reproduce the stanza, and
//! an AEAD decryption must be refused. Any other test type, algorithm or
//! keyword makes the stanza a skip with that reason.

use std::path::Path;

use crate::check::{compare, decode_hex, judge, matches, panics_of, Expect, Outcome};
use crate::engine::{AeadAlg, Dir, Engine, Mode};
use crate::json::judge_aead;
use crate::{FileReport, Format, RunError};

/// Keywords allowed in front of (or inside) any stanza, ignored by the runner.
const META: &[&str] = &["Title", "Availablein", "FIPSversion"];

/// OpenSSL test types that this runner does not implement.
const OTHER_TESTS: &[&str] = &[
    "Decrypt",
    "Derive",
    "Encoding",
    "KDF",
    "KeyGen",
    "PKEYKDF",
    "PrivPubKeyPair",
    "PrivateKey",
    "PrivateKeyRaw",
    "PublicKey",
    "PublicKeyRaw",
    "Rand",
    "Sign",
    "SignMessage",
    "Verify",
    "VerifyMessage",
    "VerifyRecover",
    "ParamGen",
    "CipherList",
];

/// One `Keyword = value` line.
struct Line<'a> {
    no: usize,
    key: &'a str,
    value: &'a str,
}

/// A blank-line separated group of lines.
struct Stanza<'a> {
    start: usize,
    lines: Vec<Line<'a>>,
    comment: Option<String>,
    malformed: Option<String>,
}

/// True if the first significant line looks like `Keyword = value`.
pub(crate) fn looks_like_evp(text: &str) -> Result<(), String> {
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        return match t.split_once('=') {
            Some((k, _)) if is_keyword(k.trim()) => Ok(()),
            _ => Err(format!(
                "not JSON, and line {} is not an OpenSSL evp `Keyword = value` line: {:?}",
                i + 1,
                truncate(t, 60)
            )),
        };
    }
    Err("the file is empty (only blank or comment lines)".into())
}

fn is_keyword(k: &str) -> bool {
    !k.is_empty()
        && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n).collect();
        format!("{t}...")
    }
}

fn parse(text: &str) -> Vec<Stanza<'_>> {
    let mut stanzas = Vec::new();
    let mut cur: Option<Stanza<'_>> = None;
    let mut pending: Vec<String> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, raw)) = lines.next() {
        let no = i + 1;
        let t = raw.trim();
        if t.is_empty() {
            stanzas.extend(cur.take());
            pending.clear();
            continue;
        }
        if t.starts_with('#') {
            if cur.is_none() {
                pending.push(t.trim_start_matches('#').trim().to_string());
            }
            continue;
        }
        let st = cur.get_or_insert_with(|| Stanza {
            start: no,
            lines: Vec::new(),
            comment: (!pending.is_empty()).then(|| pending.join(" ")),
            malformed: None,
        });
        if t.starts_with("-----BEGIN") {
            // A PEM block (PrivateKey / PublicKey stanzas): skip to its end.
            let ended = lines
                .by_ref()
                .any(|(_, l)| l.trim().starts_with("-----END"));
            if !ended {
                st.malformed
                    .get_or_insert(format!("line {no}: PEM block is never closed"));
            }
            continue;
        }
        match t.split_once('=') {
            Some((k, v)) if is_keyword(k.trim()) => st.lines.push(Line {
                no,
                key: k.trim(),
                value: v.trim(),
            }),
            _ => {
                st.malformed.get_or_insert(format!(
                    "line {no}: expected `Keyword = value`, got {:?}",
                    truncate(t, 60)
                ));
            }
        }
    }
    stanzas.extend(cur);
    stanzas
}

/// Parses a value: `"text"` byte for byte, otherwise hex (empty allowed).
fn parse_bin(line: &Line<'_>) -> Result<Vec<u8>, String> {
    let v = line.value;
    if let Some(inner) = v.strip_prefix('"') {
        return inner
            .strip_suffix('"')
            .map(|s| s.as_bytes().to_vec())
            .ok_or_else(|| {
                format!(
                    "line {}: `{}`: unterminated quoted string",
                    line.no, line.key
                )
            });
    }
    decode_hex(v).map_err(|e| format!("line {}: `{}`: {e}", line.no, line.key))
}

/// Access to a stanza's keywords.
struct Fields<'s, 'a> {
    lines: &'s [Line<'a>],
}

impl<'s, 'a> Fields<'s, 'a> {
    /// The only line with `key`, if any; duplicates are an error.
    fn one(&self, key: &str) -> Result<Option<&'s Line<'a>>, String> {
        let mut it = self.lines.iter().filter(|l| l.key == key);
        let first = it.next();
        if let Some(dup) = it.next() {
            return Err(format!("line {}: duplicate `{key}`", dup.no));
        }
        Ok(first)
    }

    fn bin(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.one(key)?.map(parse_bin).transpose()
    }

    fn required(&self, key: &str) -> Result<Vec<u8>, String> {
        self.bin(key)?.ok_or_else(|| format!("missing `{key}`"))
    }

    /// Every line with `key`, concatenated.
    fn concat(&self, key: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for l in self.lines.iter().filter(|l| l.key == key) {
            out.extend(parse_bin(l)?);
        }
        Ok(out)
    }

    /// The first keyword outside `allowed` (and [`META`]).
    fn unsupported(&self, allowed: &[&str]) -> Option<&'s Line<'a>> {
        self.lines
            .iter()
            .find(|l| !allowed.contains(&l.key) && !META.contains(&l.key))
    }

    fn expect(&self) -> Result<Expect, String> {
        Ok(match self.one("Result")? {
            Some(_) => Expect::Invalid,
            None => Expect::Valid,
        })
    }
}

/// Parses and runs one evp test file.
pub(crate) fn run(path: &Path, text: &str, engine: &Engine) -> Result<FileReport, RunError> {
    let mut report = FileReport::new(path, Format::OpensslEvp);
    let mut title: Option<String> = None;
    let mut tests = 0usize;
    for st in parse(text) {
        let id = format!("line {}", st.start);
        let head = st.lines.iter().find(|l| !META.contains(&l.key));
        if let Some(t) = st.lines.iter().find(|l| l.key == "Title") {
            title = Some(t.value.to_string());
        }
        let comment = st.comment.clone().or_else(|| title.clone());
        let Some(head) = head else {
            if let Some(m) = st.malformed {
                tests += 1;
                report.fail(id, format!("malformed stanza: {m}"), comment);
            }
            continue; // Title / Availablein only.
        };
        tests += 1;
        if let Some(m) = &st.malformed {
            report.fail(id, format!("malformed stanza: {m}"), comment);
            continue;
        }
        let fields = Fields { lines: &st.lines };
        let outcome = match head.key {
            "Cipher" => cipher(engine, head.value, &fields),
            "Digest" => digest(engine, head.value, &fields),
            "MAC" => mac(engine, head.value, &fields),
            k if OTHER_TESTS.contains(&k) => Ok(Outcome::Skip(format!(
                "OpenSSL `{k}` tests are not supported by gmkit"
            ))),
            k => Ok(Outcome::Skip(format!(
                "unknown test keyword `{k}` (line {})",
                head.no
            ))),
        };
        match outcome {
            Ok(Outcome::Pass) => report.pass(),
            Ok(Outcome::Skip(r)) => report.skip(id, r),
            Ok(Outcome::Fail(r)) => report.fail(id, r, comment),
            Err(m) => report.fail(id, format!("malformed stanza: {m}"), comment),
        }
    }
    if tests == 0 {
        return Err(RunError::Parse {
            path: path.to_path_buf(),
            format: Format::OpensslEvp,
            location: "file".into(),
            message: "no test stanzas (only Title lines and comments)".into(),
        });
    }
    Ok(report)
}

#[derive(Clone, Copy)]
enum CipherKind {
    Aead(AeadAlg),
    Plain(Mode),
}

fn cipher(engine: &Engine, name: &str, f: &Fields<'_, '_>) -> Result<Outcome, String> {
    let kind = if let Some(a) = AeadAlg::from_name(name) {
        CipherKind::Aead(a)
    } else if let Some(m) = Mode::from_name(name).filter(|m| *m != Mode::CbcPkcs7) {
        CipherKind::Plain(m)
    } else {
        return Ok(Outcome::Skip(format!(
            "cipher `{name}` is not supported by gmkit (supported: SM4-ECB, SM4-CBC, SM4-CTR, SM4-OFB, SM4-CFB, SM4-XTS, SM4-GCM, SM4-CCM)"
        )));
    };
    let allowed: &[&str] = &[
        "Cipher",
        "Key",
        "IV",
        "Plaintext",
        "Ciphertext",
        "AAD",
        "Tag",
        "Operation",
        "Result",
        "XTSStandard",
    ];
    if let Some(l) = f.unsupported(allowed) {
        return Ok(Outcome::Skip(format!(
            "keyword `{}` (line {}) is not supported by gmkit",
            l.key, l.no
        )));
    }
    if let CipherKind::Plain(Mode::XtsIeee) = kind {
        let std = f.one("XTSStandard")?.map(|l| l.value.to_ascii_uppercase());
        if std.as_deref() != Some("IEEE") {
            return Ok(Outcome::Skip(
                "SM4-XTS with the GB/T 17964-2021 tweak update (OpenSSL's default without `XTSStandard = IEEE`) is not implemented".into(),
            ));
        }
    }
    let key = f.required("Key")?;
    let iv = f.bin("IV")?.unwrap_or_default();
    let pt = f.required("Plaintext")?;
    let ct = f.required("Ciphertext")?;
    let aad = f.concat("AAD")?;
    let tag = f.bin("Tag")?.unwrap_or_default();
    let dirs: &[Dir] = match f.one("Operation")?.map(|l| (l.no, l.value)) {
        None => &[Dir::Encrypt, Dir::Decrypt],
        Some((_, "ENCRYPT")) => &[Dir::Encrypt],
        Some((_, "DECRYPT")) => &[Dir::Decrypt],
        Some((no, other)) => {
            return Err(format!(
                "line {no}: `Operation` must be ENCRYPT or DECRYPT, got {other:?}"
            ))
        }
    };
    let expect = f.expect()?;
    match kind {
        CipherKind::Aead(alg) => {
            let enc = dirs.contains(&Dir::Encrypt);
            let dec = dirs.contains(&Dir::Decrypt);
            if enc && dec {
                let seal = engine.seal(alg, &key, &iv, &aad, &pt, tag.len());
                let open = engine.open(alg, &key, &iv, &aad, &ct, &tag);
                return Ok(judge_aead(expect, &seal, &open, &ct, &tag, &pt));
            }
            if dec {
                let open = engine.open(alg, &key, &iv, &aad, &ct, &tag);
                let panics = panics_of([("decryption", &open)]);
                if expect == Expect::Invalid && open.is_ok() && panics.is_empty() {
                    return Ok(Outcome::Fail(
                        "expected failure, but decryption succeeded (the tag or parameters must be rejected)".into(),
                    ));
                }
                let r = match expect {
                    Expect::Invalid => open.as_ref().map(|_| ()).map_err(|e| e.to_string()),
                    _ => matches("plaintext", &open, &pt),
                };
                return Ok(judge(expect, &[("decryption", r)], &panics));
            }
            let seal = engine.seal(alg, &key, &iv, &aad, &pt, tag.len());
            let panics = panics_of([("encryption", &seal)]);
            let r = match &seal {
                Ok((c, t)) => compare("ciphertext", c, &ct).and_then(|()| compare("tag", t, &tag)),
                Err(e) => Err(e.to_string()),
            };
            Ok(judge(expect, &[("encryption", r)], &panics))
        }
        CipherKind::Plain(mode) => {
            let mut results = Vec::new();
            let mut outs = Vec::new();
            for d in dirs {
                let (input, want, name, what) = match d {
                    Dir::Encrypt => (&pt, &ct, "encryption", "ciphertext"),
                    Dir::Decrypt => (&ct, &pt, "decryption", "plaintext"),
                };
                let out = engine.crypt(mode, *d, &key, &iv, input);
                results.push((name, matches(what, &out, want)));
                outs.push((name, out));
            }
            let panics = panics_of(outs.iter().map(|(n, o)| (*n, o)));
            Ok(judge(expect, &results, &panics))
        }
    }
}

fn digest(engine: &Engine, name: &str, f: &Fields<'_, '_>) -> Result<Outcome, String> {
    if !name.eq_ignore_ascii_case("SM3") {
        return Ok(Outcome::Skip(format!(
            "digest `{name}` is not supported by gmkit (supported: SM3)"
        )));
    }
    if let Some(l) = f.unsupported(&["Digest", "Input", "Count", "Ncopy", "Output", "Result"]) {
        return Ok(Outcome::Skip(format!(
            "keyword `{}` (line {}) is not supported by gmkit",
            l.key, l.no
        )));
    }
    let mut segments: Vec<(Vec<u8>, u64)> = Vec::new();
    for l in f.lines {
        match l.key {
            "Input" => segments.push((parse_bin(l)?, 1)),
            "Count" | "Ncopy" => {
                let n: u64 = l.value.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    format!("line {}: `{}` must be a positive integer", l.no, l.key)
                })?;
                let last = segments
                    .last_mut()
                    .ok_or_else(|| format!("line {}: `{}` before any `Input`", l.no, l.key))?;
                last.1 = n;
            }
            _ => {}
        }
    }
    let want = f.required("Output")?;
    let expect = f.expect()?;
    let got = engine.sm3(&segments).map(|d| d.to_vec());
    if let Err(e) = &got {
        return Ok(Outcome::Fail(e.to_string()));
    }
    Ok(judge(
        expect,
        &[("SM3", matches("digest", &got, &want))],
        &[],
    ))
}

fn mac(engine: &Engine, name: &str, f: &Fields<'_, '_>) -> Result<Outcome, String> {
    if !name.eq_ignore_ascii_case("HMAC") {
        return Ok(Outcome::Skip(format!(
            "MAC `{name}` is not supported by gmkit (supported: HMAC with Algorithm = SM3)"
        )));
    }
    match f.one("Algorithm")? {
        Some(l) if l.value.eq_ignore_ascii_case("SM3") => {}
        Some(l) => {
            return Ok(Outcome::Skip(format!(
                "HMAC with `{}` is not supported by gmkit (supported: SM3)",
                l.value
            )))
        }
        None => {
            return Ok(Outcome::Skip(
                "HMAC without `Algorithm` (OpenSSL's default digest) is not supported by gmkit"
                    .into(),
            ))
        }
    }
    if let Some(l) = f.unsupported(&["MAC", "Algorithm", "Key", "Input", "Output", "Result"]) {
        return Ok(Outcome::Skip(format!(
            "keyword `{}` (line {}) is not supported by gmkit",
            l.key, l.no
        )));
    }
    let key = f.required("Key")?;
    let input = f.concat("Input")?;
    let want = f.required("Output")?;
    let expect = f.expect()?;
    let full = engine.hmac(&key, &input).map(|m| m.to_vec());
    let verify = engine.hmac_verify(&key, &input, &want);
    let mut panics = panics_of([("HMAC", &full)]);
    panics.extend(panics_of([("verification", &verify)]));
    let verified = verify.map_err(|e| format!("verification {e}"));
    Ok(judge(
        expect,
        &[
            ("computation", matches("MAC", &full, &want)),
            ("verification", verified),
        ],
        &panics,
    ))
}
