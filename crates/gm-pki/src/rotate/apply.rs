//! `apply`, `install` and `rollback`: the actions, each ending in an atomic
//! switch of the `current` link (see the [module docs](super)).

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use super::config::{Config, Issuer, ManagedCert};
use super::plan::{
    self, evaluate, hook_marker, parse_set, plan_one, Live, PlannedAction, Set, Status, Trust,
};
use super::state::{files, CertStore, SetFiles};
use super::{RotateError, StoreLock};
use crate::atomic::{self, Access, Checkpoint};
use crate::{Certificate, CertificateAuthority, Csr, KeyPair};

/// Options of [`apply`].
#[derive(Clone, Debug, Default)]
pub struct ApplyOptions {
    /// Only say what would be done; write nothing, run no hook.
    pub dry_run: bool,
    /// Renew even certificates whose status is `ok`.
    pub force: bool,
    /// Only this managed certificate.
    pub only: Option<String>,
    /// Password of an encrypted local CA key.
    pub ca_password: Option<gm_sm2::Zeroizing<Vec<u8>>>,
    /// The time to plan at (default: now).
    pub now: Option<SystemTime>,
}

/// What happened to one managed certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionTaken {
    /// Nothing to do.
    None,
    /// Dry run: would renew from the local CA.
    WouldRenew,
    /// Dry run: would write a key and CSR for the external issuer.
    WouldRequest,
    /// Dry run: would install / roll back / run the hook.
    WouldSwitch,
    /// Dry run: would re-run the hook.
    WouldRunHook,
    /// Renewed and switched.
    Renewed,
    /// Key and CSR written; waiting for the external issuer.
    Requested,
    /// A request was already pending; still waiting.
    AwaitingIssuer,
    /// An issued certificate was installed and switched to.
    Installed,
    /// Switched back to the previous version.
    RolledBack,
    /// Only the hook of an earlier switch was run again.
    HookRerun,
    /// The action failed; nothing was switched (see `error`).
    Failed,
}

/// The outcome of a hook command.
#[derive(Clone, Debug, Serialize)]
pub struct HookResult {
    /// The command (run with `sh -c`).
    pub command: String,
    /// Whether it exited with status 0 in time.
    pub success: bool,
    /// Its exit status, if it exited.
    pub exit_code: Option<i32>,
    /// Whether it was killed after `hook_timeout_secs`.
    pub timed_out: bool,
    /// The last few kilobytes of its standard output and error.
    pub output: String,
}

/// The report for one managed certificate.
#[derive(Clone, Debug, Serialize)]
pub struct ApplyItem {
    /// Its name.
    pub name: String,
    /// Status before the action.
    pub status_before: Status,
    /// Why it was (or was not) acted on.
    pub reason: String,
    /// What was done.
    pub action: ActionTaken,
    /// The live version afterwards.
    pub version: Option<u32>,
    /// The live version before.
    pub previous_version: Option<u32>,
    /// The new certificate's notAfter (RFC 3339).
    pub not_after: Option<String>,
    /// The new certificate's serial (hex).
    pub serial: Option<String>,
    /// The CSR to submit to the external issuer.
    pub csr: Option<PathBuf>,
    /// The hook run after the switch, if any.
    pub hook: Option<HookResult>,
    /// Why the action failed.
    pub error: Option<String>,
    /// The error's short code.
    pub error_code: Option<String>,
}

impl ApplyItem {
    fn new(name: &str, status_before: Status, reason: String) -> Self {
        ApplyItem {
            name: name.to_owned(),
            status_before,
            reason,
            action: ActionTaken::None,
            version: None,
            previous_version: None,
            not_after: None,
            serial: None,
            csr: None,
            hook: None,
            error: None,
            error_code: None,
        }
    }

    /// Whether the action or its hook failed (exit status 1).
    pub fn failed(&self) -> bool {
        self.action == ActionTaken::Failed || self.hook.as_ref().is_some_and(|h| !h.success)
    }
}

/// The report of an `apply`, `install` or `rollback`.
#[derive(Clone, Debug, Serialize)]
pub struct ApplyReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// One item per managed certificate considered.
    pub items: Vec<ApplyItem>,
}

