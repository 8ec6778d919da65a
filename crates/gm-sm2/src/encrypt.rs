//! SM2 public-key encryption (GB/T 32918.4-2016) and its ciphertext
//! encodings.

use gm_sm3::digest::Digest;
use gm_sm3::Sm3;
use sm2::elliptic_curve::subtle::{Choice, ConstantTimeEq};
use sm2::AffinePoint;
use zeroize::{Zeroize, Zeroizing};

use crate::der;
use crate::error::{Error, Result};
use crate::key::{point_bytes, point_from_xy, PrivateKey, PublicKey, SecretScalar, POINT_LEN};

/// Length of C3 (an SM3 digest).
const C3_LEN: usize = 32;

/// How an SM2 ciphertext is laid out. Always chosen explicitly: the layouts
/// cannot be told apart reliably from the bytes, so nothing is guessed.
///
/// C1 is the point `[k]G`, C2 the masked message, C3 = SM3(x2 || M || y2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CiphertextFormat {
    /// `04 || x1 || y1 || C3 || C2`: GB/T 32918.4-2016 / GM/T 0003.4-2012
    /// (the current standard).
    C1C3C2,
    /// `x1 || y1 || C3 || C2`: as `C1C3C2` without the 0x04 point prefix
    /// (CFCA key escrow, some HSMs).
    C1C3C2NoPrefix,
    /// `04 || x1 || y1 || C2 || C3`: the 2010 OSCCA text and draft-shen
    /// (BouncyCastle's default).
    C1C2C3,
    /// `x1 || y1 || C2 || C3`: as `C1C2C3` without the 0x04 point prefix.
    C1C2C3NoPrefix,
    /// GM/T 0009-2012 / GB/T 35276 DER:
    /// `SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING (32), ciphertext OCTET STRING }`
    /// (what OpenSSL `pkeyutl -encrypt` and GmSSL produce).
    Der,
}

impl CiphertextFormat {
    /// Every format, for iteration in tests and tools.
    pub const ALL: [CiphertextFormat; 5] = [
        CiphertextFormat::C1C3C2,
        CiphertextFormat::C1C3C2NoPrefix,
        CiphertextFormat::C1C2C3,
        CiphertextFormat::C1C2C3NoPrefix,
        CiphertextFormat::Der,
    ];
}

/// A parsed SM2 ciphertext: C1 (validated as a curve point), C3 and C2.
/// Converts between the [`CiphertextFormat`]s.
#[derive(Clone, PartialEq, Eq)]
pub struct Ciphertext {
    c1: AffinePoint,
    c3: [u8; C3_LEN],
    c2: Vec<u8>,
}

impl std::fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ciphertext")
            .field("c2_len", &self.c2.len())
            .finish_non_exhaustive()
    }
}

impl Ciphertext {
    /// Parses `data` in the given format. C1 must be an uncompressed point
    /// on the curve; C2 must not be empty.
    pub fn from_bytes(data: &[u8], format: CiphertextFormat) -> Result<Self> {
        let (c1, c3, c2) = match format {
            CiphertextFormat::Der => return Self::from_der(data),
            CiphertextFormat::C1C3C2 | CiphertextFormat::C1C2C3 => {
                let min = POINT_LEN + C3_LEN + 1;
                check_len(data, min)?;
                if data[0] != 0x04 {
                    return Err(Error::InvalidPointEncoding { what: "C1" });
                }
                split_raw(&data[1..], format == CiphertextFormat::C1C3C2)
            }
            CiphertextFormat::C1C3C2NoPrefix | CiphertextFormat::C1C2C3NoPrefix => {
                check_len(data, POINT_LEN - 1 + C3_LEN + 1)?;
                split_raw(data, format == CiphertextFormat::C1C3C2NoPrefix)
            }
        };
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        x.copy_from_slice(&c1[..32]);
        y.copy_from_slice(&c1[32..]);
        let mut c3_arr = [0u8; C3_LEN];
        c3_arr.copy_from_slice(c3);
        Ok(Ciphertext {
            c1: point_from_xy(&x, &y, "C1")?,
            c3: c3_arr,
            c2: c2.to_vec(),
        })
    }

