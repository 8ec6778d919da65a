//! `ct_sm2`: runs gm-sm2's secret-key operations with the secrets marked
//! undefined for valgrind memcheck, so that memcheck reports every branch or
//! memory index that depends on a private key, nonce, ephemeral key or
//! plaintext.
//!
//! ```text
//! ct_sm2 [--field adx|adx-portable-scans] [--parts PART,PART,..]
//! ```
//!
//! * `--field adx`: use gm-sm2's x86-64 backend, the MULX/ADX field
//!   assembly (plus AVX2 table scans when CPUID reports AVX2), if
//!   `/proc/cpuinfo` lists the instructions. Valgrind hides ADX from CPUID,
//!   so without this option the run checks the portable field code and
//!   portable scans. Exit status 2 if the CPU does not have them.
//!   `--field adx-portable-scans`: the assembly with the portable table
//!   scans (what a CPU with ADX but without AVX2 runs).
//! * `PART`: `keygen` (private key from bytes: range check and `[d]G`),
//!   `sign` (SigningKey setup and hedged signing of several digests),
//!   `sign-pool` (signing with batched nonce precomputation, more than one
//!   batch),
//!   `sign-k` (signing with a given secret nonce: GB/T 32918.5 Annex A),
//!   `decrypt` (decryption of all five layouts, GB/T 32918.5 Annex C, plus a
//!   tampered C3), `kex` (key exchange with secret static and ephemeral
//!   keys, GB/T 32918.5 Annex B, both roles), `ecdh` (TLS curveSM2 ECDH:
//!   public point and shared x from secret scalars, both sides).
//!   Default: all of these.
//!   `control` (only when named): the negative control, variable-time
//!   verification (wNAF) of a signature marked secret, which memcheck must
//!   report.
//!
//! Secret: the private keys d, the nonce k, the ephemeral keys r_A/r_B, and
//! the plaintext on its way out of decryption. Public: messages, digests,
//! ciphertexts, public keys of the peer, all lengths. Declassified before
//! the harness compares or hashes them: signatures, derived public keys,
//! decrypted plaintexts, shared keys and confirmation values, and the
//! accept/reject verdicts (the permitted leaks, see `valgrind-sm2.supp`).
//!
//! Prints `valgrind yes|no`, `field mulx-adx+avx2|mulx-adx|portable`, then
//! `digest sm2 PART HEX` for the parts with
//! deterministic outputs. Exit status: 0 when every output was right, 1 when
//! one was wrong, 2 on a usage error.
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::process::ExitCode;

use ct_check::{mark_public, mark_secret, running_on_valgrind};
use gm_sm2::{
    hazmat, CiphertextFormat, Error, PrivateKey, PublicKey, Role, SigningKey, VerifyingKey,
    DEFAULT_ID,
};

const PARTS: [&str; 7] = [
    "keygen",
    "sign",
    "sign-pool",
    "sign-k",
    "decrypt",
    "kex",
    "ecdh",
];
/// The negative control, run only when asked for: variable-time
/// verification fed a secret-marked signature. Memcheck must report it,
/// or the secrets are not reaching memcheck.
const CONTROL: &str = "control";

/// GB/T 32918.5-2017 Annex A/C key (d_A) and its public key.
const D_A: &str = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
const P_A: &str = "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";
/// Annex A: k, e and (r, s) for "message digest" with ID 1234567812345678.
const SIGN_K: &str = "59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21";
const SIGN_E: &str = "f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640";
const SIGN_RS: &str = "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa";
/// Annex C: C1C3C2 ciphertext of "encryption standard" under P_A.
const ENC_CT: &str = "0404ebfc718e8d1798620432268e77feb6415e2ede0e073c0f4f640ecd2e149a73e858f9d81e5430a57b36daab8f950a3c64e6ee6a63094d99283aff767e124df059983c18f809e262923c53aec295d30383b54e39d609d160afcb1908d0bd876621886ca989ca9c7d58087307ca93092d651efa";
/// Annex B: static and ephemeral keys of A and B, and the shared K.
const KEX_DA: &str = "81eb26e941bb5af16df116495f90695272ae2cd63d6c4ae1678418be48230029";
const KEX_RA: &str = "d4de15474db74d06491c440d305e012400990f3e390c7e87153c12db2ea60bb3";
const KEX_DB: &str = "785129917d45a9ea5437a59356b82338eaadda6ceb199088f14ae10defa229b5";
const KEX_RB: &str = "7e07124814b309489125eaed101113164ebf0f3458c5bd88335c1f9d596243d6";
const KEX_K: &str = "6c89347354de2484c60b4ab1fde4c6e5";
const KEX_SB: &str = "d3a0fe15dee185ceae907a6b595cc32a266ed7b3367e9983a896dc32fa20f8eb";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex constant"))
        .collect()
}

