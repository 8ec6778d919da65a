//! Interoperability with the system `openssl` (3.0): what we issue, OpenSSL
//! accepts; what OpenSSL issues for SM2 keys, we accept.
//!
//! OpenSSL 3.0 signs and verifies SM2 with the *empty* ID unless told
//! otherwise (`-sigopt distid:..` / `-vfyopt distid:..`), and `-vfyopt`
//! applies only to the certificate being verified, not to the
//! intermediates. So a three-level SM2 chain is checked link by link (root
//! over intermediate, then intermediate over leaf with `-partial_chain`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gm_pki::{
    quick, verify_chain, Certificate, CertificateAuthority, Csr, IssueRequest, KeyAlgorithm,
    KeyPair, Profile, Purpose, VerifyError, VerifyOptions,
};

const DISTID: &str = "distid:1234567812345678";

fn openssl(args: &[&str], dir: &Path) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `openssl` ({e}): these interop tests need the OpenSSL 3.0 command-line tool on PATH")
        });
    out
}

fn ok(args: &[&str], dir: &Path) -> String {
    let out = openssl(args, dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "openssl {} failed:\n{text}",
        args.join(" ")
    );
    text
}

/// A scratch directory, removed when the test passes (kept for inspection
/// when it fails).
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("gm-pki-openssl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // OpenSSL must be 3.x for SM2 with distid.
    let v = ok(&["version"], &dir);
    assert!(v.starts_with("OpenSSL 3."), "need OpenSSL 3.x, found {v}");
    Scratch(dir)
}

fn write(dir: &Path, name: &str, data: &str) {
    std::fs::write(dir.join(name), data).unwrap();
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

#[test]
fn openssl_reads_our_sm2_certificates() {
    let dir = scratch("text");
    let pki = quick::sm2_chain("svc.example.cn").unwrap();
    write(&dir, "root.pem", &pki.root.to_pem());
    write(&dir, "int.pem", &pki.intermediate.to_pem());
    write(&dir, "leaf.pem", &pki.leaf.to_pem());
    for f in ["root.pem", "int.pem", "leaf.pem"] {
        let text = ok(&["x509", "-text", "-noout", "-in", f], &dir);
        assert!(text.contains("Signature Algorithm: SM2-with-SM3"), "{text}");
        assert!(text.contains("ASN1 OID: SM2"), "{text}");
        assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");
    }
    let leaf = ok(&["x509", "-text", "-noout", "-in", "leaf.pem"], &dir);
    assert!(
        leaf.contains("DNS:svc.example.cn, DNS:localhost, IP Address:127.0.0.1"),
        "{leaf}"
    );
    assert!(leaf.contains("TLS Web Server Authentication"), "{leaf}");
    assert!(leaf.contains("CA:FALSE"), "{leaf}");
    let int = ok(&["x509", "-text", "-noout", "-in", "int.pem"], &dir);
    assert!(int.contains("CA:TRUE, pathlen:0"), "{int}");
    assert!(int.contains("Certificate Sign, CRL Sign"), "{int}");
}

#[test]
fn openssl_verifies_our_sm2_chain() {
    let dir = scratch("verify");
    let pki = quick::sm2_chain("svc.example.cn").unwrap();
    write(&dir, "root.pem", &pki.root.to_pem());
    write(&dir, "int.pem", &pki.intermediate.to_pem());
    write(&dir, "leaf.pem", &pki.leaf.to_pem());
    // Root over intermediate.
    let out = ok(
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "root.pem",
            "-vfyopt",
            DISTID,
            "int.pem",
        ],
        &dir,
    );
    assert!(out.contains("int.pem: OK"), "{out}");
    // Intermediate over leaf.
    let out = ok(
        &[
            "verify",
            "-x509_strict",
            "-partial_chain",
            "-CAfile",
            "int.pem",
            "-vfyopt",
            DISTID,
            "leaf.pem",
        ],
        &dir,
    );
    assert!(out.contains("leaf.pem: OK"), "{out}");
    // A two-level chain in one go: root directly over a leaf.
    let key = KeyPair::generate(KeyAlgorithm::Sm2).unwrap();
    let direct = pki
        .root_ca
        .issue(
            &IssueRequest::new(
                "CN=direct.example.cn,C=CN".parse().unwrap(),
                key.public_key().clone(),
                Profile::TlsServer,
            )
            .days(30),
        )
        .unwrap();
    write(&dir, "direct.pem", &direct.to_pem());
    let out = ok(
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "root.pem",
            "-vfyopt",
            DISTID,
            "direct.pem",
        ],
        &dir,
    );
    assert!(out.contains("direct.pem: OK"), "{out}");
    // And OpenSSL rejects a tampered one.
    let mut der = direct.to_der().to_vec();
    let n = der.len();
    der[n - 1] ^= 1;
    std::fs::write(dir.join("bad.der"), &der).unwrap();
    let out = openssl(
        &[
            "verify", "-CAfile", "root.pem", "-vfyopt", DISTID, "bad.der",
        ],
        &dir,
    );
    assert!(!out.status.success());
}

