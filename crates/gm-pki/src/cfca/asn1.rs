//! A small strict DER reader and writer for the fixed CFCA structures.
//!
//! Strict means X.690 DER: definite lengths in minimal form, low tag numbers
//! only, no trailing bytes where a structure must end. Every error names the
//! field being read, so an operator learns *which* part of a file is bad.

use super::Error;

pub(crate) use crate::asn1::{
    BIT_STRING, IA5_STRING, INTEGER, NULL, OCTET_STRING, OID, PRINTABLE_STRING, SEQUENCE, SET,
    UTF8_STRING,
};
/// `[0]` constructed: the version of a TBSCertificate, the attributes of a
/// CertificationRequestInfo (IMPLICIT SET OF).
pub(crate) const CTX0: u8 = 0xa0;

/// Reads TLVs from a byte slice.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads one TLV of any tag: `(tag, content, whole encoding)`.
    pub(crate) fn read_tlv(
        &mut self,
        field: &'static str,
    ) -> Result<(u8, &'a [u8], &'a [u8]), Error> {
        let (tlv, rest) =
            crate::asn1::split_tlv(self.data).map_err(|reason| Error::der(field, reason))?;
        self.data = rest;
        Ok((tlv.tag, tlv.content, tlv.raw))
    }

    /// Reads one TLV of any tag: `(tag, content)`.
    pub(crate) fn read_any(&mut self, field: &'static str) -> Result<(u8, &'a [u8]), Error> {
        self.read_tlv(field).map(|(t, c, _)| (t, c))
    }

    /// Reads one TLV that must have tag `tag`; returns its content.
    pub(crate) fn read(&mut self, tag: u8, field: &'static str) -> Result<&'a [u8], Error> {
        match self.peek_tag() {
            None => Err(Error::der(field, "missing (input ends)")),
            Some(t) if t != tag => Err(Error::der(field, unexpected_tag_reason(tag))),
            Some(_) => self.read_any(field).map(|(_, content)| content),
        }
    }

    /// Reads one TLV that must have tag `tag`; returns its whole encoding
    /// (tag, length and content).
    pub(crate) fn read_raw(&mut self, tag: u8, field: &'static str) -> Result<&'a [u8], Error> {
        match self.peek_tag() {
            None => Err(Error::der(field, "missing (input ends)")),
            Some(t) if t != tag => Err(Error::der(field, unexpected_tag_reason(tag))),
            Some(_) => self.read_tlv(field).map(|(_, _, whole)| whole),
        }
    }

    /// Reads a TLV with tag `tag` if the next tag is `tag`.
    pub(crate) fn read_optional(
        &mut self,
        tag: u8,
        field: &'static str,
    ) -> Result<Option<&'a [u8]>, Error> {
        if self.peek_tag() == Some(tag) {
            self.read(tag, field).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads a SEQUENCE and returns a reader over its contents.
    pub(crate) fn sequence(&mut self, field: &'static str) -> Result<Reader<'a>, Error> {
        self.read(SEQUENCE, field).map(Reader::new)
    }

    /// Reads a small non-negative INTEGER (at most 4 content bytes).
    pub(crate) fn small_uint(&mut self, field: &'static str) -> Result<u32, Error> {
        let content = self.read(INTEGER, field)?;
        match content {
            [] => Err(Error::der(field, "empty INTEGER")),
            [b, ..] if b & 0x80 != 0 => Err(Error::der(field, "negative INTEGER")),
            [0, b, ..] if b & 0x80 == 0 => Err(Error::der(field, "non-minimal INTEGER")),
            c if c.len() > 5 || (c.len() == 5 && c[0] != 0) => {
                Err(Error::der(field, "INTEGER too large"))
            }
            c => Ok(c.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b))),
        }
    }

    /// Requires that nothing is left.
    pub(crate) fn finish(&self, field: &'static str) -> Result<(), Error> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(Error::der(field, "unexpected trailing data"))
        }
    }
}

fn unexpected_tag_reason(tag: u8) -> &'static str {
    match tag {
        INTEGER => "expected an INTEGER",
        BIT_STRING => "expected a BIT STRING",
        OCTET_STRING => "expected an OCTET STRING",
        NULL => "expected NULL",
        OID => "expected an OBJECT IDENTIFIER",
        SEQUENCE => "expected a SEQUENCE",
        SET => "expected a SET",
        CTX0 => "expected [0]",
        _ => "unexpected tag",
    }
}

/// Encodes a DER length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Encodes a TLV from the concatenation of `parts`.
pub(crate) fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    push_len(&mut out, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// Encodes a small non-negative INTEGER.
pub(crate) fn small_uint(v: u32) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(3);
    let mut content = Vec::with_capacity(5);
    if bytes[skip] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(&bytes[skip..]);
    tlv(INTEGER, &[&content])
}

/// Encodes a BIT STRING with no unused bits.
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    tlv(BIT_STRING, &[&[0], bytes])
}

/// The dotted form of an OBJECT IDENTIFIER's content bytes, for messages.
/// const-oid handles every OID these formats use; anything it cannot show
/// (an invalid encoding, or a valid OID beyond its limits, such as a
/// 2.25.<UUID> arc above 2^32) is shown as its content bytes in hex.
pub(crate) fn oid_to_string(content: &[u8]) -> String {
    match const_oid::ObjectIdentifier::from_bytes(content) {
        Ok(oid) => oid.to_string(),
        Err(_) => format!("(invalid or unsupported OID {})", hex_lower(content)),
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_strings() {
        assert_eq!(
            oid_to_string(&[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x68]),
            "1.2.156.10197.1.104"
        );
        assert_eq!(
            oid_to_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x3f]),
            "1.2.840.113549.1.9.63"
        );
        assert!(oid_to_string(&[0x2a, 0x81]).starts_with("(invalid"));
        assert!(oid_to_string(&[]).starts_with("(invalid"));
    }

    #[test]
    fn lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 70000] {
            let body = vec![7u8; len];
            let enc = tlv(OCTET_STRING, &[&body]);
            let mut r = Reader::new(&enc);
            assert_eq!(r.read(OCTET_STRING, "x").unwrap().len(), len);
            r.finish("x").unwrap();
        }
    }

    #[test]
    fn small_uints() {
        for v in [0u32, 1, 127, 128, 255, 256, 0x7fff_ffff, u32::MAX] {
            let enc = small_uint(v);
            assert_eq!(Reader::new(&enc).small_uint("v").unwrap(), v);
        }
    }
}
