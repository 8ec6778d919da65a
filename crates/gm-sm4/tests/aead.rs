//! SM4-GCM and SM4-CCM tests over every backend the CPU supports.
//! The full Wycheproof and reference vector files run through
//! `gmkit vectors run` (testvectors/); here: the RFC 8998 answers, tamper
//! checks, parameter checks and a cross-check against RustCrypto `aes-gcm`
//! instantiated with the table-based RustCrypto `sm4`.

mod common;

use aead::{Aead, AeadInOut, KeyInit, Nonce, Payload};
use common::{all_backends, h, h16};
use gm_sm4::{Error, Sm4Ccm, Sm4CcmGeneric, Sm4Gcm, Sm4GcmGeneric};
use rand::{Rng, RngCore};

const RFC_KEY: &str = "0123456789abcdeffedcba9876543210";
const RFC_NONCE: &str = "00001234567800000000abcd";
const RFC_AAD: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const RFC_PT: &str = "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccddddddddddddddddeeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa";

/// RFC 8998 Appendix A.1 (SM4-GCM).
#[test]
fn rfc8998_a1_gcm() {
    let ct = h("17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d");
    let tag = h("83de3541e4c2b58177e065a9bf7b62ec");
    for sm4 in all_backends(&h16(RFC_KEY)) {
        let backend = sm4.backend();
        let gcm = Sm4Gcm::with_cipher(sm4);
        let nonce = Nonce::<Sm4Gcm>::try_from(&h(RFC_NONCE)[..]).unwrap();
        let out = gcm
            .encrypt(
                &nonce,
                Payload {
                    msg: &h(RFC_PT),
                    aad: &h(RFC_AAD),
                },
            )
            .unwrap();
        assert_eq!(out, [ct.clone(), tag.clone()].concat(), "{backend:?}");
        let back = gcm
            .decrypt(
                &nonce,
                Payload {
                    msg: &out,
                    aad: &h(RFC_AAD),
                },
            )
            .unwrap();
        assert_eq!(back, h(RFC_PT));
    }
}

/// RFC 8998 Appendix A.2 (SM4-CCM).
#[test]
fn rfc8998_a2_ccm() {
    let ct = h("48af93501fa62adbcd414cce6034d895dda1bf8f132f042098661572e7483094fd12e518ce062c98acee28d95df4416bed31a2f04476c18bb40c84a74b97dc5b");
    let tag = h("16842d4fa186f56ab33256971fa110f4");
    for sm4 in all_backends(&h16(RFC_KEY)) {
        let backend = sm4.backend();
        let ccm = Sm4Ccm::with_cipher(sm4);
        let nonce = Nonce::<Sm4Ccm>::try_from(&h(RFC_NONCE)[..]).unwrap();
        let out = ccm
            .encrypt(
                &nonce,
                Payload {
                    msg: &h(RFC_PT),
                    aad: &h(RFC_AAD),
                },
            )
            .unwrap();
        assert_eq!(out, [ct.clone(), tag.clone()].concat(), "{backend:?}");
        let back = ccm
            .decrypt(
                &nonce,
                Payload {
                    msg: &out,
                    aad: &h(RFC_AAD),
                },
            )
            .unwrap();
        assert_eq!(back, h(RFC_PT));
    }
}

/// GB/T 36624-2018 C.5 (via GmSSL tests/sm4_gcmtest.c): all-zero key and IV.
#[test]
fn gbt36624_c5_gcm() {
    let gcm = Sm4GcmGeneric::new(&[0; 16]);
    let mut tag = [0u8; 16];
    gcm.seal_in_place_detached(&[0; 12], &[], &mut [], &mut tag)
        .unwrap();
    assert_eq!(tag.to_vec(), h("232f0cfe308b49ea6fc88229b5dc858d"));
    let mut buf = [0u8; 16];
    gcm.seal_in_place_detached(&[0; 12], &[], &mut buf, &mut tag)
        .unwrap();
    assert_eq!(buf.to_vec(), h("7de2aa7f1110188218063be1bfeb6d89"));
    assert_eq!(tag.to_vec(), h("b851b5f39493752be508f1bb4482c557"));
}

