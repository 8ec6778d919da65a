//! Password-based encryption of PKCS#8 keys: PBES2 (RFC 8018) with PBKDF2
//! over HMAC-SM3 or HMAC-SHA-1/SHA-2, and SM4-CBC or AES-CBC.
//!
//! RustCrypto `pkcs5` knows neither the SM3 PRF nor SM4, so the parameters
//! are parsed here.

use cipher::block_padding::Pkcs7;
use cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use zeroize::Zeroizing;

use crate::der::{self, Reader};
use crate::error::{Error, Result};
use crate::oid;

/// Highest PBKDF2 iteration count accepted when reading (a bound on the
/// work a hostile file can cause).
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// The PRF of PBKDF2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pbkdf2Prf {
    /// HMAC-SM3 (OID 1.2.156.10197.1.401.2), as GmSSL writes.
    HmacSm3,
    /// HMAC-SHA-1, the PKCS#5 default (read only by old software).
    HmacSha1,
    /// HMAC-SHA-224.
    HmacSha224,
    /// HMAC-SHA-256, OpenSSL's default.
    HmacSha256,
    /// HMAC-SHA-384.
    HmacSha384,
    /// HMAC-SHA-512.
    HmacSha512,
}

/// The cipher of PBES2 (CBC with PKCS#7 padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pbes2Cipher {
    /// SM4-CBC (OID 1.2.156.10197.1.104.2).
    Sm4Cbc,
    /// AES-128-CBC.
    Aes128Cbc,
    /// AES-192-CBC.
    Aes192Cbc,
    /// AES-256-CBC, what `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes.
    Aes256Cbc,
}

impl Pbes2Cipher {
    fn key_len(self) -> usize {
        match self {
            Pbes2Cipher::Sm4Cbc | Pbes2Cipher::Aes128Cbc => 16,
            Pbes2Cipher::Aes192Cbc => 24,
            Pbes2Cipher::Aes256Cbc => 32,
        }
    }

    fn oid(self) -> &'static [u8] {
        match self {
            Pbes2Cipher::Sm4Cbc => oid::SM4_CBC,
            Pbes2Cipher::Aes128Cbc => oid::AES128_CBC,
            Pbes2Cipher::Aes192Cbc => oid::AES192_CBC,
            Pbes2Cipher::Aes256Cbc => oid::AES256_CBC,
        }
    }
}

impl Pbkdf2Prf {
    fn oid(self) -> &'static [u8] {
        match self {
            Pbkdf2Prf::HmacSm3 => oid::HMAC_SM3,
            Pbkdf2Prf::HmacSha1 => oid::HMAC_SHA1,
            Pbkdf2Prf::HmacSha224 => oid::HMAC_SHA224,
            Pbkdf2Prf::HmacSha256 => oid::HMAC_SHA256,
            Pbkdf2Prf::HmacSha384 => oid::HMAC_SHA384,
            Pbkdf2Prf::HmacSha512 => oid::HMAC_SHA512,
        }
    }

    fn derive(self, password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
        use pbkdf2::pbkdf2_hmac;
        match self {
            Pbkdf2Prf::HmacSm3 => pbkdf2_hmac::<gm_sm3::Sm3>(password, salt, iterations, out),
            Pbkdf2Prf::HmacSha1 => pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, out),
            Pbkdf2Prf::HmacSha224 => pbkdf2_hmac::<sha2::Sha224>(password, salt, iterations, out),
            Pbkdf2Prf::HmacSha256 => pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, out),
            Pbkdf2Prf::HmacSha384 => pbkdf2_hmac::<sha2::Sha384>(password, salt, iterations, out),
            Pbkdf2Prf::HmacSha512 => pbkdf2_hmac::<sha2::Sha512>(password, salt, iterations, out),
        }
    }
}

/// How to encrypt a PKCS#8 key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pbes2Params {
    /// The PBKDF2 PRF.
    pub prf: Pbkdf2Prf,
    /// The cipher.
    pub cipher: Pbes2Cipher,
    /// PBKDF2 iterations (at least 1).
    pub iterations: u32,
}

