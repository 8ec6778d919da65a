//! The operations under test: thin calls into `gm-sm4`, `gm-sm3` and the
//! RustCrypto mode crates, on the SM4 backend the caller chose.
//!
//! Every operation returns `Err(OpError)` instead of panicking; a panic inside
//! an implementation is caught by [`guarded`] and reported as
//! [`OpError::Panicked`], which no vector may expect.

use std::panic::{catch_unwind, AssertUnwindSafe};

use gm_sm3::digest::Digest;
use gm_sm4::cipher::{
    block_padding::Pkcs7, Block, BlockCipherDecrypt, BlockCipherEncrypt, BlockModeDecrypt,
    BlockModeEncrypt, InnerIvInit, StreamCipher,
};
use gm_sm4::modes;
use gm_sm4::{Backend, Sm4, Sm4CcmGeneric, Sm4GcmGeneric};

/// Why an operation produced no output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OpError {
    /// The implementation refused the inputs (the expected outcome for
    /// invalid parameters, forged tags, ...).
    Rejected(String),
    /// The implementation panicked: always a failure.
    Panicked(String),
}

impl OpError {
    pub(crate) fn rejected(e: impl std::fmt::Display) -> Self {
        OpError::Rejected(e.to_string())
    }

    pub(crate) fn is_panic(&self) -> bool {
        matches!(self, OpError::Panicked(_))
    }
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpError::Rejected(m) => write!(f, "rejected: {m}"),
            OpError::Panicked(m) => write!(f, "implementation panicked: {m}"),
        }
    }
}

pub(crate) type OpResult<T> = Result<T, OpError>;

/// Runs `f`, turning a panic into [`OpError::Panicked`].
pub(crate) fn guarded<T>(f: impl FnOnce() -> OpResult<T>) -> OpResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_string());
            Err(OpError::Panicked(msg))
        }
    }
}

/// Direction of a cipher operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    Encrypt,
    Decrypt,
}

/// SM4 confidentiality-only modes the runner can drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// ECB, no padding, no IV.
    Ecb,
    /// CBC, no padding, 16-byte IV.
    Cbc,
    /// CBC with PKCS#7 padding ("PKCS5" in Wycheproof names).
    CbcPkcs7,
    /// CTR with a 128-bit big-endian counter.
    Ctr,
    /// OFB.
    Ofb,
    /// CFB with 128-bit feedback.
    Cfb,
    /// XTS with the IEEE 1619 tweak update (32-byte key, 16-byte tweak).
    XtsIeee,
}

impl Mode {
    /// Parses an algorithm name such as `SM4-CBC` (case-insensitive).
    pub(crate) fn from_name(name: &str) -> Option<Mode> {
        Some(match name.trim().to_ascii_uppercase().as_str() {
            "SM4-ECB" => Mode::Ecb,
            "SM4-CBC" => Mode::Cbc,
            "SM4-CBC-PKCS5" | "SM4-CBC-PKCS7" => Mode::CbcPkcs7,
            "SM4-CTR" => Mode::Ctr,
            "SM4-OFB" => Mode::Ofb,
            "SM4-CFB" | "SM4-CFB128" => Mode::Cfb,
            "SM4-XTS" => Mode::XtsIeee,
            _ => return None,
        })
    }
}

/// SM4 AEAD modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AeadAlg {
    Gcm,
    Ccm,
}

impl AeadAlg {
    pub(crate) fn from_name(name: &str) -> Option<AeadAlg> {
        match name.trim().to_ascii_uppercase().as_str() {
            "SM4-GCM" => Some(AeadAlg::Gcm),
            "SM4-CCM" => Some(AeadAlg::Ccm),
            _ => None,
        }
    }
}

/// Largest input the runner will build from a repeat form (1 GiB).
pub(crate) const MAX_REPEAT_BYTES: u128 = 1 << 30;

/// Largest iteration count of a block-cipher KAT.
pub(crate) const MAX_KAT_ITERATIONS: u64 = 100_000_000;

/// Runs operations on one SM4 backend (`None` = detected per key).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Engine {
    backend: Option<Backend>,
}