/// Flipping any bit of ciphertext, AAD, nonce or tag is rejected, and the
/// buffer holds no plaintext afterwards.
#[test]
fn tampering_is_rejected_and_releases_nothing() {
    let key = h16(RFC_KEY);
    let pt = h(RFC_PT);
    let aad = h(RFC_AAD);
    let nonce = h(RFC_NONCE);
    type Seal = fn(&[u8; 16], &[u8], &[u8], &mut [u8], &mut [u8]) -> Result<(), Error>;
    type Open = fn(&[u8; 16], &[u8], &[u8], &mut [u8], &[u8]) -> Result<(), Error>;
    let modes: [(&str, Seal, Open); 2] = [
        (
            "gcm",
            |k, n, a, b, t| Sm4GcmGeneric::new(k).seal_in_place_detached(n, a, b, t),
            |k, n, a, b, t| Sm4GcmGeneric::new(k).open_in_place_detached(n, a, b, t),
        ),
        (
            "ccm",
            |k, n, a, b, t| Sm4CcmGeneric::new(k).seal_in_place_detached(n, a, b, t),
            |k, n, a, b, t| Sm4CcmGeneric::new(k).open_in_place_detached(n, a, b, t),
        ),
    ];
    for (name, seal, open) in modes {
        let mut ct = pt.clone();
        let mut tag = [0u8; 16];
        seal(&key, &nonce, &aad, &mut ct, &mut tag).unwrap();
        for bit in [0usize, 7, 100, 8 * ct.len() - 1] {
            let mut c = ct.clone();
            c[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                open(&key, &nonce, &aad, &mut c, &tag),
                Err(Error::TagMismatch),
                "{name} ct bit {bit}"
            );
            assert!(c.iter().all(|&b| b == 0), "{name}: plaintext released");
        }
        for bit in [0usize, 8 * aad.len() - 1] {
            let mut a = aad.clone();
            a[bit / 8] ^= 1 << (bit % 8);
            let mut c = ct.clone();
            assert_eq!(
                open(&key, &nonce, &a, &mut c, &tag),
                Err(Error::TagMismatch),
                "{name} aad"
            );
        }
        let mut n = nonce.clone();
        n[11] ^= 0x80;
        let mut c = ct.clone();
        assert_eq!(
            open(&key, &n, &aad, &mut c, &tag),
            Err(Error::TagMismatch),
            "{name} nonce"
        );
        for i in 0..16 {
            let mut t = tag;
            t[i] ^= 0x01;
            let mut c = ct.clone();
            assert_eq!(
                open(&key, &nonce, &aad, &mut c, &t),
                Err(Error::TagMismatch),
                "{name} tag {i}"
            );
        }
        let mut c = ct.clone();
        assert_eq!(open(&key, &nonce, &aad, &mut c, &tag), Ok(()));
        assert_eq!(c, pt);
    }
}

