//! `gmkit speed`: single-thread throughput of the primitives.
//!
//! Each measurement runs on the calling thread for at least `--seconds`
//! (after a short warm-up). SM4 and SM3 rows report MB/s per message size,
//! where 1 MB = 10^6 bytes, so the figures line up with `openssl speed
//! -bytes N`; SM2 rows report operations per second, TLS rows handshakes
//! per second or MB/s of 16 KiB records (see `speed_tls`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use gm_sm4::cipher::{BlockCipherEncrypt, BlockModeEncrypt, StreamCipher};
use gm_sm4::modes;
use gm_sm4::{Backend, Sm4, Sm4CcmGeneric, Sm4GcmGeneric};
use serde::Serialize;

/// Every algorithm `speed` knows, in report order.
pub const ALGORITHMS: &[&str] = &[
    "sm4-ecb",
    "sm4-cbc-encrypt",
    "sm4-ctr",
    "sm4-gcm-seal",
    "sm4-gcm-open",
    "sm4-ccm-seal",
    "sm4-ccm-open",
    "sm3",
    "hmac-sm3",
    "sm2-sign",
    "sm2-sign-pooled",
    "sm2-verify",
    "sm2-verify-precomputed",
    "sm2-ecdh",
    "sm2-sign-rustcrypto",
    "sm2-verify-rustcrypto",
    "tls13-handshake-gm",
    "tls13-handshake-aws-lc",
    "tls13-bulk-gm",
    "tls13-bulk-aws-lc",
];

/// Message size for the SM2 signature measurements (the message is hashed
/// with Z_A, so the size barely matters).
pub const SM2_MESSAGE_SIZE: usize = 32;

/// Message sizes measured when none are given (the last is the 8 KiB TLS
/// record size the performance targets refer to).
pub const DEFAULT_SIZES: &[usize] = &[16, 64, 256, 1024, 8192, 16384];

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// Algorithm name from [`ALGORITHMS`].
    pub algorithm: String,
    /// Backend name: the SM4 backend for SM4 rows, the SM3 compression
    /// (`avx2-bmi2` or `portable`) for SM3 rows, the SM2 field
    /// arithmetic (`mulx-adx+avx2`, `mulx-adx` or `portable`) for SM2 rows; TLS rows name
    /// the provider.
    pub backend: String,
    /// Message size in bytes.
    pub size: usize,
    /// `MB/s` (10^6 bytes per second) or `ops/s`.
    pub unit: String,
    /// The measured rate.
    pub value: f64,
}

/// Errors in the speed command's arguments.
#[derive(Debug)]
pub enum SpeedError {
    /// An algorithm name that `speed` does not know.
    UnknownAlgorithm(String),
    /// A backend name that is unknown or not supported by this CPU.
    Backend(String),
    /// A size of zero, or not a multiple of 16 for a block-only mode.
    BadSize(usize),
}

impl std::fmt::Display for SpeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpeedError::UnknownAlgorithm(a) => write!(
                f,
                "unknown algorithm `{a}` (known: {})",
                ALGORITHMS.join(", ")
            ),
            SpeedError::Backend(msg) => f.write_str(msg),
            SpeedError::BadSize(s) => write!(f, "size {s} must be a positive multiple of 16"),
        }
    }
}

