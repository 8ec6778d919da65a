//! A small certificate authority: a CA certificate, its key and its SM2
//! identifier, issuing certificates for the profiles of [`Profile`].

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::asn1;
use crate::atomic::{self, Access, Existing, Output};
use crate::cert::{unix, Certificate};
use crate::csr::Csr;
use crate::error::{Error, Result};
use crate::keys::{KeyPair, PublicKeyInfo};
use crate::name::DistinguishedName;
use crate::oid;
use crate::profile::{Profile, SubjectAltName};

/// How far back `not_before` is set by default, to tolerate clock skew.
pub const DEFAULT_BACKDATE: Duration = Duration::from_secs(5 * 60);

const DAY: u64 = 86_400;

/// What to put in a certificate: subject, key, profile, validity, SANs.
///
/// ```
/// use gm_pki::{IssueRequest, KeyAlgorithm, KeyPair, Profile};
/// let key = KeyPair::generate(KeyAlgorithm::Sm2)?;
/// let req = IssueRequest::new("CN=svc.example.cn,C=CN".parse()?, key.public_key().clone(), Profile::TlsServer)
///     .days(90)
///     .san("DNS:svc.example.cn".parse()?)
///     .san("IP:10.0.0.1".parse()?);
/// # let _ = req;
/// # Ok::<(), gm_pki::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct IssueRequest {
    /// The subject name.
    pub subject: DistinguishedName,
    /// The subject public key.
    pub public_key: PublicKeyInfo,
    /// What the certificate is for.
    pub profile: Profile,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// Subject alternative names.
    pub sans: Vec<SubjectAltName>,
}

impl IssueRequest {
    /// A request valid from five minutes ago for 365 days, without SANs.
    pub fn new(subject: DistinguishedName, public_key: PublicKeyInfo, profile: Profile) -> Self {
        let now = SystemTime::now();
        let not_before = now.checked_sub(DEFAULT_BACKDATE).unwrap_or(now);
        IssueRequest {
            subject,
            public_key,
            profile,
            not_before,
            not_after: now + Duration::from_secs(365 * DAY),
            sans: Vec::new(),
        }
    }

    /// The subject, key and SANs of a CSR whose signature verifies (SM2 with
    /// the default ID or the empty ID: see [`Csr::verify_proof_of_possession`]).
    pub fn from_csr(csr: &Csr, profile: Profile) -> Result<Self> {
        csr.verify_proof_of_possession()?;
        let mut r = Self::new(csr.subject().clone(), csr.public_key().clone(), profile);
        r.sans = csr.subject_alt_names().to_vec();
        Ok(r)
    }

    /// Valid for `days` days from now (not_before stays five minutes back).
    pub fn days(mut self, days: u32) -> Self {
        self.not_after = SystemTime::now() + Duration::from_secs(u64::from(days) * DAY);
        self
    }

    /// An explicit validity period.
    pub fn validity(mut self, not_before: SystemTime, not_after: SystemTime) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    /// Adds a SAN (duplicates are dropped).
    pub fn san(mut self, san: SubjectAltName) -> Self {
        if !self.sans.contains(&san) {
            self.sans.push(san);
        }
        self
    }

    /// Adds SANs (duplicates are dropped).
    pub fn sans(mut self, sans: impl IntoIterator<Item = SubjectAltName>) -> Self {
        for s in sans {
            self = self.san(s);
        }
        self
    }
}

/// The file names in a CA directory.
pub mod files {
    /// The CA certificate (PEM).
    pub const CERT: &str = "ca.crt";
    /// The CA private key (PKCS#8 PEM, encrypted if a password was given; 0600).
    pub const KEY: &str = "ca.key";
    /// The certificates above the CA certificate, for an intermediate CA (PEM).
    pub const CHAIN: &str = "chain.crt";
    /// Settings: `{"sm2_id": "1234567812345678"}`.
    pub const CONFIG: &str = "ca.json";
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CaConfig {
    sm2_id: String,
}

/// A CA: certificate, private key, the certificates above it (empty for a
/// root) and the SM2 identifier it signs with (default "1234567812345678").
///
/// ```
/// use gm_pki::{CertificateAuthority, Csr, KeyAlgorithm, KeyPair, Profile};
/// let ca = CertificateAuthority::init(&"CN=Test Root,O=Example,C=CN".parse()?, 3650, KeyPair::generate(KeyAlgorithm::Sm2)?)?;
/// let key = KeyPair::generate(KeyAlgorithm::Sm2)?;
/// let csr = Csr::new(&key, &"CN=www.example.cn,C=CN".parse()?, &["DNS:www.example.cn".parse()?])?;
/// let cert = ca.issue_csr(&csr, Profile::TlsServer, 365)?;
/// assert_eq!(cert.issuer(), ca.certificate().subject());
/// # Ok::<(), gm_pki::Error>(())
/// ```
#[derive(Debug)]
pub struct CertificateAuthority {
    cert: Certificate,
    key: KeyPair,
    chain: Vec<Certificate>,
    sm2_id: Vec<u8>,
}

impl CertificateAuthority {
    /// A new self-signed root CA valid for `days` days.
    pub fn init(subject: &DistinguishedName, days: u32, key: KeyPair) -> Result<Self> {
        Self::init_with_sm2_id(subject, days, key, gm_sm2::DEFAULT_ID)
    }

