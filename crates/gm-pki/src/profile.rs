//! Certificate profiles (what a certificate may be used for), key usage
//! flags and subject alternative names.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use const_oid::ObjectIdentifier as Oid;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::keys::PublicKeyAlgorithm;
use crate::oid;

/// What a certificate is for. Each profile fixes basicConstraints,
/// keyUsage and extendedKeyUsage:
///
/// | profile | basicConstraints | keyUsage (critical) | extKeyUsage |
/// |---|---|---|---|
/// | `RootCa` | CA, no path limit | keyCertSign, cRLSign | - |
/// | `IntermediateCa` | CA, pathLen 0 | digitalSignature, keyCertSign, cRLSign | - |
/// | `TlsServer` | not CA | digitalSignature (+ keyEncipherment for RSA) | serverAuth |
/// | `TlsClient` | not CA | digitalSignature | clientAuth |
/// | `GmSign` | not CA | digitalSignature, nonRepudiation (GM/T 0015) | - |
/// | `GmEnc` | not CA | keyEncipherment, dataEncipherment, keyAgreement (GM/T 0015) | - |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// A self-signed root CA.
    RootCa,
    /// A CA below the root that may only issue end-entity certificates.
    IntermediateCa,
    /// A TLS server (end entity, serverAuth).
    TlsServer,
    /// A TLS client (end entity, clientAuth).
    TlsClient,
    /// A GM/T 0015 signing certificate (the "sign" half of a dual pair).
    GmSign,
    /// A GM/T 0015 encryption certificate (the "enc" half of a dual pair).
    GmEnc,
}

impl Profile {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Profile::RootCa => "root",
            Profile::IntermediateCa => "intermediate",
            Profile::TlsServer => "server",
            Profile::TlsClient => "client",
            Profile::GmSign => "sign",
            Profile::GmEnc => "enc",
        }
    }

    /// Whether certificates of this profile are CAs.
    pub fn is_ca(self) -> bool {
        matches!(self, Profile::RootCa | Profile::IntermediateCa)
    }

    /// The keyUsage bits for a subject key of type `key`.
    pub fn key_usage(self, key: &PublicKeyAlgorithm) -> KeyUsage {
        match self {
            Profile::RootCa => KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN,
            Profile::IntermediateCa => {
                KeyUsage::DIGITAL_SIGNATURE | KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN
            }
            Profile::TlsServer => match key {
                PublicKeyAlgorithm::Rsa { .. } => {
                    KeyUsage::DIGITAL_SIGNATURE | KeyUsage::KEY_ENCIPHERMENT
                }
                _ => KeyUsage::DIGITAL_SIGNATURE,
            },
            Profile::TlsClient => KeyUsage::DIGITAL_SIGNATURE,
            Profile::GmSign => KeyUsage::DIGITAL_SIGNATURE | KeyUsage::NON_REPUDIATION,
            Profile::GmEnc => {
                KeyUsage::KEY_ENCIPHERMENT | KeyUsage::DATA_ENCIPHERMENT | KeyUsage::KEY_AGREEMENT
            }
        }
    }

    /// The extendedKeyUsage purposes (empty: no extension).
    pub fn extended_key_usage(self) -> Vec<Oid> {
        match self {
            Profile::TlsServer => vec![oid::KP_SERVER_AUTH],
            Profile::TlsClient => vec![oid::KP_CLIENT_AUTH],
            _ => Vec::new(),
        }
    }

    /// basicConstraints pathLenConstraint for CA profiles.
    pub fn path_len(self) -> Option<u8> {
        match self {
            Profile::IntermediateCa => Some(0),
            _ => None,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = Error;

    /// `root`, `intermediate` (`ca`, `sub-ca`), `server` (`tls-server`),
    /// `client` (`tls-client`), `sign` (`gm-sign`), `enc` (`gm-enc`,
    /// `encrypt`).
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "root" | "root-ca" | "rootca" => Profile::RootCa,
            "intermediate" | "intermediate-ca" | "ca" | "sub-ca" | "subca" => {
                Profile::IntermediateCa
            }
            "server" | "tls-server" => Profile::TlsServer,
            "client" | "tls-client" => Profile::TlsClient,
            "sign" | "gm-sign" | "signing" => Profile::GmSign,
            "enc" | "gm-enc" | "encrypt" | "encryption" => Profile::GmEnc,
            other => {
                let names = "root, intermediate, server, client, sign or enc";
                return Err(Error::Profile(format!(
                    "unknown profile {other:?} (use {names})"
                )));
            }
        })
    }
}

