//! Object identifiers used by this crate.

use const_oid::ObjectIdentifier as Oid;

/// SM2-with-SM3 signature (GM/T 0006): 1.2.156.10197.1.501.
pub const SM2_WITH_SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.501");
/// The SM2 curve sm2p256v1: 1.2.156.10197.1.301.
pub const SM2_CURVE: Oid = Oid::new_unwrap("1.2.156.10197.1.301");
/// id-ecPublicKey: 1.2.840.10045.2.1.
pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// NIST P-256 (prime256v1, secp256r1).
pub const P256_CURVE: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
/// NIST P-384 (secp384r1).
pub const P384_CURVE: Oid = Oid::new_unwrap("1.3.132.0.34");
/// rsaEncryption.
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// sha256WithRSAEncryption.
pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption.
pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
/// sha512WithRSAEncryption.
pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
/// sha1WithRSAEncryption (read only, never verified).
pub const SHA1_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
/// RSASSA-PSS.
pub const RSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
/// ecdsa-with-SHA256.
pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384.
pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
/// ecdsa-with-SHA512.
pub const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
/// Ed25519.
pub const ED25519: Oid = Oid::new_unwrap("1.3.101.112");

/// subjectKeyIdentifier.
pub const EXT_SUBJECT_KEY_ID: Oid = Oid::new_unwrap("2.5.29.14");
/// keyUsage.
pub const EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
/// subjectAltName.
pub const EXT_SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
/// basicConstraints.
pub const EXT_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
/// authorityKeyIdentifier.
pub const EXT_AUTHORITY_KEY_ID: Oid = Oid::new_unwrap("2.5.29.35");
/// extKeyUsage.
pub const EXT_EXTENDED_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");

/// id-kp-serverAuth.
pub const KP_SERVER_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.1");
/// id-kp-clientAuth.
pub const KP_CLIENT_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.2");

/// PKCS#9 extensionRequest (CSR attribute).
pub const EXTENSION_REQUEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.14");

/// A readable name for an OID we know, else its dotted form.
pub fn name(o: &Oid) -> String {
    let known: &[(Oid, &str)] = &[
        (SM2_WITH_SM3, "SM2-with-SM3"),
        (SM2_CURVE, "SM2"),
        (EC_PUBLIC_KEY, "id-ecPublicKey"),
        (P256_CURVE, "P-256"),
        (P384_CURVE, "P-384"),
        (RSA_ENCRYPTION, "rsaEncryption"),
        (SHA256_WITH_RSA, "sha256WithRSAEncryption"),
        (SHA384_WITH_RSA, "sha384WithRSAEncryption"),
        (SHA512_WITH_RSA, "sha512WithRSAEncryption"),
        (SHA1_WITH_RSA, "sha1WithRSAEncryption"),
        (RSA_PSS, "RSASSA-PSS"),
        (ECDSA_WITH_SHA256, "ecdsa-with-SHA256"),
        (ECDSA_WITH_SHA384, "ecdsa-with-SHA384"),
        (ECDSA_WITH_SHA512, "ecdsa-with-SHA512"),
        (ED25519, "Ed25519"),
        (KP_SERVER_AUTH, "serverAuth"),
        (KP_CLIENT_AUTH, "clientAuth"),
        (Oid::new_unwrap("1.3.6.1.5.5.7.3.3"), "codeSigning"),
        (Oid::new_unwrap("1.3.6.1.5.5.7.3.4"), "emailProtection"),
        (Oid::new_unwrap("1.3.6.1.5.5.7.3.8"), "timeStamping"),
        (Oid::new_unwrap("1.3.6.1.5.5.7.3.9"), "OCSPSigning"),
        (Oid::new_unwrap("2.5.29.31"), "cRLDistributionPoints"),
        (Oid::new_unwrap("2.5.29.32"), "certificatePolicies"),
        (Oid::new_unwrap("1.3.6.1.5.5.7.1.1"), "authorityInfoAccess"),
        (EXT_SUBJECT_KEY_ID, "subjectKeyIdentifier"),
        (EXT_KEY_USAGE, "keyUsage"),
        (EXT_SUBJECT_ALT_NAME, "subjectAltName"),
        (EXT_BASIC_CONSTRAINTS, "basicConstraints"),
        (EXT_AUTHORITY_KEY_ID, "authorityKeyIdentifier"),
        (EXT_EXTENDED_KEY_USAGE, "extKeyUsage"),
    ];
    known
        .iter()
        .find(|(k, _)| k == o)
        .map(|(_, n)| (*n).to_owned())
        .unwrap_or_else(|| o.to_string())
}