impl Engine {
    pub(crate) fn new(backend: Option<Backend>) -> Self {
        Engine { backend }
    }

    /// Keys SM4 on the chosen backend.
    fn sm4(&self, key: &[u8]) -> OpResult<Sm4> {
        match self.backend {
            None => Sm4::new_from_slice_checked(key).map_err(OpError::rejected),
            Some(b) => {
                let k: &[u8; 16] = key.try_into().map_err(|_| {
                    OpError::rejected(gm_sm4::Error::InvalidKeyLength { got: key.len() })
                })?;
                Sm4::new_with_backend(k, b).map_err(OpError::rejected)
            }
        }
    }

    /// Encrypts or decrypts `data` with a confidentiality-only mode.
    pub(crate) fn crypt(
        &self,
        mode: Mode,
        dir: Dir,
        key: &[u8],
        iv: &[u8],
        data: &[u8],
    ) -> OpResult<Vec<u8>> {
        guarded(|| self.crypt_inner(mode, dir, key, iv, data))
    }

    fn crypt_inner(
        &self,
        mode: Mode,
        dir: Dir,
        key: &[u8],
        iv: &[u8],
        data: &[u8],
    ) -> OpResult<Vec<u8>> {
        if mode == Mode::XtsIeee {
            return self.xts(dir, key, iv, data);
        }
        let sm4 = self.sm4(key)?;
        let iv16 = || -> OpResult<[u8; 16]> {
            <[u8; 16]>::try_from(iv)
                .map_err(|_| OpError::Rejected(format!("IV must be 16 bytes, got {}", iv.len())))
        };
        match mode {
            Mode::Ecb => {
                if !iv.is_empty() {
                    return Err(OpError::Rejected(format!(
                        "ECB takes no IV, got {} bytes",
                        iv.len()
                    )));
                }
                let mut blocks = to_blocks(data)?;
                match dir {
                    Dir::Encrypt => sm4.encrypt_blocks(&mut blocks),
                    Dir::Decrypt => sm4.decrypt_blocks(&mut blocks),
                }
                Ok(from_blocks(&blocks))
            }
            Mode::Cbc => {
                let iv = iv16()?;
                let mut blocks = to_blocks(data)?;
                match dir {
                    Dir::Encrypt => modes::cbc_encryptor(sm4, &iv).encrypt_blocks(&mut blocks),
                    Dir::Decrypt => modes::cbc_decryptor(sm4, &iv).decrypt_blocks(&mut blocks),
                }
                Ok(from_blocks(&blocks))
            }
            Mode::CbcPkcs7 => {
                let iv = iv16()?;
                match dir {
                    Dir::Encrypt => {
                        Ok(modes::cbc_encryptor(sm4, &iv).encrypt_padded_vec::<Pkcs7>(data))
                    }
                    Dir::Decrypt => modes::cbc_decryptor(sm4, &iv)
                        .decrypt_padded_vec::<Pkcs7>(data)
                        .map_err(|_| {
                            OpError::Rejected(
                                "invalid PKCS#7 padding or length not a multiple of 16".into(),
                            )
                        }),
                }
            }
            Mode::Ctr => {
                let iv = iv16()?;
                let mut out = data.to_vec();
                modes::ctr(sm4, &iv)
                    .try_apply_keystream(&mut out)
                    .map_err(|_| {
                        OpError::Rejected(
                            "CTR keystream exhausted: the 128-bit counter would wrap".into(),
                        )
                    })?;
                Ok(out)
            }
            Mode::Ofb => {
                let iv = iv16()?;
                let mut out = data.to_vec();
                ofb::Ofb::<Sm4>::from_core(InnerIvInit::inner_iv_init(sm4, (&iv).into()))
                    .try_apply_keystream(&mut out)
                    .map_err(|_| OpError::Rejected("OFB keystream exhausted".into()))?;
                Ok(out)
            }
            Mode::Cfb => {
                let iv = iv16()?;
                let mut out = data.to_vec();
                match dir {
                    Dir::Encrypt => cfb_mode::Encryptor::<Sm4>::inner_iv_init(sm4, (&iv).into())
                        .encrypt(&mut out),
                    Dir::Decrypt => cfb_mode::Decryptor::<Sm4>::inner_iv_init(sm4, (&iv).into())
                        .decrypt(&mut out),
                }
                Ok(out)
            }
            Mode::XtsIeee => Err(OpError::Rejected("unreachable: XTS handled above".into())),
        }
    }

