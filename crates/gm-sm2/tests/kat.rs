//! Known answers: GB/T 32918.5-2017 (= GM/T 0003.5-2012) Annexes A, B and C
//! on sm2p256v1, and every recommended-curve entry of the reference vector
//! files (tests/data, copied from shared/reference/gm-vectors).
//!
//! The example-curve entries (draft-shen / 2010 OSCCA text, curve
//! "SM2 example curve Fp-256", a != -3) are skipped: RustCrypto `sm2` is
//! fixed to the recommended curve.

mod common;

use common::*;
use gm_sm2::{
    hazmat, z_value, CiphertextFormat, Error, KeyExchange, PrivateKey, PublicKey, Role, Signature,
    VerifyingKey,
};
use serde_json::Value;

fn find<'a>(vectors: &'a [Value], id: &str) -> &'a Value {
    vectors
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("vector {id} missing"))
}

// ---------------------------------------------------------------------------
// Signatures

#[test]
fn gbt32918_5_annex_a_signature() {
    let vectors = vectors("sm2_sign.json");
    let v = find(&vectors, "gbt32918.5-annexA-sm2p256v1");
    assert!(
        s(v, "source").starts_with("GB/T 32918.5-2017 Annex A"),
        "{}",
        label(v)
    );
    let key = PrivateKey::from_bytes(&hex_field(v, "private_key")).unwrap();
    assert_eq!(
        key.public_key().to_sec1_bytes().to_vec(),
        point(v, "public_key_x", "public_key_y"),
        "{}",
        label(v)
    );
    let id = hex_field(v, "uid_hex");
    assert_eq!(id, b"1234567812345678");
    assert_eq!(
        z_value(&id, key.public_key()).unwrap().to_vec(),
        hex_field(v, "za")
    );
    let vk = VerifyingKey::new(key.public_key(), &id).unwrap();
    let e = vk.digest(&hex_field(v, "message"));
    assert_eq!(e.to_vec(), hex_field(v, "e"));

    let sig = hazmat::sign_digest_with_k(&key, &e, &arr32(&hex_field(v, "k"))).unwrap();
    assert_eq!(sig.r().to_vec(), hex_field(v, "r"), "{}", label(v));
    assert_eq!(sig.s().to_vec(), hex_field(v, "s"), "{}", label(v));
    assert_eq!(sig.to_der(), hex_field(v, "signature_der"), "{}", label(v));
    vk.verify_message(&hex_field(v, "message"), &sig).unwrap();
    // The ID is bound into the signature.
    let other = VerifyingKey::new(key.public_key(), b"ALICE123@YAHOO.COM").unwrap();
    assert_eq!(
        other.verify_message(&hex_field(v, "message"), &sig),
        Err(Error::SignatureMismatch)
    );
}

/// Runs one sm2_sign.json entry; `Ok` means accepted.
fn run_sign_vector(v: &Value) -> Result<(), Error> {
    let pk = PublicKey::from_sec1_bytes(&point(v, "public_key_x", "public_key_y"))?;
    if let Some(d) = opt_hex(v, "private_key") {
        let key = PrivateKey::from_bytes(&d).unwrap();
        assert_eq!(key.public_key(), &pk, "{}", label(v));
    }
    let sig = Signature::from_der(&hex_field(v, "signature_der"))?;
    // The raw r || s form must parse to the same signature.
    if let (Some(r), Some(s)) = (opt_hex(v, "r"), opt_hex(v, "s")) {
        if r.len() == 32 && s.len() == 32 {
            assert_eq!(
                Signature::from_bytes(&[r, s].concat()).as_ref(),
                Ok(&sig),
                "{}",
                label(v)
            );
        }
    }
    match (opt_hex(v, "message"), opt_hex(v, "uid_hex")) {
        (Some(msg), Some(id)) => {
            let vk = VerifyingKey::new(&pk, &id)?;
            if let Some(za) = opt_hex(v, "za") {
                assert_eq!(vk.z().to_vec(), za, "{}", label(v));
            }
            vk.verify_message(&msg, &sig)
        }
        _ => {
            // Digest-level vector: e is given.
            let e = hex_field(v, "e");
            let e: [u8; 32] = e.as_slice().try_into().map_err(|_| Error::InvalidLength {
                what: "e",
                expected: 32,
                got: e.len(),
            })?;
            VerifyingKey::new(&pk, b"")?.verify_digest(&e, &sig)
        }
    }
}

