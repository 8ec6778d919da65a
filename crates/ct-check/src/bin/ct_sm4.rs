//! `ct_sm4`: runs SM4 on secret inputs marked undefined for valgrind
//! memcheck, so that memcheck reports every branch or memory index that
//! depends on a key, plaintext, IV or nonce byte.
//!
//! ```text
//! ct_sm4 [--parts PART,PART,..] [SUBJECT..]
//! ```
//!
//! * `SUBJECT`: a gm-sm4 backend (`soft`, `aesni-avx2`, `gfni-avx512`,
//!   `auto`) or `rustcrypto-sm4`, the table-based RustCrypto `sm4` crate that
//!   serves as the negative control (valgrind must report it). Without a
//!   subject: the comma-separated list in `GMKIT_SM4_BACKEND`, else every
//!   backend this CPU has (less `gfni-avx512` under valgrind, which cannot
//!   run AVX-512).
//! * `PART`: `key` (key schedule), `block` (1 block through the single-block
//!   API, then 1, 2, 15, 16, 17 and 33 blocks), `cbc`, `ctr`, `gcm`, `ccm`
//!   (seal, then open with the valid tag, a tampered tag, a tampered
//!   ciphertext and tampered AAD). Default: all. `gcm` and `ccm` exist only
//!   for gm-sm4 backends.
//!
//! Secret: key, plaintext, IV, nonce, and ciphertext and tag on the way into
//! decryption or opening. Public: all lengths and the AAD. Declassified: each
//! output before it is hashed or compared, and the accept/reject verdict of a
//! tag check (the one permitted leak) before the harness branches on it.
//!
//! Prints `valgrind yes|no`, then for each subject and part a line
//! `digest SUBJECT PART HEX`, a hash of the declassified outputs: the inputs
//! depend only on the part, so every subject must print the same digest.
//! Progress goes to stderr (`ct_sm4: SUBJECT PART`), interleaved with
//! valgrind's reports, so each report can be attributed to a part.
//!
//! Exit status: 0 when every output was right, 1 when one was wrong, 2 on a
//! usage error or an unavailable backend (under valgrind, its
//! `--error-exitcode` takes precedence when memcheck reported errors).
#![forbid(unsafe_code)]

use std::fmt;
use std::hint::black_box;
use std::process::ExitCode;

use cipher::consts::U16;
use cipher::{
    Array, Block, BlockCipherDecrypt, BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt,
    InnerIvInit, KeyInit, StreamCipher,
};
use ct_check::{mark_public, mark_secret, running_on_valgrind};
use gm_sm4::{Backend, Error, Sm4, Sm4CcmGeneric, Sm4GcmGeneric};

/// The environment variable gm-sm4 reads to force a backend; here it may
/// list several, comma-separated.
const BACKEND_ENV: &str = "GMKIT_SM4_BACKEND";

/// Name of the negative-control subject.
const RUSTCRYPTO: &str = "rustcrypto-sm4";

/// Block counts for the raw block API (tails, one full 16-block batch, more).
const BLOCK_COUNTS: [usize; 6] = [1, 2, 15, 16, 17, 33];
/// Block counts for CBC.
const CBC_BLOCKS: [usize; 4] = [1, 2, 17, 33];
/// Byte lengths for CTR.
const CTR_LENS: [usize; 6] = [1, 15, 16, 17, 64, 33 * 16 + 5];

/// One AEAD case; every length is public.
#[derive(Clone, Copy, Debug)]
struct AeadCase {
    nonce: usize,
    aad: usize,
    msg: usize,
    tag: usize,
}

const fn case(nonce: usize, aad: usize, msg: usize, tag: usize) -> AeadCase {
    AeadCase {
        nonce,
        aad,
        msg,
        tag,
    }
}

/// GCM: the 96-bit nonce of RFC 8998 and other lengths (hashed by GHASH).
/// Messages of 512 bytes or more run the fused CTR + GHASH kernel of the
/// SIMD backends (steps of 32 blocks); from 1024 bytes on, its seal hashes
/// the previous step's ciphertext while encrypting the next one.
const GCM_CASES: [AeadCase; 11] = [
    case(12, 0, 0, 16),
    case(12, 13, 1, 16),
    case(12, 20, 16, 16),
    case(12, 0, 17, 16),
    case(12, 7, 33 * 16 + 5, 16),
    case(12, 0, 32 * 16, 16),
    case(12, 9, 3 * 32 * 16 + 16 + 7, 16),
    case(12, 16, 64, 12),
    case(8, 5, 31, 16),
    case(60, 3, 40, 16),
    case(1, 0, 16, 8),
];