    fn xts(&self, dir: Dir, key: &[u8], tweak: &[u8], data: &[u8]) -> OpResult<Vec<u8>> {
        if key.len() != 32 {
            return Err(OpError::Rejected(format!(
                "SM4-XTS key must be 32 bytes (key1 || key2), got {}",
                key.len()
            )));
        }
        let tweak = Block::<Sm4>::try_from(tweak).map_err(|_| {
            OpError::Rejected(format!("XTS tweak must be 16 bytes, got {}", tweak.len()))
        })?;
        if data.len() < 16 {
            return Err(OpError::Rejected(format!(
                "XTS needs at least one whole block, got {} bytes",
                data.len()
            )));
        }
        let xts = xts_mode::Xts128::new(self.sm4(&key[..16])?, self.sm4(&key[16..])?);
        let mut out = data.to_vec();
        match dir {
            Dir::Encrypt => xts.encrypt_sector(&mut out, tweak),
            Dir::Decrypt => xts.decrypt_sector(&mut out, tweak),
        }
        Ok(out)
    }

    /// Iterated single-block encryption (or decryption) of `block`.
    pub(crate) fn block_iterated(
        &self,
        dir: Dir,
        key: &[u8],
        block: &[u8],
        iterations: u64,
    ) -> OpResult<Vec<u8>> {
        guarded(|| {
            let sm4 = self.sm4(key)?;
            let mut b = Block::<Sm4>::try_from(block).map_err(|_| {
                OpError::Rejected(format!("SM4 block must be 16 bytes, got {}", block.len()))
            })?;
            for _ in 0..iterations {
                match dir {
                    Dir::Encrypt => sm4.encrypt_block(&mut b),
                    Dir::Decrypt => sm4.decrypt_block(&mut b),
                }
            }
            Ok(b.to_vec())
        })
    }

    /// AEAD encryption; returns `(ciphertext, tag)` with a tag of `tag_len` bytes.
    pub(crate) fn seal(
        &self,
        alg: AeadAlg,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        msg: &[u8],
        tag_len: usize,
    ) -> OpResult<(Vec<u8>, Vec<u8>)> {
        guarded(|| {
            let sm4 = self.sm4(key)?;
            let mut buf = msg.to_vec();
            let mut tag = vec![0u8; tag_len];
            let r = match alg {
                AeadAlg::Gcm => Sm4GcmGeneric::with_cipher(sm4)
                    .seal_in_place_detached(nonce, aad, &mut buf, &mut tag),
                AeadAlg::Ccm => Sm4CcmGeneric::with_cipher(sm4)
                    .seal_in_place_detached(nonce, aad, &mut buf, &mut tag),
            };
            r.map_err(OpError::rejected)?;
            Ok((buf, tag))
        })
    }

    /// AEAD decryption with tag verification.
    pub(crate) fn open(
        &self,
        alg: AeadAlg,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        ct: &[u8],
        tag: &[u8],
    ) -> OpResult<Vec<u8>> {
        guarded(|| {
            let sm4 = self.sm4(key)?;
            let mut buf = ct.to_vec();
            let r = match alg {
                AeadAlg::Gcm => Sm4GcmGeneric::with_cipher(sm4)
                    .open_in_place_detached(nonce, aad, &mut buf, tag),
                AeadAlg::Ccm => Sm4CcmGeneric::with_cipher(sm4)
                    .open_in_place_detached(nonce, aad, &mut buf, tag),
            };
            r.map_err(OpError::rejected)?;
            Ok(buf)
        })
    }

