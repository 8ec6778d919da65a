//! SM2-with-SM3 signature verification for rustls-webpki: certificate
//! signatures with the identifier "1234567812345678" (both AlgorithmIdentifier
//! forms), and TLS 1.3 CertificateVerify with "TLSv1.3+GM+Cipher+Suite".

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

use crate::codepoints::{
    ALG_ID_SM2_PUBLIC_KEY, ALG_ID_SM2_SM3, ALG_ID_SM2_SM3_NULL, CERT_SM2_ID, SM2SIG_SM3,
    TLS13_SM2_ID,
};

/// One SM2-with-SM3 verifier: an identifier and the signature
/// AlgorithmIdentifier it answers to.
#[derive(Debug)]
struct Sm2Sm3Verify {
    id: &'static str,
    signature_alg_id: &'static [u8],
}

impl SignatureVerificationAlgorithm for Sm2Sm3Verify {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if crate::sm2::verify(self.id, public_key, message, signature) {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier::from_slice(ALG_ID_SM2_PUBLIC_KEY)
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier::from_slice(self.signature_alg_id)
    }
}

/// SM2-with-SM3 certificate signatures (identifier "1234567812345678"),
/// AlgorithmIdentifier without parameters. For rustls-webpki chain checks.
pub static SM2_SM3_CERT: &dyn SignatureVerificationAlgorithm = &Sm2Sm3Verify {
    id: CERT_SM2_ID,
    signature_alg_id: ALG_ID_SM2_SM3,
};

/// SM2-with-SM3 certificate signatures (identifier "1234567812345678"),
/// AlgorithmIdentifier with NULL parameters (as CFCA issues them).
pub static SM2_SM3_CERT_NULL_PARAMS: &dyn SignatureVerificationAlgorithm = &Sm2Sm3Verify {
    id: CERT_SM2_ID,
    signature_alg_id: ALG_ID_SM2_SM3_NULL,
};

/// TLS 1.3 CertificateVerify under `sm2sig_sm3` (identifier
/// "TLSv1.3+GM+Cipher+Suite").
pub(crate) static SM2_SM3_TLS13: &dyn SignatureVerificationAlgorithm = &Sm2Sm3Verify {
    id: TLS13_SM2_ID,
    signature_alg_id: ALG_ID_SM2_SM3,
};

/// The certificate algorithms, for `WebPkiSupportedAlgorithms::all`.
pub(crate) static CERT_ALGS: &[&dyn SignatureVerificationAlgorithm] =
    &[SM2_SM3_CERT, SM2_SM3_CERT_NULL_PARAMS];

/// The handshake mapping entry for `sm2sig_sm3`.
pub(crate) static SM2SIG_SM3_MAPPING: (
    rustls::SignatureScheme,
    &[&dyn SignatureVerificationAlgorithm],
) = (SM2SIG_SM3, &[SM2_SM3_TLS13]);

/// SM2 only: what [`crate::provider`] verifies.
pub(crate) static SUPPORTED_SIG_ALGS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: CERT_ALGS,
    mapping: &[SM2SIG_SM3_MAPPING],
};

/// SM2 first, then everything `base` verifies (for the fallback provider).
pub(crate) fn merged(base: &WebPkiSupportedAlgorithms) -> WebPkiSupportedAlgorithms {
    use std::sync::OnceLock;
    type Mapping = (
        rustls::SignatureScheme,
        &'static [&'static dyn SignatureVerificationAlgorithm],
    );
    static ALL: OnceLock<Vec<&'static dyn SignatureVerificationAlgorithm>> = OnceLock::new();
    static MAPPING: OnceLock<Vec<Mapping>> = OnceLock::new();
    let all = ALL.get_or_init(|| CERT_ALGS.iter().chain(base.all).copied().collect());
    let mapping = MAPPING.get_or_init(|| {
        core::iter::once(SM2SIG_SM3_MAPPING)
            .chain(base.mapping.iter().copied())
            .collect()
    });
    WebPkiSupportedAlgorithms { all, mapping }
}