impl ApplyReport {
    /// Whether any action or hook failed.
    pub fn failed(&self) -> bool {
        self.items.iter().any(ApplyItem::failed)
    }
}

/// Renews what needs renewing (see [`plan`](super::plan())).
pub fn apply(config: &Config, opts: &ApplyOptions) -> Result<ApplyReport, RotateError> {
    apply_with(config, opts, &mut atomic::no_checkpoint)
}

/// [`apply`] with a checkpoint before every file-system step (fault
/// injection for tests; an error there aborts like a crash).
pub fn apply_with(
    config: &Config,
    opts: &ApplyOptions,
    cp: Checkpoint<'_>,
) -> Result<ApplyReport, RotateError> {
    let targets = select(config, opts.only.as_deref())?;
    let _lock = if opts.dry_run {
        None
    } else {
        Some(StoreLock::acquire(&config.store)?)
    };
    let now = opts.now.unwrap_or_else(SystemTime::now);
    let mut items = Vec::new();
    for mc in targets {
        let store = CertStore::new(&config.store, &mc.name);
        if !opts.dry_run {
            clean_up(mc, &store)?;
            drop_stale_pending(&store, cp)?;
        }
        let planned = plan_one(config, mc, now)?;
        let mut item = ApplyItem::new(&mc.name, planned.status, planned.reason.clone());
        item.previous_version = planned.current_version;
        item.version = planned.current_version;
        let act = planned.status.needs_action() || opts.force;
        let result = if !act {
            if planned.action == PlannedAction::RunHook {
                if opts.dry_run {
                    item.action = ActionTaken::WouldRunHook;
                } else {
                    item.action = ActionTaken::HookRerun;
                    item.hook = run_hook(mc, &store, "apply", planned.current_version);
                }
            }
            Ok(())
        } else {
            match &mc.issuer {
                Issuer::LocalCa { dir } => renew_local(mc, &store, dir, opts, now, &mut item, cp),
                Issuer::External => request_external(mc, &store, opts, &planned, &mut item, cp),
            }
        };
        if let Err(e) = result {
            if is_simulated_crash(&e) {
                return Err(e);
            }
            item.action = ActionTaken::Failed;
            item.error_code = Some(e.code().to_owned());
            item.error = Some(e.to_string());
        }
        items.push(item);
    }
    Ok(ApplyReport {
        dry_run: opts.dry_run,
        items,
    })
}

/// Removes what a crashed run left: staging directories and temporary
/// files in the store and next to the live paths.
fn clean_up(mc: &ManagedCert, store: &CertStore) -> Result<(), RotateError> {
    store.clean_leftovers()?;
    let mut live = vec![&mc.cert, &mc.key];
    live.extend(mc.chain.iter());
    for p in live {
        super::state::clean_temp_files_next_to(p)?;
    }
    Ok(())
}

fn is_simulated_crash(e: &RotateError) -> bool {
    matches!(e, RotateError::Io { source, .. } if source.kind() == io::ErrorKind::Interrupted)
}

fn select<'a>(config: &'a Config, only: Option<&str>) -> Result<Vec<&'a ManagedCert>, RotateError> {
    match only {
        Some(name) => Ok(vec![config.get(name)?]),
        None => Ok(config.certs.iter().collect()),
    }
}

/// A pending request whose key is already live was installed by a run that
/// crashed before removing it: remove it now.
fn drop_stale_pending(store: &CertStore, cp: Checkpoint<'_>) -> Result<(), RotateError> {
    let Some(pending_key) = store.read_pending(files::KEY)? else {
        return Ok(());
    };
    let Some(current) = store.current()? else {
        return Ok(());
    };
    let live_key = store.read_version_file(current, files::KEY)?;
    let same = match (
        KeyPair::load(&pending_key, None),
        KeyPair::load(&live_key, None),
    ) {
        (Ok(a), Ok(b)) => a.public_key() == b.public_key(),
        _ => false,
    };
    if same {
        store.remove_pending(cp)?;
    }
    Ok(())
}

