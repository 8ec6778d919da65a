//! Interoperability with the system `openssl` (3.0) CLI: signatures, key
//! files (plain and encrypted) and encryption, both ways.
//!
//! These tests shell out to `openssl` and fail (with a clear message) when
//! it is missing: install it with `apt-get install openssl`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gm_sm2::{
    CiphertextFormat, Pbes2Cipher, Pbes2Params, Pbkdf2Prf, PrivateKey, PublicKey, Signature,
    SigningKey, VerifyingKey, DEFAULT_ID, TLS13_ID,
};

/// A scratch directory for one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("gm-sm2-openssl-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    fn write(&self, file: &str, data: &[u8]) -> PathBuf {
        let p = self.path(file);
        std::fs::write(&p, data).expect("write scratch file");
        p
    }

    fn read(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.path(file)).expect("read scratch file")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `openssl ARGS` in `dir`; panics clearly if openssl cannot be run.
fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "these interop tests need the `openssl` 3.0 CLI, which could not be run ({e}); \
                 install it with `apt-get install openssl`"
            )
        })
}

/// Runs openssl and requires success.
fn openssl_ok(dir: &Path, args: &[&str]) -> Output {
    let out = openssl(dir, args);
    assert!(
        out.status.success(),
        "openssl {} failed: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn openssl_is_3_0_or_later() {
    let out = openssl_ok(Path::new("."), &["version"]);
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(v.starts_with("OpenSSL 3."), "unexpected openssl: {v}");
}

#[test]
fn our_signatures_verify_in_openssl() {
    let t = Scratch::new("sign-ours");
    let key = PrivateKey::generate().unwrap();
    t.write("pub.pem", key.public_key().to_spki_pem().as_bytes());
    for (i, msg) in [&b"hello from gm-sm2"[..], b"", &[0xa5u8; 1000][..]]
        .iter()
        .enumerate()
    {
        t.write("msg", msg);
        for id in [DEFAULT_ID, TLS13_ID] {
            let id_str = std::str::from_utf8(id).unwrap();
            let sig = SigningKey::new(&key, id)
                .unwrap()
                .sign_message(msg)
                .unwrap();
            t.write("sig.der", &sig.to_der());
            let distid = format!("distid:{id_str}");
            let args = [
                "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
                "-sigfile", "sig.der", "-digest", "sm3", "-pkeyopt", &distid,
            ];
            let out = openssl_ok(&t.0, &args);
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"),
                "message {i}, id {id_str}"
            );
            // With another ID OpenSSL must reject it (the ID is really used).
            let wrong = [
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "pub.pem",
                "-rawin",
                "-in",
                "msg",
                "-sigfile",
                "sig.der",
                "-digest",
                "sm3",
                "-pkeyopt",
                "distid:someone-else",
            ];
            assert!(!openssl(&t.0, &wrong).status.success());
        }
    }
}

#[test]
fn openssl_signatures_verify_with_ours() {
    let t = Scratch::new("sign-theirs");
    openssl_ok(&t.0, &["genpkey", "-algorithm", "SM2", "-out", "key.pem"]);
    openssl_ok(
        &t.0,
        &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"],
    );
    let pk = PublicKey::load(&t.read("pub.pem")).unwrap();
    let msg = b"message signed by openssl";
    t.write("msg", msg);
    for id in [DEFAULT_ID, TLS13_ID] {
        let distid = format!("distid:{}", std::str::from_utf8(id).unwrap());
        openssl_ok(
            &t.0,
            &[
                "pkeyutl", "-sign", "-rawin", "-in", "msg", "-inkey", "key.pem", "-digest", "sm3",
                "-pkeyopt", &distid, "-out", "sig.der",
            ],
        );
        let sig = Signature::from_der(&t.read("sig.der")).unwrap();
        VerifyingKey::new(&pk, id)
            .unwrap()
            .verify_message(msg, &sig)
            .unwrap();
        assert!(VerifyingKey::new(&pk, b"other")
            .unwrap()
            .verify_message(msg, &sig)
            .is_err());
    }
}

