//! PEM documents with several blocks (certificate chains, key + parameters).

use crate::error::{Error, Result};

/// One decoded PEM block.
pub(crate) struct Block {
    pub label: String,
    pub der: Vec<u8>,
}

/// Whether `data` looks like PEM (text starting with `-----BEGIN`, after
/// optional whitespace and explanatory text lines as OpenSSL writes them).
pub(crate) fn is_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Every PEM block in `data`, in order. Text outside the blocks is ignored
/// (OpenSSL's `-text` output puts a dump before the block).
pub(crate) fn blocks(data: &[u8], what: &'static str) -> Result<Vec<Block>> {
    let text = std::str::from_utf8(data).map_err(|_| Error::malformed(what, "PEM is not UTF-8"))?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start..];
        let label_end = after[11..]
            .find("-----")
            .ok_or_else(|| Error::malformed(what, "unterminated PEM header"))?;
        let label = &after[11..11 + label_end];
        let end_marker = format!("-----END {label}-----");
        let end = after
            .find(&end_marker)
            .ok_or_else(|| Error::malformed(what, format!("missing {end_marker}")))?;
        let block = &after[..end + end_marker.len()];
        let (decoded_label, der) = pem_rfc7468::decode_vec(block.as_bytes())
            .map_err(|e| Error::malformed(what, format!("PEM block {label}: {e}")))?;
        out.push(Block {
            label: decoded_label.to_owned(),
            der,
        });
        rest = &after[end + end_marker.len()..];
    }
    Ok(out)
}

/// Encodes one PEM block with LF line endings.
pub(crate) fn encode(label: &'static str, der: &[u8]) -> String {
    // Encoding only fails for invalid labels, which ours are not.
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap_or_default()
}
