//! The checks behind the fuzz targets in `fuzz/` (which include this file),
//! also run over the seed corpora by `tests/fuzz_corpus.rs`, so plain
//! `cargo test` covers them without nightly.
//!
//! Each check feeds arbitrary bytes to one parser and asserts the
//! properties that must hold for every input: no panic, and whatever
//! parses re-encodes to something that parses to the same value (for the
//! strict DER and raw layouts: to the very same bytes).
#![allow(dead_code)]

use gm_sm2::{Ciphertext, CiphertextFormat, PrivateKey, PublicKey, Signature};

/// Private keys in every format (PEM or DER; PKCS#8, SEC1, encrypted
/// PKCS#8). No password: encrypted keys are parsed down to their PBES2
/// parameters, which are all checked before a password is needed (running
/// PBKDF2 with up to 10^7 iterations per input would stall a fuzzer).
pub fn private_key(data: &[u8]) {
    let Ok(key) = PrivateKey::load(data, None) else {
        return;
    };
    let pkcs8 = key.to_pkcs8_der();
    assert_eq!(PrivateKey::load(&pkcs8, None).as_ref(), Ok(&key));
    let pem = key.to_pkcs8_pem();
    assert_eq!(PrivateKey::load(pem.as_bytes(), None).as_ref(), Ok(&key));
    let sec1 = key.to_sec1_der();
    assert_eq!(PrivateKey::load(&sec1, None).as_ref(), Ok(&key));
}

/// Public keys: SubjectPublicKeyInfo (PEM or DER) and raw SEC1 points.
pub fn public_key(data: &[u8]) {
    if let Ok(pk) = PublicKey::load(data) {
        assert_eq!(PublicKey::load(&pk.to_spki_der()).as_ref(), Ok(&pk));
        assert_eq!(
            PublicKey::load(pk.to_spki_pem().as_bytes()).as_ref(),
            Ok(&pk)
        );
    }
    if let Ok(pk) = PublicKey::from_sec1_bytes(data) {
        assert_eq!(
            PublicKey::from_sec1_bytes(&pk.to_sec1_bytes()).as_ref(),
            Ok(&pk)
        );
        if data.len() == 65 {
            assert_eq!(&pk.to_sec1_bytes()[..], data);
        }
    }
}

/// Signatures: strict DER and the raw 64-byte form re-encode to the same
/// bytes.
pub fn signature(data: &[u8]) {
    if let Ok(sig) = Signature::from_der(data) {
        assert_eq!(sig.to_der(), data, "strict DER must be canonical");
        assert_eq!(Signature::from_bytes(&sig.to_bytes()).as_ref(), Ok(&sig));
    }
    if let Ok(sig) = Signature::from_bytes(data) {
        assert_eq!(&sig.to_bytes()[..], data);
        assert_eq!(Signature::from_der(&sig.to_der()).as_ref(), Ok(&sig));
    }
}

/// The key the ciphertext check decrypts with (GB/T 32918.5 Annex C).
const D: [u8; 32] = [
    0x39, 0x45, 0x20, 0x8f, 0x7b, 0x21, 0x44, 0xb1, 0x3f, 0x36, 0xe3, 0x8a, 0xc6, 0xd3, 0x9f, 0x95,
    0x88, 0x93, 0x93, 0x69, 0x28, 0x60, 0xb5, 0x1a, 0x42, 0xfb, 0x81, 0xef, 0x4d, 0xf7, 0xc5, 0xb8,
];

/// Ciphertexts: the first byte picks the layout (index into
/// `CiphertextFormat::ALL`), the rest is parsed in that layout, re-encoded
/// to the same bytes, and decrypted with a fixed key.
pub fn ciphertext(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let format = CiphertextFormat::ALL[usize::from(selector) % CiphertextFormat::ALL.len()];
    if let Ok(ct) = Ciphertext::from_bytes(rest, format) {
        assert_eq!(ct.to_bytes(format), rest, "{format:?} must round-trip");
        for other in CiphertextFormat::ALL {
            let bytes = ct.to_bytes(other);
            assert_eq!(Ciphertext::from_bytes(&bytes, other).as_ref(), Ok(&ct));
        }
    }
    if let Ok(key) = PrivateKey::from_bytes(&D) {
        let _ = key.decrypt(rest, format);
    }
}