#[test]
fn openssl_generated_keys_load() {
    let t = Scratch::new("keys-theirs");
    // genpkey: PKCS#8 PEM.
    openssl_ok(
        &t.0,
        &["genpkey", "-algorithm", "SM2", "-out", "genpkey.pem"],
    );
    // ecparam -genkey: an "SM2 PARAMETERS" block followed by the key.
    openssl_ok(
        &t.0,
        &["ecparam", "-name", "SM2", "-genkey", "-out", "ecparam.pem"],
    );
    let k1 = PrivateKey::load(&t.read("genpkey.pem"), None).unwrap();
    let k2 = PrivateKey::load(&t.read("ecparam.pem"), None).unwrap();
    assert!(String::from_utf8_lossy(&t.read("ecparam.pem")).contains("PARAMETERS-----"));
    assert_eq!(k1.to_pkcs8_pem().as_bytes(), &t.read("genpkey.pem")[..]);
    for (name, key) in [("genpkey.pem", &k1), ("ecparam.pem", &k2)] {
        // Same public key as OpenSSL derives.
        openssl_ok(&t.0, &["pkey", "-in", name, "-pubout", "-out", "pub.pem"]);
        assert_eq!(
            PublicKey::load(&t.read("pub.pem")).unwrap(),
            *key.public_key()
        );
        assert_eq!(
            key.public_key().to_spki_pem().as_bytes(),
            &t.read("pub.pem")[..]
        );
        // SEC1 ("SM2 PRIVATE KEY" in OpenSSL 3.0), PEM and DER.
        openssl_ok(&t.0, &["ec", "-in", name, "-out", "sec1.pem"]);
        openssl_ok(
            &t.0,
            &["ec", "-in", name, "-outform", "DER", "-out", "sec1.der"],
        );
        // (OpenSSL 3.0 `pkey -outform DER` writes the SEC1 form for SM2 keys.)
        openssl_ok(
            &t.0,
            &["pkey", "-in", name, "-outform", "DER", "-out", "pkey.der"],
        );
        openssl_ok(
            &t.0,
            &[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                name,
                "-outform",
                "DER",
                "-out",
                "pkcs8.der",
            ],
        );
        openssl_ok(
            &t.0,
            &[
                "pkey", "-in", name, "-pubout", "-outform", "DER", "-out", "pub.der",
            ],
        );
        for f in ["sec1.pem", "sec1.der", "pkey.der", "pkcs8.der"] {
            assert_eq!(&PrivateKey::load(&t.read(f), None).unwrap(), key, "{f}");
        }
        assert_eq!(
            PublicKey::load(&t.read("pub.der")).unwrap(),
            *key.public_key()
        );
        // Our PKCS#8 and SEC1 DER are byte-identical to OpenSSL's.
        assert_eq!(&key.to_pkcs8_der()[..], &t.read("pkcs8.der")[..]);
        assert_eq!(&key.to_sec1_der()[..], &t.read("sec1.der")[..]);
    }
}

#[test]
fn our_keys_load_in_openssl() {
    let t = Scratch::new("keys-ours");
    let key = PrivateKey::generate().unwrap();
    t.write("pkcs8.pem", key.to_pkcs8_pem().as_bytes());
    t.write("pkcs8.der", &key.to_pkcs8_der());
    t.write("sec1.pem", key.to_sec1_pem().as_bytes());
    t.write("sec1.der", &key.to_sec1_der());
    t.write("pub.pem", key.public_key().to_spki_pem().as_bytes());
    t.write("pub.der", &key.public_key().to_spki_der());
    let expected_pub = key.public_key().to_spki_pem();
    for (f, form) in [
        ("pkcs8.pem", "PEM"),
        ("pkcs8.der", "DER"),
        ("sec1.pem", "PEM"),
        ("sec1.der", "DER"),
    ] {
        let out = openssl_ok(
            &t.0,
            &["pkey", "-in", f, "-inform", form, "-text", "-noout"],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("SM2") || text.contains("Private-Key"),
            "{f}: {text}"
        );
        let out = openssl_ok(&t.0, &["pkey", "-in", f, "-inform", form, "-pubout"]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected_pub, "{f}");
    }
    for (f, form) in [("pub.pem", "PEM"), ("pub.der", "DER")] {
        let out = openssl_ok(
            &t.0,
            &["pkey", "-pubin", "-in", f, "-inform", form, "-pubout"],
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected_pub, "{f}");
    }
    // OpenSSL signs with our key file; we verify.
    t.write("msg", b"abc");
    openssl_ok(
        &t.0,
        &[
            "pkeyutl",
            "-sign",
            "-rawin",
            "-in",
            "msg",
            "-inkey",
            "sec1.pem",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
            "-out",
            "sig.der",
        ],
    );
    let sig = Signature::from_der(&t.read("sig.der")).unwrap();
    VerifyingKey::new(key.public_key(), DEFAULT_ID)
        .unwrap()
        .verify_message(b"abc", &sig)
        .unwrap();
}