    /// [`Self::init`] signing with another SM2 identifier (the root's own
    /// signature and everything it issues).
    pub fn init_with_sm2_id(
        subject: &DistinguishedName,
        days: u32,
        key: KeyPair,
        sm2_id: &[u8],
    ) -> Result<Self> {
        let req = IssueRequest::new(subject.clone(), key.public_key().clone(), Profile::RootCa)
            .days(days);
        let der = build_certificate(&req, subject, &key, None, sm2_id)?;
        Ok(CertificateAuthority {
            cert: Certificate::from_der(&der)?,
            key,
            chain: Vec::new(),
            sm2_id: sm2_id.to_vec(),
        })
    }

    /// A CA from its parts: the key must match the certificate, which must
    /// be a CA certificate. `chain` lists the certificates above it.
    pub fn from_parts(cert: Certificate, key: KeyPair, chain: Vec<Certificate>) -> Result<Self> {
        if !cert.matches_key(&key) {
            return Err(Error::KeyMismatch);
        }
        if !cert.is_ca() {
            return Err(Error::Profile(format!(
                "{} is not a CA certificate (basicConstraints cA is not set)",
                cert.subject()
            )));
        }
        Ok(CertificateAuthority {
            cert,
            key,
            chain,
            sm2_id: gm_sm2::DEFAULT_ID.to_vec(),
        })
    }

    /// Sets the SM2 identifier used for signatures from now on.
    pub fn with_sm2_id(mut self, sm2_id: &[u8]) -> Self {
        self.sm2_id = sm2_id.to_vec();
        self
    }

    /// Creates an intermediate CA below this one (pathLen 0) with `key`,
    /// valid for `days` days; it signs with the same SM2 identifier.
    pub fn new_intermediate(
        &self,
        subject: &DistinguishedName,
        days: u32,
        key: KeyPair,
    ) -> Result<CertificateAuthority> {
        let req = IssueRequest::new(
            subject.clone(),
            key.public_key().clone(),
            Profile::IntermediateCa,
        )
        .days(days);
        let cert = self.issue(&req)?;
        let mut chain = vec![self.cert.clone()];
        chain.extend(self.chain.iter().cloned());
        Ok(CertificateAuthority {
            cert,
            key,
            chain,
            sm2_id: self.sm2_id.clone(),
        })
    }

    /// Loads a CA directory written by [`Self::save`] (unencrypted key).
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_with_password(dir, None)
    }

