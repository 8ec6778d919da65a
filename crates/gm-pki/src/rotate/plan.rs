//! `plan`: what would happen to each managed certificate, and why.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use super::config::{Config, Issuer, ManagedCert};
use super::state::{files, CertStore};
use super::RotateError;
use crate::{
    verify_chain, Certificate, KeyPair, Profile, Purpose, SubjectAltName, VerifyError,
    VerifyOptions,
};

/// The state of the installed set of one managed certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Valid, consistent and not yet in its renew window.
    Ok,
    /// Valid, but fewer than `renew_before_days` days left.
    Renew,
    /// The certificate has expired.
    Expired,
    /// The certificate, key or chain file does not exist.
    Missing,
    /// Present but wrong: key does not match, names not covered, chain
    /// does not verify, not yet valid, unreadable.
    Mismatch,
}

impl Status {
    /// Whether `apply` would act (and `plan` exits with status 3).
    pub fn needs_action(self) -> bool {
        self != Status::Ok
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Renew => "renew",
            Status::Expired => "expired",
            Status::Missing => "missing",
            Status::Mismatch => "mismatch",
        }
    }
}

/// What `apply` would do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlannedAction {
    /// Nothing.
    None,
    /// Only re-run the hook of an earlier switch (it failed or never ran).
    RunHook,
    /// New key, certificate from the local CA, switch.
    Renew,
    /// New key and CSR written for the external issuer.
    Request,
    /// A request is pending: waiting for `install`.
    AwaitIssuer,
}

/// The plan for one managed certificate.
#[derive(Clone, Debug, Serialize)]
pub struct PlanItem {
    /// Its name.
    pub name: String,
    /// The state of the installed set.
    pub status: Status,
    /// Why (human-readable).
    pub reason: String,
    /// Whole days until notAfter (negative once expired).
    pub days_left: Option<i64>,
    /// notAfter (RFC 3339).
    pub not_after: Option<String>,
    /// Serial number (hex).
    pub serial: Option<String>,
    /// Subject of the installed certificate.
    pub subject: Option<String>,
    /// The live version (None before the first switch).
    pub current_version: Option<u32>,
    /// The version `rollback` would restore.
    pub rollback_version: Option<u32>,
    /// The CSR waiting for the external issuer.
    pub pending_csr: Option<PathBuf>,
    /// A switch whose hook has not succeeded yet.
    pub hook_pending: bool,
    /// What `apply` would do.
    pub action: PlannedAction,
}

/// The plan for every managed certificate.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// One item per managed certificate, in configuration order.
    pub items: Vec<PlanItem>,
}

impl Plan {
    /// Whether any certificate needs attention (exit status 3).
    pub fn needs_action(&self) -> bool {
        self.items
            .iter()
            .any(|i| i.status.needs_action() || i.action != PlannedAction::None)
    }
}

/// Plans every managed certificate at time `now`.
pub fn plan(config: &Config, now: SystemTime) -> Result<Plan, RotateError> {
    let items = config
        .certs
        .iter()
        .map(|mc| plan_one(config, mc, now))
        .collect::<Result<_, _>>()?;
    Ok(Plan { items })
}

/// Plans one managed certificate.
pub fn plan_one(
    config: &Config,
    mc: &ManagedCert,
    now: SystemTime,
) -> Result<PlanItem, RotateError> {
    let store = CertStore::new(&config.store, &mc.name);
    let current = store.current()?;
    let rollback_version = match current {
        Some(c) => store.versions()?.into_iter().filter(|&v| v < c).max(),
        None => None,
    };
    let pending = store.pending_dir().join(files::CSR);
    let pending_csr = pending.exists().then_some(pending);
    let hook_pending = hook_marker(&store).exists();

    let mut item = PlanItem {
        name: mc.name.clone(),
        status: Status::Missing,
        reason: String::new(),
        days_left: None,
        not_after: None,
        serial: None,
        subject: None,
        current_version: current,
        rollback_version,
        pending_csr,
        hook_pending,
        action: PlannedAction::None,
    };
    match read_live(mc) {
        Live::Missing(why) => {
            item.status = Status::Missing;
            item.reason = why;
        }
        Live::Unreadable(why) => {
            item.status = Status::Mismatch;
            item.reason = why;
        }
        Live::Present(set) => {
            item.days_left = Some(set.cert.days_left(now));
            item.not_after = Some(crate::rfc3339(set.cert.not_after()));
            item.serial = Some(set.cert.serial_hex());
            item.subject = Some(set.cert.subject().to_string());
            let trust = Trust::load(mc)?;
            let (status, reason) = evaluate(mc, &set, &trust, now, None);
            item.status = status;
            item.reason = reason;
        }
    }
    item.action = if item.status.needs_action() {
        match (&mc.issuer, &item.pending_csr) {
            (Issuer::LocalCa { .. }, _) => PlannedAction::Renew,
            (Issuer::External, None) => PlannedAction::Request,
            (Issuer::External, Some(_)) => PlannedAction::AwaitIssuer,
        }
    } else if item.hook_pending && mc.hook.is_some() {
        PlannedAction::RunHook
    } else {
        PlannedAction::None
    };
    Ok(item)
}