fn renew_local(
    mc: &ManagedCert,
    store: &CertStore,
    ca_dir: &Path,
    opts: &ApplyOptions,
    now: SystemTime,
    item: &mut ApplyItem,
    cp: Checkpoint<'_>,
) -> Result<(), RotateError> {
    if opts.dry_run {
        item.action = ActionTaken::WouldRenew;
        return Ok(());
    }
    let ca = CertificateAuthority::load_with_password(
        ca_dir,
        opts.ca_password.as_ref().map(|p| p.as_slice()),
    )?;
    let key = KeyPair::generate(mc.key_algorithm)?;
    let csr = Csr::new_with_sm2_id(&key, &mc.subject, &mc.sans, ca.sm2_id())?;
    let cert = ca.issue_csr(&csr, mc.profile, mc.days)?;
    let mut chain = vec![ca.certificate().clone()];
    chain.extend(ca.chain().iter().filter(|c| !c.is_self_issued()).cloned());
    let set = Set { cert, key, chain };
    switch_to_new_set(mc, store, set, now, item, "apply", cp)?;
    item.action = ActionTaken::Renewed;
    Ok(())
}

fn request_external(
    mc: &ManagedCert,
    store: &CertStore,
    opts: &ApplyOptions,
    planned: &plan::PlanItem,
    item: &mut ApplyItem,
    cp: Checkpoint<'_>,
) -> Result<(), RotateError> {
    if let Some(csr) = &planned.pending_csr {
        item.action = ActionTaken::AwaitingIssuer;
        item.csr = Some(csr.clone());
        return Ok(());
    }
    if opts.dry_run {
        item.action = ActionTaken::WouldRequest;
        return Ok(());
    }
    let key = KeyPair::generate(mc.key_algorithm)?;
    let csr = Csr::new(&key, &mc.subject, &mc.sans)?;
    let meta = serde_json::json!({
        "name": mc.name,
        "created": crate::rfc3339(SystemTime::now()),
        "subject": mc.subject.to_string(),
        "sans": mc.sans.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "key_algorithm": mc.key_algorithm.name(),
    });
    let meta = serde_json::to_vec_pretty(&meta).unwrap_or_default();
    store.write_pending(
        key.to_pkcs8_pem()?.as_bytes(),
        csr.to_pem().as_bytes(),
        &meta,
        cp,
    )?;
    item.action = ActionTaken::Requested;
    item.csr = Some(store.pending_dir().join(files::CSR));
    Ok(())
}

/// Installs a certificate issued for the pending request of `name`.
/// `cert_pem` may carry the chain after the leaf; `chain_pem` adds more.
/// Without any chain certificate, the current version's chain is kept.
pub fn install(
    config: &Config,
    name: &str,
    cert_pem: &[u8],
    chain_pem: Option<&[u8]>,
    dry_run: bool,
) -> Result<ApplyReport, RotateError> {
    install_with(
        config,
        name,
        cert_pem,
        chain_pem,
        dry_run,
        &mut atomic::no_checkpoint,
    )
}

/// [`install`] with a checkpoint before every file-system step.
pub fn install_with(
    config: &Config,
    name: &str,
    cert_pem: &[u8],
    chain_pem: Option<&[u8]>,
    dry_run: bool,
    cp: Checkpoint<'_>,
) -> Result<ApplyReport, RotateError> {
    let mc = config.get(name)?;
    if mc.issuer != Issuer::External {
        return Err(RotateError::NotExternal(name.to_owned()));
    }
    let _lock = if dry_run {
        None
    } else {
        Some(StoreLock::acquire(&config.store)?)
    };
    let store = CertStore::new(&config.store, &mc.name);
    if !dry_run {
        clean_up(mc, &store)?;
    }
    let key_pem = store
        .read_pending(files::KEY)?
        .ok_or_else(|| RotateError::NoPending(name.to_owned()))?;
    let now = SystemTime::now();
    let planned = plan_one(config, mc, now)?;
    let mut item = ApplyItem::new(&mc.name, planned.status, planned.reason.clone());
    item.previous_version = planned.current_version;
    item.version = planned.current_version;

    let mut chain_data = Vec::new();
    if let Some(extra) = chain_pem {
        chain_data.extend_from_slice(extra);
    }
    let mut set =
        parse_set(cert_pem, &key_pem, Some(&chain_data)).map_err(|reason| RotateError::Check {
            name: mc.name.clone(),
            reason,
        })?;
    if set.chain.is_empty() {
        if let Some(cur) = planned.current_version {
            let old = store.read_version_file(cur, files::CHAIN)?;
            if !old.iter().all(u8::is_ascii_whitespace) {
                set.chain = Certificate::load_all(&old)?;
            }
        }
    }
    if !set.cert.matches_key(&set.key) {
        return Err(RotateError::Check {
            name: mc.name.clone(),
            reason:
                "the certificate is not for the pending key (was it issued for another request?)"
                    .into(),
        });
    }
    if dry_run {
        check_new_set(mc, &set, now)?;
        item.action = ActionTaken::WouldSwitch;
        return Ok(ApplyReport {
            dry_run,
            items: vec![item],
        });
    }
    switch_to_new_set(mc, &store, set, now, &mut item, "install", cp)?;
    store.remove_pending(cp)?;
    item.action = ActionTaken::Installed;
    Ok(ApplyReport {
        dry_run,
        items: vec![item],
    })
}

