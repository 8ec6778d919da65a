//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// The vector files copied from the project's reference collection
/// (shared/reference/gm-vectors), each entry naming its source.
pub fn vectors(file: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    doc["vectors"].as_array().expect("vectors").clone()
}

/// Whether a vector is on the recommended curve sm2p256v1 (RustCrypto sm2
/// is fixed to it; the example-curve entries cannot run here).
pub fn on_recommended_curve(v: &Value) -> bool {
    v["curve"]["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("sm2p256v1"))
}

pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("field {key} missing in {}", v["id"]))
}

pub fn opt_hex(v: &Value, key: &str) -> Option<Vec<u8>> {
    v[key].as_str().map(|h| hex::decode(h).expect("hex"))
}

pub fn hex_field(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(s(v, key)).expect("hex")
}

pub fn arr32(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().expect("32 bytes")
}

/// `04 || x || y` from a vector's hex coordinates.
pub fn point(v: &Value, x: &str, y: &str) -> Vec<u8> {
    let mut p = vec![4u8];
    p.extend(hex_field(v, x));
    p.extend(hex_field(v, y));
    p
}

/// A label for assertion messages: id and source.
pub fn label(v: &Value) -> String {
    format!(
        "[{}] source: {}",
        s(v, "id"),
        v["source"].as_str().unwrap_or("?")
    )
}
