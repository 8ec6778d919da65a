//! A small strict DER reader and writer for the fixed structures this crate
//! handles (signatures, SM2Cipher, PKCS#8, SEC1, SPKI, PBES2).
//!
//! Strict means X.690 DER only: definite lengths in minimal form, INTEGERs
//! minimal and (where asked) non-negative, no trailing bytes, low tag numbers
//! only. Every error names the field being read.

use crate::error::{Error, Result};

pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;
pub(crate) const SEQUENCE: u8 = 0x30;
/// `[0]` constructed (EXPLICIT), as in ECPrivateKey.parameters.
pub(crate) const CTX0: u8 = 0xa0;
/// `[1]` constructed (EXPLICIT), as in ECPrivateKey.publicKey.
pub(crate) const CTX1: u8 = 0xa1;
/// `[1]` primitive IMPLICIT BIT STRING, as in OneAsymmetricKey.publicKey.
pub(crate) const CTX1_PRIMITIVE: u8 = 0x81;

/// Reads TLVs from a byte slice.
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

    /// Reads one TLV of any tag: `(tag, content)`.
    pub(crate) fn read_any(&mut self, field: &'static str) -> Result<(u8, &'a [u8])> {
        let (&tag, rest) = self
            .data
            .split_first()
            .ok_or(Error::der(field, "missing (input ends)"))?;
        if tag & 0x1f == 0x1f {
            return Err(Error::der(field, "high tag number form not allowed"));
        }
        let (&first, mut rest) = rest
            .split_first()
            .ok_or(Error::der(field, "truncated length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else if first == 0x80 {
            return Err(Error::der(field, "indefinite length (BER, not DER)"));
        } else {
            let n = usize::from(first & 0x7f);
            if n > 4 {
                return Err(Error::der(field, "length too large"));
            }
            if rest.len() < n {
                return Err(Error::der(field, "truncated length"));
            }
            let (len_bytes, after) = rest.split_at(n);
            rest = after;
            if len_bytes[0] == 0 {
                return Err(Error::der(field, "non-minimal length encoding"));
            }
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return Err(Error::der(field, "non-minimal length encoding"));
            }
            len
        };
        if rest.len() < len {
            return Err(Error::der(field, "truncated value"));
        }
        let (content, after) = rest.split_at(len);
        self.data = after;
        Ok((tag, content))
    }

    /// Reads one TLV that must have tag `tag`; returns its content.
    pub(crate) fn read(&mut self, tag: u8, field: &'static str) -> Result<&'a [u8]> {
        match self.peek_tag() {
            None => Err(Error::der(field, "missing (input ends)")),
            Some(t) if t != tag => Err(Error::der(field, unexpected_tag_reason(tag))),
            Some(_) => self.read_any(field).map(|(_, content)| content),
        }
    }

    /// Reads a TLV with tag `tag` if the next tag is `tag`.
    pub(crate) fn read_optional(
        &mut self,
        tag: u8,
        field: &'static str,
    ) -> Result<Option<&'a [u8]>> {
        if self.peek_tag() == Some(tag) {
            self.read(tag, field).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads a SEQUENCE and returns a reader over its contents.
    pub(crate) fn sequence(&mut self, field: &'static str) -> Result<Reader<'a>> {
        self.read(SEQUENCE, field).map(Reader::new)
    }

    /// Requires that nothing is left.
    pub(crate) fn finish(&self, field: &'static str) -> Result<()> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(Error::der(field, "unexpected trailing data"))
        }
    }
}

fn unexpected_tag_reason(expected: u8) -> &'static str {
    match expected {
        INTEGER => "expected INTEGER",
        BIT_STRING => "expected BIT STRING",
        OCTET_STRING => "expected OCTET STRING",
        NULL => "expected NULL",
        OID => "expected OBJECT IDENTIFIER",
        SEQUENCE => "expected SEQUENCE",
        CTX0 => "expected [0]",
        CTX1 => "expected [1]",
        _ => "unexpected tag",
    }
}

/// Parses a whole input that must be exactly one TLV with tag `tag`.
pub(crate) fn parse_single<'a>(data: &'a [u8], tag: u8, field: &'static str) -> Result<&'a [u8]> {
    let mut r = Reader::new(data);
    let content = r.read(tag, field)?;
    r.finish(field)?;
    Ok(content)
}

