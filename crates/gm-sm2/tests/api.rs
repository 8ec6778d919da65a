//! Behaviour of the public API: signatures through the `signature` traits,
//! IDs, digests, encodings; encryption in every layout and its rejections.

use gm_sm2::signature::hazmat::{PrehashSigner, PrehashVerifier, RandomizedPrehashSigner};
use gm_sm2::signature::{
    Keypair, MultipartSigner, MultipartVerifier, RandomizedSigner, SignatureEncoding, Signer,
    Verifier,
};
use gm_sm2::{
    z_value, Ciphertext, CiphertextFormat, Error, PrivateKey, Signature, SigningKey, VerifyingKey,
    DEFAULT_ID, TLS13_ID,
};

/// A deterministic (weak!) RNG: the hedged nonce must still give valid,
/// distinct signatures for distinct messages.
struct CountingRng(u8);

impl gm_sm2::signature::rand_core::TryRng for CountingRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        self.0 = self.0.wrapping_add(1);
        Ok(u32::from(self.0))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_add(1);
        Ok(u64::from(self.0))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        dst.fill(0); // worst case: constant "randomness"
        Ok(())
    }
}

impl gm_sm2::signature::rand_core::TryCryptoRng for CountingRng {}

#[test]
fn signature_traits_and_ids() {
    let key = PrivateKey::generate().unwrap();
    for id in [DEFAULT_ID, TLS13_ID, b"", &[0xffu8; 8191][..]] {
        let signer = SigningKey::new(&key, id).unwrap();
        let verifier = signer.verifying_key().clone();
        assert_eq!(verifier.id(), id);
        assert_eq!(verifier, Keypair::verifying_key(&signer));
        assert_eq!(verifier.z(), &z_value(id, key.public_key()).unwrap());
        let msg = b"traits";
        let s1: Signature = signer.try_sign(msg).unwrap();
        verifier.verify(msg, &s1).unwrap();
        let s2: Signature = signer.try_multipart_sign(&[b"tra", b"its"]).unwrap();
        verifier.multipart_verify(&[b"t", b"raits"], &s2).unwrap();
        verifier.verify(msg, &s2).unwrap();
        let s3: Signature = signer.try_sign_with_rng(&mut CountingRng(0), msg).unwrap();
        verifier.verify(msg, &s3).unwrap();
        let e = signer.digest(msg);
        let s4: Signature = signer.sign_prehash(&e).unwrap();
        verifier.verify_prehash(&e, &s4).unwrap();
        let s5: Signature = signer
            .sign_prehash_with_rng(&mut CountingRng(0), &e)
            .unwrap();
        assert_eq!(
            s5, s3,
            "same key, digest and extra input give the same nonce"
        );
        assert!(verifier.verify(b"other", &s1).is_err());
        assert!(signer.sign_prehash(&e[..31]).is_err());
        assert!(verifier.verify_prehash(&e[..31], &s1).is_err());
        // A different ID does not verify.
        let other = VerifyingKey::new(key.public_key(), b"someone else").unwrap();
        assert_eq!(
            other.verify_message(msg, &s1),
            Err(Error::SignatureMismatch)
        );
    }
    assert_eq!(
        SigningKey::new(&key, &[0u8; 8192]).unwrap_err(),
        Error::IdTooLong { len: 8192 }
    );
}

#[test]
fn weak_rng_still_gives_distinct_nonces() {
    let key = PrivateKey::generate().unwrap();
    let signer = SigningKey::new(&key, DEFAULT_ID).unwrap();
    let a = signer
        .try_sign_with_rng(&mut CountingRng(0), b"one")
        .unwrap();
    let b = signer
        .try_sign_with_rng(&mut CountingRng(0), b"two")
        .unwrap();
    // Equal r would mean equal k (r = e + x1): with a constant RNG the nonce
    // still differs per message, so the key does not leak.
    assert_ne!(a.r(), b.r());
    // And the OS-RNG path is randomized.
    assert_ne!(
        signer.sign_message(b"one").unwrap(),
        signer.sign_message(b"one").unwrap()
    );
}