#[test]
fn parameter_errors_are_typed() {
    let gcm = Sm4GcmGeneric::new(&[0; 16]);
    let mut t16 = [0u8; 16];
    assert!(matches!(
        gcm.seal_in_place_detached(&[], &[], &mut [], &mut t16),
        Err(Error::InvalidNonceLength { got: 0, .. })
    ));
    for bad in [0usize, 1, 3, 5, 6, 7, 9, 10, 11, 17] {
        let mut t = vec![0u8; bad];
        assert!(
            matches!(
                gcm.seal_in_place_detached(&[0; 12], &[], &mut [], &mut t),
                Err(Error::InvalidTagLength { .. })
            ),
            "gcm tag {bad}"
        );
    }
    let ccm = Sm4CcmGeneric::new(&[0; 16]);
    for bad in [0usize, 6, 14, 16, 128] {
        assert!(
            matches!(
                ccm.seal_in_place_detached(&vec![0; bad], &[], &mut [], &mut t16),
                Err(Error::InvalidNonceLength { .. })
            ),
            "ccm nonce {bad}"
        );
    }
    for bad in [0usize, 2, 3, 5, 13, 15, 17] {
        let mut t = vec![0u8; bad];
        assert!(
            matches!(
                ccm.seal_in_place_detached(&[0; 12], &[], &mut [], &mut t),
                Err(Error::InvalidTagLength { .. })
            ),
            "ccm tag {bad}"
        );
    }
    // q = 2 (13-byte nonce): at most 65535 bytes.
    let mut big = vec![0u8; 65536];
    assert!(matches!(
        ccm.seal_in_place_detached(&[0; 13], &[], &mut big, &mut t16),
        Err(Error::MessageTooLong {
            got: 65536,
            max: 65535
        })
    ));
    let mut ok = vec![0u8; 65535];
    ccm.seal_in_place_detached(&[0; 13], &[], &mut ok, &mut t16)
        .unwrap();
    // AEAD trait: a ciphertext shorter than the tag is an error, not a panic.
    let gcm = Sm4Gcm::new(&[0; 16].into());
    assert!(gcm
        .decrypt(&Nonce::<Sm4Gcm>::default(), &[0u8; 15][..])
        .is_err());
}

/// Sm4Gcm (every backend) against `aes_gcm::AesGcm<sm4::Sm4, U12>` on random
/// lengths 0..4096 with random AAD; also non-12-byte IVs via `U16`.
#[test]
fn gcm_cross_check_against_aes_gcm_with_rustcrypto_sm4() {
    use aes_gcm::aead::consts::{U12, U16};
    let mut rng = rand::rng();
    for i in 0..300 {
        let key: [u8; 16] = rng.random();
        let len = if i < 40 { i } else { rng.random_range(0..4096) };
        let aad_len = rng.random_range(0..80);
        let mut pt = vec![0u8; len];
        rng.fill_bytes(&mut pt);
        let mut aad = vec![0u8; aad_len];
        rng.fill_bytes(&mut aad);
        let n12: [u8; 12] = rng.random();
        let n16: [u8; 16] = rng.random();
        let oracle12 = aes_gcm::AesGcm::<sm4::Sm4, U12>::new(&key.into());
        let oracle16 = aes_gcm::AesGcm::<sm4::Sm4, U16>::new(&key.into());
        let e12 = oracle12
            .encrypt(
                &n12.into(),
                aes_gcm::aead::Payload {
                    msg: &pt,
                    aad: &aad,
                },
            )
            .unwrap();
        let e16 = oracle16
            .encrypt(
                &n16.into(),
                aes_gcm::aead::Payload {
                    msg: &pt,
                    aad: &aad,
                },
            )
            .unwrap();
        for sm4 in all_backends(&key) {
            let backend = sm4.backend();
            let ours = Sm4Gcm::with_cipher(sm4.clone());
            let got = ours
                .encrypt(
                    &n12.into(),
                    Payload {
                        msg: &pt,
                        aad: &aad,
                    },
                )
                .unwrap();
            assert_eq!(got, e12, "{backend:?} len {len}");
            let mut buf = pt.clone();
            let mut tag = [0u8; 16];
            Sm4GcmGeneric::with_cipher(sm4)
                .seal_in_place_detached(&n16, &aad, &mut buf, &mut tag)
                .unwrap();
            assert_eq!(
                [buf, tag.to_vec()].concat(),
                e16,
                "{backend:?} len {len} iv16"
            );
            // in/out with separate buffers through AeadInOut.
            let mut out = vec![0u8; len];
            let tag = ours
                .encrypt_inout_detached(
                    &n12.into(),
                    &aad,
                    aead::inout::InOutBuf::new(&pt, &mut out).unwrap(),
                )
                .unwrap();
            assert_eq!([out, tag.to_vec()].concat(), e12);
        }
    }
}

