//! The rotation configuration file (TOML).
//!
//! ```toml
//! # Where versions are kept (default: ".gmkit-rotate" next to this file).
//! store = "/var/lib/gmkit/rotate"
//!
//! [[cert]]
//! name = "gateway"                       # letters, digits, '.', '_', '-'
//! cert = "/etc/gateway/tls/server.crt"   # what the server reads
//! key = "/etc/gateway/tls/server.key"
//! chain = "/etc/gateway/tls/chain.crt"   # optional
//! roots = "/etc/gateway/tls/roots.pem"   # trust anchors (default for a local CA: its root)
//! renew_before_days = 30
//! key_algorithm = "sm2"                  # sm2, rsa2048, rsa3072, rsa4096, p256
//! subject = "CN=gw.bank.example,O=Bank,C=CN"
//! sans = ["DNS:gw.bank.example", "IP:10.1.2.3"]
//! profile = "server"                     # server, client, sign, enc
//! days = 365                             # validity asked of a local CA
//! keep = 3                               # previous versions kept
//! hook = "systemctl reload gateway"      # optional, run with sh -c after a switch
//! hook_timeout_secs = 300
//! issuer = "local-ca"                    # or "external" (e.g. CFCA)
//! ca_dir = "/etc/gmkit/ca"               # for local-ca: a `gmkit ca init` directory
//! ```
//!
//! Relative paths are relative to the directory of the configuration file.
//! Unknown keys are errors (a typo must not silently disable a check).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::RotateError;
use crate::{DistinguishedName, KeyAlgorithm, Profile, SubjectAltName};

/// The default number of previous versions kept.
pub const DEFAULT_KEEP: u32 = 3;
/// The default hook timeout.
pub const DEFAULT_HOOK_TIMEOUT_SECS: u64 = 300;
/// Largest accepted configuration file.
const MAX_CONFIG_LEN: usize = 1 << 20;

/// Who issues the renewed certificates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Issuer {
    /// A local CA directory (written by `gmkit ca init`).
    LocalCa {
        /// The CA directory.
        dir: PathBuf,
    },
    /// An external CA (CFCA, ...): `apply` writes the key and CSR and waits;
    /// `install` finishes once the certificate has been issued.
    External,
}

/// One managed certificate.
#[derive(Clone, Debug)]
pub struct ManagedCert {
    /// Unique name (also the directory name in the store).
    pub name: String,
    /// Path of the certificate the server reads.
    pub cert: PathBuf,
    /// Path of the private key the server reads.
    pub key: PathBuf,
    /// Path of the chain file the server reads, if any.
    pub chain: Option<PathBuf>,
    /// Trust anchors the certificate must chain to.
    pub roots: Option<PathBuf>,
    /// Renew when fewer than this many days are left.
    pub renew_before_days: u32,
    /// Algorithm of new keys.
    pub key_algorithm: KeyAlgorithm,
    /// Subject of new requests.
    pub subject: DistinguishedName,
    /// SANs of new requests; a new certificate must cover all of them.
    pub sans: Vec<SubjectAltName>,
    /// Certificate profile asked of a local CA.
    pub profile: Profile,
    /// Validity in days asked of a local CA.
    pub days: u32,
    /// Previous versions kept after a switch.
    pub keep: u32,
    /// Command run (`sh -c`) after a successful switch.
    pub hook: Option<String>,
    /// Seconds before a hook is killed.
    pub hook_timeout_secs: u64,
    /// Allow a new certificate to drop names the current one covers.
    pub allow_name_change: bool,
    /// Who issues.
    pub issuer: Issuer,
}

/// The whole configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The store directory (versions, pending requests, lock).
    pub store: PathBuf,
    /// The managed certificates, in file order.
    pub certs: Vec<ManagedCert>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    store: Option<PathBuf>,
    #[serde(default)]
    cert: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCert {
    name: String,
    cert: PathBuf,
    key: PathBuf,
    chain: Option<PathBuf>,
    roots: Option<PathBuf>,
    renew_before_days: u32,
    #[serde(default = "default_alg")]
    key_algorithm: String,
    subject: String,
    #[serde(default)]
    sans: Vec<String>,
    #[serde(default = "default_profile")]
    profile: String,
    #[serde(default = "default_days")]
    days: u32,
    #[serde(default = "default_keep")]
    keep: u32,
    hook: Option<String>,
    #[serde(default = "default_hook_timeout")]
    hook_timeout_secs: u64,
    #[serde(default)]
    allow_name_change: bool,
    issuer: String,
    ca_dir: Option<PathBuf>,
}