fn arr32(s: &str) -> [u8; 32] {
    unhex(s).try_into().expect("32-byte constant")
}

/// FNV-1a over declassified outputs.
struct Report {
    digest: u64,
    failures: Vec<String>,
}

impl Report {
    fn new() -> Self {
        Report {
            digest: 0xcbf2_9ce4_8422_2325,
            failures: Vec::new(),
        }
    }

    fn absorb(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.digest = (self.digest ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn check(&mut self, ok: bool, what: &str) {
        if !ok {
            self.failures.push(what.to_owned());
        }
    }
}

/// A private key built from secret bytes (the range-check verdict is the
/// permitted leak).
fn secret_key(hex: &str) -> PrivateKey {
    let d = arr32(hex);
    mark_secret(&d);
    let key = PrivateKey::from_bytes(black_box(&d)).expect("valid key");
    // [d]G is public: declassify it by copying it out.
    let pk = key.public_key().to_sec1_bytes();
    mark_public(&pk);
    key
}

/// The public key of `key` as the peer sees it: parsed from declassified
/// bytes (a key derived from a secret-marked scalar stays marked inside the
/// `PrivateKey`).
fn public_of(key: &PrivateKey) -> PublicKey {
    let bytes = key.public_key().to_sec1_bytes();
    mark_public(&bytes);
    PublicKey::from_sec1_bytes(&bytes).expect("valid public key")
}

fn keygen(rep: &mut Report) {
    for d in [D_A, KEX_DA, KEX_DB] {
        let key = secret_key(d);
        let pk = key.public_key().to_sec1_bytes();
        mark_public(&pk);
        rep.absorb(&pk);
    }
    let key = secret_key(D_A);
    let pk = key.public_key().to_sec1_bytes();
    mark_public(&pk);
    rep.check(pk[..] == unhex(P_A)[..], "Annex A/C public key");
    // An out-of-range scalar (n) is refused.
    let n = arr32("fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123");
    mark_secret(&n);
    let refused = PrivateKey::from_bytes(black_box(&n)).is_err();
    rep.check(refused, "d = n refused");
}

fn sign(rep: &mut Report) {
    let key = secret_key(D_A);
    let signer = SigningKey::new(&key, DEFAULT_ID).expect("signing key");
    let pk = PublicKey::from_sec1_bytes(&unhex(P_A)).expect("public key");
    let verifier = VerifyingKey::new(&pk, DEFAULT_ID).expect("verifying key");
    for msg in [&b"message digest"[..], b"", &[0x5a; 200][..]] {
        let mut e = signer.digest(msg);
        mark_public(&e);
        e = black_box(e);
        let sig = signer.sign_digest(&e).expect("sign");
        let bytes = sig.to_bytes();
        mark_public(&bytes);
        let sig = gm_sm2::Signature::from_bytes(&bytes).expect("in range");
        rep.check(
            verifier.verify_digest(&e, &sig).is_ok(),
            "hedged signature verifies",
        );
    }
}

fn sign_pool(rep: &mut Report) {
    let key = secret_key(D_A);
    let mut signer = SigningKey::new(&key, DEFAULT_ID).expect("signing key");
    signer.enable_nonce_pool();
    let pk = PublicKey::from_sec1_bytes(&unhex(P_A)).expect("public key");
    let verifier = VerifyingKey::new(&pk, DEFAULT_ID).expect("verifying key");
    // 70 signatures: a full batch of 64 and part of a second.
    let mut all_ok = true;
    for i in 0..70u8 {
        // The digest from the public side (Z of the declassified key).
        let e = verifier.digest(&[i; 7]);
        let sig = signer.sign_digest(&e).expect("sign");
        let bytes = sig.to_bytes();
        mark_public(&bytes);
        let sig = gm_sm2::Signature::from_bytes(&bytes).expect("in range");
        all_ok &= verifier.verify_digest(&e, &sig).is_ok();
    }
    rep.check(all_ok, "pooled signatures verify");
}

fn sign_k(rep: &mut Report) {
    let key = secret_key(D_A);
    let k = arr32(SIGN_K);
    mark_secret(&k);
    let sig = hazmat::sign_digest_with_k(&key, &arr32(SIGN_E), black_box(&k)).expect("sign");
    let bytes = sig.to_bytes();
    mark_public(&bytes);
    rep.absorb(&bytes);
    rep.check(bytes[..] == unhex(SIGN_RS)[..], "Annex A (r, s)");
}

fn decrypt(rep: &mut Report) {
    let key = secret_key(D_A);
    let ct =
        gm_sm2::Ciphertext::from_bytes(&unhex(ENC_CT), CiphertextFormat::C1C3C2).expect("parse");
    for format in CiphertextFormat::ALL {
        let encoded = ct.to_bytes(format);
        let plain = key.decrypt(&encoded, format).expect("decrypt");
        mark_public(&plain);
        rep.absorb(&plain);
        rep.check(&plain[..] == b"encryption standard", "Annex C plaintext");
    }
    let mut bad = unhex(ENC_CT);
    bad[70] ^= 1; // inside C3
                  // Only the accept/reject verdict is declassified (by the library's
                  // branch on it). Which check failed (C3 or an all-zero KDF output) is
                  // still secret-derived: it is compared natively only, and the error is
                  // forgotten rather than dropped (its drop glue branches on the variant).
    let verdict = key.decrypt(&bad, CiphertextFormat::C1C3C2).map(|_| ());
    rep.check(verdict.is_err(), "tampered C3 rejected");
    if !running_on_valgrind() {
        rep.check(
            verdict == Err(Error::HashMismatch),
            "tampered C3: HashMismatch",
        );
    }
    std::mem::forget(verdict);
}

fn kex(rep: &mut Report) {
    let key_a = secret_key(KEX_DA);
    let key_b = secret_key(KEX_DB);
    let pub_a = public_of(&key_a);
    let pub_b = public_of(&key_b);
    let (ra, rb) = (arr32(KEX_RA), arr32(KEX_RB));
    mark_secret(&ra);
    mark_secret(&rb);
    let alice = hazmat::key_exchange_with_ephemeral(
        Role::Initiator,
        &key_a,
        DEFAULT_ID,
        &pub_b,
        DEFAULT_ID,
        &ra,
    )
    .expect("A");
    let bob = hazmat::key_exchange_with_ephemeral(
        Role::Responder,
        &key_b,
        DEFAULT_ID,
        &pub_a,
        DEFAULT_ID,
        &rb,
    )
    .expect("B");
    let (big_ra, big_rb) = (alice.ephemeral_public(), bob.ephemeral_public());
    mark_public(&big_ra);
    mark_public(&big_rb);
    let out_b = bob.finish(&big_ra, 16).expect("B finish");
    let out_a = alice.finish(&big_rb, 16).expect("A finish");
    let (ka, kb) = (out_a.key().to_vec(), out_b.key().to_vec());
    let (sa, sb) = (*out_a.confirmation(), *out_b.confirmation());
    for v in [&ka[..], &kb[..], &sa[..], &sb[..]] {
        mark_public(v);
        rep.absorb(v);
    }
    rep.check(ka == unhex(KEX_K) && kb == ka, "Annex B K");
    rep.check(sb[..] == unhex(KEX_SB)[..], "Annex B S_B");
    rep.check(out_a.verify_peer_confirmation(&sb).is_ok(), "A accepts S_B");
    rep.check(out_b.verify_peer_confirmation(&sa).is_ok(), "B accepts S_A");
}

fn ecdh(rep: &mut Report) {
    // Two secret scalars (the Annex B ephemeral keys, used here as plain
    // ECDH secrets); each side's public point is declassified as it goes
    // on the wire.
    let (a, b) = (arr32(KEX_RA), arr32(KEX_RB));
    mark_secret(&a);
    mark_secret(&b);
    let alice = hazmat::ecdh_with_secret(black_box(&a)).expect("secret a");
    let bob = hazmat::ecdh_with_secret(black_box(&b)).expect("secret b");
    let (pa, pb) = (*alice.public_key(), *bob.public_key());
    mark_public(&pa);
    mark_public(&pb);
    let za = alice.diffie_hellman(&pb).expect("A shared");
    let zb = bob.diffie_hellman(&pa).expect("B shared");
    mark_public(&za[..]);
    mark_public(&zb[..]);
    rep.absorb(&pa);
    rep.absorb(&za[..]);
    rep.check(za[..] == zb[..], "both sides derive the same x");
}

fn control(rep: &mut Report) {
    let pk = PublicKey::from_sec1_bytes(&unhex(P_A)).expect("public key");
    let verifier = VerifyingKey::new(&pk, DEFAULT_ID).expect("verifying key");
    let rs = unhex(SIGN_RS);
    mark_secret(&rs);
    let sig = gm_sm2::Signature::from_bytes(black_box(&rs)).expect("in range");
    let ok = verifier.verify_digest(&arr32(SIGN_E), &sig).is_ok();
    rep.check(ok, "Annex A signature verifies");
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: ct_sm2 [--field adx|adx-portable-scans] [--parts {}]",
        PARTS.join(",")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut parts: Vec<&str> = PARTS.to_vec();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let list = match arg.as_str() {
            "--field" => {
                let avx2_scans = match args.next().as_deref() {
                    Some("adx") => true,
                    Some("adx-portable-scans") => false,
                    _ => return usage(),
                };
                if !hazmat::enable_adx_from_proc_cpuinfo(avx2_scans) {
                    eprintln!("ct_sm2: --field: /proc/cpuinfo does not list bmi2 and adx");
                    return ExitCode::from(2);
                }
                continue;
            }
            "--parts" => args.next().unwrap_or_default(),
            other => match other.strip_prefix("--parts=") {
                Some(l) => l.to_owned(),
                None => return usage(),
            },
        };
        let chosen: Option<Vec<&str>> = list
            .split(',')
            .map(|p| {
                PARTS
                    .iter()
                    .chain(&[CONTROL])
                    .copied()
                    .find(|&q| q == p.trim())
            })
            .collect();
        match chosen {
            Some(c) if !c.is_empty() => parts = c,
            _ => {
                eprintln!("ct_sm2: bad part list `{list}`; parts: {}", PARTS.join(","));
                return ExitCode::from(2);
            }
        }
    }
    println!(
        "valgrind {}",
        if running_on_valgrind() { "yes" } else { "no" }
    );
    println!("field {}", gm_sm2::field_backend());
    let mut failed = false;
    for part in parts {
        eprintln!("ct_sm2: {part}");
        let mut rep = Report::new();
        match part {
            "keygen" => keygen(&mut rep),
            "sign" => sign(&mut rep),
            "sign-pool" => sign_pool(&mut rep),
            "sign-k" => sign_k(&mut rep),
            "decrypt" => decrypt(&mut rep),
            "kex" => kex(&mut rep),
            "ecdh" => ecdh(&mut rep),
            _ => control(&mut rep),
        }
        println!("digest sm2 {part} {:016x}", rep.digest);
        for f in &rep.failures {
            eprintln!("ct_sm2: FAILED {part}: {f}");
        }
        failed |= !rep.failures.is_empty();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