/// CCM: nonce lengths 7..=13 and several tag lengths. Every payload block
/// runs the interleaved path (CBC-MAC block and counter block encrypted
/// together), including partial last blocks.
const CCM_CASES: [AeadCase; 7] = [
    case(12, 0, 0, 16),
    case(12, 13, 1, 16),
    case(12, 20, 16, 16),
    case(13, 0, 33 * 16 + 5, 16),
    case(7, 5, 33, 8),
    case(10, 300, 17, 4),
    case(11, 24, 64, 10),
];

/// A stage of the harness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Key,
    Block,
    Cbc,
    Ctr,
    Gcm,
    Ccm,
}

impl Part {
    const ALL: [Part; 6] = [
        Part::Key,
        Part::Block,
        Part::Cbc,
        Part::Ctr,
        Part::Gcm,
        Part::Ccm,
    ];

    fn name(self) -> &'static str {
        match self {
            Part::Key => "key",
            Part::Block => "block",
            Part::Cbc => "cbc",
            Part::Ctr => "ctr",
            Part::Gcm => "gcm",
            Part::Ccm => "ccm",
        }
    }

    fn parse(name: &str) -> Option<Part> {
        Self::ALL.into_iter().find(|p| p.name() == name.trim())
    }

    fn is_aead(self) -> bool {
        matches!(self, Part::Gcm | Part::Ccm)
    }
}

/// What runs the harness: a gm-sm4 backend or the table-based control.
#[derive(Clone, Copy, Debug)]
enum Subject {
    Gm(Backend),
    RustCrypto,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Gm(b) => f.write_str(b.name()),
            Subject::RustCrypto => f.write_str(RUSTCRYPTO),
        }
    }
}

/// Deterministic, public test inputs (xorshift64*); the seed goes through
/// `black_box` so that the compiler cannot fold the inputs into constants.
struct Inputs(u64);

impl Inputs {
    fn new(part: Part) -> Self {
        Inputs(black_box(0x9e37_79b9_7f4a_7c15 ^ (part as u64 + 1)))
    }

    fn next_byte(&mut self) -> u8 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        core::array::from_fn(|_| self.next_byte())
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_byte()).collect()
    }

    fn blocks(&mut self, count: usize) -> Vec<Array<u8, U16>> {
        (0..count)
            .map(|_| Array::from(self.array::<16>()))
            .collect()
    }

    /// A fresh key, marked secret.
    fn secret_key(&mut self) -> [u8; 16] {
        let key = self.array();
        mark_secret(&key);
        key
    }
}

fn flat(blocks: &[Array<u8, U16>]) -> &[u8] {
    Array::slice_as_flattened(blocks)
}