impl Pbes2Params {
    /// PBKDF2-HMAC-SM3 and SM4-CBC, as GmSSL writes (65536 iterations).
    /// OpenSSL 3.0 cannot read it (it has no HMAC-SM3 PRF).
    pub const fn gm() -> Self {
        Pbes2Params {
            prf: Pbkdf2Prf::HmacSm3,
            cipher: Pbes2Cipher::Sm4Cbc,
            iterations: 65536,
        }
    }

    /// PBKDF2-HMAC-SHA256 and AES-256-CBC, OpenSSL's default profile
    /// (here with 65536 iterations; OpenSSL's own default is 2048).
    pub const fn openssl() -> Self {
        Pbes2Params {
            prf: Pbkdf2Prf::HmacSha256,
            cipher: Pbes2Cipher::Aes256Cbc,
            iterations: 65536,
        }
    }
}

impl Default for Pbes2Params {
    fn default() -> Self {
        Self::gm()
    }
}

/// The parsed parameters of an EncryptedPrivateKeyInfo.
pub(crate) struct EncryptedKeyInfo<'a> {
    prf: Pbkdf2Prf,
    cipher: Pbes2Cipher,
    iterations: u32,
    salt: &'a [u8],
    iv: [u8; 16],
    data: &'a [u8],
}

/// Parses `EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData OCTET STRING }`
/// given the content of its outer SEQUENCE.
pub(crate) fn parse(content: &[u8]) -> Result<EncryptedKeyInfo<'_>> {
    const F: &str = "EncryptedPrivateKeyInfo";
    let mut r = Reader::new(content);
    let mut alg = r.sequence("EncryptedPrivateKeyInfo.encryptionAlgorithm")?;
    let data = r.read(der::OCTET_STRING, "EncryptedPrivateKeyInfo.encryptedData")?;
    r.finish(F)?;

    let scheme = alg.read(der::OID, "encryptionAlgorithm.algorithm")?;
    if scheme != oid::PBES2 {
        return Err(Error::unsupported(
            "key encryption scheme (only PBES2)",
            scheme,
        ));
    }
    let mut params = alg.sequence("PBES2-params")?;
    alg.finish("encryptionAlgorithm")?;

    // keyDerivationFunc
    let mut kdf = params.sequence("PBES2-params.keyDerivationFunc")?;
    let kdf_oid = kdf.read(der::OID, "keyDerivationFunc.algorithm")?;
    if kdf_oid != oid::PBKDF2 {
        return Err(Error::unsupported("PBES2 key derivation function", kdf_oid));
    }
    let mut p = kdf.sequence("PBKDF2-params")?;
    kdf.finish("keyDerivationFunc")?;
    let salt = p.read(der::OCTET_STRING, "PBKDF2-params.salt (specified)")?;
    let iterations = der::small_uint(
        p.read(der::INTEGER, "PBKDF2-params.iterationCount")?,
        "PBKDF2-params.iterationCount",
    )?;
    if iterations == 0 {
        return Err(Error::der(
            "PBKDF2-params.iterationCount",
            "zero iterations",
        ));
    }
    if iterations > MAX_ITERATIONS {
        return Err(Error::der(
            "PBKDF2-params.iterationCount",
            "more than 10,000,000 iterations refused",
        ));
    }
    let key_length = match p.read_optional(der::INTEGER, "PBKDF2-params.keyLength")? {
        Some(c) => Some(der::small_uint(c, "PBKDF2-params.keyLength")?),
        None => None,
    };
    let prf = if p.is_empty() {
        Pbkdf2Prf::HmacSha1
    } else {
        let mut prf_alg = p.sequence("PBKDF2-params.prf")?;
        let prf_oid = prf_alg.read(der::OID, "PBKDF2-params.prf.algorithm")?;
        read_null_params(&mut prf_alg, "PBKDF2-params.prf.parameters")?;
        match prf_oid {
            o if o == oid::HMAC_SM3 || o == oid::HMAC_SM3_GMT0091 => Pbkdf2Prf::HmacSm3,
            o if o == oid::HMAC_SHA1 => Pbkdf2Prf::HmacSha1,
            o if o == oid::HMAC_SHA224 => Pbkdf2Prf::HmacSha224,
            o if o == oid::HMAC_SHA256 => Pbkdf2Prf::HmacSha256,
            o if o == oid::HMAC_SHA384 => Pbkdf2Prf::HmacSha384,
            o if o == oid::HMAC_SHA512 => Pbkdf2Prf::HmacSha512,
            o => return Err(Error::unsupported("PBKDF2 PRF", o)),
        }
    };
    p.finish("PBKDF2-params")?;

    // encryptionScheme
    let mut enc = params.sequence("PBES2-params.encryptionScheme")?;
    params.finish("PBES2-params")?;
    let cipher_oid = enc.read(der::OID, "encryptionScheme.algorithm")?;
    let cipher = match cipher_oid {
        o if o == oid::SM4_CBC => Pbes2Cipher::Sm4Cbc,
        o if o == oid::AES128_CBC => Pbes2Cipher::Aes128Cbc,
        o if o == oid::AES192_CBC => Pbes2Cipher::Aes192Cbc,
        o if o == oid::AES256_CBC => Pbes2Cipher::Aes256Cbc,
        o => return Err(Error::unsupported("PBES2 encryption scheme", o)),
    };
    let iv_bytes = enc.read(der::OCTET_STRING, "encryptionScheme.parameters (IV)")?;
    enc.finish("encryptionScheme")?;
    let iv: [u8; 16] = iv_bytes.try_into().map_err(|_| Error::InvalidLength {
        what: "PBES2 IV",
        expected: 16,
        got: iv_bytes.len(),
    })?;
    if let Some(len) = key_length {
        if usize::try_from(len).ok() != Some(cipher.key_len()) {
            return Err(Error::der(
                "PBKDF2-params.keyLength",
                "does not match the cipher's key length",
            ));
        }
    }
    if data.is_empty() || data.len() % 16 != 0 {
        return Err(Error::der(
            "EncryptedPrivateKeyInfo.encryptedData",
            "not a non-empty multiple of the 16-byte block size",
        ));
    }
    Ok(EncryptedKeyInfo {
        prf,
        cipher,
        iterations,
        salt,
        iv,
        data,
    })
}