    /// Loads a CA directory whose key may be encrypted.
    pub fn load_with_password(dir: &Path, password: Option<&[u8]>) -> Result<Self> {
        let read = |name: &str| -> Result<Vec<u8>> {
            let p = dir.join(name);
            std::fs::read(&p).map_err(|e| Error::io(p, e))
        };
        let cert = Certificate::load(&read(files::CERT)?)?;
        let key = KeyPair::load(&read(files::KEY)?, password)?;
        let chain = match std::fs::read(dir.join(files::CHAIN)) {
            Ok(data) => Certificate::load_all(&data)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(dir.join(files::CHAIN), e)),
        };
        let mut ca = Self::from_parts(cert, key, chain)?;
        match std::fs::read(dir.join(files::CONFIG)) {
            Ok(data) => {
                let cfg: CaConfig = serde_json::from_slice(&data)
                    .map_err(|e| Error::malformed("CA configuration", e))?;
                ca.sm2_id = cfg.sm2_id.into_bytes();
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(dir.join(files::CONFIG), e)),
        }
        Ok(ca)
    }

    /// Writes the CA directory (created if missing, 0700): `ca.crt`,
    /// `ca.key` (0600; encrypted PKCS#8 when `password` is given),
    /// `chain.crt` (intermediates only; a root removes a stale one) and
    /// `ca.json`, as one unit ([`atomic::write_files_removing`]): on an
    /// error the old files stay. Refuses to overwrite an existing CA unless
    /// `force`.
    pub fn save(&self, dir: &Path, password: Option<&[u8]>, force: bool) -> Result<()> {
        if !dir.exists() {
            create_private_dir(dir)?;
        }
        let targets: Vec<PathBuf> = [files::CERT, files::KEY, files::CHAIN, files::CONFIG]
            .iter()
            .map(|n| dir.join(n))
            .collect();
        if !force {
            // Early and friendly; the write below refuses again, without a
            // race, if one appears meanwhile.
            if let Some(p) = targets.iter().find(|p| p.symlink_metadata().is_ok()) {
                return Err(Error::AlreadyExists(p.clone()));
            }
        }
        let key_pem = match password {
            Some(pw) => zeroize::Zeroizing::new(self.key.to_encrypted_pem(pw)?),
            None => self.key.to_pkcs8_pem()?,
        };
        let cert_pem = self.cert.to_pem();
        let chain: String = self.chain.iter().map(|c| c.to_pem()).collect();
        let cfg = CaConfig {
            sm2_id: String::from_utf8_lossy(&self.sm2_id).into_owned(),
        };
        let json =
            serde_json::to_vec_pretty(&cfg).map_err(|e| Error::malformed("CA configuration", e))?;
        let (key_path, cert_path, chain_path, config_path) = (
            dir.join(files::KEY),
            dir.join(files::CERT),
            dir.join(files::CHAIN),
            dir.join(files::CONFIG),
        );
        let mut outputs = vec![
            Output {
                path: &key_path,
                data: key_pem.as_bytes(),
                access: Access::Private,
            },
            Output {
                path: &cert_path,
                data: cert_pem.as_bytes(),
                access: Access::Public,
            },
            Output {
                path: &config_path,
                data: &json,
                access: Access::Public,
            },
        ];
        if !self.chain.is_empty() {
            outputs.push(Output {
                path: &chain_path,
                data: chain.as_bytes(),
                access: Access::Public,
            });
        }
        let existing = if force {
            Existing::Replace
        } else {
            Existing::Keep
        };
        // A root replacing an intermediate: the old chain goes, in the same
        // unit, or it would be loaded above the new certificate.
        let remove: &[&Path] = if self.chain.is_empty() {
            &[&chain_path]
        } else {
            &[]
        };
        atomic::write_files_removing(&outputs, remove, existing).map_err(Error::from_file_error)
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The certificates above the CA certificate (empty for a root).
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The CA key.
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// The SM2 identifier this CA signs with.
    pub fn sm2_id(&self) -> &[u8] {
        &self.sm2_id
    }

    /// Issues a certificate for a CSR after checking its signature; its
    /// subject and requested SANs are copied, everything else comes from
    /// the profile. Valid for `days` days.
    pub fn issue_csr(&self, csr: &Csr, profile: Profile, days: u32) -> Result<Certificate> {
        let req = IssueRequest::from_csr(csr, profile)?.days(days);
        self.issue(&req)
    }

    /// Issues a certificate. Checks that the validity is not empty and ends
    /// no later than the CA certificate, that the CA certificate is valid
    /// now, and that TLS server certificates name at least one host (the
    /// subject CN is added as a SAN when it is a host name or IP address
    /// and no SAN was given).
    pub fn issue(&self, req: &IssueRequest) -> Result<Certificate> {
        let now = SystemTime::now();
        if now > self.cert.not_after() {
            return Err(Error::Profile(format!(
                "the CA certificate expired on {}",
                crate::cert::rfc3339(self.cert.not_after())
            )));
        }
        if req.not_after > self.cert.not_after() {
            return Err(Error::InvalidValidity(format!(
                "the certificate would outlive the CA certificate (which expires {}); ask for fewer days",
                crate::cert::rfc3339(self.cert.not_after())
            )));
        }
        if req.profile == Profile::RootCa {
            return Err(Error::Profile(
                "a root CA is self-signed: use CertificateAuthority::init".into(),
            ));
        }
        if req.profile.is_ca() {
            if let Some((_, Some(0))) = self.cert.basic_constraints() {
                return Err(Error::Profile(format!(
                    "{} has pathLen 0 and cannot issue CA certificates",
                    self.cert.subject()
                )));
            }
        }
        let mut req = req.clone();
        if req.profile == Profile::TlsServer && req.sans.is_empty() {
            let cn = req.subject.common_name().unwrap_or_default();
            match SubjectAltName::for_host(&cn) {
                Ok(san) => req.sans.push(san),
                Err(_) => return Err(Error::Profile(
                    "a TLS server certificate needs a SAN (DNS:.. or IP:..) or a host name as CN"
                        .into(),
                )),
            }
        }
        let der = build_certificate(
            &req,
            self.cert.subject(),
            &self.key,
            Some(&self.cert),
            &self.sm2_id,
        )?;
        Certificate::from_der(&der)
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| Error::io(dir, e))
}

/// A random positive 16-byte serial number (126 bits of entropy; the top
/// bits are fixed so the encoding is always exactly 16 bytes).
pub(crate) fn random_serial() -> Result<[u8; 16]> {
    let mut s = [0u8; 16];
    getrandom::fill(&mut s).map_err(|_| Error::Rng)?;
    s[0] = (s[0] & 0x7f) | 0x40;
    Ok(s)
}

/// UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5).
fn time_der(t: SystemTime) -> Result<Vec<u8>> {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::InvalidValidity("time before 1970".into()))?
        .as_secs();
    let dt = der::DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|e| Error::InvalidValidity(format!("time not representable: {e}")))?;
    let (y, mo, d, h, mi, s) = (
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minutes(),
        dt.seconds(),
    );
    Ok(if (1950..2050).contains(&y) {
        asn1::tlv(
            asn1::UTC_TIME,
            format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100).as_bytes(),
        )
    } else {
        asn1::tlv(
            asn1::GENERALIZED_TIME,
            format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z").as_bytes(),
        )
    })
}

fn extension(id: &const_oid::ObjectIdentifier, critical: bool, value: &[u8]) -> Vec<u8> {
    let oid = asn1::oid(id);
    let value = asn1::octet_string(value);
    if critical {
        asn1::seq(&[&oid, &asn1::boolean(true), &value])
    } else {
        asn1::seq(&[&oid, &value])
    }
}

/// Builds and signs a certificate. `issuer_cert` is `None` for a
/// self-signed certificate (then `issuer_key` is the subject's key).
fn build_certificate(
    req: &IssueRequest,
    issuer_name: &DistinguishedName,
    issuer_key: &KeyPair,
    issuer_cert: Option<&Certificate>,
    sm2_id: &[u8],
) -> Result<Vec<u8>> {
    if req.not_after <= req.not_before {
        return Err(Error::InvalidValidity(
            "not_after must be later than not_before".into(),
        ));
    }
    if unix(req.not_before) < 0 {
        return Err(Error::InvalidValidity("not_before is before 1970".into()));
    }
    let key_alg = req.public_key.algorithm();
    let mut exts = Vec::new();

    // basicConstraints (critical).
    let bc = if req.profile.is_ca() {
        match req.profile.path_len() {
            Some(n) => asn1::seq(&[&asn1::boolean(true), &asn1::uint(&[n])]),
            None => asn1::seq(&[&asn1::boolean(true)]),
        }
    } else {
        asn1::seq(&[])
    };
    exts.push(extension(&oid::EXT_BASIC_CONSTRAINTS, true, &bc));

    // keyUsage (critical).
    let ku = req.profile.key_usage(key_alg);
    exts.push(extension(&oid::EXT_KEY_USAGE, true, &ku.to_der()));

    // extendedKeyUsage.
    let eku = req.profile.extended_key_usage();
    if !eku.is_empty() {
        let oids: Vec<Vec<u8>> = eku.iter().map(asn1::oid).collect();
        exts.push(extension(
            &oid::EXT_EXTENDED_KEY_USAGE,
            false,
            &asn1::tlv(asn1::SEQUENCE, &oids.concat()),
        ));
    }

    // subjectAltName (critical if the subject is empty, RFC 5280 4.2.1.6).
    if !req.sans.is_empty() {
        let names: Vec<Vec<u8>> = req.sans.iter().map(|s| s.to_der()).collect::<Result<_>>()?;
        exts.push(extension(
            &oid::EXT_SUBJECT_ALT_NAME,
            req.subject.is_empty(),
            &asn1::tlv(asn1::SEQUENCE, &names.concat()),
        ));
    }

    // subjectKeyIdentifier.
    let ski = req.public_key.key_identifier();
    exts.push(extension(
        &oid::EXT_SUBJECT_KEY_ID,
        false,
        &asn1::octet_string(&ski),
    ));

    // authorityKeyIdentifier: the issuer's SKI (its own for self-signed).
    let aki = match issuer_cert {
        Some(c) => c
            .subject_key_id()
            .unwrap_or_else(|| c.public_key().key_identifier().to_vec()),
        None => ski.to_vec(),
    };
    exts.push(extension(
        &oid::EXT_AUTHORITY_KEY_ID,
        false,
        &asn1::seq(&[&asn1::tlv(0x80, &aki)]),
    ));

    let sig_alg = issuer_key.signature_algorithm_der();
    let tbs = asn1::seq(&[
        &asn1::tlv(0xa0, &asn1::uint(&[2])),
        &asn1::uint(&random_serial()?),
        &sig_alg,
        issuer_name.to_der(),
        &asn1::seq(&[&time_der(req.not_before)?, &time_der(req.not_after)?]),
        req.subject.to_der(),
        req.public_key.to_der(),
        &asn1::tlv(0xa3, &asn1::tlv(asn1::SEQUENCE, &exts.concat())),
    ]);
    let sig = issuer_key.sign(&tbs, sm2_id)?;
    Ok(asn1::seq(&[&tbs, &sig_alg, &asn1::bit_string(&sig)]))
}