/// Collects the declassified outputs of one part and its failed checks.
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

    /// Declassifies a copy of a published output and hashes it (FNV-1a);
    /// `out` itself stays secret for whatever consumes it next.
    fn publish(&mut self, out: &[u8]) {
        let copy = out.to_vec();
        mark_public(&copy);
        for &byte in black_box(&copy).iter() {
            self.digest = (self.digest ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Declassifies `got` (a round-trip result) and compares it with the
    /// public expected value.
    fn expect_eq(&mut self, what: impl fmt::Display, got: &[u8], want: &[u8]) {
        mark_public(got);
        if black_box(got) != want {
            self.failures.push(format!("{what}: wrong output"));
        }
    }

    fn expect(&mut self, ok: bool, what: impl fmt::Display) {
        if !ok {
            self.failures.push(what.to_string());
        }
    }
}

/// A block cipher with 16-byte blocks, keyed by a constructor.
trait Cipher: BlockCipherEncrypt<BlockSize = U16> + BlockCipherDecrypt {}
impl<T: BlockCipherEncrypt<BlockSize = U16> + BlockCipherDecrypt> Cipher for T {}

/// Key schedule: a secret key, then one public block through it.
fn part_key<C: Cipher>(new: &dyn Fn(&[u8; 16]) -> C, inp: &mut Inputs, rep: &mut Report) {
    for _ in 0..8 {
        let key = inp.secret_key();
        let cipher = black_box(new(&key));
        let mut block: Block<C> = Array::default();
        cipher.encrypt_block(&mut block);
        rep.publish(&block);
    }
}

/// Raw block encryption and decryption.
fn part_block<C: Cipher>(new: &dyn Fn(&[u8; 16]) -> C, inp: &mut Inputs, rep: &mut Report) {
    let key = inp.secret_key();
    let cipher = new(&key);
    let plain: Array<u8, U16> = Array::from(inp.array::<16>());
    let mut block = plain;
    mark_secret(&block);
    cipher.encrypt_block(&mut block);
    rep.publish(&block);
    mark_secret(&block);
    cipher.decrypt_block(&mut block);
    rep.expect_eq("single block", &block, &plain);

    for count in BLOCK_COUNTS {
        let key = inp.secret_key();
        let cipher = new(&key);
        let plain = inp.blocks(count);
        let mut buf = plain.clone();
        mark_secret(flat(&buf));
        cipher.encrypt_blocks(&mut buf);
        rep.publish(flat(&buf));
        mark_secret(flat(&buf));
        cipher.decrypt_blocks(&mut buf);
        rep.expect_eq(format_args!("{count} blocks"), flat(&buf), flat(&plain));
    }
}

/// CBC encryption and decryption with a secret IV.
fn part_cbc<C: Cipher>(new: &dyn Fn(&[u8; 16]) -> C, inp: &mut Inputs, rep: &mut Report) {
    for count in CBC_BLOCKS {
        let key = inp.secret_key();
        let iv: [u8; 16] = inp.array();
        mark_secret(&iv);
        let plain = inp.blocks(count);
        let mut buf = plain.clone();
        mark_secret(flat(&buf));
        cbc::Encryptor::<C>::inner_iv_init(new(&key), &iv.into()).encrypt_blocks(&mut buf);
        rep.publish(flat(&buf));
        mark_secret(flat(&buf));
        cbc::Decryptor::<C>::inner_iv_init(new(&key), &iv.into()).decrypt_blocks(&mut buf);
        rep.expect_eq(format_args!("CBC {count} blocks"), flat(&buf), flat(&plain));
    }
}

/// SM4-CTR (128-bit big-endian counter) over an already keyed cipher.
fn ctr_mode<C: Cipher>(cipher: C, iv: &[u8; 16]) -> ctr::Ctr128BE<C> {
    let core = ctr::CtrCore::<C, ctr::flavors::Ctr128BE>::inner_iv_init(cipher, &(*iv).into());
    ctr::Ctr128BE::from_core(core)
}

/// CTR with a secret initial counter block, including one whose low 64 bits
/// carry into the high half.
fn part_ctr<C: Cipher>(new: &dyn Fn(&[u8; 16]) -> C, inp: &mut Inputs, rep: &mut Report) {
    for (i, len) in CTR_LENS.into_iter().enumerate() {
        let key = inp.secret_key();
        let mut iv: [u8; 16] = inp.array();
        if i == CTR_LENS.len() - 1 {
            iv[8..].fill(0xff);
        }
        mark_secret(&iv);
        let plain = inp.bytes(len);
        let mut buf = plain.clone();
        mark_secret(&buf);
        ctr_mode(new(&key), &iv).apply_keystream(&mut buf);
        rep.publish(&buf);
        mark_secret(&buf);
        ctr_mode(new(&key), &iv).apply_keystream(&mut buf);
        rep.expect_eq(format_args!("CTR {len} bytes"), &buf, &plain);
    }
}

/// The detached AEAD interface shared by SM4-GCM and SM4-CCM.
trait DetachedAead {
    fn seal(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &mut [u8]) -> Result<(), Error>;
    fn open(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> Result<(), Error>;
}

impl DetachedAead for Sm4GcmGeneric {
    fn seal(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &mut [u8]) -> Result<(), Error> {
        self.seal_in_place_detached(nonce, aad, buf, tag)
    }
    fn open(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> Result<(), Error> {
        self.open_in_place_detached(nonce, aad, buf, tag)
    }
}

impl DetachedAead for Sm4CcmGeneric {
    fn seal(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &mut [u8]) -> Result<(), Error> {
        self.seal_in_place_detached(nonce, aad, buf, tag)
    }
    fn open(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> Result<(), Error> {
        self.open_in_place_detached(nonce, aad, buf, tag)
    }
}

/// Declassifies the accept/reject verdict of a tag check (the one permitted
/// leak) and returns it; only then may the harness branch on it.
fn verdict(result: &Result<(), Error>) -> bool {
    let accepted = [u8::from(result.is_ok())];
    mark_public(&accepted);
    black_box(accepted)[0] != 0
}

/// Opens `sealed` with `tag` and checks the outcome: `plain` when `valid`,
/// else a `TagMismatch` with the buffer zeroed.
#[allow(clippy::too_many_arguments)]
fn check_open(
    aead: &impl DetachedAead,
    nonce: &[u8],
    aad: &[u8],
    sealed: &[u8],
    tag: &[u8],
    plain: &[u8],
    valid: bool,
    what: &str,
    rep: &mut Report,
) {
    let mut buf = sealed.to_vec();
    mark_secret(&buf);
    mark_secret(tag);
    let result = aead.open(nonce, aad, &mut buf, tag);
    let accepted = verdict(&result);
    if valid {
        rep.expect(accepted, format_args!("{what}: valid tag rejected"));
        rep.expect_eq(format_args!("{what}: opened"), &buf, plain);
    } else {
        rep.expect(!accepted, format_args!("{what}: forgery accepted"));
        if !accepted {
            rep.expect(
                result == Err(Error::TagMismatch),
                format_args!("{what}: expected TagMismatch, got {result:?}"),
            );
        }
        rep.expect_eq(
            format_args!("{what}: buffer not zeroed"),
            &buf,
            &vec![0; buf.len()],
        );
    }
}

fn part_aead<A: DetachedAead>(
    name: &str,
    make: &dyn Fn(Sm4) -> A,
    backend: Backend,
    cases: &[AeadCase],
    inp: &mut Inputs,
    rep: &mut Report,
) {
    for case in cases {
        let key = inp.secret_key();
        let sm4 = Sm4::new_with_backend(&key, backend).expect("backend checked in main");
        let aead = make(sm4);
        let nonce = inp.bytes(case.nonce);
        mark_secret(&nonce);
        let aad = inp.bytes(case.aad);
        let plain = inp.bytes(case.msg);
        let mut buf = plain.clone();
        mark_secret(&buf);
        let mut tag = vec![0u8; case.tag];
        if let Err(e) = aead.seal(&nonce, &aad, &mut buf, &mut tag) {
            rep.expect(false, format_args!("{name} seal {case:?}: {e}"));
            continue;
        }
        rep.publish(&buf);
        rep.publish(&tag);

        let what = format!("{name} {case:?}");
        let w = format!("{what} valid");
        check_open(&aead, &nonce, &aad, &buf, &tag, &plain, true, &w, rep);

        let mut bad_tag = tag.clone();
        bad_tag[0] ^= 0x01;
        let w = format!("{what} tampered tag");
        check_open(&aead, &nonce, &aad, &buf, &bad_tag, &plain, false, &w, rep);

        if case.msg > 0 {
            let mut bad = buf.clone();
            bad[case.msg - 1] ^= 0x80;
            let w = format!("{what} tampered ciphertext");
            check_open(&aead, &nonce, &aad, &bad, &tag, &plain, false, &w, rep);
        }
        if case.aad > 0 {
            let mut bad_aad = aad.clone();
            bad_aad[0] ^= 0x01;
            let w = format!("{what} tampered AAD");
            check_open(&aead, &nonce, &bad_aad, &buf, &tag, &plain, false, &w, rep);
        }
    }
}

/// Runs one part on a block cipher built by `new`.
fn run_cipher_part<C: Cipher>(
    new: &dyn Fn(&[u8; 16]) -> C,
    part: Part,
    inp: &mut Inputs,
    rep: &mut Report,
) {
    match part {
        Part::Key => part_key(new, inp, rep),
        Part::Block => part_block(new, inp, rep),
        Part::Cbc => part_cbc(new, inp, rep),
        Part::Ctr => part_ctr(new, inp, rep),
        Part::Gcm | Part::Ccm => unreachable!("AEAD parts run through run_part"),
    }
}

fn run_part(subject: Subject, part: Part, rep: &mut Report) {
    let mut inp = Inputs::new(part);
    match (subject, part) {
        (Subject::Gm(b), Part::Gcm) => part_aead(
            "GCM",
            &Sm4GcmGeneric::with_cipher,
            b,
            &GCM_CASES,
            &mut inp,
            rep,
        ),
        (Subject::Gm(b), Part::Ccm) => part_aead(
            "CCM",
            &Sm4CcmGeneric::with_cipher,
            b,
            &CCM_CASES,
            &mut inp,
            rep,
        ),
        (Subject::Gm(b), _) => {
            let new = move |key: &[u8; 16]| {
                Sm4::new_with_backend(key, b).expect("backend checked in main")
            };
            run_cipher_part(&new, part, &mut inp, rep)
        }
        (Subject::RustCrypto, _) => {
            let new = |key: &[u8; 16]| sm4::Sm4::new(&(*key).into());
            run_cipher_part(&new, part, &mut inp, rep)
        }
    }
}

fn usage() -> String {
    format!(
        "usage: ct_sm4 [--parts PART,..] [SUBJECT..]\n  \
         SUBJECT: soft, aesni-avx2, vaes-avx2, gfni-avx512, auto or {RUSTCRYPTO} \
         (default: $GMKIT_SM4_BACKEND, comma-separated, else every available backend)\n  \
         PART: {}",
        Part::ALL.map(Part::name).join(", ")
    )
}

fn parse_subject(name: &str, on_valgrind: bool) -> Result<Subject, String> {
    if name == RUSTCRYPTO {
        return Ok(Subject::RustCrypto);
    }
    let backend: Backend = name
        .parse()
        .map_err(|e| format!("`{name}`: {e}\n{}", usage()))?;
    if !backend.is_available() {
        let why = if on_valgrind {
            " (as seen through valgrind's emulated CPUID; valgrind cannot run AVX-512)"
        } else {
            ""
        };
        return Err(format!(
            "backend `{name}` is not available on this CPU{why}"
        ));
    }
    Ok(Subject::Gm(backend))
}

fn main() -> ExitCode {
    let on_valgrind = running_on_valgrind();
    let mut parts = Part::ALL.to_vec();
    let mut names = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let list = match arg.as_str() {
            "-h" | "--help" => {
                println!("{}", usage());
                return ExitCode::SUCCESS;
            }
            "--parts" => args.next().unwrap_or_default(),
            _ => match arg.strip_prefix("--parts=") {
                Some(list) => list.to_owned(),
                None if arg.starts_with('-') => {
                    eprintln!("ct_sm4: unknown option `{arg}`\n{}", usage());
                    return ExitCode::from(2);
                }
                None => {
                    names.push(arg);
                    continue;
                }
            },
        };
        let parsed: Option<Vec<Part>> = list.split(',').map(Part::parse).collect();
        match parsed {
            Some(p) if !p.is_empty() => parts = p,
            _ => {
                eprintln!("ct_sm4: bad part list `{list}`\n{}", usage());
                return ExitCode::from(2);
            }
        }
    }
    if names.is_empty() {
        if let Ok(env) = std::env::var(BACKEND_ENV) {
            names = env
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
    }
    let subjects: Result<Vec<Subject>, String> = if names.is_empty() {
        Ok(Backend::available()
            .into_iter()
            .filter(|&b| !(on_valgrind && b == Backend::GfniAvx512))
            .map(Subject::Gm)
            .collect())
    } else {
        names
            .iter()
            .map(|n| parse_subject(n, on_valgrind))
            .collect()
    };
    let subjects = match subjects {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ct_sm4: {e}");
            return ExitCode::from(2);
        }
    };

    println!("valgrind {}", if on_valgrind { "yes" } else { "no" });
    let mut failed = false;
    for &subject in &subjects {
        for &part in &parts {
            if part.is_aead() && matches!(subject, Subject::RustCrypto) {
                eprintln!("ct_sm4: {subject} {}: skipped (gm-sm4 only)", part.name());
                continue;
            }
            eprintln!("ct_sm4: {subject} {}", part.name());
            let mut rep = Report::new();
            run_part(subject, part, &mut rep);
            println!("digest {subject} {} {:016x}", part.name(), rep.digest);
            for f in &rep.failures {
                eprintln!("ct_sm4: FAILED {subject} {}: {f}", part.name());
            }
            failed |= !rep.failures.is_empty();
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