/// Reads an AlgorithmIdentifier's parameters that must be absent or NULL.
fn read_null_params(r: &mut Reader<'_>, field: &'static str) -> Result<()> {
    if let Some(null) = r.read_optional(der::NULL, field)? {
        if !null.is_empty() {
            return Err(Error::der(field, "NULL with content"));
        }
    }
    r.finish(field)
}

impl EncryptedKeyInfo<'_> {
    /// Decrypts to the PrivateKeyInfo DER; a padding failure means a wrong
    /// password (or corrupted data).
    pub(crate) fn decrypt(&self, password: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let mut key = Zeroizing::new([0u8; 32]);
        let key = &mut key[..self.cipher.key_len()];
        self.prf
            .derive(password, self.salt, self.iterations, &mut *key);
        let mut buf = Zeroizing::new(self.data.to_vec());
        let len = match self.cipher {
            Pbes2Cipher::Sm4Cbc => cbc_decrypt::<gm_sm4::Sm4>(key, &self.iv, &mut buf),
            Pbes2Cipher::Aes128Cbc => cbc_decrypt::<aes::Aes128>(key, &self.iv, &mut buf),
            Pbes2Cipher::Aes192Cbc => cbc_decrypt::<aes::Aes192>(key, &self.iv, &mut buf),
            Pbes2Cipher::Aes256Cbc => cbc_decrypt::<aes::Aes256>(key, &self.iv, &mut buf),
        }?;
        buf.truncate(len);
        Ok(buf)
    }
}