    fn from_der(data: &[u8]) -> Result<Self> {
        let content = der::parse_single(data, der::SEQUENCE, "SM2Cipher")?;
        let mut seq = der::Reader::new(content);
        let x = der::uint32(
            seq.read(der::INTEGER, "SM2Cipher.XCoordinate")?,
            "SM2Cipher.XCoordinate",
        )?;
        let y = der::uint32(
            seq.read(der::INTEGER, "SM2Cipher.YCoordinate")?,
            "SM2Cipher.YCoordinate",
        )?;
        let hash = seq.read(der::OCTET_STRING, "SM2Cipher.HASH")?;
        let c2 = seq.read(der::OCTET_STRING, "SM2Cipher.CipherText")?;
        seq.finish("SM2Cipher")?;
        let c3: [u8; C3_LEN] = hash.try_into().map_err(|_| Error::InvalidLength {
            what: "SM2Cipher.HASH (C3)",
            expected: C3_LEN,
            got: hash.len(),
        })?;
        if c2.is_empty() {
            return Err(Error::EmptyMessage);
        }
        Ok(Ciphertext {
            c1: point_from_xy(&x, &y, "C1")?,
            c3,
            c2: c2.to_vec(),
        })
    }

    /// Encodes in the given format.
    pub fn to_bytes(&self, format: CiphertextFormat) -> Vec<u8> {
        let c1 = point_bytes(&self.c1);
        let parts: [&[u8]; 3] = match format {
            CiphertextFormat::Der => {
                return der::tlv(
                    der::SEQUENCE,
                    &[
                        &der::uint(&c1[1..33]),
                        &der::uint(&c1[33..]),
                        &der::tlv(der::OCTET_STRING, &[&self.c3]),
                        &der::tlv(der::OCTET_STRING, &[&self.c2]),
                    ],
                )
            }
            CiphertextFormat::C1C3C2 => [&c1, &self.c3, &self.c2],
            CiphertextFormat::C1C3C2NoPrefix => [&c1[1..], &self.c3, &self.c2],
            CiphertextFormat::C1C2C3 => [&c1, &self.c2, &self.c3],
            CiphertextFormat::C1C2C3NoPrefix => [&c1[1..], &self.c2, &self.c3],
        };
        parts.concat()
    }

    /// C1 as `04 || x1 || y1`.
    pub fn c1(&self) -> [u8; POINT_LEN] {
        point_bytes(&self.c1)
    }

    /// C3 = SM3(x2 || M || y2).
    pub fn c3(&self) -> &[u8; C3_LEN] {
        &self.c3
    }

    /// C2 = M xor t.
    pub fn c2(&self) -> &[u8] {
        &self.c2
    }
}

fn check_len(data: &[u8], min: usize) -> Result<()> {
    if data.len() < min {
        Err(Error::InvalidLength {
            what: "SM2 ciphertext (too short)",
            expected: min,
            got: data.len(),
        })
    } else {
        Ok(())
    }
}

/// Splits `x || y || rest` into (C1 xy, C3, C2).
fn split_raw(data: &[u8], c3_first: bool) -> (&[u8], &[u8], &[u8]) {
    let (c1, rest) = data.split_at(64);
    if c3_first {
        let (c3, c2) = rest.split_at(C3_LEN);
        (c1, c3, c2)
    } else {
        let (c2, c3) = rest.split_at(rest.len() - C3_LEN);
        (c1, c3, c2)
    }
}

/// `x || y` of `[k]P` (constant time) as 64 bytes, zeroized on drop: it
/// is the shared secret. `k` is in [1, n-1] and P is valid, so the product
/// is finite.
fn shared_xy(k: &SecretScalar, p: &AffinePoint) -> Zeroizing<[u8; 64]> {
    let mut a = crate::arith::mul_var_affine(&k.to_be_bytes(), &crate::arith::Affine::from_sm2(p));
    let mut out = Zeroizing::new([0u8; 64]);
    let (mut x, mut y) = a.to_xy_bytes();
    out[..32].copy_from_slice(&x);
    out[32..].copy_from_slice(&y);
    x.zeroize();
    y.zeroize();
    a.zeroize();
    out
}

/// t = KDF(x2 || y2, len).
fn kdf(xy: &[u8; 64], len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut t = Zeroizing::new(vec![0u8; len]);
    gm_sm3::kdf(xy, &mut t).map_err(|_| Error::OutputLength { requested: len })?;
    Ok(t)
}

/// Constant-time "all bytes are zero".
fn all_zero(bytes: &[u8]) -> Choice {
    let acc = bytes.iter().fold(0u8, |acc, &b| acc | b);
    acc.ct_eq(&0)
}

/// C3 = SM3(x2 || M || y2).
fn c3_hash(xy: &[u8; 64], msg: &[u8]) -> [u8; C3_LEN] {
    let mut h = Sm3::new();
    h.update(&xy[..32]);
    h.update(msg);
    h.update(&xy[32..]);
    h.finalize().into()
}