#[test]
fn all_recommended_curve_signature_vectors() {
    let vectors = vectors("sm2_sign.json");
    let (mut valid, mut invalid, mut skipped) = (0, 0, 0);
    for v in &vectors {
        if !on_recommended_curve(v) {
            // Example curve (draft-shen A.2): not runnable on sm2p256v1.
            skipped += 1;
            continue;
        }
        let result = run_sign_vector(v);
        match s(v, "result") {
            "valid" => {
                assert_eq!(result, Ok(()), "{}", label(v));
                valid += 1;
            }
            "invalid" => {
                assert!(result.is_err(), "accepted invalid vector {}", label(v));
                invalid += 1;
            }
            "acceptable" => {
                // OpenSSL's SHA-512 digest-level vector: e is 64 bytes. Our
                // policy (GB/T 32918.2: e is an SM3 digest) refuses it, as
                // OpenSSL 3.0 does.
                assert!(
                    matches!(result, Err(Error::InvalidLength { .. })),
                    "{}: {result:?}",
                    label(v)
                );
            }
            other => panic!("unknown result {other}"),
        }
    }
    assert_eq!(
        (valid, invalid, skipped),
        (3, 27, 1),
        "vector counts changed"
    );
}

#[test]
fn specific_signature_rejections_are_named() {
    let vectors = vectors("sm2_sign.json");
    let reason = |id: &str| run_sign_vector(find(&vectors, id)).unwrap_err();
    assert_eq!(reason("gen-r-zero"), Error::ScalarOutOfRange { what: "r" });
    assert_eq!(
        reason("gen-s-equals-n"),
        Error::ScalarOutOfRange { what: "s" }
    );
    assert_eq!(reason("gen-t-zero"), Error::SignatureTZero);
    assert_eq!(reason("openhitls-t-equals-zero"), Error::SignatureTZero);
    assert_eq!(reason("openhitls-wrong-msg"), Error::SignatureMismatch);
    assert_eq!(
        reason("gen-pubkey-not-on-curve"),
        Error::PointNotOnCurve { what: "public key" }
    );
    assert!(matches!(
        reason("gen-der-nonminimal-r"),
        Error::Der {
            field: "SM2Signature.r",
            reason: "non-minimal INTEGER encoding"
        }
    ));
    assert!(matches!(
        reason("gen-der-negative-r"),
        Error::Der {
            reason: "negative INTEGER",
            ..
        }
    ));
    assert!(matches!(
        reason("gen-der-indefinite-len"),
        Error::Der { .. }
    ));
    assert!(matches!(
        reason("gen-der-trailing-byte"),
        Error::Der {
            reason: "unexpected trailing data",
            ..
        }
    ));
    assert!(matches!(
        reason("gen-r-plus-n"),
        Error::Der {
            reason: "INTEGER larger than 256 bits",
            ..
        }
    ));
}

// ---------------------------------------------------------------------------
// Encryption

/// The raw layouts of a vector: (format, bytes), including the forms without
/// the 0x04 prefix derived from the prefixed ones.
fn ciphertexts(v: &Value) -> Vec<(CiphertextFormat, Vec<u8>)> {
    let mut out = Vec::new();
    if let Some(c) = opt_hex(v, "ciphertext_c1c3c2") {
        out.push((CiphertextFormat::C1C3C2NoPrefix, c[1..].to_vec()));
        out.push((CiphertextFormat::C1C3C2, c));
    }
    if let Some(c) = opt_hex(v, "ciphertext_c1c2c3") {
        out.push((CiphertextFormat::C1C2C3NoPrefix, c[1..].to_vec()));
        out.push((CiphertextFormat::C1C2C3, c));
    }
    if let Some(c) = opt_hex(v, "ciphertext_der_gmt0009") {
        out.push((CiphertextFormat::Der, c));
    }
    out
}

#[test]
fn gbt32918_5_annex_c_encryption_all_serialisations() {
    let vectors = vectors("sm2_encrypt.json");
    let v = find(&vectors, "gbt32918.5-annexC-sm2p256v1");
    assert!(
        s(v, "source").starts_with("GB/T 32918.5-2017 Annex C"),
        "{}",
        label(v)
    );
    let key = PrivateKey::from_bytes(&hex_field(v, "private_key")).unwrap();
    assert_eq!(
        key.public_key().to_sec1_bytes().to_vec(),
        point(v, "public_key_x", "public_key_y")
    );
    let msg = hex_field(v, "message");
    assert_eq!(msg, b"encryption standard");
    let ct = hazmat::encrypt_with_k(key.public_key(), &msg, &arr32(&hex_field(v, "k"))).unwrap();
    assert_eq!(ct.c1().to_vec(), point(v, "C1_x", "C1_y"), "{}", label(v));
    assert_eq!(ct.c3().to_vec(), hex_field(v, "C3"), "{}", label(v));
    assert_eq!(ct.c2().to_vec(), hex_field(v, "C2"), "{}", label(v));
    for (format, expected) in ciphertexts(v) {
        assert_eq!(ct.to_bytes(format), expected, "{format:?} {}", label(v));
        assert_eq!(
            &key.decrypt(&expected, format).unwrap()[..],
            &msg[..],
            "{format:?}"
        );
    }
    assert_eq!(ciphertexts(v).len(), 5);
}