#[test]
fn encrypted_pkcs8_from_openssl_loads() {
    let t = Scratch::new("enc-theirs");
    openssl_ok(&t.0, &["genpkey", "-algorithm", "SM2", "-out", "key.pem"]);
    let key = PrivateKey::load(&t.read("key.pem"), None).unwrap();
    let cases: [(&str, &[&str]); 3] = [
        (
            "aes-256-cbc (OpenSSL default, PBKDF2-HMAC-SHA256)",
            &["-v2", "aes-256-cbc"],
        ),
        (
            "aes-128-cbc + hmacWithSHA512",
            &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"],
        ),
        ("sm4-cbc (PBKDF2-HMAC-SHA256)", &["-v2", "sm4-cbc"]),
    ];
    for (what, extra) in cases {
        for outform in ["PEM", "DER"] {
            let mut args = vec![
                "pkcs8",
                "-topk8",
                "-in",
                "key.pem",
                "-passout",
                "pass:s3cret",
                "-out",
                "enc",
                "-outform",
                outform,
                "-iter",
                "1000",
            ];
            args.extend_from_slice(extra);
            openssl_ok(&t.0, &args);
            let data = t.read("enc");
            assert_eq!(
                PrivateKey::load(&data, Some(b"s3cret")).unwrap(),
                key,
                "{what} {outform}"
            );
            assert_eq!(
                PrivateKey::load(&data, Some(b"wrong")).unwrap_err(),
                gm_sm2::Error::WrongPassword,
                "{what} {outform}"
            );
            assert_eq!(
                PrivateKey::load(&data, None).unwrap_err(),
                gm_sm2::Error::PasswordRequired,
                "{what} {outform}"
            );
        }
    }
    // OpenSSL 3.0 has no HMAC-SM3 PRF for PBKDF2 (later versions do): if
    // this openssl writes one, we must read it.
    let out = openssl(
        &t.0,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "key.pem",
            "-passout",
            "pass:s3cret",
            "-out",
            "sm3.pem",
            "-v2",
            "sm4-cbc",
            "-v2prf",
            "hmacWithSM3",
            "-iter",
            "1000",
        ],
    );
    if out.status.success() {
        assert_eq!(
            PrivateKey::load(&t.read("sm3.pem"), Some(b"s3cret")).unwrap(),
            key
        );
    } else {
        assert!(String::from_utf8_lossy(&out.stderr).contains("Unknown PRF"));
    }
}

#[test]
fn our_encrypted_pkcs8_loads_in_openssl() {
    let t = Scratch::new("enc-ours");
    let key = PrivateKey::generate().unwrap();
    let expected_pub = key.public_key().to_spki_pem();
    let profiles = [
        Pbes2Params {
            iterations: 1000,
            ..Pbes2Params::openssl()
        },
        Pbes2Params {
            prf: Pbkdf2Prf::HmacSha256,
            cipher: Pbes2Cipher::Sm4Cbc,
            iterations: 1000,
        },
        Pbes2Params {
            prf: Pbkdf2Prf::HmacSha256,
            cipher: Pbes2Cipher::Aes128Cbc,
            iterations: 1000,
        },
    ];
    for params in profiles {
        t.write(
            "enc.pem",
            key.to_encrypted_pkcs8_pem(b"pw", &params)
                .unwrap()
                .as_bytes(),
        );
        t.write(
            "enc.der",
            &key.to_encrypted_pkcs8_der(b"pw", &params).unwrap(),
        );
        for (f, form) in [("enc.pem", "PEM"), ("enc.der", "DER")] {
            let out = openssl_ok(
                &t.0,
                &[
                    "pkey", "-in", f, "-inform", form, "-passin", "pass:pw", "-pubout",
                ],
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                expected_pub,
                "{params:?} {f}"
            );
            assert!(!openssl(
                &t.0,
                &["pkey", "-in", f, "-inform", form, "-passin", "pass:no"]
            )
            .status
            .success());
        }
    }
    // The GmSSL profile (PBKDF2-HMAC-SM3 + SM4-CBC): OpenSSL 3.0 has no
    // HMAC-SM3 PRF. Round-trip it ourselves; accept OpenSSL either way.
    let gm = Pbes2Params {
        iterations: 1000,
        ..Pbes2Params::gm()
    };
    let pem = key.to_encrypted_pkcs8_pem(b"pw", &gm).unwrap();
    assert_eq!(PrivateKey::load(pem.as_bytes(), Some(b"pw")).unwrap(), key);
    t.write("gm.pem", pem.as_bytes());
    let out = openssl(
        &t.0,
        &["pkey", "-in", "gm.pem", "-passin", "pass:pw", "-pubout"],
    );
    if out.status.success() {
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected_pub);
    }
}

#[test]
fn encryption_interop_both_ways() {
    let t = Scratch::new("pke");
    let key = PrivateKey::generate().unwrap();
    t.write("key.pem", key.to_pkcs8_pem().as_bytes());
    t.write("pub.pem", key.public_key().to_spki_pem().as_bytes());
    for msg in [
        &b"x"[..],
        b"a 48-byte TLCP pre-master secret ..............",
        &[7u8; 300][..],
    ] {
        // Ours -> OpenSSL (GM/T 0009 DER).
        let ct = key
            .public_key()
            .encrypt(msg, CiphertextFormat::Der)
            .unwrap();
        t.write("ct.der", &ct);
        let out = openssl_ok(
            &t.0,
            &["pkeyutl", "-decrypt", "-inkey", "key.pem", "-in", "ct.der"],
        );
        assert_eq!(out.stdout, msg);
        // OpenSSL -> ours.
        t.write("msg", msg);
        openssl_ok(
            &t.0,
            &[
                "pkeyutl", "-encrypt", "-pubin", "-inkey", "pub.pem", "-in", "msg", "-out",
                "ct2.der",
            ],
        );
        let plain = key
            .decrypt(&t.read("ct2.der"), CiphertextFormat::Der)
            .unwrap();
        assert_eq!(&plain[..], msg);
        // A tampered OpenSSL ciphertext is rejected.
        let mut bad = t.read("ct2.der");
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(
            key.decrypt(&bad, CiphertextFormat::Der).unwrap_err(),
            gm_sm2::Error::HashMismatch
        );
    }
}
