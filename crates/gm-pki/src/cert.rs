//! Parsed X.509 certificates: fields, a summary for `--json`, and a text
//! dump in the manner of `openssl x509 -text`.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::{Decode, Encode};
use serde::Serialize;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage as X509KeyUsage,
    SubjectAltName as X509San, SubjectKeyIdentifier,
};

use crate::asn1;
use crate::error::{Error, Result};
use crate::keys::{PublicKeyAlgorithm, PublicKeyInfo, SignatureAlgorithm};
use crate::name::{hex_upper, DistinguishedName};
use crate::oid;
use crate::pem;
use crate::profile::{KeyUsage, SubjectAltName};

/// An X.509 certificate: its DER and the parsed structure.
///
/// Parsing is strict DER (x509-cert); nothing about the input can make it
/// panic. SM2-with-SM3 is recognised with and without NULL parameters.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    x509: x509_cert::Certificate,
    subject: DistinguishedName,
    issuer: DistinguishedName,
    public_key: PublicKeyInfo,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("serial", &self.serial_hex())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

const WHAT: &str = "certificate";

impl Certificate {
    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        // Reject trailing data and non-SEQUENCE input up front.
        asn1::signed_part(der, WHAT)?;
        let x509 = x509_cert::Certificate::from_der(der).map_err(|e| Error::malformed(WHAT, e))?;
        let tbs = x509.tbs_certificate();
        let subject = DistinguishedName::from_x509(
            tbs.subject(),
            tbs.subject()
                .to_der()
                .map_err(|e| Error::malformed(WHAT, e))?,
        );
        let issuer = DistinguishedName::from_x509(
            tbs.issuer(),
            tbs.issuer()
                .to_der()
                .map_err(|e| Error::malformed(WHAT, e))?,
        );
        let spki = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|e| Error::malformed(WHAT, e))?;
        let public_key = PublicKeyInfo::from_der(&spki)?;
        Ok(Certificate {
            der: der.to_vec(),
            x509,
            subject,
            issuer,
            public_key,
        })
    }

    /// Parses the first certificate of PEM (`CERTIFICATE`) or DER input.
    pub fn load(data: &[u8]) -> Result<Self> {
        Self::load_all(data)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::malformed(WHAT, "no CERTIFICATE block"))
    }

    /// Parses every certificate of PEM input (a chain or bundle), or the
    /// one certificate of DER input.
    pub fn load_all(data: &[u8]) -> Result<Vec<Self>> {
        if !pem::is_pem(data) {
            return Ok(vec![Self::from_der(data)?]);
        }
        pem::blocks(data, WHAT)?
            .iter()
            .filter(|b| matches!(b.label.as_str(), "CERTIFICATE" | "X509 CERTIFICATE"))
            .map(|b| Self::from_der(&b.der))
            .collect()
    }

    /// The DER encoding.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// PEM (`-----BEGIN CERTIFICATE-----`).
    pub fn to_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.der)
    }

    /// The parsed x509-cert structure, for anything not exposed here.
    pub fn x509(&self) -> &x509_cert::Certificate {
        &self.x509
    }

    /// The subject name.
    pub fn subject(&self) -> &DistinguishedName {
        &self.subject
    }

    /// The issuer name.
    pub fn issuer(&self) -> &DistinguishedName {
        &self.issuer
    }

    /// The serial number's big-endian bytes (as encoded, possibly with a
    /// leading zero).
    pub fn serial(&self) -> &[u8] {
        self.x509.tbs_certificate().serial_number().as_bytes()
    }

    /// The serial number as upper-case hex without leading zero bytes.
    pub fn serial_hex(&self) -> String {
        let s = self.serial();
        let skip = s
            .iter()
            .take_while(|b| **b == 0)
            .count()
            .min(s.len().saturating_sub(1));
        hex_upper(&s[skip..])
    }

    /// Start of validity.
    pub fn not_before(&self) -> SystemTime {
        self.x509
            .tbs_certificate()
            .validity()
            .not_before
            .to_system_time()
    }

    /// End of validity.
    pub fn not_after(&self) -> SystemTime {
        self.x509
            .tbs_certificate()
            .validity()
            .not_after
            .to_system_time()
    }

    /// Whole days from `now` until the end of validity (negative once
    /// expired; 0 on the last day).
    pub fn days_left(&self, now: SystemTime) -> i64 {
        let secs = unix(self.not_after()) - unix(now);
        secs.div_euclid(86_400)
    }

    /// The subject public key.
    pub fn public_key(&self) -> &PublicKeyInfo {
        &self.public_key
    }

    /// The signature algorithm (of the outer Certificate).
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::from_algorithm_identifier(self.x509.signature_algorithm())
    }

    /// The signature bytes.
    pub fn signature(&self) -> &[u8] {
        self.x509.signature().raw_bytes()
    }

    /// The signed TBSCertificate bytes, exactly as encoded.
    pub fn tbs_der(&self) -> &[u8] {
        // Checked in from_der.
        asn1::signed_part(&self.der, WHAT).unwrap_or(&[])
    }

    /// DER contents of the outer signature AlgorithmIdentifier.
    pub(crate) fn signature_algorithm_contents(&self) -> Vec<u8> {
        alg_contents(self.x509.signature_algorithm())
    }

    /// The X.509 version (1, 2 or 3).
    pub fn version(&self) -> u8 {
        self.x509.tbs_certificate().version() as u8 + 1
    }

    /// keyUsage, if present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.ext::<X509KeyUsage>()
            .map(|(_, ku)| KeyUsage(ku.0.bits()))
    }

    /// extendedKeyUsage OIDs, if present.
    pub fn extended_key_usage(&self) -> Option<Vec<const_oid::ObjectIdentifier>> {
        self.ext::<ExtendedKeyUsage>().map(|(_, e)| e.0)
    }

    /// basicConstraints `(cA, pathLenConstraint)`, if present.
    pub fn basic_constraints(&self) -> Option<(bool, Option<u8>)> {
        self.ext::<BasicConstraints>()
            .map(|(_, bc)| (bc.ca, bc.path_len_constraint))
    }

    /// Whether basicConstraints says this is a CA.
    pub fn is_ca(&self) -> bool {
        matches!(self.basic_constraints(), Some((true, _)))
    }

    /// Subject alternative names (those we do not model are
    /// [`SubjectAltName::Other`]).
    pub fn subject_alt_names(&self) -> Vec<SubjectAltName> {
        self.ext::<X509San>()
            .map(|(_, san)| san.0.iter().map(san_from_general_name).collect())
            .unwrap_or_default()
    }

    /// subjectKeyIdentifier, if present.
    pub fn subject_key_id(&self) -> Option<Vec<u8>> {
        self.ext::<SubjectKeyIdentifier>()
            .map(|(_, s)| s.0.as_bytes().to_vec())
    }

    /// authorityKeyIdentifier keyIdentifier, if present.
    pub fn authority_key_id(&self) -> Option<Vec<u8>> {
        self.ext::<AuthorityKeyIdentifier>()
            .and_then(|(_, a)| a.key_identifier.map(|k| k.as_bytes().to_vec()))
    }

    /// Whether subject and issuer are the same name.
    pub fn is_self_issued(&self) -> bool {
        self.subject.to_der() == self.issuer.to_der()
    }

    /// SHA-256 of the DER.
    pub fn fingerprint_sha256(&self) -> [u8; 32] {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }

    /// SM3 of the DER.
    pub fn fingerprint_sm3(&self) -> [u8; 32] {
        gm_sm3::sm3(&self.der)
    }

    /// Whether `key` is this certificate's key.
    pub fn matches_key(&self, key: &crate::KeyPair) -> bool {
        key.public_key().to_der() == self.public_key.to_der()
    }

    fn ext<'a, T: Decode<'a> + const_oid::AssociatedOid>(&'a self) -> Option<(bool, T)> {
        self.x509
            .tbs_certificate()
            .get_extension::<T>()
            .ok()
            .flatten()
    }

    /// A summary for display and JSON, relative to `now`.
    pub fn info(&self, now: SystemTime) -> CertInfo {
        CertInfo {
            subject: self.subject.to_string(),
            issuer: self.issuer.to_string(),
            serial: self.serial_hex(),
            not_before: rfc3339(self.not_before()),
            not_after: rfc3339(self.not_after()),
            days_left: self.days_left(now),
            expired: now > self.not_after(),
            not_yet_valid: now < self.not_before(),
            key_alg: self.public_key.algorithm().to_string(),
            sig_alg: self.signature_algorithm().name(),
            sans: self
                .subject_alt_names()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            key_usage: self
                .key_usage()
                .map(|k| k.names().iter().map(|s| s.to_string()).collect())
                .unwrap_or_default(),
            ext_key_usage: self
                .extended_key_usage()
                .map(|v| v.iter().map(oid::name).collect())
                .unwrap_or_default(),
            is_ca: self.is_ca(),
            path_len: self.basic_constraints().and_then(|(_, p)| p),
            self_issued: self.is_self_issued(),
            subject_key_id: self.subject_key_id().map(|k| hex_upper(&k)),
            authority_key_id: self.authority_key_id().map(|k| hex_upper(&k)),
            sha256_fingerprint: hex_upper(&self.fingerprint_sha256()),
            sm3_fingerprint: hex_upper(&self.fingerprint_sm3()),
        }
    }

    /// A multi-line dump in the manner of `openssl x509 -text -noout`, plus
    /// the days left relative to `now`.
    pub fn to_text(&self, now: SystemTime) -> String {
        let mut s = String::new();
        let tbs = self.x509.tbs_certificate();
        let _ = writeln!(s, "Certificate:");
        let _ = writeln!(s, "    Data:");
        let v = self.version();
        let _ = writeln!(s, "        Version: {v} (0x{:x})", v - 1);
        let _ = writeln!(s, "        Serial Number:");
        let _ = writeln!(s, "            {}", colon_hex(self.serial()));
        let _ = writeln!(
            s,
            "        Signature Algorithm: {}",
            SignatureAlgorithm::from_algorithm_identifier(tbs.signature()).name()
        );
        let _ = writeln!(s, "        Issuer: {}", self.issuer.to_openssl_string());
        let _ = writeln!(s, "        Validity");
        let _ = writeln!(
            s,
            "            Not Before: {}",
            openssl_time(self.not_before())
        );
        let _ = writeln!(
            s,
            "            Not After : {}",
            openssl_time(self.not_after())
        );
        let _ = writeln!(s, "        Subject: {}", self.subject.to_openssl_string());
        let _ = writeln!(s, "        Subject Public Key Info:");
        let alg = self.public_key.algorithm();
        let _ = writeln!(s, "            Public Key Algorithm: {alg}");
        match alg {
            PublicKeyAlgorithm::Rsa { bits } => {
                let _ = writeln!(s, "                Public-Key: ({bits} bit)");
            }
            _ => {
                let _ = writeln!(s, "                pub:");
                for line in wrap_hex(self.public_key.key_bits()) {
                    let _ = writeln!(s, "                    {line}");
                }
            }
        }
        if let Some(exts) = tbs.extensions() {
            let _ = writeln!(s, "        X509v3 extensions:");
            for e in exts.iter() {
                let crit = if e.critical { " critical" } else { "" };
                let _ = writeln!(s, "            {}:{crit}", ext_title(&e.extn_id));
                for line in self.ext_lines(&e.extn_id, e.extn_value.as_bytes()) {
                    let _ = writeln!(s, "                {line}");
                }
            }
        }
        let _ = writeln!(
            s,
            "    Signature Algorithm: {}",
            self.signature_algorithm().name()
        );
        let _ = writeln!(s, "    Signature Value:");
        for line in wrap_hex(self.signature()) {
            let _ = writeln!(s, "        {line}");
        }
        let days = self.days_left(now);
        let status = if now < self.not_before() {
            "not yet valid".to_owned()
        } else if days < 0 {
            format!("EXPIRED {} days ago", -days)
        } else {
            format!("{days} days left")
        };
        let _ = writeln!(s, "Validity status: {status}");
        let _ = writeln!(
            s,
            "SHA256 Fingerprint: {}",
            colon_hex(&self.fingerprint_sha256())
        );
        let _ = writeln!(s, "SM3 Fingerprint: {}", colon_hex(&self.fingerprint_sm3()));
        s
    }

    fn ext_lines(&self, id: &const_oid::ObjectIdentifier, value: &[u8]) -> Vec<String> {
        let lines = match *id {
            o if o == oid::EXT_BASIC_CONSTRAINTS => {
                BasicConstraints::from_der(value).ok().map(|bc| {
                    let mut l = format!("CA:{}", if bc.ca { "TRUE" } else { "FALSE" });
                    if let Some(p) = bc.path_len_constraint {
                        let _ = write!(l, ", pathlen:{p}");
                    }
                    vec![l]
                })
            }
            o if o == oid::EXT_KEY_USAGE => X509KeyUsage::from_der(value)
                .ok()
                .map(|k| vec![KeyUsage(k.0.bits()).openssl_names().join(", ")]),
            o if o == oid::EXT_EXTENDED_KEY_USAGE => ExtendedKeyUsage::from_der(value)
                .ok()
                .map(|e| vec![e.0.iter().map(oid::name).collect::<Vec<_>>().join(", ")]),
            o if o == oid::EXT_SUBJECT_ALT_NAME => X509San::from_der(value).ok().map(|san| {
                vec![san
                    .0
                    .iter()
                    .map(|g| san_from_general_name(g).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")]
            }),
            o if o == oid::EXT_SUBJECT_KEY_ID => SubjectKeyIdentifier::from_der(value)
                .ok()
                .map(|k| vec![colon_hex(k.0.as_bytes())]),
            o if o == oid::EXT_AUTHORITY_KEY_ID => AuthorityKeyIdentifier::from_der(value)
                .ok()
                .and_then(|a| a.key_identifier)
                .map(|k| vec![colon_hex(k.as_bytes())]),
            _ => None,
        };
        lines.unwrap_or_else(|| wrap_hex(value))
    }
}

/// DER contents (OID + parameters) of an AlgorithmIdentifier.
pub(crate) fn alg_contents(alg: &spki::AlgorithmIdentifierOwned) -> Vec<u8> {
    let mut v = alg.oid.to_der().unwrap_or_default();
    if let Some(p) = &alg.parameters {
        v.extend(p.to_der().unwrap_or_default());
    }
    v
}

pub(crate) fn san_from_general_name(g: &x509_cert::ext::pkix::name::GeneralName) -> SubjectAltName {
    use x509_cert::ext::pkix::name::GeneralName as G;
    match g {
        G::DnsName(d) => SubjectAltName::Dns(d.to_string()),
        G::Rfc822Name(e) => SubjectAltName::Email(e.to_string()),
        G::UniformResourceIdentifier(u) => SubjectAltName::Uri(u.to_string()),
        G::IpAddress(ip) => {
            let b = ip.as_bytes();
            match b.len() {
                4 => {
                    let a: [u8; 4] = [b[0], b[1], b[2], b[3]];
                    SubjectAltName::Ip(std::net::IpAddr::from(a))
                }
                16 => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(b);
                    SubjectAltName::Ip(std::net::IpAddr::from(a))
                }
                _ => SubjectAltName::Other(format!("IP:<{} bytes>", b.len())),
            }
        }
        G::DirectoryName(n) => SubjectAltName::Other(format!(
            "DirName:{}",
            n.to_der()
                .ok()
                .and_then(|d| DistinguishedName::from_der(&d).ok())
                .map(|d| d.to_string())
                .unwrap_or_default()
        )),
        G::RegisteredId(o) => SubjectAltName::Other(format!("Registered ID:{o}")),
        G::OtherName(o) => SubjectAltName::Other(format!("othername:{}", o.type_id)),
        G::EdiPartyName(_) => SubjectAltName::Other("EdiPartyName".into()),
    }
}

