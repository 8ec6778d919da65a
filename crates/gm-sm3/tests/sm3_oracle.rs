//! SM3 against the standard's known answers and against the RustCrypto
//! `sm3` crate (a dev-dependency used only as a test oracle), for every
//! message length up to 300 bytes and some long messages, fed in random
//! chunks.

use gm_sm3::digest::Digest;
use gm_sm3::hmac::{KeyInit, Mac};
use gm_sm3::Sm3;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test hex")
}

/// SplitMix64: a small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

fn oracle(data: &[u8]) -> Vec<u8> {
    sm3::Sm3::digest(data).to_vec()
}

/// Hashes `data` with `Sm3` fed in random-sized pieces (empty ones included).
fn chunked(data: &[u8], rng: &mut Rng, max_chunk: usize) -> Vec<u8> {
    let mut hasher = Sm3::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = rng.below(max_chunk + 1).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        hasher.update(piece);
        rest = tail;
    }
    hasher.finalize().to_vec()
}

// Source: GB/T 32905-2016 Annex A, examples 1 and 2 (also GM/T 0004-2012
// Annex A), as transcribed in /work/shared/reference/gm-vectors/sm3.json ids
// gbt32905-example1-abc and gbt32905-example2-abcd16.
#[test]
fn gbt32905_annex_a_examples() {
    let cases: [(&[u8], &str); 2] = [
        (
            b"abc",
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
        ),
        (
            b"abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd",
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
        ),
    ];
    for (msg, want) in cases {
        let want = h(want);
        assert_eq!(gm_sm3::sm3(msg).to_vec(), want);
        assert_eq!(Sm3::digest(msg).to_vec(), want);
        // Byte by byte through the buffered API.
        let mut hasher = Sm3::new();
        for b in msg {
            hasher.update([*b]);
        }
        assert_eq!(hasher.finalize().to_vec(), want);
    }
}

#[test]
fn every_length_up_to_300_matches_oracle() {
    let mut rng = Rng(0x5eed_0001);
    for len in 0..=300 {
        for _ in 0..4 {
            let data = rng.bytes(len);
            let want = oracle(&data);
            assert_eq!(gm_sm3::sm3(&data).to_vec(), want, "one-shot, len {len}");
            assert_eq!(chunked(&data, &mut rng, 70), want, "chunked, len {len}");
            assert_eq!(chunked(&data, &mut rng, 3), want, "small chunks, len {len}");
        }
    }
}

#[test]
fn long_messages_match_oracle() {
    let mut rng = Rng(0x5eed_0002);
    let mut lens = vec![
        1023,
        1024,
        1025,
        4096,
        8191,
        8192,
        8193,
        65_536,
        100 * 1024 - 1,
        100 * 1024,
    ];
    for _ in 0..8 {
        lens.push(300 + rng.below(100 * 1024 - 300));
    }
    for len in lens {
        let data = rng.bytes(len);
        let want = oracle(&data);
        assert_eq!(gm_sm3::sm3(&data).to_vec(), want, "one-shot, len {len}");
        assert_eq!(chunked(&data, &mut rng, 5000), want, "chunked, len {len}");
        assert_eq!(
            chunked(&data, &mut rng, 200),
            want,
            "small chunks, len {len}"
        );
    }
}

#[test]
fn all_byte_values_and_patterns_match_oracle() {
    // Words with every bit set or clear exercise the carries and rotations.
    for fill in [0x00u8, 0xff, 0x80, 0x01, 0x55, 0xaa] {
        for len in [55, 56, 63, 64, 65, 119, 120, 128, 1000] {
            let data = vec![fill; len];
            assert_eq!(
                gm_sm3::sm3(&data).to_vec(),
                oracle(&data),
                "fill {fill:#x} len {len}"
            );
        }
    }
    let all: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    assert_eq!(gm_sm3::sm3(&all).to_vec(), oracle(&all));
}

#[test]
fn clone_reset_and_finalize_reset() {
    let mut rng = Rng(0x5eed_0003);
    let prefix = rng.bytes(100);
    let suffix = rng.bytes(77);
    let mut a = Sm3::new();
    a.update(&prefix);
    let mut b = a.clone();
    b.update(&suffix);
    assert_eq!(
        b.finalize().to_vec(),
        oracle(&[&prefix[..], &suffix[..]].concat())
    );
    assert_eq!(a.clone().finalize().to_vec(), oracle(&prefix));

    let first = a.finalize_reset().to_vec();
    assert_eq!(first, oracle(&prefix));
    a.update(b"abc");
    assert_eq!(a.finalize().to_vec(), oracle(b"abc"));

    let mut c = Sm3::default();
    c.update(&suffix);
    Digest::reset(&mut c);
    assert_eq!(c.finalize().to_vec(), oracle(b""));
}

#[test]
fn serialized_state_matches_oracle() {
    use gm_sm3::digest::common::hazmat::SerializableState;
    let mut rng = Rng(0x5eed_0004);
    for len in [0, 1, 63, 64, 65, 200] {
        let data = rng.bytes(len);
        let mut ours = Sm3::new();
        ours.update(&data);
        let mut theirs = sm3::Sm3::new();
        theirs.update(&data);
        let state = ours.serialize();
        assert_eq!(state[..], theirs.serialize()[..], "len {len}");
        let mut restored = Sm3::deserialize(&state).expect("valid state");
        restored.update(b"tail");
        ours.update(b"tail");
        assert_eq!(restored.finalize(), ours.finalize());
    }
}

#[test]
fn hmac_and_hkdf_match_oracle() {
    let mut rng = Rng(0x5eed_0005);
    for key_len in [0, 1, 16, 32, 63, 64, 65, 100, 200] {
        for msg_len in [0, 1, 55, 64, 65, 300, 1000] {
            let key = rng.bytes(key_len);
            let msg = rng.bytes(msg_len);
            let mut oracle_mac =
                hmac::Hmac::<sm3::Sm3>::new_from_slice(&key).expect("any key length");
            oracle_mac.update(&msg);
            let want = oracle_mac.finalize().into_bytes().to_vec();
            assert_eq!(gm_sm3::hmac_sm3(&key, &msg).to_vec(), want);
            let mut mac = gm_sm3::HmacSm3::new_from_slice(&key).expect("any key length");
            mac.update(&msg);
            assert_eq!(mac.finalize().into_bytes().to_vec(), want);

            let mut okm = [0u8; 80];
            gm_sm3::hkdf_sm3(&key, &msg, b"info", &mut okm).expect("80 bytes");
            let mut want_okm = [0u8; 80];
            hkdf::Hkdf::<sm3::Sm3>::new(Some(&key), &msg)
                .expand(b"info", &mut want_okm)
                .expect("80 bytes");
            assert_eq!(okm, want_okm);
        }
    }
}

#[test]
fn oid_is_gmt_sm3() {
    use gm_sm3::digest::const_oid::AssociatedOid;
    assert_eq!(Sm3::OID.to_string(), "1.2.156.10197.1.401");
}
