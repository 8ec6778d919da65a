//! Constant-time check of gm-sm4: the `ct_sm4` harness under valgrind
//! memcheck, with every secret input (key, plaintext, IV, nonce, and
//! ciphertext and tag on the way into decryption) marked undefined.
//! Memcheck then reports each conditional branch and each memory address
//! computed from a secret. Our backends must produce no report; the
//! table-based RustCrypto `sm4` crate (the negative control) must.
//!
//! # Running it
//!
//! ```text
//! cargo test -p ct-check --release --test valgrind      # as CI does; without --release works too
//! GMKIT_SKIP_VALGRIND=1 cargo test ...                  # skip explicitly (valgrind missing = failure)
//! ```
//!
//! By hand, on one backend or on the negative control:
//!
//! ```text
//! cargo build -p ct-check --release --bin ct_sm4
//! valgrind --error-exitcode=99 --track-origins=no -q --leak-check=no \
//!     --suppressions=crates/ct-check/valgrind.supp \
//!     target/release/ct_sm4 soft aesni-avx2          # exit 0: clean
//! valgrind --error-exitcode=99 -q target/release/ct_sm4 rustcrypto-sm4   # exit 99
//! ```
//!
//! `ct_sm4 --help` lists the subjects and parts (`--parts gcm,ccm` narrows a
//! run down). `--track-origins=yes` makes memcheck also say which secret a
//! reported value came from (slower).
//!
//! # What a failure looks like
//!
//! The test prints valgrind's stderr. Each report names the kind of leak,
//! then the stack of the offending instruction (file and line), and the
//! harness's progress lines (`ct_sm4: SUBJECT PART`) just above it say
//! which backend and mode was running:
//!
//! ```text
//! ct_sm4: rustcrypto-sm4 key
//! ==1234== Use of uninitialised value of size 8
//! ==1234==    at 0x15D9E2: sm4::tau (lib.rs:41)
//! ==1234==    by 0x15DB39: sm4::t_prime (lib.rs:66)
//! ==1234==    by 0x15E41C: <sm4::Sm4 as crypto_common::KeyInit>::new (lib.rs:91)
//! ```
//!
//! "Use of uninitialised value of size N" is a memory index that depends on
//! a secret (a table lookup); "Conditional jump or move depends on
//! uninitialised value(s)" is a branch on a secret. Either is a timing leak
//! unless the value is the accept/reject verdict of a tag check, the one
//! permitted leak, which `valgrind.supp` in this crate allows where gm-sm4
//! branches on it. Exit status 99 means memcheck reported errors; 1 means
//! an output was wrong (the harness checks every round trip and that
//! forgeries are rejected); 2 means a usage error or an unavailable backend.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::process::{Command, Output};

use gm_sm4::Backend;

/// The harness binary, built by cargo for this test.
const CT_SM4: &str = env!("CARGO_BIN_EXE_ct_sm4");
/// Suppressions for the permitted leak (the tag verdict).
const SUPPRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/valgrind.supp");
/// Exit status valgrind returns when memcheck reported errors.
const ERROR_EXIT: i32 = 99;
/// Set to `1` to skip the valgrind runs on purpose.
const SKIP_ENV: &str = "GMKIT_SKIP_VALGRIND";

/// Whether to run valgrind: fails the test when valgrind is missing, unless
/// the skip is asked for explicitly.
fn want_valgrind() -> bool {
    if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
        eprintln!("{SKIP_ENV}=1: constant-time check under valgrind SKIPPED");
        return false;
    }
    match Command::new("valgrind").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => panic!(
            "`valgrind --version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "valgrind is needed for the constant-time check but could not be run ({e}); \
             install it (`apt-get install valgrind`) or set {SKIP_ENV}=1 to skip explicitly"
        ),
    }
}