/// The marker of a switch whose hook has not succeeded yet.
pub(crate) fn hook_marker(store: &CertStore) -> PathBuf {
    store.dir().join("hook-pending")
}

/// A certificate, its key and its chain.
pub(crate) struct Set {
    pub(crate) cert: Certificate,
    pub(crate) key: KeyPair,
    pub(crate) chain: Vec<Certificate>,
}

pub(crate) enum Live {
    Missing(String),
    Unreadable(String),
    Present(Box<Set>),
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read(path) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Reads the set the server would read, through the configured paths.
pub(crate) fn read_live(mc: &ManagedCert) -> Live {
    let mut paths = vec![("certificate", &mc.cert), ("key", &mc.key)];
    if let Some(chain) = &mc.chain {
        paths.push(("chain", chain));
    }
    let mut data = Vec::new();
    for (what, p) in paths {
        match read_opt(p) {
            Ok(Some(d)) => data.push(d),
            Ok(None) => {
                return Live::Missing(format!("{what} file {} does not exist", p.display()))
            }
            Err(e) => return Live::Unreadable(e),
        }
    }
    let chain_data = data.get(2).map(Vec::as_slice);
    match parse_set(&data[0], &data[1], chain_data) {
        Ok(set) => Live::Present(Box::new(set)),
        Err(e) => Live::Unreadable(e),
    }
}

/// Parses a set from its file contents.
pub(crate) fn parse_set(cert: &[u8], key: &[u8], chain: Option<&[u8]>) -> Result<Set, String> {
    let mut certs = Certificate::load_all(cert).map_err(|e| format!("certificate: {e}"))?;
    if certs.is_empty() {
        return Err("certificate file holds no certificate".into());
    }
    let leaf = certs.remove(0);
    let key = KeyPair::load(key, None).map_err(|e| format!("key: {e}"))?;
    let mut chain_certs = certs;
    if let Some(c) = chain {
        if !c.iter().all(u8::is_ascii_whitespace) {
            chain_certs.extend(Certificate::load_all(c).map_err(|e| format!("chain: {e}"))?);
        }
    }
    Ok(Set {
        cert: leaf,
        key,
        chain: chain_certs,
    })
}

/// Trust anchors, extra intermediates and SM2 ID to verify against.
pub(crate) struct Trust {
    pub(crate) roots: Vec<Certificate>,
    pub(crate) intermediates: Vec<Certificate>,
    pub(crate) sm2_id: Vec<u8>,
}

impl Trust {
    /// From `roots` if configured, else (local CA) from the CA directory.
    pub(crate) fn load(mc: &ManagedCert) -> Result<Self, RotateError> {
        let mut trust = Trust {
            roots: Vec::new(),
            intermediates: Vec::new(),
            sm2_id: gm_sm2::DEFAULT_ID.to_vec(),
        };
        if let Issuer::LocalCa { dir } = &mc.issuer {
            let read = |name: &str| -> Result<Option<Vec<u8>>, RotateError> {
                let p = dir.join(name);
                match std::fs::read(&p) {
                    Ok(d) => Ok(Some(d)),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(RotateError::io(&p, e)),
                }
            };
            let ca_pem = read(crate::ca_files::CERT)?.ok_or_else(|| {
                RotateError::Config(format!(
                    "[[cert]] {:?}: no CA certificate in {}",
                    mc.name,
                    dir.display()
                ))
            })?;
            let mut ca_certs = Certificate::load_all(&ca_pem)?;
            if let Some(chain) = read(crate::ca_files::CHAIN)? {
                ca_certs.extend(Certificate::load_all(&chain)?);
            }
            if let Some(cfg) = read(crate::ca_files::CONFIG)? {
                #[derive(serde::Deserialize)]
                struct CaConfig {
                    sm2_id: String,
                }
                if let Ok(c) = serde_json::from_slice::<CaConfig>(&cfg) {
                    trust.sm2_id = c.sm2_id.into_bytes();
                }
            }
            if mc.roots.is_none() {
                // The top of the CA's chain is the anchor.
                let (roots, rest): (Vec<_>, Vec<_>) =
                    ca_certs.into_iter().partition(|c| c.is_self_issued());
                if roots.is_empty() {
                    trust.roots = rest;
                } else {
                    trust.roots = roots;
                    trust.intermediates = rest;
                }
            } else {
                trust.intermediates = ca_certs;
            }
        }
        if let Some(path) = &mc.roots {
            let data = std::fs::read(path).map_err(|e| RotateError::io(path, e))?;
            trust.roots = Certificate::load_all(&data)?;
            if trust.roots.is_empty() {
                return Err(RotateError::Config(format!(
                    "[[cert]] {:?}: no certificate in roots file {}",
                    mc.name,
                    path.display()
                )));
            }
        }
        Ok(trust)
    }
}

fn purpose(profile: Profile) -> Purpose {
    match profile {
        Profile::TlsServer => Purpose::ServerAuth,
        Profile::TlsClient => Purpose::ClientAuth,
        _ => Purpose::Any,
    }
}

fn same_name(a: &SubjectAltName, b: &SubjectAltName) -> bool {
    match (a, b) {
        (SubjectAltName::Dns(x), SubjectAltName::Dns(y)) => x.eq_ignore_ascii_case(y),
        (SubjectAltName::Email(x), SubjectAltName::Email(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

/// Names in `wanted` that `cert` does not cover.
pub(crate) fn uncovered(cert: &Certificate, wanted: &[SubjectAltName]) -> Vec<String> {
    let have = cert.subject_alt_names();
    wanted
        .iter()
        .filter(|w| !have.iter().any(|h| same_name(h, w)))
        .map(|w| w.to_string())
        .collect()
}

/// Checks a set: key match, validity, names, chain, renew window. With
/// `previous`, the names of the previous certificate must be covered too
/// (unless `allow_name_change`).
pub(crate) fn evaluate(
    mc: &ManagedCert,
    set: &Set,
    trust: &Trust,
    now: SystemTime,
    previous: Option<&Certificate>,
) -> (Status, String) {
    if !set.cert.matches_key(&set.key) {
        return (
            Status::Mismatch,
            "the private key does not belong to the certificate".into(),
        );
    }
    if now > set.cert.not_after() {
        return (
            Status::Expired,
            format!("expired on {}", crate::rfc3339(set.cert.not_after())),
        );
    }
    if now < set.cert.not_before() {
        return (
            Status::Mismatch,
            format!("not valid before {}", crate::rfc3339(set.cert.not_before())),
        );
    }
    let missing = uncovered(&set.cert, &mc.sans);
    if !missing.is_empty() {
        return (
            Status::Mismatch,
            format!("the certificate does not cover {}", missing.join(", ")),
        );
    }
    if let (Some(prev), false) = (previous, mc.allow_name_change) {
        let missing = uncovered(&set.cert, &prev.subject_alt_names());
        if !missing.is_empty() {
            return (
                Status::Mismatch,
                format!(
                    "the certificate drops names the current one covers: {} (set allow_name_change = true to allow)",
                    missing.join(", ")
                ),
            );
        }
    }
    let mut intermediates = set.chain.clone();
    intermediates.extend(trust.intermediates.iter().cloned());
    let opts = VerifyOptions {
        time: Some(now),
        purpose: purpose(mc.profile),
        sm2_id: trust.sm2_id.clone(),
        ..VerifyOptions::default()
    };
    if let Err(e) = verify_chain(&set.cert, &intermediates, &trust.roots, &opts) {
        let status = match e {
            VerifyError::Expired { .. } => Status::Expired,
            _ => Status::Mismatch,
        };
        return (
            status,
            format!(
                "does not verify against the configured roots ({}): {e}",
                e.code()
            ),
        );
    }
    let days = set.cert.days_left(now);
    if days < i64::from(mc.renew_before_days) {
        return (
            Status::Renew,
            format!(
                "{days} days left, renew window is {} days",
                mc.renew_before_days
            ),
        );
    }
    (Status::Ok, format!("{days} days left"))
}
