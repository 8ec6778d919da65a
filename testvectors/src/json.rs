//! Wycheproof-style JSON files: `aead_test_schema`, `ind_cpa_test_schema`,
//! `mac_test_schema`, `hkdf_test_schema`, and gmkit's own `hash_test_schema`
//! and `block_cipher_kat_test_schema` (documented in testvectors/README.md).

use std::path::Path;

use serde_json::{Map, Value};

use crate::check::{compare, decode_hex, judge, matches, panics_of, Expect, Outcome};
use crate::engine::{AeadAlg, Dir, Engine, Mode, OpResult, MAX_KAT_ITERATIONS};
use crate::{FileReport, Format, RunError};

/// The schemas this module runs, by normalised schema name and group type.
const SCHEMAS: &[(&str, &str, Format)] = &[
    ("aead_test_schema", "AeadTest", Format::WycheproofAead),
    (
        "ind_cpa_test_schema",
        "IndCpaTest",
        Format::WycheproofIndCpa,
    ),
    ("mac_test_schema", "MacTest", Format::WycheproofMac),
    ("hkdf_test_schema", "HkdfTest", Format::WycheproofHkdf),
    ("hash_test_schema", "HashTest", Format::GmkitHash),
    (
        "block_cipher_kat_test_schema",
        "BlockCipherKatTest",
        Format::GmkitBlockKat,
    ),
    (
        "ecdsa_verify_schema",
        "Sm2Verify",
        Format::WycheproofSm2Verify,
    ),
];

/// `1234567812345678`, the default SM2 identifier (GB/T 32918.2, GM/T 0009).
const DEFAULT_SM2_ID: &[u8] = b"1234567812345678";