/// keyUsage bits (RFC 5280 section 4.2.1.3); bit `i` of the value is
/// KeyUsage bit `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct KeyUsage(pub u16);

impl KeyUsage {
    /// digitalSignature (0).
    pub const DIGITAL_SIGNATURE: KeyUsage = KeyUsage(1 << 0);
    /// nonRepudiation / contentCommitment (1).
    pub const NON_REPUDIATION: KeyUsage = KeyUsage(1 << 1);
    /// keyEncipherment (2).
    pub const KEY_ENCIPHERMENT: KeyUsage = KeyUsage(1 << 2);
    /// dataEncipherment (3).
    pub const DATA_ENCIPHERMENT: KeyUsage = KeyUsage(1 << 3);
    /// keyAgreement (4).
    pub const KEY_AGREEMENT: KeyUsage = KeyUsage(1 << 4);
    /// keyCertSign (5).
    pub const KEY_CERT_SIGN: KeyUsage = KeyUsage(1 << 5);
    /// cRLSign (6).
    pub const CRL_SIGN: KeyUsage = KeyUsage(1 << 6);
    /// encipherOnly (7).
    pub const ENCIPHER_ONLY: KeyUsage = KeyUsage(1 << 7);
    /// decipherOnly (8).
    pub const DECIPHER_ONLY: KeyUsage = KeyUsage(1 << 8);

    const NAMES: [(&'static str, &'static str); 9] = [
        ("digitalSignature", "Digital Signature"),
        ("nonRepudiation", "Non Repudiation"),
        ("keyEncipherment", "Key Encipherment"),
        ("dataEncipherment", "Data Encipherment"),
        ("keyAgreement", "Key Agreement"),
        ("keyCertSign", "Certificate Sign"),
        ("cRLSign", "CRL Sign"),
        ("encipherOnly", "Encipher Only"),
        ("decipherOnly", "Decipher Only"),
    ];

    /// Whether every bit of `other` is set here.
    pub fn contains(self, other: KeyUsage) -> bool {
        self.0 & other.0 == other.0
    }

    /// RFC 5280 names of the set bits (`digitalSignature`, ...).
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, (n, _))| *n)
            .collect()
    }

    /// OpenSSL's names of the set bits (`Digital Signature`, ...).
    pub fn openssl_names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, (_, n))| *n)
            .collect()
    }

    /// The DER BIT STRING (named bits: trailing zero bits dropped).
    pub(crate) fn to_der(self) -> Vec<u8> {
        // Bit i is the i-th bit from the most significant bit of byte 0.
        let mut bytes = [0u8; 2];
        for i in 0..9 {
            if self.0 & (1 << i) != 0 {
                bytes[i / 8] |= 0x80 >> (i % 8);
            }
        }
        let len = if bytes[1] != 0 {
            2
        } else if bytes[0] != 0 {
            1
        } else {
            0
        };
        let mut content = vec![0u8];
        if len > 0 {
            let last = bytes[len - 1];
            content[0] = last.trailing_zeros() as u8;
            content.extend_from_slice(&bytes[..len]);
        }
        crate::asn1::tlv(crate::asn1::BIT_STRING, &content)
    }
}

impl std::ops::BitOr for KeyUsage {
    type Output = KeyUsage;
    fn bitor(self, rhs: KeyUsage) -> KeyUsage {
        KeyUsage(self.0 | rhs.0)
    }
}

/// A subject alternative name we write and read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SubjectAltName {
    /// dNSName.
    Dns(String),
    /// iPAddress (IPv4 or IPv6).
    Ip(IpAddr),
    /// rfc822Name (e-mail).
    Email(String),
    /// uniformResourceIdentifier.
    Uri(String),
    /// Any other GeneralName (read only), described.
    Other(String),
}

impl SubjectAltName {
    /// A SAN for `host`: an IP address if it parses as one, else a DNS name.
    pub fn for_host(host: &str) -> Result<Self> {
        match host.parse::<IpAddr>() {
            Ok(ip) => Ok(SubjectAltName::Ip(ip)),
            Err(_) => {
                check_dns(host)?;
                Ok(SubjectAltName::Dns(host.to_owned()))
            }
        }
    }