/// Encryption with a given ephemeral scalar; `None` if the KDF output is
/// all zero (the caller draws a new k).
pub(crate) fn encrypt_with_k(
    key: &PublicKey,
    msg: &[u8],
    k: &SecretScalar,
) -> Result<Option<Ciphertext>> {
    if msg.is_empty() {
        return Err(Error::EmptyMessage);
    }
    // A2: C1 = [k]G
    let c1 = crate::arith::mul_base_affine(&k.to_be_bytes()).to_sm2();
    // A3: S = [h]P with h = 1 is P itself, never the identity (PublicKey invariant).
    // A4: (x2, y2) = [k]P
    let xy = shared_xy(k, key.point());
    // A5: t = KDF(x2 || y2, klen); retry if all zero
    let t = kdf(&xy, msg.len())?;
    if bool::from(all_zero(&t)) {
        return Ok(None);
    }
    // A6: C2 = M xor t; A7: C3 = SM3(x2 || M || y2)
    let c2 = msg.iter().zip(t.iter()).map(|(m, t)| m ^ t).collect();
    Ok(Some(Ciphertext {
        c1,
        c3: c3_hash(&xy, msg),
        c2,
    }))
}

impl PublicKey {
    /// Encrypts `msg` (non-empty) to this key with a fresh random k from the
    /// OS RNG, encoded in `format`.
    pub fn encrypt(&self, msg: &[u8], format: CiphertextFormat) -> Result<Vec<u8>> {
        loop {
            let k = SecretScalar::random()?;
            if let Some(ct) = encrypt_with_k(self, msg, &k)? {
                return Ok(ct.to_bytes(format));
            }
        }
    }
}

impl PrivateKey {
    /// Decrypts `ciphertext`, which must be in `format`.
    ///
    /// Rejects C1 off the curve, truncated input, an all-zero KDF output
    /// ([`Error::KdfOutputZero`]) and a wrong C3 ([`Error::HashMismatch`],
    /// compared in constant time).
    pub fn decrypt(
        &self,
        ciphertext: &[u8],
        format: CiphertextFormat,
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.decrypt_parsed(&Ciphertext::from_bytes(ciphertext, format)?)
    }

    /// Decrypts an already parsed [`Ciphertext`].
    ///
    /// (Not inlined: the constant-time check under valgrind allows its
    /// accept/reject branch by name.)
    #[inline(never)]
    pub fn decrypt_parsed(&self, ct: &Ciphertext) -> Result<Zeroizing<Vec<u8>>> {
        if ct.c2.is_empty() {
            return Err(Error::EmptyMessage);
        }
        // B1: C1 is on the curve (checked when parsed). B2: S = [h]C1 = C1
        // (h = 1) is not the identity. [d]C1 is then not the identity either
        // (prime order n, d in [1, n-2]), so no secret-dependent check is
        // needed for it.
        // B3: (x2, y2) = [d]C1; B4: t = KDF(x2 || y2, klen)
        let xy = shared_xy(self.secret(), &ct.c1);
        let t = kdf(&xy, ct.c2.len())?;
        // B5: M' = C2 xor t; B6: u = SM3(x2 || M' || y2) == C3
        let msg: Zeroizing<Vec<u8>> =
            Zeroizing::new(ct.c2.iter().zip(t.iter()).map(|(c, t)| c ^ t).collect());
        let t_zero = all_zero(&t);
        let hash_ok = c3_hash(&xy, &msg).ct_eq(&ct.c3);
        decrypt_verdict(t_zero, hash_ok)?;
        Ok(msg)
    }
}

/// The verdict of decryption: whether it succeeded (and, on failure, which
/// check failed). The caller's branch on it is the one secret-dependent
/// branch of decryption, a permitted leak.
fn decrypt_verdict(t_zero: Choice, hash_ok: Choice) -> Result<()> {
    if bool::from(!t_zero & hash_ok) {
        Ok(())
    } else if bool::from(t_zero) {
        Err(Error::KdfOutputZero)
    } else {
        Err(Error::HashMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let (yes, no) = (Choice::from(1), Choice::from(0));
        assert_eq!(decrypt_verdict(no, yes), Ok(()));
        assert_eq!(decrypt_verdict(yes, yes), Err(Error::KdfOutputZero));
        assert_eq!(decrypt_verdict(yes, no), Err(Error::KdfOutputZero));
        assert_eq!(decrypt_verdict(no, no), Err(Error::HashMismatch));
        assert!(bool::from(all_zero(&[0, 0, 0])));
        assert!(!bool::from(all_zero(&[0, 1, 0])));
    }
}
