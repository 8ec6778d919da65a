//! Cross-checks the `.sm2` cryptography against the system `openssl` (3.x,
//! which has SM3 and SM4): the key derivation with `openssl dgst -sm3`, the
//! key encryption with `openssl enc -sm4-cbc`, and the certificate with
//! `openssl req -x509`. Files built entirely by openssl (plus the ASN.1
//! envelope written here from DESIGN.md section 3) must be read by our code,
//! and files we write must decrypt with openssl.
//!
//! Fails (does not skip) when `openssl` is missing or lacks SM3/SM4.

use std::path::{Path, PathBuf};
use std::process::Command;

use gm_pki::cfca::sm2file::{RawSm2File, Sm2File};
use gm_sm2::PrivateKey;

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("gm-pki-cfca-openssl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl (is it installed?): {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `openssl dgst -sm3 -binary` of `password || 00000001`: (key, iv).
fn openssl_kdf(dir: &Path, password: &[u8]) -> (String, String) {
    let input = dir.join("kdf-input");
    std::fs::write(&input, [password, &[0, 0, 0, 1]].concat()).unwrap();
    let k = openssl(&["dgst", "-sm3", "-binary", p(&input)]);
    assert_eq!(k.len(), 32, "openssl dgst -sm3 output");
    (hex::encode(&k[16..]), hex::encode(&k[..16]))
}

/// A self-signed SM2 certificate for `key`, made by openssl.
fn openssl_cert(dir: &Path, key: &PrivateKey) -> Vec<u8> {
    let key_path = dir.join("key.pem");
    std::fs::write(&key_path, key.to_pkcs8_pem().as_bytes()).unwrap();
    let cert_path = dir.join("cert.der");
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        p(&key_path),
        "-subj",
        "/CN=openssl cfca test/C=CN",
        "-sm3",
        "-sigopt",
        "distid:1234567812345678",
        "-days",
        "30",
        "-outform",
        "DER",
        "-out",
        p(&cert_path),
    ]);
    std::fs::read(cert_path).unwrap()
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

#[test]
fn reads_a_file_encrypted_by_openssl() {
    let dir = scratch("read");
    let password = b"Pa55w0rd-\xe5\xaf\x86";
    // A key with a leading zero byte, stored short (31 bytes), under the
    // 1.2.156.10197.1.104.2 OID: every lenient path at once.
    let key = loop {
        let k = PrivateKey::generate().unwrap();
        if k.to_bytes()[0] == 0 {
            break k;
        }
    };
    let cert = openssl_cert(&dir, &key);
    let d_path = dir.join("d.bin");
    std::fs::write(&d_path, &key.to_bytes()[1..]).unwrap();
    let (k, iv) = openssl_kdf(&dir, password);
    let enc = openssl(&["enc", "-sm4-cbc", "-K", &k, "-iv", &iv, "-in", p(&d_path)]);
    assert_eq!(enc.len(), 32);

    let sm2_data = [0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x06, 0x01, 0x04, 0x02, 0x01];
    let sm4_cbc = [0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x68, 0x02];
    let file = tlv(
        0x30,
        &[
            tlv(0x02, &[1]),
            tlv(
                0x30,
                &[tlv(0x06, &sm2_data), tlv(0x06, &sm4_cbc), tlv(0x04, &enc)].concat(),
            ),
            tlv(0x30, &[tlv(0x06, &sm2_data), tlv(0x04, &cert)].concat()),
        ]
        .concat(),
    );
    let parsed = Sm2File::parse(&file, password).unwrap();
    assert_eq!(parsed.private_key(), &key);
    assert_eq!(parsed.certificate_der(), &cert[..]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn openssl_decrypts_what_we_write() {
    let dir = scratch("write");
    let password = b"123456";
    let key = PrivateKey::generate().unwrap();
    let cert = openssl_cert(&dir, &key);
    let file = Sm2File::new(key.clone(), cert).unwrap();
    let der = file.to_der(password).unwrap();
    let raw = RawSm2File::parse(&der).unwrap();
    let enc_path = dir.join("enc.bin");
    std::fs::write(&enc_path, raw.encrypted_key()).unwrap();
    let (k, iv) = openssl_kdf(&dir, password);
    let d = openssl(&[
        "enc",
        "-d",
        "-sm4-cbc",
        "-K",
        &k,
        "-iv",
        &iv,
        "-in",
        p(&enc_path),
    ]);
    assert_eq!(d.len(), 32, "d is written as exactly 32 bytes");
    assert_eq!(&d[..], &key.to_bytes()[..]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sadk_sample_decrypts_with_openssl() {
    // The CFCA-written sample, decrypted by openssl alone, gives the d our
    // reader returns.
    let dir = scratch("sample");
    let raw = RawSm2File::parse(include_bytes!("data/cfca/sadk_sample.sm2")).unwrap();
    let enc_path = dir.join("enc.bin");
    std::fs::write(&enc_path, raw.encrypted_key()).unwrap();
    let (k, iv) = openssl_kdf(&dir, b"123456");
    let d = openssl(&[
        "enc",
        "-d",
        "-sm4-cbc",
        "-K",
        &k,
        "-iv",
        &iv,
        "-in",
        p(&enc_path),
    ]);
    let ours = raw.decrypt(b"123456").unwrap();
    assert_eq!(&d[..], &ours.private_key().to_bytes()[..]);
    // And the certificate inside is one openssl reads, with the same key.
    let cert_path = dir.join("cert.der");
    std::fs::write(&cert_path, ours.certificate_der()).unwrap();
    let text = String::from_utf8(openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        p(&cert_path),
        "-noout",
        "-issuer",
    ]))
    .unwrap();
    assert!(text.contains("CFCA TEST SM2 OCA1"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
