//! SM4 block-cipher tests, run over every backend the CPU supports.

mod common;

use cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use common::{all_backends, h16};
use gm_sm4::{Backend, Sm4};
use rand::{Rng, RngCore};

#[test]
fn at_least_soft_backend_is_tested() {
    let names: Vec<_> = Backend::available().iter().map(|b| b.name()).collect();
    eprintln!("backends under test: {names:?}");
    assert!(names.contains(&"soft"));
}

/// GB/T 32907-2016 example 1 (also draft-ribose-cfrg-sm4-10 A.1).
#[test]
fn gbt32907_example1_all_backends() {
    let key = h16("0123456789abcdeffedcba9876543210");
    let ct = h16("681edf34d206965e86b3e94f536e4246");
    for sm4 in all_backends(&key) {
        let mut b = key.into();
        sm4.encrypt_block(&mut b);
        assert_eq!(b.0, ct, "{:?}", sm4.backend());
        sm4.decrypt_block(&mut b);
        assert_eq!(b.0, key, "{:?}", sm4.backend());
    }
}

/// GB/T 32907-2016 example 2: 1,000,000 iterations of example 1.
#[test]
fn gbt32907_example2_million_iterations() {
    let key = h16("0123456789abcdeffedcba9876543210");
    let ct = h16("595298c7c6fd271f0402f804c33d3f66");
    for sm4 in all_backends(&key) {
        if sm4.backend() == Backend::Soft && cfg!(debug_assertions) {
            continue; // covered by the release-mode vector run
        }
        let mut b = key.into();
        for _ in 0..1_000_000 {
            sm4.encrypt_block(&mut b);
        }
        assert_eq!(b.0, ct, "{:?}", sm4.backend());
    }
}

/// Every backend against the table-based RustCrypto `sm4` (test oracle) on
/// 10,000 random keys, each with a random batch of 1..=40 random blocks (all
/// batch sizes, so every backend's group and tail paths are exercised).
#[test]
fn cross_check_against_rustcrypto_sm4() {
    let mut rng = rand::rng();
    let mut total = 0usize;
    for round in 0..10_000 {
        let key: [u8; 16] = rng.random();
        let oracle = sm4::Sm4::new(&key.into());
        let n = 1 + round % 40;
        let mut blocks = vec![[0u8; 16]; n];
        for b in blocks.iter_mut() {
            rng.fill_bytes(b);
        }
        let mut expect: Vec<cipher::Block<sm4::Sm4>> = blocks.iter().map(|b| (*b).into()).collect();
        oracle.encrypt_blocks(&mut expect);
        for sm4 in all_backends(&key) {
            let mut got: Vec<cipher::Block<Sm4>> = blocks.iter().map(|b| (*b).into()).collect();
            sm4.encrypt_blocks(&mut got);
            for (g, e) in got.iter().zip(&expect) {
                assert_eq!(g.0, e.0, "backend {:?} key {key:02x?}", sm4.backend());
            }
            sm4.decrypt_blocks(&mut got);
            for (g, b) in got.iter().zip(&blocks) {
                assert_eq!(&g.0, b, "decrypt backend {:?}", sm4.backend());
            }
        }
        total += n;
    }
    assert!(total >= 100_000, "only {total} blocks checked");
}

#[test]
fn backend_names_round_trip() {
    for b in Backend::ALL {
        assert_eq!(b.name().parse::<Backend>().unwrap(), b);
    }
    assert!("table".parse::<Backend>().is_err());
}

#[test]
fn unavailable_backend_is_an_error_not_a_panic() {
    for b in Backend::ALL {
        let r = Sm4::new_with_backend(&[0; 16], b);
        assert_eq!(r.is_ok(), b.is_available());
    }
}

/// The single-block API (the latency-optimised one-block path) against the
/// oracle on random keys and blocks, encryption and decryption.
#[test]
fn single_block_path_matches_oracle() {
    let mut rng = rand::rng();
    for _ in 0..3000 {
        let key: [u8; 16] = rng.random();
        let block: [u8; 16] = rng.random();
        let oracle = sm4::Sm4::new(&key.into());
        let mut expect = block.into();
        oracle.encrypt_block(&mut expect);
        for sm4 in all_backends(&key) {
            let mut b = block.into();
            sm4.encrypt_block(&mut b);
            assert_eq!(b.0, expect.0, "{:?}", sm4.backend());
            sm4.decrypt_block(&mut b);
            assert_eq!(b.0, block, "{:?} decrypt", sm4.backend());
        }
    }
}

/// SM4-CBC (encryption is a chain of single-block calls) against
/// `cbc` over the table-based `sm4`, every backend, 0..=256 blocks.
#[test]
fn cbc_matches_oracle() {
    use cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
    let mut rng = rand::rng();
    for i in 0..150usize {
        let n = if i < 40 { i } else { rng.random_range(0..=256) };
        let key: [u8; 16] = rng.random();
        let iv: [u8; 16] = rng.random();
        let mut data = vec![[0u8; 16]; n];
        for b in data.iter_mut() {
            rng.fill_bytes(b);
        }
        let mut expect: Vec<cipher::Block<sm4::Sm4>> = data.iter().map(|b| (*b).into()).collect();
        cbc::Encryptor::<sm4::Sm4>::new(&key.into(), &iv.into()).encrypt_blocks(&mut expect);
        for sm4 in all_backends(&key) {
            let backend = sm4.backend();
            let mut got: Vec<cipher::Block<Sm4>> = data.iter().map(|b| (*b).into()).collect();
            gm_sm4::modes::cbc_encryptor(sm4.clone(), &iv).encrypt_blocks(&mut got);
            for (g, e) in got.iter().zip(&expect) {
                assert_eq!(g.0, e.0, "{backend:?} {n} blocks");
            }
            gm_sm4::modes::cbc_decryptor(sm4, &iv).decrypt_blocks(&mut got);
            for (g, d) in got.iter().zip(&data) {
                assert_eq!(&g.0, d, "{backend:?} {n} blocks decrypt");
            }
        }
    }
}
