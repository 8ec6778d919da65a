//! Distinguished names: parsed from `CN=..,O=..,C=CN` (RFC 4514 order) or
//! `/C=CN/O=../CN=..` (OpenSSL order), kept as DER so that issuer names are
//! copied byte for byte, shown in RFC 4514 order.

use std::fmt;
use std::str::FromStr;

use const_oid::ObjectIdentifier as Oid;
use der::{Decode, Tagged};
use serde::Serialize;

use crate::asn1;
use crate::error::{Error, Result};

/// The attribute types we know by short name, with the string type we
/// write for them.
const ATTRIBUTES: &[(&str, &str, u8)] = &[
    ("CN", "2.5.4.3", asn1::UTF8_STRING),
    ("C", "2.5.4.6", asn1::PRINTABLE_STRING),
    ("L", "2.5.4.7", asn1::UTF8_STRING),
    ("ST", "2.5.4.8", asn1::UTF8_STRING),
    ("STREET", "2.5.4.9", asn1::UTF8_STRING),
    ("O", "2.5.4.10", asn1::UTF8_STRING),
    ("OU", "2.5.4.11", asn1::UTF8_STRING),
    ("TITLE", "2.5.4.12", asn1::UTF8_STRING),
    ("SERIALNUMBER", "2.5.4.5", asn1::PRINTABLE_STRING),
    ("SN", "2.5.4.4", asn1::UTF8_STRING),
    ("GN", "2.5.4.42", asn1::UTF8_STRING),
    ("POSTALCODE", "2.5.4.17", asn1::UTF8_STRING),
    ("DC", "0.9.2342.19200300.100.1.25", asn1::IA5_STRING),
    ("UID", "0.9.2342.19200300.100.1.1", asn1::UTF8_STRING),
    ("emailAddress", "1.2.840.113549.1.9.1", asn1::IA5_STRING),
];

/// Aliases accepted on input.
const ALIASES: &[(&str, &str)] = &[
    ("S", "ST"),
    ("E", "emailAddress"),
    ("EMAIL", "emailAddress"),
    ("EMAILADDRESS", "emailAddress"),
    ("SURNAME", "SN"),
    ("GIVENNAME", "GN"),
    ("COMMONNAME", "CN"),
    ("COUNTRYNAME", "C"),
    ("ORGANIZATIONNAME", "O"),
    ("ORGANIZATIONALUNITNAME", "OU"),
    ("LOCALITYNAME", "L"),
    ("STATEORPROVINCENAME", "ST"),
];

/// One attribute of a name, e.g. `CN=example.com`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct NameAttribute {
    /// Short name (`CN`, `O`, ...) or dotted OID.
    pub key: String,
    /// The value as text (non-string values as `#` + hex of their DER).
    pub value: String,
}

/// An X.501 distinguished name, kept as its DER encoding.
///
/// ```
/// use gm_pki::DistinguishedName;
/// let a: DistinguishedName = "CN=example.cn,O=Example,C=CN".parse()?;
/// let b: DistinguishedName = "/C=CN/O=Example/CN=example.cn".parse()?;
/// assert_eq!(a, b);
/// assert_eq!(a.to_string(), "CN=example.cn, O=Example, C=CN");
/// assert_eq!(a.common_name().as_deref(), Some("example.cn"));
/// # Ok::<(), gm_pki::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DistinguishedName {
    der: Vec<u8>,
    /// RDNs in DER order (most significant first), each with its attributes.
    rdns: Vec<Vec<NameAttribute>>,
}

impl fmt::Debug for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistinguishedName({self})")
    }
}

