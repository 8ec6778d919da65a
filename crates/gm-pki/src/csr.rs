//! PKCS#10 certificate signing requests (RFC 2986).

use der::{Decode, Encode};
use x509_cert::ext::pkix::SubjectAltName as X509San;
use x509_cert::request::CertReq;

use crate::asn1;
use crate::cert::{alg_contents, san_from_general_name};
use crate::error::{Error, Result};
use crate::keys::{KeyPair, PublicKeyInfo, SignatureAlgorithm, SignatureCheck};
use crate::name::DistinguishedName;
use crate::oid;
use crate::pem;
use crate::profile::SubjectAltName;

const WHAT: &str = "CSR";

/// A PKCS#10 certification request: subject, public key, requested SANs
/// (in an extensionRequest attribute), self-signed with the subject key.
///
/// ```
/// use gm_pki::{Csr, KeyAlgorithm, KeyPair};
/// let key = KeyPair::generate(KeyAlgorithm::Sm2)?;
/// let csr = Csr::new(&key, &"CN=www.example.cn,O=Example,C=CN".parse()?, &["DNS:www.example.cn".parse()?])?;
/// let again = gm_pki::Csr::load(csr.to_pem().as_bytes())?;
/// again.verify()?;
/// assert_eq!(again.subject_alt_names(), csr.subject_alt_names());
/// # Ok::<(), gm_pki::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Csr {
    der: Vec<u8>,
    req: CertReq,
    subject: DistinguishedName,
    public_key: PublicKeyInfo,
    sans: Vec<SubjectAltName>,
}

impl Csr {
    /// A new request signed by `key` (SM2 with the default ID
    /// "1234567812345678").
    pub fn new(
        key: &KeyPair,
        subject: &DistinguishedName,
        sans: &[SubjectAltName],
    ) -> Result<Self> {
        Self::new_with_sm2_id(key, subject, sans, gm_sm2::DEFAULT_ID)
    }

    /// [`Csr::new`] with another SM2 distinguishing ID for the signature.
    pub fn new_with_sm2_id(
        key: &KeyPair,
        subject: &DistinguishedName,
        sans: &[SubjectAltName],
        sm2_id: &[u8],
    ) -> Result<Self> {
        let mut attributes = Vec::new();
        if !sans.is_empty() {
            let names: Vec<Vec<u8>> = sans.iter().map(|s| s.to_der()).collect::<Result<_>>()?;
            let san_ext = asn1::seq(&[
                &asn1::oid(&oid::EXT_SUBJECT_ALT_NAME),
                &asn1::octet_string(&asn1::tlv(asn1::SEQUENCE, &names.concat())),
            ]);
            let exts = asn1::seq(&[&san_ext]);
            attributes = asn1::seq(&[
                &asn1::oid(&oid::EXTENSION_REQUEST),
                &asn1::tlv(asn1::SET, &exts),
            ]);
        }
        let info = asn1::seq(&[
            &asn1::uint(&[0]),
            subject.to_der(),
            key.public_key().to_der(),
            &asn1::tlv(0xa0, &attributes),
        ]);
        let sig = key.sign(&info, sm2_id)?;
        let der = asn1::seq(&[
            &info,
            &key.signature_algorithm_der(),
            &asn1::bit_string(&sig),
        ]);
        Self::from_der(&der)
    }