/// CCM round trips with every nonce and tag size on random data, and
/// agreement between backends.
#[test]
fn ccm_all_sizes_round_trip_and_backends_agree() {
    let mut rng = rand::rng();
    for nlen in 7..=13usize {
        for tlen in (4..=16).step_by(2) {
            let key: [u8; 16] = rng.random();
            let mut nonce = vec![0u8; nlen];
            rng.fill_bytes(&mut nonce);
            let len = rng.random_range(0..600);
            let mut pt = vec![0u8; len];
            rng.fill_bytes(&mut pt);
            let aad_len = rng.random_range(0..40);
            let mut aad = vec![0u8; aad_len];
            rng.fill_bytes(&mut aad);
            let mut reference: Option<Vec<u8>> = None;
            for sm4 in all_backends(&key) {
                let ccm = Sm4CcmGeneric::with_cipher(sm4);
                let mut buf = pt.clone();
                let mut tag = vec![0u8; tlen];
                ccm.seal_in_place_detached(&nonce, &aad, &mut buf, &mut tag)
                    .unwrap();
                let sealed = [buf.clone(), tag.clone()].concat();
                match &reference {
                    Some(r) => assert_eq!(&sealed, r),
                    None => reference = Some(sealed),
                }
                ccm.open_in_place_detached(&nonce, &aad, &mut buf, &tag)
                    .unwrap();
                assert_eq!(buf, pt);
            }
        }
    }
}

/// Random lengths for the mode cross-checks: every length 0..=40, the
/// boundaries of the fused GCM step (32 blocks) and random lengths up to
/// 4096 bytes with odd tails.
fn cross_check_lengths(rng: &mut impl Rng, random: usize) -> Vec<usize> {
    let mut lens: Vec<usize> = (0..=40).collect();
    for step in [512usize, 1024, 1536, 4096] {
        lens.extend([
            step - 17,
            step - 16,
            step - 1,
            step,
            step + 1,
            step + 15,
            step + 16,
        ]);
    }
    lens.extend((0..random).map(|_| rng.random_range(0..4096)));
    lens
}

/// Every GCM path (fused CTR + GHASH kernel, its tails, the per-chunk
/// path) against `aes_gcm::AesGcm<sm4::Sm4, U12>` on every backend, seal
/// and open, including lengths at and around the fused step boundaries.
#[test]
fn gcm_fused_paths_match_oracle_at_step_boundaries() {
    use aes_gcm::aead::consts::U12;
    let mut rng = rand::rng();
    for len in cross_check_lengths(&mut rng, 60) {
        let key: [u8; 16] = rng.random();
        let mut pt = vec![0u8; len];
        rng.fill_bytes(&mut pt);
        let aad_len = rng.random_range(0..40);
        let mut aad = vec![0u8; aad_len];
        rng.fill_bytes(&mut aad);
        let nonce: [u8; 12] = rng.random();
        let oracle = aes_gcm::AesGcm::<sm4::Sm4, U12>::new(&key.into());
        let expect = oracle
            .encrypt(
                &nonce.into(),
                aes_gcm::aead::Payload {
                    msg: &pt,
                    aad: &aad,
                },
            )
            .unwrap();
        for sm4 in all_backends(&key) {
            let backend = sm4.backend();
            let gcm = Sm4GcmGeneric::with_cipher(sm4);
            let mut buf = pt.clone();
            let mut tag = [0u8; 16];
            gcm.seal_in_place_detached(&nonce, &aad, &mut buf, &mut tag)
                .unwrap();
            assert_eq!(&buf[..], &expect[..len], "{backend:?} len {len} ct");
            assert_eq!(&tag[..], &expect[len..], "{backend:?} len {len} tag");
            gcm.open_in_place_detached(&nonce, &aad, &mut buf, &tag)
                .unwrap();
            assert_eq!(buf, pt, "{backend:?} len {len} open");
            if len > 0 {
                let mut bad = expect[..len].to_vec();
                bad[len / 2] ^= 0x40;
                assert_eq!(
                    gcm.open_in_place_detached(&nonce, &aad, &mut bad, &tag),
                    Err(Error::TagMismatch),
                    "{backend:?} len {len} forgery"
                );
                assert!(bad.iter().all(|&b| b == 0));
            }
        }
    }
}