    /// The GeneralName DER.
    pub(crate) fn to_der(&self) -> Result<Vec<u8>> {
        use crate::asn1::tlv;
        Ok(match self {
            SubjectAltName::Dns(d) => tlv(0x82, d.as_bytes()),
            SubjectAltName::Email(e) => tlv(0x81, e.as_bytes()),
            SubjectAltName::Uri(u) => tlv(0x86, u.as_bytes()),
            SubjectAltName::Ip(IpAddr::V4(a)) => tlv(0x87, &a.octets()),
            SubjectAltName::Ip(IpAddr::V6(a)) => tlv(0x87, &a.octets()),
            SubjectAltName::Other(o) => return Err(Error::InvalidSan(format!("cannot write {o}"))),
        })
    }
}

fn check_dns(d: &str) -> Result<()> {
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').enumerate().all(|(i, label)| {
            (label == "*" && i == 0)
                || (!label.is_empty()
                    && label.len() <= 63
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    && !label.starts_with('-')
                    && !label.ends_with('-'))
        });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidSan(format!(
            "{d:?} is not a valid DNS name (use punycode for internationalized names)"
        )))
    }
}

impl fmt::Display for SubjectAltName {
    /// `DNS:name`, `IP:addr`, `EMAIL:addr`, `URI:uri` (OpenSSL's spelling
    /// except `IP Address:` becomes `IP:`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectAltName::Dns(d) => write!(f, "DNS:{d}"),
            SubjectAltName::Ip(a) => write!(f, "IP:{a}"),
            SubjectAltName::Email(e) => write!(f, "EMAIL:{e}"),
            SubjectAltName::Uri(u) => write!(f, "URI:{u}"),
            SubjectAltName::Other(o) => f.write_str(o),
        }
    }
}

impl FromStr for SubjectAltName {
    type Err = Error;

    /// `DNS:name`, `IP:addr`, `EMAIL:addr` (also `email:`), `URI:uri`; a
    /// bare value is taken as an IP address if it parses as one, else as a
    /// DNS name.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let Some((kind, value)) = s.split_once(':').filter(|(k, _)| {
            matches!(
                k.to_ascii_uppercase().as_str(),
                "DNS" | "IP" | "EMAIL" | "URI" | "IP ADDRESS"
            )
        }) else {
            return SubjectAltName::for_host(s);
        };
        let value = value.trim();
        match kind.to_ascii_uppercase().as_str() {
            "DNS" => {
                check_dns(value)?;
                Ok(SubjectAltName::Dns(value.to_owned()))
            }
            "IP" | "IP ADDRESS" => value
                .parse()
                .map(SubjectAltName::Ip)
                .map_err(|_| Error::InvalidSan(format!("{value:?} is not an IP address"))),
            "EMAIL" if value.contains('@') && value.is_ascii() => {
                Ok(SubjectAltName::Email(value.to_owned()))
            }
            "URI" if value.contains(':') && value.is_ascii() => {
                Ok(SubjectAltName::Uri(value.to_owned()))
            }
            _ => Err(Error::InvalidSan(format!("{s:?}"))),
        }
    }
}

impl Serialize for SubjectAltName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_usage_der() {
        // digitalSignature only: 03 02 07 80
        assert_eq!(KeyUsage::DIGITAL_SIGNATURE.to_der(), vec![3, 2, 7, 0x80]);
        // keyCertSign | cRLSign: 03 02 01 06
        assert_eq!(
            (KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN).to_der(),
            vec![3, 2, 1, 0x06]
        );
        // GM enc: keyEncipherment | dataEncipherment | keyAgreement: 03 02 03 38
        assert_eq!(
            Profile::GmEnc.key_usage(&PublicKeyAlgorithm::Sm2).to_der(),
            vec![3, 2, 3, 0x38]
        );
        assert_eq!(KeyUsage::DECIPHER_ONLY.to_der(), vec![3, 3, 7, 0, 0x80]);
    }

    #[test]
    fn sans_parse() {
        assert_eq!(
            "DNS:a.example".parse::<SubjectAltName>().unwrap(),
            SubjectAltName::Dns("a.example".into())
        );
        assert_eq!(
            "IP:127.0.0.1".parse::<SubjectAltName>().unwrap(),
            SubjectAltName::Ip("127.0.0.1".parse().unwrap())
        );
        assert_eq!(
            "::1".parse::<SubjectAltName>().unwrap(),
            SubjectAltName::Ip("::1".parse().unwrap())
        );
        assert!("DNS:bad name".parse::<SubjectAltName>().is_err());
        assert!("IP:300.1.1.1".parse::<SubjectAltName>().is_err());
    }
}