    /// Parses a DER request (the signature is not checked here: see
    /// [`Csr::verify`]).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        asn1::signed_part(der, WHAT)?;
        let req = CertReq::from_der(der).map_err(|e| Error::malformed(WHAT, e))?;
        let subject_der = req
            .info
            .subject
            .to_der()
            .map_err(|e| Error::malformed(WHAT, e))?;
        let subject = DistinguishedName::from_x509(&req.info.subject, subject_der);
        let spki = req
            .info
            .public_key
            .to_der()
            .map_err(|e| Error::malformed(WHAT, e))?;
        let public_key = PublicKeyInfo::from_der(&spki)?;
        let mut sans = Vec::new();
        for attr in req.info.attributes.iter() {
            if attr.oid != oid::EXTENSION_REQUEST {
                continue;
            }
            for value in attr.values.iter() {
                let exts: Vec<x509_cert::ext::Extension> = value
                    .decode_as()
                    .map_err(|e| Error::malformed(WHAT, format!("extensionRequest: {e}")))?;
                for ext in exts
                    .iter()
                    .filter(|e| e.extn_id == oid::EXT_SUBJECT_ALT_NAME)
                {
                    let san = X509San::from_der(ext.extn_value.as_bytes())
                        .map_err(|e| Error::malformed(WHAT, format!("subjectAltName: {e}")))?;
                    sans.extend(san.0.iter().map(san_from_general_name));
                }
            }
        }
        Ok(Csr {
            der: der.to_vec(),
            req,
            subject,
            public_key,
            sans,
        })
    }

    /// Parses PEM (`CERTIFICATE REQUEST` or `NEW CERTIFICATE REQUEST`) or
    /// DER.
    pub fn load(data: &[u8]) -> Result<Self> {
        if !pem::is_pem(data) {
            return Self::from_der(data);
        }
        let blocks = pem::blocks(data, WHAT)?;
        let block = blocks
            .iter()
            .find(|b| {
                matches!(
                    b.label.as_str(),
                    "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST"
                )
            })
            .ok_or_else(|| Error::malformed(WHAT, "no CERTIFICATE REQUEST block"))?;
        Self::from_der(&block.der)
    }

    /// The DER encoding.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// PEM (`-----BEGIN CERTIFICATE REQUEST-----`).
    pub fn to_pem(&self) -> String {
        pem::encode("CERTIFICATE REQUEST", &self.der)
    }

    /// The requested subject.
    pub fn subject(&self) -> &DistinguishedName {
        &self.subject
    }

    /// The subject public key.
    pub fn public_key(&self) -> &PublicKeyInfo {
        &self.public_key
    }

    /// SANs requested in the extensionRequest attribute.
    pub fn subject_alt_names(&self) -> &[SubjectAltName] {
        &self.sans
    }

    /// The signature algorithm.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::from_algorithm_identifier(&self.req.algorithm)
    }

    /// The parsed x509-cert structure.
    pub fn x509(&self) -> &CertReq {
        &self.req
    }

    /// Checks the self-signature (SM2 with the default ID).
    pub fn verify(&self) -> Result<()> {
        self.verify_with_sm2_id(gm_sm2::DEFAULT_ID)
    }

    /// Checks the self-signature as proof that the requester holds the
    /// private key: SM2 signatures are accepted with the default ID
    /// "1234567812345678" or the empty ID (what OpenSSL 3.0 uses when
    /// `-sigopt distid:..` is not given). Returns the ID that verified
    /// (empty for RSA/ECDSA).
    pub fn verify_proof_of_possession(&self) -> Result<Vec<u8>> {
        if self.public_key.algorithm() != &crate::PublicKeyAlgorithm::Sm2 {
            self.verify()?;
            return Ok(Vec::new());
        }
        match self.verify() {
            Ok(()) => Ok(gm_sm2::DEFAULT_ID.to_vec()),
            Err(first @ Error::CsrSignatureInvalid(_)) => match self.verify_with_sm2_id(b"") {
                Ok(()) => Ok(Vec::new()),
                Err(_) => Err(first),
            },
            Err(e) => Err(e),
        }
    }

    /// Checks the self-signature, SM2 with the given ID.
    pub fn verify_with_sm2_id(&self, sm2_id: &[u8]) -> Result<()> {
        let info = asn1::signed_part(&self.der, WHAT)?;
        let sig = self
            .req
            .signature
            .as_bytes()
            .ok_or_else(|| Error::malformed(WHAT, "signature has unused bits"))?;
        let alg = alg_contents(&self.req.algorithm);
        match self.public_key.verify(&alg, info, sig, sm2_id) {
            Ok(()) => Ok(()),
            Err(SignatureCheck::Unsupported) => Err(Error::UnsupportedAlgorithm(format!(
                "{} signature with a {} key",
                self.signature_algorithm(),
                self.public_key.algorithm()
            ))),
            Err(SignatureCheck::Invalid) => {
                let hint = if self.public_key.algorithm() == &crate::PublicKeyAlgorithm::Sm2 {
                    let other = [gm_sm2::DEFAULT_ID, b"".as_slice()]
                        .into_iter()
                        .filter(|id| *id != sm2_id)
                        .find(|id| self.public_key.verify(&alg, info, sig, id).is_ok());
                    let note = match other {
                        Some(id) => format!(
                            " (it verifies with the ID {:?}{})",
                            String::from_utf8_lossy(id),
                            if id.is_empty() {
                                ", OpenSSL's default without -sigopt distid:"
                            } else {
                                ""
                            }
                        ),
                        None => String::new(),
                    };
                    format!(
                        "{} signature with SM2 ID {:?} does not verify{note}",
                        self.signature_algorithm(),
                        String::from_utf8_lossy(sm2_id)
                    )
                } else {
                    format!("{} signature does not verify", self.signature_algorithm())
                };
                Err(Error::CsrSignatureInvalid(hint))
            }
        }
    }
}