#[test]
fn all_recommended_curve_encryption_vectors() {
    let vectors = vectors("sm2_encrypt.json");
    let (mut valid, mut invalid, mut skipped) = (0, 0, 0);
    for v in &vectors {
        if !on_recommended_curve(v) {
            // Example-curve entries (draft-shen C.2, and its SHA-256 variant).
            skipped += 1;
            continue;
        }
        let key = PrivateKey::from_bytes(&hex_field(v, "private_key")).unwrap();
        let forms = ciphertexts(v);
        assert!(forms.len() >= 3, "{}", label(v));
        match s(v, "result") {
            "valid" => {
                let msg = hex_field(v, "message");
                for (format, ct) in &forms {
                    let plain = key.decrypt(ct, *format);
                    assert_eq!(
                        plain.as_deref().map(|p| &p[..]),
                        Ok(&msg[..]),
                        "{format:?} {}",
                        label(v)
                    );
                }
                if let Some(k) = opt_hex(v, "k") {
                    let ct = hazmat::encrypt_with_k(key.public_key(), &msg, &arr32(&k)).unwrap();
                    for (format, expected) in &forms {
                        assert_eq!(&ct.to_bytes(*format), expected, "{format:?} {}", label(v));
                    }
                }
                valid += 1;
            }
            "invalid" => {
                for (format, ct) in &forms {
                    let r = key.decrypt(ct, *format);
                    assert!(r.is_err(), "{format:?} accepted {}", label(v));
                }
                invalid += 1;
            }
            other => panic!("unknown result {other}"),
        }
    }
    assert_eq!(
        (valid, invalid, skipped),
        (6, 7, 2),
        "vector counts changed"
    );
}

#[test]
fn specific_decryption_rejections_are_named() {
    let vectors = vectors("sm2_encrypt.json");
    let run = |id: &str, format: CiphertextFormat| {
        let v = find(&vectors, id);
        let key = PrivateKey::from_bytes(&hex_field(v, "private_key")).unwrap();
        let (_, ct) = ciphertexts(v)
            .into_iter()
            .find(|(f, _)| *f == format)
            .unwrap();
        key.decrypt(&ct, format).unwrap_err()
    };
    for f in CiphertextFormat::ALL {
        assert_eq!(run("openhitls-wrong-c3", f), Error::HashMismatch, "{f:?}");
        assert_eq!(run("openhitls-wrong-c2", f), Error::HashMismatch, "{f:?}");
        assert_eq!(
            run("openhitls-wrong-private-key", f),
            Error::HashMismatch,
            "{f:?}"
        );
        assert_eq!(
            run("openhitls-wrong-c1", f),
            Error::PointNotOnCurve { what: "C1" },
            "{f:?}"
        );
        assert_eq!(
            run("openhitls-c1-all-zero", f),
            Error::PointNotOnCurve { what: "C1" },
            "{f:?}"
        );
    }
    assert_eq!(
        run("tongsuo-decrypt-corrupted-last-byte", CiphertextFormat::Der),
        Error::HashMismatch
    );
}

// ---------------------------------------------------------------------------
// Key exchange