/// SM4-CCM (the interleaved MAC + CTR path) against RustCrypto `ccm` over
/// the table-based `sm4`, on every backend, seal and open: the RFC 8998
/// profile (12-byte nonce, 16-byte tag) on random lengths 0..4096 with odd
/// tails and random AAD, and other nonce/tag sizes.
#[test]
fn ccm_cross_check_against_rustcrypto_ccm_with_sm4() {
    use ccm::consts::{U10, U12, U13, U16, U4, U7, U8};
    use ccm::{AeadInOut as _, KeyInit as _};

    /// Seals with `ccm::Ccm<sm4::Sm4, TAG, NONCE>`: ciphertext || tag.
    macro_rules! oracle {
        ($t:ty, $n:ty, $key:expr, $nonce:expr, $aad:expr, $pt:expr) => {{
            let c = ccm::Ccm::<sm4::Sm4, $t, $n>::new(&(*$key).into());
            let mut buf = $pt.to_vec();
            let tag = c
                .encrypt_inout_detached(
                    $nonce[..].try_into().expect("nonce size"),
                    $aad,
                    buf.as_mut_slice().into(),
                )
                .unwrap();
            [buf, tag.to_vec()].concat()
        }};
    }

    let mut rng = rand::rng();
    for (i, len) in cross_check_lengths(&mut rng, 80).into_iter().enumerate() {
        let key: [u8; 16] = rng.random();
        let mut pt = vec![0u8; len];
        rng.fill_bytes(&mut pt);
        let aad_len = if i % 3 == 0 {
            0
        } else {
            rng.random_range(0..70)
        };
        let mut aad = vec![0u8; aad_len];
        rng.fill_bytes(&mut aad);
        let (nlen, tlen) = [(12, 16), (7, 8), (13, 4), (10, 12), (12, 10)][i % 5];
        let mut nonce = vec![0u8; nlen];
        rng.fill_bytes(&mut nonce);
        let expect = match (nlen, tlen) {
            (12, 16) => oracle!(U16, U12, &key, nonce, &aad, pt),
            (7, 8) => oracle!(U8, U7, &key, nonce, &aad, pt),
            (13, 4) => oracle!(U4, U13, &key, nonce, &aad, pt),
            (10, 12) => oracle!(U12, U10, &key, nonce, &aad, pt),
            _ => oracle!(U10, U12, &key, nonce, &aad, pt),
        };
        for sm4 in all_backends(&key) {
            let backend = sm4.backend();
            let ccm = Sm4CcmGeneric::with_cipher(sm4);
            let mut buf = pt.clone();
            let mut tag = vec![0u8; tlen];
            ccm.seal_in_place_detached(&nonce, &aad, &mut buf, &mut tag)
                .unwrap();
            assert_eq!(&buf[..], &expect[..len], "{backend:?} len {len} ct");
            assert_eq!(&tag[..], &expect[len..], "{backend:?} len {len} tag");
            ccm.open_in_place_detached(&nonce, &aad, &mut buf, &tag)
                .unwrap();
            assert_eq!(buf, pt, "{backend:?} len {len} open");
            if len > 0 {
                let mut bad = expect[..len].to_vec();
                bad[len - 1] ^= 0x01;
                assert_eq!(
                    ccm.open_in_place_detached(&nonce, &aad, &mut bad, &tag),
                    Err(Error::TagMismatch),
                    "{backend:?} len {len} forgery"
                );
                assert!(bad.iter().all(|&b| b == 0));
            }
        }
    }
}