/// Checks a new set; `Err(Check)` names what is wrong.
fn check_new_set(mc: &ManagedCert, set: &Set, now: SystemTime) -> Result<(), RotateError> {
    let trust = Trust::load(mc)?;
    let previous = match plan::read_live(mc) {
        Live::Present(old) => Some(old.cert),
        _ => None,
    };
    let (status, reason) = evaluate(mc, set, &trust, now, previous.as_ref());
    match status {
        Status::Ok => Ok(()),
        Status::Renew => Err(RotateError::Check {
            name: mc.name.clone(),
            reason: format!("the new certificate is already due for renewal: {reason}"),
        }),
        _ => Err(RotateError::Check {
            name: mc.name.clone(),
            reason,
        }),
    }
}

/// Checks `set`, writes it as a new version and switches to it; then
/// prunes and runs the hook.
fn switch_to_new_set(
    mc: &ManagedCert,
    store: &CertStore,
    set: Set,
    now: SystemTime,
    item: &mut ApplyItem,
    action: &str,
    cp: Checkpoint<'_>,
) -> Result<(), RotateError> {
    check_new_set(mc, &set, now)?;
    ensure_links(mc, store, cp)?;
    let meta = serde_json::json!({
        "name": mc.name,
        "action": action,
        "created": crate::rfc3339(SystemTime::now()),
        "subject": set.cert.subject().to_string(),
        "serial": set.cert.serial_hex(),
        "not_after": crate::rfc3339(set.cert.not_after()),
    });
    let files = SetFiles {
        cert: set.cert.to_pem().into_bytes(),
        key: gm_sm2::Zeroizing::new(set.key.to_pkcs8_pem()?.as_bytes().to_vec()),
        chain: set
            .chain
            .iter()
            .map(|c| c.to_pem())
            .collect::<String>()
            .into_bytes(),
        meta: serde_json::to_vec_pretty(&meta).unwrap_or_default(),
    };
    let n = store.write_version(&files, cp)?;
    activate(mc, store, n, item, action, cp)?;
    item.not_after = Some(crate::rfc3339(set.cert.not_after()));
    item.serial = Some(set.cert.serial_hex());
    Ok(())
}

/// The switch itself, then prune and hook.
fn activate(
    mc: &ManagedCert,
    store: &CertStore,
    n: u32,
    item: &mut ApplyItem,
    action: &str,
    cp: Checkpoint<'_>,
) -> Result<(), RotateError> {
    let marker = hook_marker(store);
    if mc.hook.is_some() {
        atomic::write_file_with(&marker, n.to_string().as_bytes(), Access::Public, cp)
            .map_err(|e| RotateError::io(&marker, e))?;
    }
    store.switch_to(n, cp)?;
    item.version = Some(n);
    store.prune(mc.keep, cp)?;
    item.hook = run_hook(mc, store, action, Some(n));
    Ok(())
}