    /// SM3 of the concatenation of `segments`, each `(bytes, repeat count)`.
    pub(crate) fn sm3(&self, segments: &[(Vec<u8>, u64)]) -> OpResult<[u8; 32]> {
        let total: u128 = segments
            .iter()
            .map(|(s, n)| s.len() as u128 * u128::from(*n))
            .sum();
        if total > MAX_REPEAT_BYTES {
            return Err(OpError::Rejected(format!(
                "message of {total} bytes exceeds the runner limit of {MAX_REPEAT_BYTES} bytes"
            )));
        }
        guarded(|| {
            let mut h = gm_sm3::Sm3::new();
            for (seg, n) in segments {
                // Feed larger chunks for tiny patterns (1,000,000 x "a").
                let chunk = if seg.len() < 64 && *n > 64 {
                    let k = 4096 / seg.len().max(1);
                    Some((seg.repeat(k), k as u64))
                } else {
                    None
                };
                let mut left = *n;
                if let Some((big, k)) = &chunk {
                    while left >= *k {
                        h.update(big);
                        left -= k;
                    }
                }
                for _ in 0..left {
                    h.update(seg);
                }
            }
            Ok(h.finalize().0)
        })
    }

    /// HMAC-SM3 of `msg`.
    pub(crate) fn hmac(&self, key: &[u8], msg: &[u8]) -> OpResult<[u8; 32]> {
        guarded(|| Ok(gm_sm3::hmac_sm3(key, msg)))
    }

    /// Constant-time HMAC-SM3 verification of a (possibly truncated) tag.
    pub(crate) fn hmac_verify(&self, key: &[u8], msg: &[u8], tag: &[u8]) -> OpResult<()> {
        guarded(|| gm_sm3::hmac_sm3_verify(key, msg, tag).map_err(OpError::rejected))
    }

    /// SM2-with-SM3 verification of a DER signature over `msg` with the
    /// distinguishing identifier `id` and a SEC1-encoded public key.
    pub(crate) fn sm2_verify(
        &self,
        public_key: &[u8],
        id: &[u8],
        msg: &[u8],
        sig_der: &[u8],
    ) -> OpResult<()> {
        guarded(|| {
            let pk = gm_sm2::PublicKey::from_sec1_bytes(public_key)
                .map_err(|e| OpError::rejected(format!("public key: {e}")))?;
            let vk = gm_sm2::VerifyingKey::new(&pk, id)
                .map_err(|e| OpError::rejected(format!("identifier: {e}")))?;
            let sig = gm_sm2::Signature::from_der(sig_der)
                .map_err(|e| OpError::rejected(format!("signature encoding: {e}")))?;
            vk.verify_message(msg, &sig)
                .map_err(|e| OpError::rejected(format!("verification: {e}")))
        })
    }

    /// HKDF-SM3 producing `size` bytes.
    pub(crate) fn hkdf(
        &self,
        ikm: &[u8],
        salt: &[u8],
        info: &[u8],
        size: u64,
    ) -> OpResult<Vec<u8>> {
        guarded(|| {
            // Requests above the HKDF limit must be refused; never allocate
            // more than one byte past the limit to find out.
            let cap = gm_sm3::HKDF_MAX_OUTPUT + 1;
            let n = usize::try_from(size).map_or(cap, |s| s.min(cap));
            let mut okm = vec![0u8; n];
            gm_sm3::hkdf_sm3(salt, ikm, info, &mut okm).map_err(OpError::rejected)?;
            Ok(okm)
        })
    }
}

fn to_blocks(data: &[u8]) -> OpResult<Vec<Block<Sm4>>> {
    if !data.len().is_multiple_of(16) {
        return Err(OpError::Rejected(format!(
            "input of {} bytes is not a multiple of the 16-byte block (no padding)",
            data.len()
        )));
    }
    data.chunks_exact(16)
        .map(|c| {
            Block::<Sm4>::try_from(c)
                .map_err(|_| OpError::Rejected("internal: bad block split".into()))
        })
        .collect()
}

fn from_blocks(blocks: &[Block<Sm4>]) -> Vec<u8> {
    blocks.iter().flat_map(|b| b.iter().copied()).collect()
}