impl DistinguishedName {
    /// Parses a DER `Name`.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let name = x509_cert::name::Name::from_der(der).map_err(|e| Error::malformed("name", e))?;
        Ok(Self::from_x509(&name, der.to_vec()))
    }

    pub(crate) fn from_x509(name: &x509_cert::name::Name, der: Vec<u8>) -> Self {
        let rdns = name
            .iter_rdn()
            .map(|rdn| {
                rdn.iter()
                    .map(|atv| NameAttribute {
                        key: short_name(&atv.oid),
                        value: value_text(&atv.value),
                    })
                    .collect()
            })
            .collect();
        DistinguishedName { der, rdns }
    }

    /// The DER encoding.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// Attributes in DER order (most significant, e.g. `C`, first).
    pub fn attributes(&self) -> impl Iterator<Item = &NameAttribute> {
        self.rdns.iter().flatten()
    }

    /// The (last) common name, if any.
    pub fn common_name(&self) -> Option<String> {
        self.attributes()
            .filter(|a| a.key == "CN")
            .last()
            .map(|a| a.value.clone())
    }

    /// Whether the name has no attributes.
    pub fn is_empty(&self) -> bool {
        self.rdns.is_empty()
    }

    /// The name in OpenSSL's `-nameopt oneline` style order
    /// (`C=CN, O=.., CN=..`).
    pub fn to_openssl_string(&self) -> String {
        self.rdns
            .iter()
            .map(|rdn| rdn_text(rdn, " = "))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn rdn_text(rdn: &[NameAttribute], eq: &str) -> String {
    rdn.iter()
        .map(|a| format!("{}{eq}{}", a.key, a.value))
        .collect::<Vec<_>>()
        .join(" + ")
}

impl fmt::Display for DistinguishedName {
    /// RFC 4514 order: `CN=.., O=.., C=CN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .rdns
            .iter()
            .rev()
            .map(|rdn| {
                rdn.iter()
                    .map(|a| format!("{}={}", a.key, escape(&a.value)))
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        let lead = i == 0 && (c == ' ' || c == '#');
        if lead || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        out.pop();
        out.push_str("\\ ");
    }
    out
}

impl FromStr for DistinguishedName {
    type Err = Error;

    /// `CN=..,O=..,C=CN` (RFC 4514: the most significant attribute last;
    /// `\,` escapes a comma) or `/C=CN/O=../CN=..` (OpenSSL: most
    /// significant first; `\/` escapes a slash). Known keys: CN, C, ST
    /// (S), L, STREET, O, OU, TITLE, SERIALNUMBER, SN, GN, POSTALCODE, DC,
    /// UID, emailAddress (E); anything else as a dotted OID. `C` must be two
    /// letters. Values are written as UTF8String (PrintableString for C and
    /// SERIALNUMBER, IA5String for DC and emailAddress).
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Error::InvalidName("empty name".into()));
        }
        let (parts, reverse) = if let Some(rest) = s.strip_prefix('/') {
            (split_unescaped(rest, '/'), false)
        } else {
            (split_unescaped(s, ','), true)
        };
        let mut attrs = Vec::new();
        for part in parts {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            if split_unescaped(part, '+').len() > 1 {
                return Err(Error::InvalidName(format!(
                    "multi-valued RDN {part:?} is not supported"
                )));
            }
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| Error::InvalidName(format!("{part:?} has no '='")))?;
            let (key, oid, tag) = lookup(k.trim())?;
            let value = unescape(v.trim());
            if value.is_empty() {
                return Err(Error::InvalidName(format!("empty value for {key}")));
            }
            check_value(&key, &value, tag)?;
            attrs.push((key, oid, tag, value));
        }
        if attrs.is_empty() {
            return Err(Error::InvalidName("no attributes".into()));
        }
        if reverse {
            attrs.reverse();
        }
        let rdns_der: Vec<Vec<u8>> = attrs
            .iter()
            .map(|(_, oid, tag, value)| {
                let atv = asn1::seq(&[&asn1::oid(oid), &asn1::tlv(*tag, value.as_bytes())]);
                asn1::tlv(asn1::SET, &atv)
            })
            .collect();
        let der = asn1::tlv(asn1::SEQUENCE, &rdns_der.concat());
        let rdns = attrs
            .into_iter()
            .map(|(key, _, _, value)| vec![NameAttribute { key, value }])
            .collect();
        Ok(DistinguishedName { der, rdns })
    }
}

fn lookup(k: &str) -> Result<(String, Oid, u8)> {
    let upper = k.to_ascii_uppercase();
    let canonical = ALIASES
        .iter()
        .find(|(a, _)| *a == upper)
        .map(|(_, c)| c.to_ascii_uppercase())
        .unwrap_or(upper);
    if let Some((short, o, tag)) = ATTRIBUTES
        .iter()
        .find(|(s, _, _)| s.to_ascii_uppercase() == canonical)
    {
        return Ok(((*short).to_owned(), Oid::new_unwrap(o), *tag));
    }
    if k.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let oid = Oid::new(k).map_err(|_| Error::InvalidName(format!("bad OID {k:?}")))?;
        return Ok((k.to_owned(), oid, asn1::UTF8_STRING));
    }
    Err(Error::InvalidName(format!("unknown attribute {k:?}")))
}

fn check_value(key: &str, value: &str, tag: u8) -> Result<()> {
    match tag {
        asn1::PRINTABLE_STRING => {
            let printable = |c: char| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c);
            if !value.chars().all(printable) {
                return Err(Error::InvalidName(format!(
                    "{key} must be a PrintableString (ASCII letters, digits, ' ()+,-./:=?)"
                )));
            }
        }
        asn1::IA5_STRING if !value.is_ascii() => {
            return Err(Error::InvalidName(format!("{key} must be ASCII")));
        }
        _ => {}
    }
    if key == "C" && (value.len() != 2 || !value.chars().all(|c| c.is_ascii_alphabetic())) {
        return Err(Error::InvalidName(format!(
            "C must be a two-letter country code, got {value:?}"
        )));
    }
    if value.len() > 1024 {
        return Err(Error::InvalidName(format!("{key} value too long")));
    }
    Ok(())
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            cur.push(c);
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn short_name(o: &Oid) -> String {
    let dotted = o.to_string();
    ATTRIBUTES
        .iter()
        .find(|(_, d, _)| *d == dotted)
        .map(|(s, _, _)| (*s).to_owned())
        .unwrap_or(dotted)
}

/// Text of a directory string of any of the usual types.
pub(crate) fn value_text(v: &der::asn1::Any) -> String {
    let bytes = v.value();
    match v.tag() {
        der::Tag::Utf8String
        | der::Tag::PrintableString
        | der::Tag::Ia5String
        | der::Tag::VisibleString
        | der::Tag::NumericString => String::from_utf8_lossy(bytes).into_owned(),
        // T.61: in practice Latin-1.
        der::Tag::TeletexString => bytes.iter().map(|&b| char::from(b)).collect(),
        der::Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => {
            let mut der = Vec::new();
            let _ = der::Encode::encode_to_vec(v, &mut der);
            format!("#{}", hex_upper(&der))
        }
    }
}

pub(crate) fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_syntaxes_agree() {
        let a: DistinguishedName = "CN=a\\,b,OU=x,O=测试,C=CN".parse().unwrap();
        let b: DistinguishedName = "/C=CN/O=测试/OU=x/CN=a,b".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "CN=a\\,b, OU=x, O=测试, C=CN");
        let back = DistinguishedName::from_der(a.to_der()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn rejects_bad() {
        for s in ["", "CN", "C=CHN", "XX=1", "CN=", "CN=a+O=b", "C=C1"] {
            assert!(s.parse::<DistinguishedName>().is_err(), "{s}");
        }
    }
}