/// Makes the configured paths symlinks through `current`, adopting
/// existing regular files as the first version.
fn ensure_links(
    mc: &ManagedCert,
    store: &CertStore,
    cp: Checkpoint<'_>,
) -> Result<(), RotateError> {
    store.create()?;
    let mut links: Vec<(&Path, &str)> = vec![(&mc.cert, files::CERT), (&mc.key, files::KEY)];
    if let Some(chain) = &mc.chain {
        links.push((chain, files::CHAIN));
    }
    let store_abs =
        std::fs::canonicalize(store.dir()).map_err(|e| RotateError::io(store.dir(), e))?;
    let target_of = |file: &str| store_abs.join("current").join(file);
    let is_ours =
        |path: &Path, file: &str| std::fs::read_link(path).is_ok_and(|t| t == target_of(file));
    if links.iter().all(|(p, f)| is_ours(p, f)) {
        return Ok(());
    }
    if store.current()?.is_none() {
        adopt(mc, store, cp)?;
    }
    for (path, file) in links {
        if is_ours(path, file) {
            continue;
        }
        let parent = atomic::parent_dir(path);
        if !parent.exists() {
            std::fs::create_dir_all(parent).map_err(|e| RotateError::io(parent, e))?;
        }
        atomic::replace_symlink(&target_of(file), path, cp)
            .map_err(|e| RotateError::io(path, e))?;
    }
    Ok(())
}

/// Copies existing live files into version 1 and points `current` at it,
/// so that replacing them by links changes no bytes a reader sees. Files
/// that do not form a set (cert or key missing) are copied to a backup
/// directory instead.
fn adopt(mc: &ManagedCert, store: &CertStore, cp: Checkpoint<'_>) -> Result<(), RotateError> {
    let read = |p: &Path| -> Result<Option<Vec<u8>>, RotateError> {
        match std::fs::read(p) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RotateError::io(p, e)),
        }
    };
    let cert = read(&mc.cert)?;
    let key = read(&mc.key)?;
    let chain = match &mc.chain {
        Some(p) => read(p)?,
        None => None,
    };
    match (cert, key) {
        (Some(cert), Some(key)) => {
            let meta = serde_json::json!({
                "name": mc.name,
                "action": "adopt",
                "created": crate::rfc3339(SystemTime::now()),
            });
            let files = SetFiles {
                cert,
                key: gm_sm2::Zeroizing::new(key),
                chain: chain.unwrap_or_default(),
                meta: serde_json::to_vec_pretty(&meta).unwrap_or_default(),
            };
            let n = store.write_version(&files, cp)?;
            store.switch_to(n, cp)?;
        }
        (cert, key) => {
            let found: Vec<(&str, Vec<u8>, Access)> = [
                (files::CERT, cert, Access::Public),
                (files::KEY, key, Access::Private),
                (files::CHAIN, chain, Access::Public),
            ]
            .into_iter()
            .filter_map(|(n, d, a)| d.map(|d| (n, d, a)))
            .collect();
            if found.is_empty() {
                return Ok(());
            }
            let stamp = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let backup = store.dir().join(format!("replaced-{stamp}"));
            super::state::create_private_dir_all(&backup)?;
            for (name, data, access) in found {
                let p = backup.join(name);
                atomic::write_file_with(&p, &data, access, cp)
                    .map_err(|e| RotateError::io(&p, e))?;
            }
        }
    }
    Ok(())
}

/// Switches back to the newest version below the current one.
pub fn rollback(
    config: &Config,
    only: Option<&str>,
    dry_run: bool,
) -> Result<ApplyReport, RotateError> {
    rollback_with(config, only, dry_run, &mut atomic::no_checkpoint)
}