/// Runs `ct_sm4 ARGS` under memcheck.
fn memcheck(args: &[&str]) -> Output {
    Command::new("valgrind")
        .args([
            "--tool=memcheck",
            "--error-exitcode=99",
            "--exit-on-first-error=no",
            "--track-origins=no",
            "--leak-check=no",
            "--num-callers=30",
            "-q",
        ])
        .arg(format!("--suppressions={SUPPRESSIONS}"))
        .arg(CT_SM4)
        .args(args)
        .env_remove("GMKIT_SM4_BACKEND")
        .output()
        .expect("spawn valgrind")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `digest SUBJECT PART HEX` lines of a harness run, as
/// part -> subject -> digest.
fn digests(stdout: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut map: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for line in stdout.lines() {
        if let ["digest", subject, part, hex] = line.split_whitespace().collect::<Vec<_>>()[..] {
            map.entry(part.to_owned())
                .or_default()
                .insert(subject.to_owned(), hex.to_owned());
        }
    }
    map
}

/// Runs every part on `backend` under memcheck and requires a clean run.
fn assert_constant_time(backend: &str) {
    if !want_valgrind() {
        return;
    }
    let out = memcheck(&[backend]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "backend `{backend}` under valgrind: {}\n\
         (exit 99: memcheck found a secret-dependent branch or memory index; \
         1: wrong output; 2: usage error or backend unavailable)\n\
         --- valgrind stderr ---\n{stderr}\n--- stdout ---\n{stdout}",
        out.status,
    );
    assert!(
        stdout.starts_with("valgrind yes"),
        "the harness did not see valgrind: client requests are not reaching it\n{stdout}"
    );
    let parts = digests(&stdout);
    for part in ["key", "block", "cbc", "ctr", "gcm", "ccm"] {
        assert!(
            parts.get(part).is_some_and(|s| s.contains_key(backend)),
            "part `{part}` did not run on `{backend}`:\n{stdout}"
        );
    }
}

#[test]
fn soft_backend_is_constant_time_under_memcheck() {
    assert_constant_time(Backend::Soft.name());
}

#[test]
fn aesni_avx2_backend_is_constant_time_under_memcheck() {
    if !Backend::AesniAvx2.is_available() {
        eprintln!("this CPU has no AES-NI + AVX2: aesni-avx2 not checked");
        return;
    }
    assert_constant_time(Backend::AesniAvx2.name());
}

/// The negative control: without it a harness whose secrets never reached
/// memcheck (client requests broken, inputs constant-folded) would pass.
#[test]
fn table_based_rustcrypto_sm4_is_reported() {
    if !want_valgrind() {
        return;
    }
    let out = memcheck(&["rustcrypto-sm4"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(ERROR_EXIT),
        "memcheck should reject the table-based RustCrypto sm4\n\
         --- valgrind stderr ---\n{stderr}\n--- stdout ---\n{stdout}"
    );
    assert!(
        stderr.contains("Use of uninitialised value of size 8")
            || stderr.contains("Conditional jump or move depends on uninitialised value"),
        "no memcheck report in:\n{stderr}"
    );
    assert!(
        stderr.contains("sm4::"),
        "the reports should point into the sm4 crate:\n{stderr}"
    );
    assert!(stdout.starts_with("valgrind yes"), "{stdout}");
}

/// Natively (fast): every subject computes the same outputs from the same
/// inputs, so the harness really exercises the cipher and gm-sm4 agrees
/// with RustCrypto `sm4`.
#[test]
fn harness_outputs_agree_across_backends() {
    let mut args: Vec<&str> = Backend::available()
        .into_iter()
        .map(Backend::name)
        .collect();
    args.push("rustcrypto-sm4");
    let out = Command::new(CT_SM4)
        .args(&args)
        .env_remove("GMKIT_SM4_BACKEND")
        .output()
        .expect("run ct_sm4");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{}\n{stderr}\n{stdout}", out.status);
    assert!(stdout.starts_with("valgrind no"), "{stdout}");
    let parts = digests(&stdout);
    assert_eq!(parts.len(), 6, "{stdout}");
    for (part, by_subject) in &parts {
        let first = by_subject.values().next().expect("a digest");
        assert!(
            by_subject.values().all(|d| d == first),
            "outputs of part `{part}` differ between subjects: {by_subject:?}"
        );
        let want = if matches!(part.as_str(), "gcm" | "ccm") {
            args.len() - 1
        } else {
            args.len()
        };
        assert_eq!(by_subject.len(), want, "part `{part}`: {by_subject:?}");
    }
}

// ---- SM2 (gm-sm2): signing, decryption, key exchange ----

/// The SM2 harness binary.
const CT_SM2: &str = env!("CARGO_BIN_EXE_ct_sm2");
/// gm-sm2's permitted leaks (accept/reject verdicts).
const SM2_SUPPRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/valgrind-sm2.supp");

/// Runs `ct_sm2 ARGS` under memcheck with both suppression files.
fn memcheck_sm2(args: &[&str]) -> Output {
    Command::new("valgrind")
        .args([
            "--tool=memcheck",
            "--error-exitcode=99",
            "--exit-on-first-error=no",
            "--track-origins=no",
            "--leak-check=no",
            "--num-callers=30",
            "-q",
        ])
        .arg(format!("--suppressions={SUPPRESSIONS}"))
        .arg(format!("--suppressions={SM2_SUPPRESSIONS}"))
        .arg(CT_SM2)
        .args(args)
        .output()
        .expect("spawn valgrind")
}

/// SM2 signing (hedged and with a given k), decryption, key derivation and
/// key exchange with the private keys, nonces and ephemeral keys marked
/// secret: memcheck must find no secret-dependent branch or memory index
/// beyond the suppressed accept/reject verdicts.
#[test]
fn sm2_secret_key_operations_are_constant_time_under_memcheck() {
    if !want_valgrind() {
        return;
    }
    let out = memcheck_sm2(&[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "ct_sm2 under valgrind: {}\n(exit 99: memcheck found a secret-dependent branch or \
         memory index; 1: wrong output)\n--- valgrind stderr ---\n{stderr}\n--- stdout ---\n{stdout}",
        out.status,
    );
    assert!(stdout.starts_with("valgrind yes"), "{stdout}");
    for part in [
        "keygen",
        "sign",
        "sign-pool",
        "sign-k",
        "decrypt",
        "kex",
        "ecdh",
    ] {
        assert!(
            stdout.contains(&format!("digest sm2 {part} ")),
            "part {part} missing:\n{stdout}"
        );
    }
}

/// Runs every part under memcheck with `ct_sm2 --field FIELD` (gm-sm2's
/// x86-64 backend) and checks that the harness reports `backend`.
/// Skipped, with a note, when the kernel does not list BMI2 and ADX for
/// this CPU; otherwise the harness must run the assembly.
fn assert_adx_constant_time(field: &str, backend: impl Fn(bool) -> &'static str) {
    if !want_valgrind() {
        return;
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or("");
    if !["bmi2", "adx"]
        .iter()
        .all(|f| flags.split_whitespace().any(|w| w == *f))
    {
        eprintln!("skipped: this CPU has no BMI2/ADX");
        return;
    }
    let out = memcheck_sm2(&["--field", field]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "ct_sm2 --field {field} under valgrind: {}\n--- valgrind stderr ---\n{stderr}\n\
         --- stdout ---\n{stdout}",
        out.status,
    );
    let want = backend(flags.split_whitespace().any(|w| w == "avx2"));
    assert!(stdout.contains(want), "want {want:?}:\n{stdout}");
    assert_eq!(stdout.matches("digest sm2 ").count(), 7, "{stdout}");
}

/// The same parts on gm-sm2's x86-64 backend: the MULX/ADX field assembly
/// and the AVX2 table scans (valgrind hides ADX from CPUID, so the run
/// above gets the portable field code and portable scans).
#[test]
fn sm2_adx_field_assembly_is_constant_time_under_memcheck() {
    // Valgrind reports AVX2, so with it the table scans are the AVX2 ones.
    assert_adx_constant_time("adx", |avx2| {
        if avx2 {
            "field mulx-adx+avx2\n"
        } else {
            "field mulx-adx\n"
        }
    });
}

/// The MULX/ADX field assembly with the portable table scans: what a CPU
/// with ADX but without AVX2 (or a VM that hides AVX2) runs.
#[test]
fn sm2_adx_field_with_portable_scans_is_constant_time_under_memcheck() {
    assert_adx_constant_time("adx-portable-scans", |_| "field mulx-adx\n");
}

/// The negative control: variable-time verification (wNAF) of a signature
/// marked secret must be reported, or the SM2 secrets never reach memcheck.
#[test]
fn sm2_variable_time_verification_is_reported() {
    if !want_valgrind() {
        return;
    }
    let out = memcheck_sm2(&["--parts", "control"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(ERROR_EXIT), "{stderr}\n{stdout}");
    assert!(
        stderr.contains("wnaf"),
        "reports should point into wnaf:\n{stderr}"
    );
}

/// Natively: the harness's outputs are right (GB/T 32918.5 Annexes A-C).
#[test]
fn sm2_harness_outputs_are_right_natively() {
    let out = Command::new(CT_SM2).output().expect("run ct_sm2");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{}\n{stderr}\n{stdout}", out.status);
    assert!(stdout.starts_with("valgrind no"), "{stdout}");
}