fn supported_schemas() -> String {
    SCHEMAS
        .iter()
        .map(|(s, _, _)| *s)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `"aead_test_schema_v1.json"` -> `"aead_test_schema"`.
fn normalise_schema(s: &str) -> &str {
    let s = s.rsplit('/').next().unwrap_or(s);
    let s = s.strip_suffix(".json").unwrap_or(s);
    s.strip_suffix("_v1").unwrap_or(s)
}

/// Identifies the format from `schema`, or from the first group's `type`.
fn detect(path: &Path, obj: &Map<String, Value>) -> Result<Format, RunError> {
    let unknown = |reason: String| RunError::UnknownFormat {
        path: path.to_path_buf(),
        reason,
    };
    if let Some(schema) = obj.get("schema") {
        let s = schema
            .as_str()
            .ok_or_else(|| unknown("`schema` is not a string".into()))?;
        let n = normalise_schema(s);
        return SCHEMAS
            .iter()
            .find(|(name, _, _)| *name == n)
            .map(|(_, _, f)| *f)
            .ok_or_else(|| {
                unknown(format!(
                    "JSON schema `{s}` is not supported (supported: {})",
                    supported_schemas()
                ))
            });
    }
    let group_type = obj
        .get("testGroups")
        .and_then(Value::as_array)
        .and_then(|g| g.first())
        .and_then(|g| g.get("type"))
        .and_then(Value::as_str);
    match group_type {
        Some(t) => SCHEMAS
            .iter()
            .find(|(_, ty, _)| *ty == t)
            .map(|(_, _, f)| *f)
            .ok_or_else(|| unknown(format!("JSON without `schema` and with unknown group type `{t}`"))),
        None => Err(unknown(
            "JSON object without `schema` or `testGroups[].type`: not a Wycheproof-style vector file"
                .into(),
        )),
    }
}

/// What a file's algorithm maps to, or why it is skipped.
enum Target {
    Aead(AeadAlg),
    Cipher(Mode),
    HmacSm3,
    HkdfSm3,
    Sm3,
    Sm4Block,
    Sm2Verify,
}

fn target(format: Format, algorithm: &str) -> Result<Target, String> {
    let upper = algorithm.trim().to_ascii_uppercase();
    let found = match format {
        Format::WycheproofAead => AeadAlg::from_name(algorithm).map(Target::Aead),
        Format::WycheproofIndCpa => Mode::from_name(algorithm).map(Target::Cipher),
        Format::WycheproofMac => {
            matches!(upper.as_str(), "HMACSM3" | "HMAC-SM3").then_some(Target::HmacSm3)
        }
        Format::WycheproofHkdf => (upper == "HKDF-SM3").then_some(Target::HkdfSm3),
        Format::GmkitHash => (upper == "SM3").then_some(Target::Sm3),
        Format::GmkitBlockKat => (upper == "SM4").then_some(Target::Sm4Block),
        Format::WycheproofSm2Verify => {
            matches!(upper.as_str(), "SM2" | "SM2-SM3" | "SM2WITHSM3").then_some(Target::Sm2Verify)
        }
        _ => None,
    };
    found.ok_or_else(|| {
        let supported = match format {
            Format::WycheproofAead => "SM4-GCM, SM4-CCM",
            Format::WycheproofIndCpa => {
                "SM4-ECB, SM4-CBC, SM4-CBC-PKCS5, SM4-CTR, SM4-OFB, SM4-CFB, SM4-XTS"
            }
            Format::WycheproofMac => "HMACSM3, HMAC-SM3",
            Format::WycheproofHkdf => "HKDF-SM3",
            Format::GmkitHash => "SM3",
            Format::GmkitBlockKat => "SM4",
            Format::WycheproofSm2Verify => "SM2",
            _ => "none",
        };
        format!("algorithm `{algorithm}` is not supported by gmkit for {format} (supported: {supported})")
    })
}

/// Parses and runs one JSON vector file.
pub(crate) fn run(path: &Path, text: &str, engine: &Engine) -> Result<FileReport, RunError> {
    let root: Value = serde_json::from_str(text).map_err(|e| RunError::Parse {
        path: path.to_path_buf(),
        format: Format::Unknown,
        location: format!("line {} column {}", e.line(), e.column()),
        message: format!("invalid JSON: {e}"),
    })?;
    let obj = root.as_object().ok_or_else(|| RunError::UnknownFormat {
        path: path.to_path_buf(),
        reason: "the top-level JSON value is not an object".into(),
    })?;
    let format = detect(path, obj)?;
    let parse_err = |location: &str, message: String| RunError::Parse {
        path: path.to_path_buf(),
        format,
        location: location.to_string(),
        message,
    };
    let algorithm = obj
        .get("algorithm")
        .and_then(Value::as_str)
        .ok_or_else(|| parse_err("algorithm", "missing or non-string `algorithm`".into()))?;
    let groups = obj
        .get("testGroups")
        .and_then(Value::as_array)
        .ok_or_else(|| parse_err("testGroups", "missing or non-array `testGroups`".into()))?;

    let mut report = FileReport::new(path, format);
    report.algorithm = Some(algorithm.to_string());
    let target = target(format, algorithm);
    let expected_type = SCHEMAS
        .iter()
        .find(|(_, _, f)| *f == format)
        .map(|(_, t, _)| *t)
        .unwrap_or("");

    let mut total = 0usize;
    for (gi, group) in groups.iter().enumerate() {
        let gid = format!("testGroups[{gi}]");
        let Some(tests) = group.get("tests").and_then(Value::as_array) else {
            report.fail(gid, "group has no `tests` array".into(), None);
            continue;
        };
        if let Some(t) = group.get("type").and_then(Value::as_str) {
            if t != expected_type {
                report.fail(
                    gid,
                    format!("group type `{t}` does not belong to {format} (expected `{expected_type}`); its {} tests were not run", tests.len()),
                    None,
                );
                total += tests.len();
                continue;
            }
        }
        for (ti, test) in tests.iter().enumerate() {
            total += 1;
            let id = match test.get("tcId").and_then(Value::as_u64) {
                Some(n) => format!("tcId {n}"),
                None => format!("testGroups[{gi}].tests[{ti}]"),
            };
            let comment = test
                .get("comment")
                .and_then(Value::as_str)
                .map(str::to_string);
            let target = match &target {
                Ok(t) => t,
                Err(reason) => {
                    report.skip(id, reason.clone());
                    continue;
                }
            };
            let outcome = match run_test(engine, target, group, test) {
                Ok(o) => o,
                Err(malformed) => Outcome::Fail(format!("malformed vector: {malformed}")),
            };
            match outcome {
                Outcome::Pass => report.pass(),
                Outcome::Skip(reason) => report.skip(id, reason),
                Outcome::Fail(reason) => {
                    let reason = match flags_of(test) {
                        Some(f) => format!("{reason} [flags: {f}]"),
                        None => reason,
                    };
                    report.fail(id, reason, comment);
                }
            }
        }
    }
    if let Some(n) = obj.get("numberOfTests") {
        match n.as_u64() {
            Some(n) if usize::try_from(n).ok() == Some(total) => {}
            _ => report.fail(
                "numberOfTests".into(),
                format!("file declares numberOfTests = {n} but contains {total} tests"),
                None,
            ),
        }
    }
    if total == 0 {
        return Err(parse_err(
            "testGroups",
            "the file contains no test vectors".into(),
        ));
    }
    Ok(report)
}

fn flags_of(test: &Value) -> Option<String> {
    let flags: Vec<&str> = test
        .get("flags")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    (!flags.is_empty()).then(|| flags.join(", "))
}

fn hex_field(test: &Value, name: &str) -> Result<Vec<u8>, String> {
    let v = test
        .get(name)
        .ok_or_else(|| format!("missing field `{name}`"))?;
    let s = v
        .as_str()
        .ok_or_else(|| format!("field `{name}` is not a string"))?;
    decode_hex(s).map_err(|e| format!("field `{name}`: {e}"))
}

fn u64_field(obj: &Value, name: &str) -> Result<Option<u64>, String> {
    match obj.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("field `{name}` is not a non-negative integer")),
    }
}