#[test]
fn openssl_verifies_our_gm_dual_certificates() {
    let dir = scratch("dual");
    let (pki, enc, _) = quick::sm2_dual_chain("dual.example.cn").unwrap();
    write(&dir, "int.pem", &pki.intermediate.to_pem());
    write(&dir, "sign.pem", &pki.leaf.to_pem());
    write(&dir, "enc.pem", &enc.to_pem());
    let sign = ok(&["x509", "-text", "-noout", "-in", "sign.pem"], &dir);
    assert!(
        sign.contains("Digital Signature, Non Repudiation"),
        "{sign}"
    );
    let enc_text = ok(&["x509", "-text", "-noout", "-in", "enc.pem"], &dir);
    assert!(
        enc_text.contains("Key Encipherment, Data Encipherment, Key Agreement"),
        "{enc_text}"
    );
    for f in ["sign.pem", "enc.pem"] {
        ok(
            &[
                "verify",
                "-partial_chain",
                "-CAfile",
                "int.pem",
                "-vfyopt",
                DISTID,
                f,
            ],
            &dir,
        );
    }
}

#[test]
fn openssl_verifies_our_csrs() {
    let dir = scratch("csr");
    for (alg, vfy) in [
        (KeyAlgorithm::Sm2, true),
        (KeyAlgorithm::Rsa2048, false),
        (KeyAlgorithm::P256, false),
    ] {
        let key = KeyPair::generate(alg).unwrap();
        let csr = Csr::new(
            &key,
            &"CN=req.example.cn,O=测试单位,C=CN".parse().unwrap(),
            &[
                "DNS:req.example.cn".parse().unwrap(),
                "IP:10.1.2.3".parse().unwrap(),
            ],
        )
        .unwrap();
        write(&dir, "req.pem", &csr.to_pem());
        let mut args = vec!["req", "-verify", "-noout", "-text", "-in", "req.pem"];
        if vfy {
            args.extend(["-vfyopt", DISTID]);
        }
        let out = ok(&args, &dir);
        assert!(out.contains("verify OK"), "{alg}: {out}");
        assert!(
            out.contains("DNS:req.example.cn, IP Address:10.1.2.3"),
            "{alg}: {out}"
        );
    }
}

#[test]
fn openssl_verifies_our_rsa_and_p256_chains() {
    let dir = scratch("std");
    for alg in [KeyAlgorithm::Rsa2048, KeyAlgorithm::P256] {
        let pki =
            quick::self_signed_chain(alg, "fallback.example.com", Profile::TlsServer).unwrap();
        write(&dir, "root.pem", &pki.root.to_pem());
        write(&dir, "int.pem", &pki.intermediate.to_pem());
        write(&dir, "leaf.pem", &pki.leaf.to_pem());
        let out = ok(
            &[
                "verify",
                "-x509_strict",
                "-purpose",
                "sslserver",
                "-verify_hostname",
                "fallback.example.com",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "int.pem",
                "leaf.pem",
            ],
            &dir,
        );
        assert!(out.contains("leaf.pem: OK"), "{alg}: {out}");
    }
}

#[test]
fn openssl_reads_our_keys() {
    let dir = scratch("keys");
    write(&dir, "pw", "s3cret\n");
    for alg in [KeyAlgorithm::Sm2, KeyAlgorithm::Rsa2048, KeyAlgorithm::P256] {
        let key = KeyPair::generate(alg).unwrap();
        write(&dir, "plain.pem", &key.to_pkcs8_pem().unwrap());
        write(&dir, "enc.pem", &key.to_encrypted_pem(b"s3cret").unwrap());
        write(&dir, "pub.pem", &key.public_key().to_pem());
        let a = ok(&["pkey", "-in", "plain.pem", "-pubout"], &dir);
        let b = ok(
            &["pkey", "-in", "enc.pem", "-passin", "file:pw", "-pubout"],
            &dir,
        );
        let expected = String::from_utf8(read(&dir, "pub.pem")).unwrap();
        assert!(a.contains(expected.trim()), "{alg}: {a}");
        assert!(b.contains(expected.trim()), "{alg}: {b}");
    }
}

