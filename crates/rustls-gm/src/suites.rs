//! The RFC 8998 cipher suites.

use rustls::crypto::tls13::HkdfUsingHmac;
use rustls::crypto::CipherSuiteCommon;
use rustls::{SupportedCipherSuite, Tls13CipherSuite};

use crate::aead::{Mode, Sm4Aead};
use crate::codepoints;
use crate::hash::Sm3Hash;
use crate::hmac::HmacSm3;

/// Records per key before rustls rekeys: the same bound rustls uses for
/// AES-128-GCM (SM4 is also a 128-bit block cipher).
const CONFIDENTIALITY_LIMIT: u64 = 1 << 24;

/// `TLS_SM4_GCM_SM3` (0x00C6): TLS 1.3, SM4-GCM, HKDF-SM3.
pub static TLS13_SM4_GCM_SM3: SupportedCipherSuite =
    SupportedCipherSuite::Tls13(&Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: codepoints::TLS_SM4_GCM_SM3,
            hash_provider: &Sm3Hash,
            confidentiality_limit: CONFIDENTIALITY_LIMIT,
        },
        hkdf_provider: &HkdfUsingHmac(&HmacSm3),
        aead_alg: &Sm4Aead(Mode::Gcm),
        quic: None,
    });

/// `TLS_SM4_CCM_SM3` (0x00C7): TLS 1.3, SM4-CCM (q = 3), HKDF-SM3.
pub static TLS13_SM4_CCM_SM3: SupportedCipherSuite =
    SupportedCipherSuite::Tls13(&Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: codepoints::TLS_SM4_CCM_SM3,
            hash_provider: &Sm3Hash,
            confidentiality_limit: CONFIDENTIALITY_LIMIT,
        },
        hkdf_provider: &HkdfUsingHmac(&HmacSm3),
        aead_alg: &Sm4Aead(Mode::Ccm),
        quic: None,
    });

/// Both RFC 8998 suites, GCM first.
pub static ALL_SM_SUITES: &[SupportedCipherSuite] = &[TLS13_SM4_GCM_SM3, TLS13_SM4_CCM_SM3];

/// Whether `suite` is one of the RFC 8998 suites.
pub fn is_sm_suite(suite: rustls::CipherSuite) -> bool {
    suite == codepoints::TLS_SM4_GCM_SM3 || suite == codepoints::TLS_SM4_CCM_SM3
}