fn default_alg() -> String {
    "sm2".into()
}
fn default_profile() -> String {
    "server".into()
}
fn default_days() -> u32 {
    365
}
fn default_keep() -> u32 {
    DEFAULT_KEEP
}
fn default_hook_timeout() -> u64 {
    DEFAULT_HOOK_TIMEOUT_SECS
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, RotateError> {
        let data = std::fs::read(path)
            .map_err(|e| RotateError::Config(format!("cannot read {}: {e}", path.display())))?;
        let base = crate::atomic::parent_dir(path).to_path_buf();
        Self::parse(&data, &base)
    }

    /// Parses and checks configuration text; relative paths are resolved
    /// against `base_dir`.
    pub fn parse(data: &[u8], base_dir: &Path) -> Result<Self, RotateError> {
        if data.len() > MAX_CONFIG_LEN {
            return Err(RotateError::Config(format!(
                "configuration file larger than {MAX_CONFIG_LEN} bytes"
            )));
        }
        let text = std::str::from_utf8(data)
            .map_err(|_| RotateError::Config("configuration is not UTF-8".into()))?;
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| RotateError::Config(e.to_string()))?;
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base_dir.join(p) };
        let store = resolve(raw.store.unwrap_or_else(|| PathBuf::from(".gmkit-rotate")));
        if raw.cert.is_empty() {
            return Err(RotateError::Config(
                "no [[cert]] entries: nothing to manage".into(),
            ));
        }
        let mut names = BTreeSet::new();
        let mut paths = BTreeSet::new();
        let mut certs = Vec::with_capacity(raw.cert.len());
        for c in raw.cert {
            let ctx = |what: &str| format!("[[cert]] {:?}: {what}", c.name);
            check_name(&c.name).map_err(|e| RotateError::Config(ctx(&e)))?;
            if !names.insert(c.name.clone()) {
                return Err(RotateError::Config(ctx("duplicate name")));
            }
            let key_algorithm: KeyAlgorithm = c
                .key_algorithm
                .parse()
                .map_err(|e: crate::Error| RotateError::Config(ctx(&e.to_string())))?;
            let subject: DistinguishedName = c
                .subject
                .parse()
                .map_err(|e: crate::Error| RotateError::Config(ctx(&e.to_string())))?;
            let sans = c
                .sans
                .iter()
                .map(|s| s.parse::<SubjectAltName>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| RotateError::Config(ctx(&e.to_string())))?;
            let profile: Profile = c
                .profile
                .parse()
                .map_err(|e: crate::Error| RotateError::Config(ctx(&e.to_string())))?;
            if profile.is_ca() {
                return Err(RotateError::Config(ctx(
                    "CA profiles are not rotated here (use gmkit ca)",
                )));
            }
            if c.renew_before_days == 0 {
                return Err(RotateError::Config(ctx(
                    "renew_before_days must be at least 1",
                )));
            }
            if c.days == 0 || c.days > 36_500 {
                return Err(RotateError::Config(ctx("days must be 1 to 36500")));
            }
            if c.days <= c.renew_before_days {
                return Err(RotateError::Config(ctx(
                    "days must exceed renew_before_days (or every new certificate is due at once)",
                )));
            }
            if c.keep > 1000 {
                return Err(RotateError::Config(ctx("keep must be at most 1000")));
            }
            if c.hook_timeout_secs == 0 {
                return Err(RotateError::Config(ctx(
                    "hook_timeout_secs must be at least 1",
                )));
            }
            if matches!(&c.hook, Some(h) if h.trim().is_empty()) {
                return Err(RotateError::Config(ctx("hook is empty")));
            }
            let issuer = match (c.issuer.as_str(), c.ca_dir) {
                ("local-ca", Some(dir)) => Issuer::LocalCa { dir: resolve(dir) },
                ("local-ca", None) => {
                    return Err(RotateError::Config(ctx("issuer \"local-ca\" needs ca_dir")))
                }
                ("external", None) => Issuer::External,
                ("external", Some(_)) => {
                    return Err(RotateError::Config(ctx(
                        "ca_dir is only for issuer \"local-ca\"",
                    )))
                }
                (other, _) => {
                    return Err(RotateError::Config(ctx(&format!(
                        "issuer {other:?}: use \"local-ca\" or \"external\""
                    ))))
                }
            };
            if issuer == Issuer::External && c.roots.is_none() {
                return Err(RotateError::Config(ctx(
                    "issuer \"external\" needs roots (the trust anchors to check against)",
                )));
            }
            let cert = resolve(c.cert);
            let key = resolve(c.key);
            let chain = c.chain.map(resolve);
            let mut own = vec![&cert, &key];
            own.extend(chain.iter());
            for p in own {
                if !paths.insert(p.clone()) {
                    return Err(RotateError::Config(ctx(&format!(
                        "path {} is used twice",
                        p.display()
                    ))));
                }
            }
            certs.push(ManagedCert {
                name: c.name,
                cert,
                key,
                chain,
                roots: c.roots.map(resolve),
                renew_before_days: c.renew_before_days,
                key_algorithm,
                subject,
                sans,
                profile,
                days: c.days,
                keep: c.keep,
                hook: c.hook,
                hook_timeout_secs: c.hook_timeout_secs,
                allow_name_change: c.allow_name_change,
                issuer,
            });
        }
        Ok(Config { store, certs })
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Result<&ManagedCert, RotateError> {
        self.certs
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| RotateError::UnknownName(name.to_owned()))
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err("name must be 1 to 64 characters".into());
    }
    if name.starts_with('.') {
        return Err("name must not start with '.'".into());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return Err("name may only contain letters, digits, '.', '_' and '-'".into());
    }
    Ok(())
}