fn run_kex(v: &Value) {
    let a = &v["initiator_A"];
    let b = &v["responder_B"];
    let key_a = PrivateKey::from_bytes(&hex_field(a, "private_key")).unwrap();
    let key_b = PrivateKey::from_bytes(&hex_field(b, "private_key")).unwrap();
    assert_eq!(
        key_a.public_key().to_sec1_bytes().to_vec(),
        point(a, "public_key_x", "public_key_y")
    );
    assert_eq!(
        key_b.public_key().to_sec1_bytes().to_vec(),
        point(b, "public_key_x", "public_key_y")
    );
    let (id_a, id_b) = (hex_field(a, "id_hex"), hex_field(b, "id_hex"));
    assert_eq!(
        z_value(&id_a, key_a.public_key()).unwrap().to_vec(),
        hex_field(a, "za")
    );
    assert_eq!(
        z_value(&id_b, key_b.public_key()).unwrap().to_vec(),
        hex_field(b, "zb")
    );

    let alice = hazmat::key_exchange_with_ephemeral(
        Role::Initiator,
        &key_a,
        &id_a,
        key_b.public_key(),
        &id_b,
        &arr32(&hex_field(a, "ephemeral_private_rA")),
    )
    .unwrap();
    let bob = hazmat::key_exchange_with_ephemeral(
        Role::Responder,
        &key_b,
        &id_b,
        key_a.public_key(),
        &id_a,
        &arr32(&hex_field(b, "ephemeral_private_rB")),
    )
    .unwrap();
    assert_eq!(
        alice.ephemeral_public().to_vec(),
        point(a, "RA_x1", "RA_y1"),
        "{}",
        label(v)
    );
    assert_eq!(
        bob.ephemeral_public().to_vec(),
        point(b, "RB_x2", "RB_y2"),
        "{}",
        label(v)
    );

    let klen = v["klen_bits"].as_u64().unwrap() as usize / 8;
    let (ra, rb) = (alice.ephemeral_public(), bob.ephemeral_public());
    let out_b = bob.finish(&ra, klen).unwrap();
    let out_a = alice.finish(&rb, klen).unwrap();
    assert_eq!(out_a.key(), hex_field(v, "K"), "{}", label(v));
    assert_eq!(out_b.key(), hex_field(v, "K"), "{}", label(v));
    // B sends S_B (= S1), A checks it and answers S_A (= S2).
    assert_eq!(
        out_b.confirmation().to_vec(),
        hex_field(v, "SB_equals_S1"),
        "{}",
        label(v)
    );
    assert_eq!(
        out_a.confirmation().to_vec(),
        hex_field(v, "SA_equals_S2"),
        "{}",
        label(v)
    );
    out_a
        .verify_peer_confirmation(out_b.confirmation())
        .unwrap();
    out_b
        .verify_peer_confirmation(out_a.confirmation())
        .unwrap();
    assert_eq!(
        out_a.verify_peer_confirmation(out_a.confirmation()),
        Err(Error::ConfirmationMismatch)
    );
}

#[test]
fn gbt32918_5_annex_b_key_exchange() {
    let vectors = vectors("sm2_kex.json");
    let v = find(&vectors, "gbt32918.5-annexB-sm2p256v1");
    assert!(
        s(v, "source").starts_with("GB/T 32918.5-2017 Annex B"),
        "{}",
        label(v)
    );
    assert_eq!(s(v, "K"), "6c89347354de2484c60b4ab1fde4c6e5");
    run_kex(v);
}

#[test]
fn all_recommended_curve_key_exchange_vectors() {
    let vectors = vectors("sm2_kex.json");
    let mut ran = 0;
    for v in &vectors {
        if !on_recommended_curve(v) {
            // draft-shen B.2 on the example curve.
            continue;
        }
        run_kex(v);
        ran += 1;
    }
    assert_eq!(ran, 4);
}

#[test]
fn key_exchange_rejects_bad_peer_points_and_random_run_agrees() {
    let a = PrivateKey::generate().unwrap();
    let b = PrivateKey::generate().unwrap();
    let initiator =
        || KeyExchange::new(Role::Initiator, &a, b"alice", b.public_key(), b"bob").unwrap();
    let responder =
        || KeyExchange::new(Role::Responder, &b, b"bob", a.public_key(), b"alice").unwrap();
    let mut off = initiator().ephemeral_public();
    off[64] ^= 1;
    assert_eq!(
        responder().finish(&off, 16).unwrap_err(),
        Error::PointNotOnCurve {
            what: "peer ephemeral point"
        }
    );
    assert!(matches!(
        responder().finish(&off[..64], 16).unwrap_err(),
        Error::InvalidPointEncoding { .. }
    ));
    assert_eq!(
        responder()
            .finish(&initiator().ephemeral_public(), 0)
            .unwrap_err(),
        Error::OutputLength { requested: 0 }
    );
    for len in [1, 16, 32, 33, 100] {
        let (alice, bob) = (initiator(), responder());
        let (ra, rb) = (alice.ephemeral_public(), bob.ephemeral_public());
        let kb = bob.finish(&ra, len).unwrap();
        let ka = alice.finish(&rb, len).unwrap();
        assert_eq!(ka.key(), kb.key());
        assert_eq!(ka.key().len(), len);
        ka.verify_peer_confirmation(kb.confirmation()).unwrap();
        kb.verify_peer_confirmation(ka.confirmation()).unwrap();
    }
    // Wrong peer ID: keys differ.
    let alice = initiator();
    let eve = KeyExchange::new(Role::Responder, &b, b"eve", a.public_key(), b"alice").unwrap();
    let (ra, re) = (alice.ephemeral_public(), eve.ephemeral_public());
    let ke = eve.finish(&ra, 16).unwrap();
    let ka = alice.finish(&re, 16).unwrap();
    assert_ne!(ka.key(), ke.key());
    assert!(ka.verify_peer_confirmation(ke.confirmation()).is_err());
}