fn ext_title(id: &const_oid::ObjectIdentifier) -> String {
    match *id {
        o if o == oid::EXT_BASIC_CONSTRAINTS => "X509v3 Basic Constraints".into(),
        o if o == oid::EXT_KEY_USAGE => "X509v3 Key Usage".into(),
        o if o == oid::EXT_EXTENDED_KEY_USAGE => "X509v3 Extended Key Usage".into(),
        o if o == oid::EXT_SUBJECT_ALT_NAME => "X509v3 Subject Alternative Name".into(),
        o if o == oid::EXT_SUBJECT_KEY_ID => "X509v3 Subject Key Identifier".into(),
        o if o == oid::EXT_AUTHORITY_KEY_ID => "X509v3 Authority Key Identifier".into(),
        o => oid::name(&o),
    }
}

/// Seconds since the Unix epoch (negative before it).
pub(crate) fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn date_time(t: SystemTime) -> Option<der::DateTime> {
    let d = t.duration_since(UNIX_EPOCH).ok()?;
    der::DateTime::from_unix_duration(Duration::from_secs(d.as_secs())).ok()
}

/// `2025-01-31T12:00:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    match date_time(t) {
        Some(d) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            d.year(),
            d.month(),
            d.day(),
            d.hour(),
            d.minutes(),
            d.seconds()
        ),
        None => format!("@{}", unix(t)),
    }
}