fn expect_of(test: &Value) -> Result<Expect, String> {
    let r = test
        .get("result")
        .ok_or("missing field `result`")?
        .as_str()
        .ok_or("field `result` is not a string")?;
    Expect::parse(r)
}

/// Runs one test; `Err` means the test entry itself is malformed.
fn run_test(engine: &Engine, target: &Target, group: &Value, t: &Value) -> Result<Outcome, String> {
    let expect = expect_of(t)?;
    Ok(match target {
        Target::Aead(alg) => aead(engine, *alg, expect, t)?,
        Target::Cipher(mode) => ind_cpa(engine, *mode, expect, t)?,
        Target::HmacSm3 => mac(engine, expect, group, t)?,
        Target::HkdfSm3 => hkdf(engine, expect, t)?,
        Target::Sm3 => hash(engine, expect, t)?,
        Target::Sm4Block => block_kat(engine, expect, t)?,
        Target::Sm2Verify => sm2_verify(engine, expect, group, t)?,
    })
}

fn aead(engine: &Engine, alg: AeadAlg, expect: Expect, t: &Value) -> Result<Outcome, String> {
    let key = hex_field(t, "key")?;
    let iv = hex_field(t, "iv")?;
    let aad = hex_field(t, "aad")?;
    let msg = hex_field(t, "msg")?;
    let ct = hex_field(t, "ct")?;
    let tag = hex_field(t, "tag")?;
    let seal = engine.seal(alg, &key, &iv, &aad, &msg, tag.len());
    let open = engine.open(alg, &key, &iv, &aad, &ct, &tag);
    Ok(judge_aead(expect, &seal, &open, &ct, &tag, &msg))
}