#[test]
fn we_accept_openssl_sm2_keys_certificates_and_csrs() {
    let dir = scratch("from-openssl");
    write(&dir, "pw", "pa55word\n");
    ok(&["genpkey", "-algorithm", "SM2", "-out", "root.key"], &dir);
    ok(
        &[
            "genpkey",
            "-algorithm",
            "SM2",
            "-aes-256-cbc",
            "-pass",
            "file:pw",
            "-out",
            "leaf.key",
        ],
        &dir,
    );
    ok(
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "root.key",
            "-sm3",
            "-sigopt",
            DISTID,
            "-subj",
            "/C=CN/O=OpenSSL Test/CN=OpenSSL SM2 Root",
            "-days",
            "365",
            "-out",
            "root.pem",
        ],
        &dir,
    );
    ok(
        &[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-passin",
            "file:pw",
            "-sm3",
            "-sigopt",
            DISTID,
            "-subj",
            "/C=CN/O=OpenSSL Test/CN=ossl.example.cn",
            "-addext",
            "subjectAltName=DNS:ossl.example.cn",
            "-out",
            "leaf.csr",
        ],
        &dir,
    );
    // Without -sigopt: OpenSSL 3.0 signs with the empty ID.
    ok(
        &[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-passin",
            "file:pw",
            "-sm3",
            "-subj",
            "/CN=noid.example.cn",
            "-out",
            "noid.csr",
        ],
        &dir,
    );
    write(
        &dir,
        "ext.cnf",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:ossl.example.cn\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    );
    ok(
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-sm3",
            "-sigopt",
            DISTID,
            "-vfyopt",
            DISTID,
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-out",
            "leaf.pem",
        ],
        &dir,
    );
    // The same leaf signed without the ID (OpenSSL's default).
    ok(
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-sm3",
            "-vfyopt",
            DISTID,
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-out",
            "leaf-noid.pem",
        ],
        &dir,
    );

    // Keys, plain and encrypted (PBES2, AES-256-CBC).
    let root_key = KeyPair::load(&read(&dir, "root.key"), None).unwrap();
    assert_eq!(root_key.algorithm(), KeyAlgorithm::Sm2);
    let leaf_key = KeyPair::load(&read(&dir, "leaf.key"), Some(b"pa55word")).unwrap();
    assert!(matches!(
        KeyPair::load(&read(&dir, "leaf.key"), Some(b"wrong")),
        Err(gm_pki::Error::WrongPassword)
    ));
    assert!(matches!(
        KeyPair::load(&read(&dir, "leaf.key"), None),
        Err(gm_pki::Error::PasswordRequired)
    ));

    // Certificates: parsed and verified.
    let root = Certificate::load(&read(&dir, "root.pem")).unwrap();
    let leaf = Certificate::load(&read(&dir, "leaf.pem")).unwrap();
    assert!(root.signature_algorithm().is_sm2());
    assert!(root.is_ca());
    assert!(leaf.matches_key(&leaf_key));
    assert!(root.matches_key(&root_key));
    let opts = VerifyOptions {
        name: Some("ossl.example.cn".into()),
        purpose: Purpose::ServerAuth,
        ..Default::default()
    };
    verify_chain(&leaf, &[], std::slice::from_ref(&root), &opts).unwrap();

    // Signed with the empty ID: we say so.
    let noid = Certificate::load(&read(&dir, "leaf-noid.pem")).unwrap();
    let err = verify_chain(&noid, &[], std::slice::from_ref(&root), &opts).unwrap_err();
    assert!(
        matches!(&err, VerifyError::WrongSm2Id { actual, .. } if actual.is_empty()),
        "{err}"
    );

    // CSRs: with the ID it verifies strictly; without, as proof of
    // possession with the empty ID.
    let csr = Csr::load(&read(&dir, "leaf.csr")).unwrap();
    csr.verify().unwrap();
    assert_eq!(
        csr.subject_alt_names(),
        &["DNS:ossl.example.cn".parse().unwrap()]
    );
    assert_eq!(
        csr.subject().to_string(),
        "CN=ossl.example.cn, O=OpenSSL Test, C=CN"
    );
    let noid_csr = Csr::load(&read(&dir, "noid.csr")).unwrap();
    let e = noid_csr.verify().unwrap_err();
    assert!(e.to_string().contains("verifies with the ID \"\""), "{e}");
    assert_eq!(
        noid_csr.verify_proof_of_possession().unwrap(),
        Vec::<u8>::new()
    );

    // Our CA issues for the OpenSSL CSR, OpenSSL verifies the result.
    let ca = CertificateAuthority::init(
        &"CN=gmkit Root,C=CN".parse().unwrap(),
        365,
        KeyPair::generate(KeyAlgorithm::Sm2).unwrap(),
    )
    .unwrap();
    let issued = ca.issue_csr(&csr, Profile::TlsServer, 30).unwrap();
    let issued2 = ca.issue_csr(&noid_csr, Profile::TlsClient, 30).unwrap();
    write(&dir, "ours-root.pem", &ca.certificate().to_pem());
    write(&dir, "issued.pem", &issued.to_pem());
    write(&dir, "issued2.pem", &issued2.to_pem());
    for f in ["issued.pem", "issued2.pem"] {
        ok(
            &[
                "verify",
                "-x509_strict",
                "-CAfile",
                "ours-root.pem",
                "-vfyopt",
                DISTID,
                f,
            ],
            &dir,
        );
    }

    // An OpenSSL root as our CA (from_parts), issuing a leaf OpenSSL verifies.
    let ossl_ca = CertificateAuthority::from_parts(root, root_key, Vec::new()).unwrap();
    let k = KeyPair::generate(KeyAlgorithm::Sm2).unwrap();
    let cert = ossl_ca
        .issue(
            &IssueRequest::new(
                "CN=mixed.example.cn".parse().unwrap(),
                k.public_key().clone(),
                Profile::TlsServer,
            )
            .days(10),
        )
        .unwrap();
    write(&dir, "mixed.pem", &cert.to_pem());
    // (Not -x509_strict: OpenSSL's own root has no keyUsage.)
    ok(
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-vfyopt",
            DISTID,
            "mixed.pem",
        ],
        &dir,
    );
}