#[test]
fn signature_encodings() {
    let key = PrivateKey::generate().unwrap();
    let signer = SigningKey::new(&key, DEFAULT_ID).unwrap();
    for i in 0..20u8 {
        let sig = signer.sign_message(&[i]).unwrap();
        let der = sig.to_der();
        assert_eq!(Signature::from_der(&der).unwrap(), sig);
        assert_eq!(Signature::from_bytes(&sig.to_bytes()).unwrap(), sig);
        assert_eq!(SignatureEncoding::to_bytes(&sig), sig.to_bytes());
        assert_eq!(Signature::try_from(&sig.to_bytes()[..]).unwrap(), sig);
        assert!(der.len() <= 72);
        // Raw bytes are not DER and vice versa.
        assert!(Signature::from_der(&sig.to_bytes()).is_err());
        assert!(Signature::from_bytes(&der).is_err());
    }
    let n =
        hex::decode("fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123").unwrap();
    let one = [[0u8; 31].as_slice(), &[1]].concat();
    assert_eq!(
        Signature::from_bytes(&[n.clone(), one.clone()].concat()),
        Err(Error::ScalarOutOfRange { what: "r" })
    );
    assert_eq!(
        Signature::from_bytes(&[one.clone(), vec![0; 32]].concat()),
        Err(Error::ScalarOutOfRange { what: "s" })
    );
    assert!(matches!(
        Signature::from_bytes(&[0; 63]),
        Err(Error::InvalidLength { .. })
    ));
}

#[test]
fn encryption_round_trips_in_every_layout() {
    let key = PrivateKey::generate().unwrap();
    for len in [1usize, 2, 31, 32, 33, 64, 65, 200, 1000] {
        let msg: Vec<u8> = (0..len).map(|i| i as u8).collect();
        for format in CiphertextFormat::ALL {
            let ct = key.public_key().encrypt(&msg, format).unwrap();
            let raw_len = 64
                + 32
                + len
                + usize::from(matches!(
                    format,
                    CiphertextFormat::C1C3C2 | CiphertextFormat::C1C2C3
                ));
            if format != CiphertextFormat::Der {
                assert_eq!(ct.len(), raw_len, "{format:?}");
            }
            assert_eq!(
                &key.decrypt(&ct, format).unwrap()[..],
                &msg[..],
                "{format:?}"
            );
            // Converting between layouts keeps the ciphertext decryptable.
            let parsed = Ciphertext::from_bytes(&ct, format).unwrap();
            for other in CiphertextFormat::ALL {
                let converted = parsed.to_bytes(other);
                assert_eq!(&key.decrypt(&converted, other).unwrap()[..], &msg[..]);
            }
        }
    }
}

#[test]
fn encryption_rejections() {
    let key = PrivateKey::generate().unwrap();
    let other = PrivateKey::generate().unwrap();
    assert_eq!(
        key.public_key().encrypt(b"", CiphertextFormat::C1C3C2),
        Err(Error::EmptyMessage)
    );
    let ct = key
        .public_key()
        .encrypt(b"hello", CiphertextFormat::C1C3C2)
        .unwrap();
    assert_eq!(
        other.decrypt(&ct, CiphertextFormat::C1C3C2).unwrap_err(),
        Error::HashMismatch
    );
    // Layouts are never guessed: the wrong one fails.
    assert!(key.decrypt(&ct, CiphertextFormat::C1C2C3).is_err());
    assert!(key.decrypt(&ct, CiphertextFormat::Der).is_err());
    assert!(key.decrypt(&ct[1..], CiphertextFormat::C1C3C2).is_err());
    // Truncation.
    for len in [0, 1, 64, 65, 97] {
        assert!(
            matches!(
                key.decrypt(&ct[..len], CiphertextFormat::C1C3C2),
                Err(Error::InvalidLength { .. })
            ),
            "{len}"
        );
    }
    // A C1 with a compressed or unknown prefix.
    let mut bad = ct.clone();
    bad[0] = 0x02;
    assert_eq!(
        key.decrypt(&bad, CiphertextFormat::C1C3C2).unwrap_err(),
        Error::InvalidPointEncoding { what: "C1" }
    );
    // Off-curve C1.
    let mut bad = ct.clone();
    bad[64] ^= 1;
    assert_eq!(
        key.decrypt(&bad, CiphertextFormat::C1C3C2).unwrap_err(),
        Error::PointNotOnCurve { what: "C1" }
    );
    // DER with a 31-byte hash, an empty C2, trailing data.
    let parsed = Ciphertext::from_bytes(&ct, CiphertextFormat::C1C3C2).unwrap();
    let der = parsed.to_bytes(CiphertextFormat::Der);
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(matches!(
        key.decrypt(&trailing, CiphertextFormat::Der),
        Err(Error::Der {
            field: "SM2Cipher",
            ..
        })
    ));
    let c1 = parsed.c1();
    let int = |b: &[u8]| {
        let mut v = vec![0x02, 0x21, 0x00];
        v.extend_from_slice(b);
        v
    };
    let mut body = [int(&c1[1..33]), int(&c1[33..])].concat();
    body.extend([0x04, 0x1f]);
    body.extend(&parsed.c3()[..31]);
    body.extend([0x04, 0x01, 0x00]);
    let mut short_hash = vec![0x30, body.len() as u8];
    short_hash.extend(&body);
    // (INTEGERs with a needless 0x00 are caught first unless minimal.)
    assert!(key.decrypt(&short_hash, CiphertextFormat::Der).is_err());
}