/// AEAD verdict. For invalid vectors decryption must *fail* (a successful
/// decryption is a forgery, whatever plaintext it yields), and encryption
/// must not reproduce the ciphertext and tag.
pub(crate) fn judge_aead(
    expect: Expect,
    seal: &OpResult<(Vec<u8>, Vec<u8>)>,
    open: &OpResult<Vec<u8>>,
    ct: &[u8],
    tag: &[u8],
    msg: &[u8],
) -> Outcome {
    let panics = {
        let mut p = panics_of([("encryption", seal)]);
        p.extend(panics_of([("decryption", open)]));
        p
    };
    let enc = match seal {
        Ok((c, tg)) => compare("ciphertext", c, ct).and_then(|()| compare("tag", tg, tag)),
        Err(e) => Err(e.to_string()),
    };
    let dec = match (expect, open) {
        (Expect::Invalid, Ok(_)) => Ok(()),
        (Expect::Invalid, Err(e)) => Err(e.to_string()),
        (_, r) => matches("plaintext", r, msg),
    };
    match (expect, &dec) {
        (Expect::Invalid, Ok(())) => Outcome::Fail(
            "invalid vector: decryption succeeded (the tag or parameters must be rejected)".into(),
        ),
        _ => judge(expect, &[("encryption", enc), ("decryption", dec)], &panics),
    }
}

fn ind_cpa(engine: &Engine, mode: Mode, expect: Expect, t: &Value) -> Result<Outcome, String> {
    let key = hex_field(t, "key")?;
    let iv = match t.get("iv") {
        None => Vec::new(),
        Some(_) => hex_field(t, "iv")?,
    };
    let msg = hex_field(t, "msg")?;
    let ct = hex_field(t, "ct")?;
    let enc = engine.crypt(mode, Dir::Encrypt, &key, &iv, &msg);
    let dec = engine.crypt(mode, Dir::Decrypt, &key, &iv, &ct);
    let panics = panics_of([("encryption", &enc), ("decryption", &dec)]);
    Ok(judge(
        expect,
        &[
            ("encryption", matches("ciphertext", &enc, &ct)),
            ("decryption", matches("plaintext", &dec, &msg)),
        ],
        &panics,
    ))
}

fn mac(engine: &Engine, expect: Expect, group: &Value, t: &Value) -> Result<Outcome, String> {
    let key = hex_field(t, "key")?;
    let msg = hex_field(t, "msg")?;
    let tag = hex_field(t, "tag")?;
    if let Some(bits) = u64_field(group, "tagSize")? {
        if bits != tag.len() as u64 * 8 {
            return Err(format!(
                "tag has {} bytes but the group's tagSize is {bits} bits",
                tag.len()
            ));
        }
    }
    let full = engine.hmac(&key, &msg);
    let verify = engine.hmac_verify(&key, &msg, &tag);
    let mut panics = panics_of([("HMAC", &full)]);
    panics.extend(panics_of([("verification", &verify)]));
    let computed = match &full {
        Ok(m) if tag.len() <= m.len() => compare("tag", &m[..tag.len()], &tag),
        Ok(_) => Err(format!(
            "tag of {} bytes is longer than HMAC-SM3",
            tag.len()
        )),
        Err(e) => Err(e.to_string()),
    };
    let verified = verify.map_err(|e| format!("verification {e}"));
    Ok(match expect {
        // An invalid tag must be refused by the verifier; comparing our own
        // computation is not enough.
        Expect::Invalid => judge(expect, &[("verification", verified)], &panics),
        _ => judge(
            expect,
            &[("computation", computed), ("verification", verified)],
            &panics,
        ),
    })
}

fn hkdf(engine: &Engine, expect: Expect, t: &Value) -> Result<Outcome, String> {
    let ikm = hex_field(t, "ikm")?;
    let salt = hex_field(t, "salt")?;
    let info = hex_field(t, "info")?;
    let okm = hex_field(t, "okm")?;
    let size = u64_field(t, "size")?.ok_or("missing field `size`")?;
    if expect == Expect::Valid && size != okm.len() as u64 {
        return Err(format!("size is {size} but okm has {} bytes", okm.len()));
    }
    let out = engine.hkdf(&ikm, &salt, &info, size);
    let panics = panics_of([("HKDF", &out)]);
    Ok(judge(
        expect,
        &[("HKDF", matches("okm", &out, &okm))],
        &panics,
    ))
}