#[test]
fn we_accept_openssl_rsa_and_ec_keys_in_every_format() {
    let dir = scratch("std-keys");
    write(&dir, "pw", "pa55word\n");
    ok(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.pem",
        ],
        &dir,
    );
    ok(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ec.pem",
        ],
        &dir,
    );
    ok(
        &[
            "pkey",
            "-in",
            "rsa.pem",
            "-traditional",
            "-out",
            "rsa-pkcs1.pem",
        ],
        &dir,
    );
    ok(
        &[
            "pkey",
            "-in",
            "ec.pem",
            "-traditional",
            "-out",
            "ec-sec1.pem",
        ],
        &dir,
    );
    ok(
        &[
            "pkey", "-in", "rsa.pem", "-outform", "DER", "-out", "rsa.der",
        ],
        &dir,
    );
    ok(
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "ec.pem",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "file:pw",
            "-out",
            "ec-enc.pem",
        ],
        &dir,
    );
    ok(
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "rsa.pem",
            "-scrypt",
            "-passout",
            "file:pw",
            "-out",
            "rsa-scrypt.pem",
        ],
        &dir,
    );
    for (f, alg, pw) in [
        ("rsa.pem", KeyAlgorithm::Rsa2048, None),
        ("rsa-pkcs1.pem", KeyAlgorithm::Rsa2048, None),
        ("rsa.der", KeyAlgorithm::Rsa2048, None),
        (
            "rsa-scrypt.pem",
            KeyAlgorithm::Rsa2048,
            Some(&b"pa55word"[..]),
        ),
        ("ec.pem", KeyAlgorithm::P256, None),
        ("ec-sec1.pem", KeyAlgorithm::P256, None),
        ("ec-enc.pem", KeyAlgorithm::P256, Some(&b"pa55word"[..])),
    ] {
        let k = KeyPair::load(&read(&dir, f), pw).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(k.algorithm(), alg, "{f}");
    }
}