/// [`rollback`] with a checkpoint before every file-system step.
pub fn rollback_with(
    config: &Config,
    only: Option<&str>,
    dry_run: bool,
    cp: Checkpoint<'_>,
) -> Result<ApplyReport, RotateError> {
    let targets = select(config, only)?;
    let _lock = if dry_run {
        None
    } else {
        Some(StoreLock::acquire(&config.store)?)
    };
    let now = SystemTime::now();
    let mut items = Vec::new();
    for mc in targets {
        let store = CertStore::new(&config.store, &mc.name);
        let planned = plan_one(config, mc, now)?;
        let mut item = ApplyItem::new(&mc.name, planned.status, planned.reason.clone());
        item.previous_version = planned.current_version;
        item.version = planned.current_version;
        let result = (|| -> Result<(), RotateError> {
            let target = planned
                .rollback_version
                .ok_or_else(|| RotateError::NothingToRollBack(mc.name.clone()))?;
            let read = |f: &str| store.read_version_file(target, f);
            let chain = read(files::CHAIN).ok();
            let set = parse_set(&read(files::CERT)?, &read(files::KEY)?, chain.as_deref())
                .map_err(|reason| RotateError::Check {
                    name: mc.name.clone(),
                    reason: format!("version {target}: {reason}"),
                })?;
            if !set.cert.matches_key(&set.key) {
                return Err(RotateError::Check {
                    name: mc.name.clone(),
                    reason: format!("version {target}: the key does not match the certificate"),
                });
            }
            if now > set.cert.not_after() {
                return Err(RotateError::Check {
                    name: mc.name.clone(),
                    reason: format!(
                        "version {target} expired on {}: rolling back to it would not help",
                        crate::rfc3339(set.cert.not_after())
                    ),
                });
            }
            item.not_after = Some(crate::rfc3339(set.cert.not_after()));
            item.serial = Some(set.cert.serial_hex());
            if dry_run {
                item.action = ActionTaken::WouldSwitch;
                item.version = Some(target);
                return Ok(());
            }
            clean_up(mc, &store)?;
            ensure_links(mc, &store, cp)?;
            let marker = hook_marker(&store);
            if mc.hook.is_some() {
                atomic::write_file_with(&marker, target.to_string().as_bytes(), Access::Public, cp)
                    .map_err(|e| RotateError::io(&marker, e))?;
            }
            store.switch_to(target, cp)?;
            item.version = Some(target);
            item.action = ActionTaken::RolledBack;
            item.hook = run_hook(mc, &store, "rollback", Some(target));
            Ok(())
        })();
        if let Err(e) = result {
            if is_simulated_crash(&e) || only.is_some() {
                return Err(e);
            }
            item.action = ActionTaken::Failed;
            item.error_code = Some(e.code().to_owned());
            item.error = Some(e.to_string());
        }
        items.push(item);
    }
    Ok(ApplyReport { dry_run, items })
}

/// Runs the hook (if configured) and clears the marker on success.
fn run_hook(
    mc: &ManagedCert,
    store: &CertStore,
    action: &str,
    version: Option<u32>,
) -> Option<HookResult> {
    let command = mc.hook.as_ref()?;
    let result = run_command(
        command,
        &[
            ("GMKIT_ROTATE_NAME", mc.name.clone()),
            ("GMKIT_ROTATE_ACTION", action.to_owned()),
            ("GMKIT_ROTATE_CERT", mc.cert.display().to_string()),
            ("GMKIT_ROTATE_KEY", mc.key.display().to_string()),
            (
                "GMKIT_ROTATE_VERSION",
                version.map(|v| v.to_string()).unwrap_or_default(),
            ),
        ],
        Duration::from_secs(mc.hook_timeout_secs),
    );
    if result.success {
        let _ = std::fs::remove_file(hook_marker(store));
    }
    Some(result)
}

const HOOK_OUTPUT_LIMIT: usize = 4096;

fn run_command(command: &str, env: &[(&str, String)], timeout: Duration) -> HookResult {
    let mut result = HookResult {
        command: command.to_owned(),
        success: false,
        exit_code: None,
        timed_out: false,
        output: String::new(),
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            result.output = format!("cannot start sh: {e}");
            return result;
        }
    };
    // Read output on threads so a chatty hook cannot block on a full pipe.
    // The channel (not a join) lets us give up on output held open by a
    // background process the hook left behind.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(r) = r {
                let _ = r.take(1 << 20).read_to_end(&mut buf);
            }
            let _ = tx.send(buf);
        });
        rx
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                result.timed_out = true;
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                result.output = format!("waiting for the hook: {e}");
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let grace = Duration::from_secs(2);
    let mut output = out.recv_timeout(grace).unwrap_or_default();
    output.extend(err.recv_timeout(grace).unwrap_or_default());
    let start = output.len().saturating_sub(HOOK_OUTPUT_LIMIT);
    result
        .output
        .push_str(&String::from_utf8_lossy(&output[start..]));
    if let Some(status) = status {
        result.exit_code = status.code();
        result.success = status.success();
    }
    result
}