fn hash(engine: &Engine, expect: Expect, t: &Value) -> Result<Outcome, String> {
    let md = hex_field(t, "md")?;
    let segment = match (t.get("msg"), t.get("msgRepeat")) {
        (Some(_), None) => (hex_field(t, "msg")?, 1),
        (None, Some(r)) => {
            let pattern = hex_field(r, "pattern").map_err(|e| format!("msgRepeat: {e}"))?;
            let count = u64_field(r, "count")
                .map_err(|e| format!("msgRepeat: {e}"))?
                .ok_or("msgRepeat: missing field `count`")?;
            (pattern, count)
        }
        (Some(_), Some(_)) => return Err("both `msg` and `msgRepeat` are present".into()),
        (None, None) => return Err("missing field `msg` (or `msgRepeat`)".into()),
    };
    let digest = engine.sm3(&[segment]);
    if let Err(e) = &digest {
        // Not an implementation verdict (the runner refused the input size,
        // or the implementation panicked): always a failure.
        return Ok(Outcome::Fail(e.to_string()));
    }
    let got = digest.map(|d| d.to_vec());
    Ok(judge(expect, &[("SM3", matches("digest", &got, &md))], &[]))
}

fn block_kat(engine: &Engine, expect: Expect, t: &Value) -> Result<Outcome, String> {
    let key = hex_field(t, "key")?;
    let pt = hex_field(t, "pt")?;
    let ct = hex_field(t, "ct")?;
    let iterations = u64_field(t, "iterations")?.unwrap_or(1);
    if iterations == 0 || iterations > MAX_KAT_ITERATIONS {
        return Err(format!(
            "iterations must be 1..={MAX_KAT_ITERATIONS}, got {iterations}"
        ));
    }
    let enc = engine.block_iterated(Dir::Encrypt, &key, &pt, iterations);
    let dec = engine.block_iterated(Dir::Decrypt, &key, &ct, iterations);
    let panics = panics_of([("encryption", &enc), ("decryption", &dec)]);
    Ok(judge(
        expect,
        &[
            ("encryption", matches("ciphertext", &enc, &ct)),
            ("decryption", matches("plaintext", &dec, &pt)),
        ],
        &panics,
    ))
}

/// SM2 signature verification: the group holds `publicKey.uncompressed` (hex
/// SEC1 point) and an optional `sm2Id` (hex; default `1234567812345678`);
/// each test a `msg` and a DER `sig`. A valid vector must verify, an invalid
/// one must be rejected (bad encoding, out-of-range r or s, wrong key, ID or
/// message all count as rejection).
fn sm2_verify(
    engine: &Engine,
    expect: Expect,
    group: &Value,
    t: &Value,
) -> Result<Outcome, String> {
    let pk_hex = group
        .get("publicKey")
        .and_then(|k| k.get("uncompressed"))
        .and_then(Value::as_str)
        .ok_or("group field `publicKey.uncompressed` is missing or not a string")?;
    let pk =
        decode_hex(pk_hex).map_err(|e| format!("group field `publicKey.uncompressed`: {e}"))?;
    let id = match group.get("sm2Id") {
        None => DEFAULT_SM2_ID.to_vec(),
        Some(v) => {
            let h = v.as_str().ok_or("group field `sm2Id` is not a string")?;
            decode_hex(h).map_err(|e| format!("group field `sm2Id`: {e}"))?
        }
    };
    let msg = hex_field(t, "msg")?;
    let sig = hex_field(t, "sig")?;
    let verified = engine.sm2_verify(&pk, &id, &msg, &sig);
    let panics = panics_of([("verification", &verified)]);
    Ok(judge(
        expect,
        &[("verification", verified.map_err(|e| e.to_string()))],
        &panics,
    ))
}