/// Resolves `--backend`: `None` = the detected backend, `all` = every
/// available backend, otherwise one name.
pub fn backends(name: Option<&str>) -> Result<Vec<Backend>, SpeedError> {
    match name {
        None => Ok(vec![Backend::detect()]),
        Some("all") => Ok(Backend::available()),
        Some(n) => {
            let b: Backend = n
                .parse()
                .map_err(|e: gm_sm4::Error| SpeedError::Backend(format!("{e}: `{n}`")))?;
            if !b.is_available() {
                return Err(SpeedError::Backend(format!(
                    "SM4 backend `{}` is not available on this CPU (available: {})",
                    b.name(),
                    Backend::available()
                        .iter()
                        .map(|b| b.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Ok(vec![b])
        }
    }
}

/// Runs `f` repeatedly for at least `secs` and returns calls per second.
fn rate(secs: f64, mut f: impl FnMut()) -> f64 {
    match rate_checked(secs, || {
        f();
        Ok::<(), std::convert::Infallible>(())
    }) {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// [`rate`] for an operation that can fail: the first error ends the
/// measurement at once and is returned instead of a rate, so nothing
/// panics inside a timing loop.
pub(crate) fn rate_checked<E>(secs: f64, mut f: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(50) {
        f()?;
    }
    let budget = Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut calls: u64 = 0;
    let mut batch: u64 = 1;
    loop {
        for _ in 0..batch {
            f()?;
        }
        calls += batch;
        let el = start.elapsed();
        if el >= budget {
            return Ok(calls as f64 / el.as_secs_f64());
        }
        if el < budget / 16 {
            batch *= 2;
        }
    }
}

/// Measures one SM4/SM3 algorithm at one size on one backend (SM2 rows go
/// to `measure_sm2`, TLS rows to `speed_tls::measure`).
pub fn measure(
    algorithm: &str,
    backend: Backend,
    size: usize,
    secs: f64,
) -> Result<Measurement, SpeedError> {
    if size == 0 || (matches!(algorithm, "sm4-ecb" | "sm4-cbc-encrypt") && !size.is_multiple_of(16))
    {
        return Err(SpeedError::BadSize(size));
    }
    let key = [0x5au8; 16];
    let sm4 =
        Sm4::new_with_backend(&key, backend).map_err(|e| SpeedError::Backend(e.to_string()))?;
    let mut buf = vec![0xa5u8; size];
    let mut blocks: Vec<gm_sm4::cipher::Block<Sm4>> = vec![Default::default(); size / 16];
    let nonce = [0x11u8; 12];
    let aad = [0u8; 13];
    let mut tag = [0u8; 16];
    let mut backend_name = backend.name().to_string();
    let calls = match algorithm {
        "sm4-ecb" => rate(secs, || sm4.encrypt_blocks(black_box(&mut blocks))),
        "sm4-cbc-encrypt" => rate(secs, || {
            modes::cbc_encryptor(sm4.clone(), &[0u8; 16]).encrypt_blocks(black_box(&mut blocks))
        }),
        "sm4-ctr" => rate(secs, || {
            modes::ctr(sm4.clone(), &[0u8; 16]).apply_keystream(black_box(&mut buf))
        }),
        "sm4-gcm-seal" => {
            let gcm = Sm4GcmGeneric::with_cipher(sm4.clone());
            rate(secs, || {
                gcm.seal_in_place_detached(&nonce, &aad, black_box(&mut buf), &mut tag)
                    .expect("valid parameters")
            })
        }
        "sm4-gcm-open" => {
            let gcm = Sm4GcmGeneric::with_cipher(sm4.clone());
            let mut ct = buf.clone();
            gcm.seal_in_place_detached(&nonce, &aad, &mut ct, &mut tag)
                .expect("valid parameters");
            rate(secs, || {
                buf.copy_from_slice(&ct);
                gcm.open_in_place_detached(&nonce, &aad, black_box(&mut buf), &tag)
                    .expect("authentic")
            })
        }
        "sm4-ccm-seal" => {
            let ccm = Sm4CcmGeneric::with_cipher(sm4.clone());
            rate(secs, || {
                ccm.seal_in_place_detached(&nonce, &aad, black_box(&mut buf), &mut tag)
                    .expect("valid parameters")
            })
        }
        "sm4-ccm-open" => {
            let ccm = Sm4CcmGeneric::with_cipher(sm4.clone());
            let mut ct = buf.clone();
            ccm.seal_in_place_detached(&nonce, &aad, &mut ct, &mut tag)
                .expect("valid parameters");
            rate(secs, || {
                buf.copy_from_slice(&ct);
                ccm.open_in_place_detached(&nonce, &aad, black_box(&mut buf), &tag)
                    .expect("authentic")
            })
        }
        "sm3" => {
            backend_name = gm_sm3::backend().into();
            rate(secs, || {
                black_box(gm_sm3::sm3(black_box(&buf)));
            })
        }
        "hmac-sm3" => {
            // Keyed once, then one MAC per message (as a TLS record layer or
            // `openssl speed -hmac` does): the key's inner and outer hash
            // states are reused, not recomputed per message.
            use gm_sm3::hmac::{KeyInit as _, Mac as _};
            backend_name = gm_sm3::backend().into();
            let keyed = gm_sm3::HmacSm3::new_from_slice(&key).expect("HMAC takes any key length");
            rate(secs, || {
                let mut mac = keyed.clone();
                mac.update(black_box(&buf));
                black_box(mac.finalize());
            })
        }
        other => return Err(SpeedError::UnknownAlgorithm(other.to_string())),
    };
    Ok(Measurement {
        algorithm: algorithm.to_string(),
        backend: backend_name,
        size,
        unit: "MB/s".into(),
        value: calls * size as f64 / 1e6,
    })
}

/// SM2-with-SM3 signing or verification of a `size`-byte message with the
/// default identifier (Z_A, SM3 and the curve arithmetic), in ops/s.
fn measure_sm2(algorithm: &str, size: usize, secs: f64) -> Result<Measurement, SpeedError> {
    let fail = |e: gm_sm2::Error| SpeedError::Backend(format!("SM2 set-up failed: {e}"));
    let key = gm_sm2::PrivateKey::generate().map_err(fail)?;
    let signer = gm_sm2::SigningKey::new(&key, gm_sm2::DEFAULT_ID).map_err(fail)?;
    let verifier = gm_sm2::VerifyingKey::new(key.public_key(), gm_sm2::DEFAULT_ID).map_err(fail)?;
    let msg = vec![0x42u8; size];
    let sig = signer.sign_message(&msg).map_err(fail)?;
    let ops = match algorithm {
        "sm2-sign" => rate_checked(secs, || {
            black_box(signer.sign_message(black_box(&msg))?);
            Ok(())
        }),
        "sm2-sign-pooled" => {
            // Batched nonce precomputation (SigningKey::enable_nonce_pool):
            // the batches' cost is included in the rate.
            let mut signer = signer.clone();
            signer.enable_nonce_pool();
            rate_checked(secs, || {
                black_box(signer.sign_message(black_box(&msg))?);
                Ok(())
            })
        }
        "sm2-verify" => rate_checked(secs, || verifier.verify_message(black_box(&msg), &sig)),
        "sm2-verify-precomputed" => {
            // The same key with its tables built once, outside the timing
            // (a long-lived key: VerifyingKey::precompute).
            let mut verifier = verifier.clone();
            verifier.precompute();
            rate_checked(secs, || verifier.verify_message(black_box(&msg), &sig))
        }
        "sm2-ecdh" => {
            // One side of a curveSM2 key share: a fresh key pair and the
            // shared secret with the peer's point.
            let peer = *gm_sm2::ecdh::EphemeralSecret::generate()
                .map_err(fail)?
                .public_key();
            rate_checked(secs, || {
                let own = gm_sm2::ecdh::EphemeralSecret::generate()?;
                black_box(own.diffie_hellman(black_box(&peer))?);
                Ok(())
            })
        }
        other => return Err(SpeedError::UnknownAlgorithm(other.to_string())),
    }
    .map_err(|e: gm_sm2::Error| SpeedError::Backend(format!("{algorithm}: {e}")))?;
    Ok(Measurement {
        algorithm: algorithm.to_string(),
        backend: gm_sm2::field_backend().into(),
        size,
        unit: "ops/s".into(),
        value: ops,
    })
}

/// The baseline for the SM2 rows, measured in the same run: RustCrypto
/// `sm2`'s own `dsa` signing (deterministic nonces, RFC 6979) and
/// verification with the default identifier, with the crate's default
/// precomputed base-point tables (the configuration the performance issue
/// quotes figures for).
fn measure_sm2_rustcrypto(
    algorithm: &str,
    size: usize,
    secs: f64,
) -> Result<Measurement, SpeedError> {
    use sm2::dsa::signature::{Signer as _, Verifier as _};
    let fail = |e: sm2::dsa::signature::Error| SpeedError::Backend(format!("{algorithm}: {e}"));
    let id = std::str::from_utf8(gm_sm2::DEFAULT_ID)
        .map_err(|e| SpeedError::Backend(format!("{algorithm}: default ID: {e}")))?;
    let secret = sm2::SecretKey::from_slice(&[0x3c; 32])
        .map_err(|e| SpeedError::Backend(format!("{algorithm}: {e}")))?;
    let signer = sm2::dsa::SigningKey::new(id, &secret).map_err(fail)?;
    let verifier = signer.verifying_key().clone();
    let msg = vec![0x42u8; size];
    let sig: sm2::dsa::Signature = signer.try_sign(&msg).map_err(fail)?;
    let ops = match algorithm {
        "sm2-sign-rustcrypto" => rate_checked(secs, || {
            black_box(signer.try_sign(black_box(&msg))?);
            Ok(())
        }),
        "sm2-verify-rustcrypto" => rate_checked(secs, || verifier.verify(black_box(&msg), &sig)),
        other => return Err(SpeedError::UnknownAlgorithm(other.to_string())),
    }
    .map_err(fail)?;
    Ok(Measurement {
        algorithm: algorithm.to_string(),
        backend: "rustcrypto-sm2".into(),
        size,
        unit: "ops/s".into(),
        value: ops,
    })
}

/// Whether an algorithm's speed depends on the SM4 backend.
pub fn uses_sm4(algorithm: &str) -> bool {
    algorithm.starts_with("sm4-")
}

/// Arguments of `gmkit speed`.
#[derive(Debug, clap::Args)]
pub struct SpeedArgs {
    /// Algorithms to measure (default: all).
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(ALGORITHMS))]
    pub algorithms: Vec<String>,
    /// SM4 backend: soft, aesni-avx2, vaes-avx2, gfni-avx512, auto, or `all` for every
    /// backend this CPU supports, SM2 rows then also on the portable arithmetic
    /// (default: the detected one).
    #[arg(long)]
    pub backend: Option<String>,
    /// Seconds to spend on each measurement (each size of an SM4/SM3 row,
    /// each SM2 or TLS row).
    #[arg(long, default_value_t = 1.0)]
    pub seconds: f64,
    /// Message sizes in bytes for the SM4 and SM3 rows, comma-separated
    /// (SM2 rows sign a 32-byte message, TLS rows use 16 KiB records).
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_SIZES.to_vec())]
    pub sizes: Vec<usize>,
    /// Print a JSON array of {algorithm, backend, size, unit, value}.
    #[arg(long)]
    pub json: bool,
}

/// Runs `gmkit speed`: exit 0 on success, 2 on bad arguments.
pub fn main(args: SpeedArgs) -> std::process::ExitCode {
    match run(&args) {
        Ok(results) => {
            if args.json {
                match serde_json::to_string_pretty(&results) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("gmkit speed: cannot serialise results: {e}");
                        return std::process::ExitCode::from(1);
                    }
                }
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gmkit speed: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(args: &SpeedArgs) -> Result<Vec<Measurement>, SpeedError> {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0) {
        return Err(SpeedError::Backend(format!(
            "--seconds must be between 0 and 3600, got {}",
            args.seconds
        )));
    }
    let algorithms: Vec<&str> = if args.algorithms.is_empty() {
        ALGORITHMS.to_vec()
    } else {
        args.algorithms.iter().map(String::as_str).collect()
    };
    if let Some(bad) = args
        .sizes
        .iter()
        .find(|&&s| s == 0 || !s.is_multiple_of(16))
    {
        return Err(SpeedError::BadSize(*bad));
    }
    let backends = backends(args.backend.as_deref())?;
    if !args.json {
        let flags = cpu_flags();
        println!(
            "gmkit speed: {} s per measurement, single thread; CPU flags: {}",
            args.seconds,
            if flags.is_empty() {
                "-".into()
            } else {
                flags.join(" ")
            }
        );
        print!("{:<22} {:<24}", "algorithm", "backend");
        for s in &args.sizes {
            print!(" {:>11}", format!("{s} B"));
        }
        println!("   (MB/s unless noted)");
    }
    let mut out = Vec::new();
    for a in &algorithms {
        // Only SM4 rows depend on the SM4 backend; the others run once.
        let on: &[Backend] = if uses_sm4(a) {
            &backends
        } else {
            &backends[..1]
        };
        // SM2 rows run on the arithmetic in use and, with `--backend all`,
        // also on the portable one (when that is not the one in use).
        let sm2_portable_too =
            args.backend.as_deref() == Some("all") && gm_sm2::field_backend() != "portable";
        for &b in on {
            let mut row = Vec::new();
            if a.ends_with("-rustcrypto") {
                row.push(measure_sm2_rustcrypto(a, SM2_MESSAGE_SIZE, args.seconds)?);
            } else if a.starts_with("sm2-") {
                let runs: &[bool] = if sm2_portable_too {
                    &[false, true]
                } else {
                    &[false]
                };
                for &portable in runs {
                    // Switch only for the portable run (and back): the
                    // arithmetic in use may itself be GMKIT_SM2_FIELD's choice.
                    if portable {
                        gm_sm2::use_portable_arithmetic(true);
                    }
                    let m = measure_sm2(a, SM2_MESSAGE_SIZE, args.seconds);
                    if portable {
                        gm_sm2::use_portable_arithmetic(false);
                    }
                    let one = vec![m?];
                    if !args.json {
                        print_row(a, &one);
                    }
                    out.extend(one);
                }
                continue;
            } else if a.starts_with("tls13-") {
                row.push(crate::speed_tls::measure(a, args.seconds)?);
            } else {
                for &size in &args.sizes {
                    row.push(measure(a, b, size, args.seconds)?);
                }
            }
            if !args.json {
                print_row(a, &row);
            }
            out.extend(row);
        }
    }
    Ok(out)
}

/// Prints one row of the text report: the measurements of `algorithm` on
/// one backend, one per size.
fn print_row(algorithm: &str, row: &[Measurement]) {
    print!("{:<22} {:<24}", algorithm, row[0].backend);
    for m in row {
        print!(" {:>11.1}", m.value);
    }
    if row[0].unit == "handshakes/s" {
        print!("   (handshakes/s, full TLS 1.3, client and server in one thread)");
    } else if algorithm.starts_with("tls13-bulk-") {
        print!("   (MB/s, 16 KiB records sealed and opened in one thread)");
    } else if row[0].unit != "MB/s" {
        print!("   ({}, {}-byte message)", row[0].unit, row[0].size);
    }
    println!();
}

/// The CPU features relevant to the SM4 backends (x86-64 only).
fn cpu_flags() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! flag {
            ($($f:tt),*) => {$( if std::arch::is_x86_feature_detected!($f) { v.push($f); } )*};
        }
        flag!(
            "aes",
            "pclmulqdq",
            "avx2",
            "vaes",
            "vpclmulqdq",
            "gfni",
            "avx512f",
            "avx512bw",
            "bmi2",
            "adx"
        );
    }
    v
}