/// CBC-decrypts `buf` in place and returns the unpadded length.
fn cbc_decrypt<C>(key: &[u8], iv: &[u8; 16], buf: &mut [u8]) -> Result<usize>
where
    C: cipher::BlockCipherDecrypt + cipher::KeyInit,
    C: cipher::BlockSizeUser<BlockSize = cipher::consts::U16>,
{
    let dec = cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|_| Error::WrongPassword)?;
    dec.decrypt_padded::<Pkcs7>(buf)
        .map(|plain| plain.len())
        .map_err(|_| Error::WrongPassword)
}

/// CBC-encrypts `plain` with PKCS#7 padding.
fn cbc_encrypt<C>(key: &[u8], iv: &[u8; 16], plain: &[u8]) -> Result<Vec<u8>>
where
    C: cipher::BlockCipherEncrypt + cipher::KeyInit,
    C: cipher::BlockSizeUser<BlockSize = cipher::consts::U16>,
{
    let enc = cbc::Encryptor::<C>::new_from_slices(key, iv).map_err(|_| Error::OutputLength {
        requested: key.len(),
    })?;
    let mut buf = Zeroizing::new(vec![0u8; plain.len() + 16]);
    buf[..plain.len()].copy_from_slice(plain);
    let len = enc
        .encrypt_padded::<Pkcs7>(&mut buf, plain.len())
        .map_err(|_| Error::OutputLength {
            requested: plain.len(),
        })?
        .len();
    Ok(buf[..len].to_vec())
}

/// Encrypts a PrivateKeyInfo DER into EncryptedPrivateKeyInfo DER.
pub(crate) fn encrypt(plain: &[u8], password: &[u8], params: &Pbes2Params) -> Result<Vec<u8>> {
    if params.iterations == 0 || params.iterations > MAX_ITERATIONS {
        return Err(Error::InvalidIterationCount(params.iterations));
    }
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| Error::Rng)?;
    getrandom::fill(&mut iv).map_err(|_| Error::Rng)?;
    let mut key_buf = Zeroizing::new([0u8; 32]);
    let key = &mut key_buf[..params.cipher.key_len()];
    params
        .prf
        .derive(password, &salt, params.iterations, &mut *key);
    let data = match params.cipher {
        Pbes2Cipher::Sm4Cbc => cbc_encrypt::<gm_sm4::Sm4>(key, &iv, plain)?,
        Pbes2Cipher::Aes128Cbc => cbc_encrypt::<aes::Aes128>(key, &iv, plain)?,
        Pbes2Cipher::Aes192Cbc => cbc_encrypt::<aes::Aes192>(key, &iv, plain)?,
        Pbes2Cipher::Aes256Cbc => cbc_encrypt::<aes::Aes256>(key, &iv, plain)?,
    };
    let oid_tlv = |o: &[u8]| der::tlv(der::OID, &[o]);
    let null = der::tlv(der::NULL, &[]);
    let prf = der::tlv(der::SEQUENCE, &[&oid_tlv(params.prf.oid()), &null]);
    let pbkdf2_params = der::tlv(
        der::SEQUENCE,
        &[
            &der::tlv(der::OCTET_STRING, &[&salt]),
            &der::uint(&params.iterations.to_be_bytes()),
            &prf,
        ],
    );
    let kdf = der::tlv(der::SEQUENCE, &[&oid_tlv(oid::PBKDF2), &pbkdf2_params]);
    let enc = der::tlv(
        der::SEQUENCE,
        &[
            &oid_tlv(params.cipher.oid()),
            &der::tlv(der::OCTET_STRING, &[&iv]),
        ],
    );
    let pbes2 = der::tlv(der::SEQUENCE, &[&kdf, &enc]);
    let alg = der::tlv(der::SEQUENCE, &[&oid_tlv(oid::PBES2), &pbes2]);
    Ok(der::tlv(
        der::SEQUENCE,
        &[&alg, &der::tlv(der::OCTET_STRING, &[&data])],
    ))
}
