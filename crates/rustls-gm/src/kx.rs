//! The curveSM2 key exchange group (RFC 8998 section 2): ephemeral ECDH on
//! the SM2 curve, 65-byte uncompressed points, shared secret = x coordinate.
//! TLS 1.3 only.

use rustls::crypto::{ActiveKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::ffdhe_groups::FfdheGroup;
use rustls::{NamedGroup, PeerMisbehaved, ProtocolVersion};

use crate::codepoints::CURVE_SM2;
use crate::sm2::EphemeralKey;

/// The curveSM2 group.
#[derive(Debug)]
pub(crate) struct CurveSm2;

impl SupportedKxGroup for CurveSm2 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, rustls::Error> {
        let key = EphemeralKey::generate().ok_or(rustls::Error::FailedToGetRandomBytes)?;
        Ok(Box::new(ActiveCurveSm2 { key }))
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn name(&self) -> NamedGroup {
        CURVE_SM2
    }

    fn usable_for_version(&self, version: ProtocolVersion) -> bool {
        version == ProtocolVersion::TLSv1_3
    }
}

struct ActiveCurveSm2 {
    key: EphemeralKey,
}

/// Completes an SM2 ECDH, mapping a bad peer point to the error rustls
/// expects (and an `illegal_parameter` alert).
fn complete_sm2(key: EphemeralKey, peer: &[u8]) -> Result<SharedSecret, rustls::Error> {
    let secret = key.agree(peer).ok_or(rustls::Error::PeerMisbehaved(
        PeerMisbehaved::InvalidKeyShare,
    ))?;
    Ok(SharedSecret::from(&secret[..]))
}

impl ActiveKeyExchange for ActiveCurveSm2 {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, rustls::Error> {
        complete_sm2(self.key, peer_pub_key)
    }

    fn pub_key(&self) -> &[u8] {
        self.key.public()
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn group(&self) -> NamedGroup {
        CURVE_SM2
    }
}

/// Client-side curveSM2 that also sends an X25519 key share in the same
/// ClientHello (through rustls' "hybrid component" hook), so that a
/// GM-preferring client reaches an ordinary server without a
/// HelloRetryRequest. A server that picks curveSM2 completes the SM2 share; one
/// that picks X25519 completes the X25519 share.
#[derive(Debug)]
pub(crate) struct CurveSm2WithX25519Share {
    pub(crate) x25519: &'static dyn SupportedKxGroup,
}

impl SupportedKxGroup for CurveSm2WithX25519Share {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, rustls::Error> {
        let key = EphemeralKey::generate().ok_or(rustls::Error::FailedToGetRandomBytes)?;
        let x25519 = self.x25519.start()?;
        Ok(Box::new(ActiveCurveSm2WithX25519 { key, x25519 }))
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn name(&self) -> NamedGroup {
        CURVE_SM2
    }

    fn usable_for_version(&self, version: ProtocolVersion) -> bool {
        version == ProtocolVersion::TLSv1_3
    }
}

struct ActiveCurveSm2WithX25519 {
    key: EphemeralKey,
    x25519: Box<dyn ActiveKeyExchange>,
}

impl ActiveKeyExchange for ActiveCurveSm2WithX25519 {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, rustls::Error> {
        complete_sm2(self.key, peer_pub_key)
    }

    fn hybrid_component(&self) -> Option<(NamedGroup, &[u8])> {
        Some((self.x25519.group(), self.x25519.pub_key()))
    }

    fn complete_hybrid_component(
        self: Box<Self>,
        peer_pub_key: &[u8],
    ) -> Result<SharedSecret, rustls::Error> {
        self.x25519.complete(peer_pub_key)
    }

    fn pub_key(&self) -> &[u8] {
        self.key.public()
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn group(&self) -> NamedGroup {
        CURVE_SM2
    }
}
