//! A minimal DER writer (for the structures we sign: their exact bytes
//! matter) and a bounds-checked TLV splitter (to get at the signed bytes of
//! what we read). Parsing of whole structures goes through `x509-cert`.

use crate::error::{Error, Result};

pub(crate) const BOOLEAN: u8 = 0x01;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;
pub(crate) const UTF8_STRING: u8 = 0x0c;
pub(crate) const PRINTABLE_STRING: u8 = 0x13;
pub(crate) const IA5_STRING: u8 = 0x16;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;

/// `tag || length || content`.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A constructed value from already-encoded parts.
pub(crate) fn cons(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    cons(SEQUENCE, parts)
}

pub(crate) fn oid(o: &const_oid::ObjectIdentifier) -> Vec<u8> {
    tlv(OID, o.as_bytes())
}

/// A non-negative INTEGER from big-endian magnitude bytes.
pub(crate) fn uint(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes
        .iter()
        .take_while(|b| **b == 0)
        .count()
        .min(bytes.len().saturating_sub(1));
    let b = &bytes[skip..];
    if b.is_empty() {
        return tlv(INTEGER, &[0]);
    }
    if b[0] & 0x80 != 0 {
        let mut v = vec![0];
        v.extend_from_slice(b);
        tlv(INTEGER, &v)
    } else {
        tlv(INTEGER, b)
    }
}

pub(crate) fn boolean(v: bool) -> Vec<u8> {
    tlv(BOOLEAN, &[if v { 0xff } else { 0 }])
}

/// BIT STRING with no unused bits.
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.push(0);
    v.extend_from_slice(bytes);
    tlv(BIT_STRING, &v)
}

pub(crate) fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(OCTET_STRING, bytes)
}

/// One parsed TLV: its tag, its content, and the whole encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

/// Splits one DER TLV off the front of `data`: the TLV and the rest, or
/// what is wrong with it. Only single-byte tags and definite lengths in
/// minimal form (DER) are accepted. The one TLV parser of the crate: the
/// CFCA reader wraps it with its own error type.
pub(crate) fn split_tlv(data: &[u8]) -> core::result::Result<(Tlv<'_>, &[u8]), &'static str> {
    let (&tag, rest) = data.split_first().ok_or("missing (input ends)")?;
    if tag & 0x1f == 0x1f {
        return Err("high tag number form not supported");
    }
    let (&l0, mut rest) = rest.split_first().ok_or("truncated length")?;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else if l0 == 0x80 {
        return Err("indefinite length (BER, not DER)");
    } else {
        let n = usize::from(l0 & 0x7f);
        if n > 4 {
            return Err("length too large");
        }
        if rest.len() < n {
            return Err("truncated length");
        }
        let (len_bytes, after) = rest.split_at(n);
        rest = after;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        if len_bytes[0] == 0 || len < 0x80 {
            return Err("non-minimal length encoding");
        }
        len
    };
    if rest.len() < len {
        return Err("truncated value");
    }
    let header = data.len() - rest.len();
    Ok((
        Tlv {
            tag,
            content: &rest[..len],
            raw: &data[..header + len],
        },
        &rest[len..],
    ))
}

/// Reads one DER TLV from the front of `data`; returns it and the rest.
/// Errors name `what`.
pub(crate) fn read_tlv<'a>(data: &'a [u8], what: &'static str) -> Result<(Tlv<'a>, &'a [u8])> {
    split_tlv(data).map_err(|reason| Error::malformed(what, reason))
}

/// The raw encodings of the first element of a top-level `SEQUENCE`
/// (e.g. the TBSCertificate of a Certificate), with no trailing data
/// allowed after the outer SEQUENCE.
pub(crate) fn signed_part<'a>(der: &'a [u8], what: &'static str) -> Result<&'a [u8]> {
    let (outer, rest) = read_tlv(der, what)?;
    if !rest.is_empty() {
        return Err(Error::malformed(what, "trailing data"));
    }
    if outer.tag != SEQUENCE {
        return Err(Error::malformed(what, "not a SEQUENCE"));
    }
    let (first, _) = read_tlv(outer.content, what)?;
    Ok(first.raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for n in [0usize, 1, 127, 128, 255, 256, 65535, 65536] {
            let v = vec![7u8; n];
            let enc = tlv(OCTET_STRING, &v);
            let (t, rest) = read_tlv(&enc, "x").unwrap();
            assert!(rest.is_empty());
            assert_eq!(t.content, &v[..]);
        }
    }

    #[test]
    fn uint_minimal() {
        assert_eq!(uint(&[0, 0, 1]), vec![2, 1, 1]);
        assert_eq!(uint(&[0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(uint(&[]), vec![2, 1, 0]);
        assert_eq!(uint(&[0, 0]), vec![2, 1, 0]);
    }
}