/// `Jan 31 12:00:00 2025 GMT`, as OpenSSL prints times.
fn openssl_time(t: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match date_time(t) {
        Some(d) => format!(
            "{} {:>2} {:02}:{:02}:{:02} {} GMT",
            MONTHS[usize::from(d.month().clamp(1, 12)) - 1],
            d.day(),
            d.hour(),
            d.minutes(),
            d.seconds(),
            d.year()
        ),
        None => rfc3339(t),
    }
}

fn colon_hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn wrap_hex(b: &[u8]) -> Vec<String> {
    b.chunks(18)
        .map(|c| {
            let mut l = colon_hex(c);
            l.push(':');
            l
        })
        .enumerate()
        .map(|(i, mut l)| {
            if (i + 1) * 18 >= b.len() {
                l.pop();
            }
            l
        })
        .collect()
}

/// What `gmkit cert show --json` prints.
#[derive(Clone, Debug, Serialize)]
pub struct CertInfo {
    /// Subject, RFC 4514 order.
    pub subject: String,
    /// Issuer, RFC 4514 order.
    pub issuer: String,
    /// Serial number, upper-case hex.
    pub serial: String,
    /// Start of validity, RFC 3339 UTC.
    pub not_before: String,
    /// End of validity, RFC 3339 UTC.
    pub not_after: String,
    /// Whole days until the end of validity (negative once expired).
    pub days_left: i64,
    /// Whether the end of validity has passed.
    pub expired: bool,
    /// Whether the start of validity is still ahead.
    pub not_yet_valid: bool,
    /// Public key algorithm, e.g. `SM2`, `RSA-2048`, `ECDSA P-256`.
    pub key_alg: String,
    /// Signature algorithm, e.g. `SM2-with-SM3`.
    pub sig_alg: String,
    /// Subject alternative names (`DNS:..`, `IP:..`).
    pub sans: Vec<String>,
    /// keyUsage names (`digitalSignature`, ...); empty when absent.
    pub key_usage: Vec<String>,
    /// extendedKeyUsage names (`serverAuth`, ...); empty when absent.
    pub ext_key_usage: Vec<String>,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// basicConstraints pathLenConstraint.
    pub path_len: Option<u8>,
    /// Subject and issuer are equal (a root, usually).
    pub self_issued: bool,
    /// subjectKeyIdentifier, hex.
    pub subject_key_id: Option<String>,
    /// authorityKeyIdentifier keyIdentifier, hex.
    pub authority_key_id: Option<String>,
    /// SHA-256 of the DER, hex.
    pub sha256_fingerprint: String,
    /// SM3 of the DER, hex.
    pub sm3_fingerprint: String,
}
