//! Shared set-up for the rotation tests: a scratch directory with a local
//! CA (and a second CA playing CFCA for the external flow), a configuration
//! file, and helpers to install an "old" set and to check the live set.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use gm_pki::rotate::Config;
use gm_pki::{
    Certificate, CertificateAuthority, Csr, IssueRequest, KeyAlgorithm, KeyPair, Profile,
};

pub const HOST: &str = "gw.bank.example";

pub struct Env {
    pub dir: PathBuf,
    pub ca: CertificateAuthority,
    /// Plays the external CA (CFCA): its root is in `roots.pem`.
    pub ext_ca: CertificateAuthority,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn scratch(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "gm-pki-rotate-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Env {
    pub fn new(name: &str) -> Env {
        let dir = scratch(name);
        let ca = CertificateAuthority::init(
            &"CN=Rotate Test Root,O=gmkit,C=CN".parse().unwrap(),
            3650,
            KeyPair::generate(KeyAlgorithm::Sm2).unwrap(),
        )
        .unwrap();
        ca.save(&dir.join("ca"), None, false).unwrap();
        let ext_ca = CertificateAuthority::init(
            &"CN=External Test Root,O=CFCA-like,C=CN".parse().unwrap(),
            3650,
            KeyPair::generate(KeyAlgorithm::Sm2).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join("roots.pem"), ext_ca.certificate().to_pem()).unwrap();
        std::fs::create_dir_all(dir.join("live")).unwrap();
        Env { dir, ca, ext_ca }
    }

    /// A configuration with one local-CA certificate "gw" and one external
    /// one "cfca"; `extra` is appended to the "gw" entry.
    pub fn config_text(&self, extra: &str) -> String {
        format!(
            r#"
store = "store"

[[cert]]
name = "gw"
cert = "live/gw.crt"
key = "live/gw.key"
chain = "live/gw-chain.crt"
renew_before_days = 30
key_algorithm = "sm2"
subject = "CN={HOST},O=Bank,C=CN"
sans = ["DNS:{HOST}", "IP:10.1.2.3"]
profile = "server"
days = 365
keep = 2
issuer = "local-ca"
ca_dir = "ca"
{extra}

[[cert]]
name = "cfca"
cert = "live/cfca.crt"
key = "live/cfca.key"
roots = "roots.pem"
renew_before_days = 30
subject = "CN=pay.bank.example,O=Bank,C=CN"
sans = ["DNS:pay.bank.example"]
issuer = "external"
"#
        )
    }

    pub fn config(&self, extra: &str) -> Config {
        let path = self.dir.join("rotate.toml");
        std::fs::write(&path, self.config_text(extra)).unwrap();
        Config::load(&path).unwrap()
    }

    pub fn p(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Writes a regular-file set for "gw" valid for `days` days (an
    /// existing deployment before gmkit manages it).
    pub fn install_plain_gw(&self, days: u32) -> Certificate {
        let key = KeyPair::generate(KeyAlgorithm::Sm2).unwrap();
        let cert = issue(
            &self.ca,
            &key,
            &format!("CN={HOST},O=Bank,C=CN"),
            &[&format!("DNS:{HOST}"), "IP:10.1.2.3"],
            days,
        );
        std::fs::write(self.p("live/gw.crt"), cert.to_pem()).unwrap();
        std::fs::write(
            self.p("live/gw.key"),
            key.to_pkcs8_pem().unwrap().as_bytes(),
        )
        .unwrap();
        std::fs::write(self.p("live/gw-chain.crt"), self.ca.certificate().to_pem()).unwrap();
        cert
    }
}

pub fn issue(
    ca: &CertificateAuthority,
    key: &KeyPair,
    subject: &str,
    sans: &[&str],
    days: u32,
) -> Certificate {
    let sans: Vec<_> = sans.iter().map(|s| s.parse().unwrap()).collect();
    let csr = Csr::new(key, &subject.parse().unwrap(), &sans).unwrap();
    let req = IssueRequest::from_csr(&csr, Profile::TlsServer)
        .unwrap()
        .days(days);
    ca.issue(&req).unwrap()
}

/// What the configured paths hold right now.
#[derive(Debug, PartialEq, Eq)]
pub enum LiveState {
    /// Neither certificate nor key exists.
    Nothing,
    /// A complete, consistent set: the certificate's SHA-256 fingerprint.
    Set([u8; 32]),
}

/// Reads the live "gw" set and panics unless it is absent or complete and
/// consistent (key matches certificate, chain present and parsable).
pub fn live_gw(env: &Env) -> LiveState {
    let cert = std::fs::read(env.p("live/gw.crt"));
    let key = std::fs::read(env.p("live/gw.key"));
    let chain = std::fs::read(env.p("live/gw-chain.crt"));
    match (cert, key, chain) {
        (Err(_), Err(_), Err(_)) => LiveState::Nothing,
        (Ok(c), Ok(k), Ok(ch)) => {
            let cert = Certificate::load(&c).expect("live certificate parses");
            let key = KeyPair::load(&k, None).expect("live key parses");
            assert!(
                cert.matches_key(&key),
                "live key does not match live certificate"
            );
            let chain = Certificate::load_all(&ch).expect("live chain parses");
            assert_eq!(
                chain.first(),
                Some(env.ca.certificate()),
                "chain starts with the CA"
            );
            LiveState::Set(cert.fingerprint_sha256())
        }
        (c, k, ch) => panic!(
            "incomplete live set: cert {:?}, key {:?}, chain {:?}",
            c.is_ok(),
            k.is_ok(),
            ch.is_ok()
        ),
    }
}

pub fn later(days: u64) -> SystemTime {
    SystemTime::now() + Duration::from_secs(days * 86_400)
}

pub fn is_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}