/// Checks a non-negative INTEGER's content is minimally encoded and returns
/// its magnitude bytes (leading sign byte stripped; empty for zero).
pub(crate) fn uint_magnitude<'a>(content: &'a [u8], field: &'static str) -> Result<&'a [u8]> {
    match content {
        [] => Err(Error::der(field, "empty INTEGER")),
        [first, ..] if first & 0x80 != 0 => Err(Error::der(field, "negative INTEGER")),
        [0] => Ok(&[]),
        [0, second, ..] if second & 0x80 == 0 => {
            Err(Error::der(field, "non-minimal INTEGER encoding"))
        }
        [0, rest @ ..] => Ok(rest),
        _ => Ok(content),
    }
}

/// A non-negative INTEGER of at most 32 magnitude bytes, left-padded to 32.
pub(crate) fn uint32(content: &[u8], field: &'static str) -> Result<[u8; 32]> {
    let mag = uint_magnitude(content, field)?;
    if mag.len() > 32 {
        return Err(Error::der(field, "INTEGER larger than 256 bits"));
    }
    let mut out = [0u8; 32];
    out[32 - mag.len()..].copy_from_slice(mag);
    Ok(out)
}

/// A small non-negative INTEGER (at most 2^32 - 1).
pub(crate) fn small_uint(content: &[u8], field: &'static str) -> Result<u32> {
    let mag = uint_magnitude(content, field)?;
    if mag.len() > 4 {
        return Err(Error::der(field, "INTEGER too large"));
    }
    Ok(mag.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
}

/// The content of a BIT STRING with no unused bits.
pub(crate) fn bit_string_bytes<'a>(content: &'a [u8], field: &'static str) -> Result<&'a [u8]> {
    match content.split_first() {
        Some((0, rest)) => Ok(rest),
        Some(_) => Err(Error::der(field, "BIT STRING with unused bits")),
        None => Err(Error::der(field, "empty BIT STRING")),
    }
}

/// Length of a TLV header (tag + length octets) for `len` content bytes.
fn header_len(len: usize) -> usize {
    match len {
        0..=0x7f => 2,
        0x80..=0xff => 3,
        0x100..=0xffff => 4,
        0x1_0000..=0xff_ffff => 5,
        _ => 6,
    }
}

/// Appends the TLV header for `len` content bytes.
fn push_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Encodes one TLV whose content is the concatenation of `parts`. The output
/// is allocated once with its exact size (no reallocation leaves copies of
/// secret content behind).
pub(crate) fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(header_len(len) + len);
    push_header(&mut out, tag, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// Encodes a non-negative INTEGER from big-endian magnitude bytes.
pub(crate) fn uint(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let mag = &bytes[skip..];
    match mag.first() {
        None => tlv(INTEGER, &[&[0]]),
        Some(b) if b & 0x80 != 0 => tlv(INTEGER, &[&[0], mag]),
        Some(_) => tlv(INTEGER, &[mag]),
    }
}

/// Encodes a BIT STRING with no unused bits.
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    tlv(BIT_STRING, &[&[0], bytes])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for len in [0usize, 1, 0x7f, 0x80, 0xff, 0x100, 0x1234, 0x10000] {
            let content = vec![0x55u8; len];
            let enc = tlv(OCTET_STRING, &[&content]);
            assert_eq!(enc.len(), header_len(len) + len);
            assert_eq!(parse_single(&enc, OCTET_STRING, "t").unwrap(), &content[..]);
        }
    }

    #[test]
    fn strictness() {
        // Non-minimal long-form length.
        assert!(parse_single(&[0x04, 0x81, 0x01, 0x00], OCTET_STRING, "t").is_err());
        // Indefinite length.
        assert!(parse_single(&[0x30, 0x80, 0x00, 0x00], SEQUENCE, "t").is_err());
        // Trailing byte.
        assert!(parse_single(&[0x05, 0x00, 0x00], NULL, "t").is_err());
        // Integers.
        assert!(uint_magnitude(&[0x00, 0x7f], "t").is_err());
        assert!(uint_magnitude(&[0x80], "t").is_err());
        assert!(uint_magnitude(&[], "t").is_err());
        assert_eq!(uint_magnitude(&[0x00, 0x80], "t").unwrap(), &[0x80]);
        assert_eq!(uint(&[0, 0, 0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint(&[0, 0]), vec![0x02, 0x01, 0x00]);
    }
}
