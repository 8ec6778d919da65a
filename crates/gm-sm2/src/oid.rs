//! Object identifiers, as DER content bytes (without tag and length).

/// id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480).
pub(crate) const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// sm2p256v1 / SM2 algorithm, 1.2.156.10197.1.301 (GM/T 0006).
pub(crate) const SM2: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d];
/// PBES2, 1.2.840.113549.1.5.13 (RFC 8018).
pub(crate) const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
/// PBKDF2, 1.2.840.113549.1.5.12 (RFC 8018).
pub(crate) const PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
/// hmacWithSHA1, 1.2.840.113549.2.7 (the PBKDF2 default PRF).
pub(crate) const HMAC_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x07];
/// hmacWithSHA224, 1.2.840.113549.2.8.
pub(crate) const HMAC_SHA224: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x08];
/// hmacWithSHA256, 1.2.840.113549.2.9 (OpenSSL's default PRF).
pub(crate) const HMAC_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09];
/// hmacWithSHA384, 1.2.840.113549.2.10.
pub(crate) const HMAC_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0a];
/// hmacWithSHA512, 1.2.840.113549.2.11.
pub(crate) const HMAC_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0b];
/// hmac-sm3, 1.2.156.10197.1.401.2 (GmSSL, OpenSSL's hmacWithSM3).
pub(crate) const HMAC_SM3: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x11, 0x02];
/// id-hmacWithSM3 as printed in GM/T 0091-2020 table A.1, 1.2.156.10197.1.401.3.1
/// (accepted when reading only).
pub(crate) const HMAC_SM3_GMT0091: &[u8] =
    &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x11, 0x03, 0x01];
/// aes128-CBC, 2.16.840.1.101.3.4.1.2.
pub(crate) const AES128_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02];
/// aes192-CBC, 2.16.840.1.101.3.4.1.22.
pub(crate) const AES192_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x16];
/// aes256-CBC, 2.16.840.1.101.3.4.1.42.
pub(crate) const AES256_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];
/// sm4-cbc, 1.2.156.10197.1.104.2 (GM/T 0006).
pub(crate) const SM4_CBC: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x68, 0x02];

/// Names of identifiers that show up in error messages.
const NAMES: &[(&[u8], &str)] = &[
    (EC_PUBLIC_KEY, "id-ecPublicKey"),
    (SM2, "sm2p256v1"),
    (PBES2, "PBES2"),
    (PBKDF2, "PBKDF2"),
    (HMAC_SHA1, "hmacWithSHA1"),
    (HMAC_SHA224, "hmacWithSHA224"),
    (HMAC_SHA256, "hmacWithSHA256"),
    (HMAC_SHA384, "hmacWithSHA384"),
    (HMAC_SHA512, "hmacWithSHA512"),
    (HMAC_SM3, "hmac-sm3"),
    (AES128_CBC, "aes128-CBC"),
    (AES192_CBC, "aes192-CBC"),
    (AES256_CBC, "aes256-CBC"),
    (SM4_CBC, "sm4-cbc"),
    // Common identifiers we do not support, named for clearer errors.
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07],
        "des-ede3-cbc",
    ),
    (&[0x2b, 0x0e, 0x03, 0x02, 0x07], "desCBC"),
    (
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x04, 0x0b],
        "scrypt",
    ),
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        "prime256v1 (NIST P-256)",
    ),
    (&[0x2b, 0x81, 0x04, 0x00, 0x22], "secp384r1 (NIST P-384)"),
    (&[0x2b, 0x81, 0x04, 0x00, 0x0a], "secp256k1"),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
        "rsaEncryption",
    ),
    (&[0x2b, 0x65, 0x70], "Ed25519"),
];

/// Dotted form of an OID's content bytes, followed by its name when known
/// (e.g. `"1.2.840.113549.2.9 (hmacWithSHA256)"`). Malformed content is
/// shown in hex.
pub(crate) fn describe(content: &[u8]) -> String {
    let dotted = dotted(content).unwrap_or_else(|| {
        let hex: String = content.iter().map(|b| format!("{b:02x}")).collect();
        format!("malformed OID {hex}")
    });
    match NAMES.iter().find(|(oid, _)| *oid == content) {
        Some((_, name)) => format!("{dotted} ({name})"),
        None => dotted,
    }
}

fn dotted(content: &[u8]) -> Option<String> {
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    let mut fresh = true;
    for &b in content {
        if fresh && b == 0x80 {
            return None; // non-minimal arc
        }
        acc = acc.checked_mul(128)? | u128::from(b & 0x7f);
        fresh = b & 0x80 == 0;
        if fresh {
            arcs.push(acc);
            acc = 0;
        }
    }
    if !fresh || arcs.is_empty() {
        return None;
    }
    let first = arcs[0];
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut s = format!("{a}.{b}");
    for arc in &arcs[1..] {
        s.push_str(&format!(".{arc}"));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(describe(SM2), "1.2.156.10197.1.301 (sm2p256v1)");
        assert_eq!(describe(HMAC_SM3_GMT0091), "1.2.156.10197.1.401.3.1");
        assert_eq!(describe(AES256_CBC), "2.16.840.1.101.3.4.1.42 (aes256-CBC)");
        assert_eq!(describe(&[0x2a, 0x81]), "malformed OID 2a81");
    }
}
