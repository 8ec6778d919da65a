//! The rotation engine end to end in scratch directories: configuration
//! checks, plan statuses, apply (first deployment, adoption of existing
//! files, renewal, pruning), rollback, dry runs, hooks, the external
//! (CFCA-style) request/install flow, and the store lock. Crash safety is in
//! rotate_crash.rs.

mod rotate_support;

use std::time::SystemTime;

use gm_pki::rotate::{
    self, apply, install, plan, rollback, ActionTaken, ApplyOptions, Config, PlannedAction,
    RotateError, Status,
};
use gm_pki::{Certificate, Csr, IssueRequest, KeyPair, Profile};
use rotate_support::*;

fn opts() -> ApplyOptions {
    ApplyOptions::default()
}

fn only(name: &str) -> ApplyOptions {
    ApplyOptions {
        only: Some(name.into()),
        ..ApplyOptions::default()
    }
}

fn status(cfg: &Config, name: &str) -> rotate::PlanItem {
    plan(cfg, SystemTime::now())
        .unwrap()
        .items
        .into_iter()
        .find(|i| i.name == name)
        .unwrap()
}

#[test]
fn configuration_errors_are_named() {
    let env = Env::new("config");
    let base = env.config_text("");
    let cases: Vec<(String, &str)> = vec![
        (
            base.replace(
                "renew_before_days = 30\nkey_algorithm",
                "renew_before_dayz = 30\nkey_algorithm",
            ),
            "unknown field",
        ),
        (
            base.replace("name = \"cfca\"", "name = \"gw\""),
            "duplicate name",
        ),
        (base.replace("ca_dir = \"ca\"", ""), "needs ca_dir"),
        (base.replace("roots = \"roots.pem\"", ""), "needs roots"),
        (base.replace("\"IP:10.1.2.3\"", "\"IP:10.1.2\""), "gw"),
        (base.replace("days = 365", "days = 20"), "must exceed"),
        (
            base.replace("name = \"gw\"", "name = \"g/w\""),
            "may only contain",
        ),
        (
            base.replace("name = \"gw\"", "name = \".gw\""),
            "must not start",
        ),
        (
            base.replace("issuer = \"external\"", "issuer = \"cfca\""),
            "local-ca",
        ),
        (
            base.replace("key = \"live/cfca.key\"", "key = \"live/gw.key\""),
            "used twice",
        ),
        (
            base.replace("profile = \"server\"", "profile = \"root\""),
            "CA profiles",
        ),
        ("store = 1".into(), "invalid type"),
        ("".into(), "nothing to manage"),
        ("[[cert]]\nname = ".into(), ""),
    ];
    for (text, needle) in cases {
        match Config::parse(text.as_bytes(), &env.dir) {
            Err(e @ RotateError::Config(_)) => {
                assert!(e.to_string().contains(needle), "{needle:?} not in {e}");
                assert!(e.is_usage());
            }
            other => panic!("{needle}: {other:?}"),
        }
    }
    let cfg = env.config("");
    assert_eq!(cfg.certs.len(), 2);
    assert_eq!(cfg.store, env.p("store"));
    assert_eq!(cfg.certs[0].cert, env.p("live/gw.crt"));
}

#[test]
fn plan_reports_every_status() {
    let env = Env::new("plan");
    let cfg = env.config("");
    let item = status(&cfg, "gw");
    assert_eq!(item.status, Status::Missing);
    assert_eq!(item.action, PlannedAction::Renew);
    assert_eq!(status(&cfg, "cfca").action, PlannedAction::Request);
    assert!(plan(&cfg, SystemTime::now()).unwrap().needs_action());

    let old = env.install_plain_gw(10);
    let item = status(&cfg, "gw");
    assert_eq!(item.status, Status::Renew, "{}", item.reason);
    assert!(
        matches!(item.days_left, Some(9 | 10)),
        "{:?}",
        item.days_left
    );
    assert_eq!(item.serial, Some(old.serial_hex()));

    env.install_plain_gw(100);
    assert_eq!(status(&cfg, "gw").status, Status::Ok);
    let expired = plan(&cfg, later(200)).unwrap();
    assert_eq!(expired.items[0].status, Status::Expired);

    // A key that does not belong to the certificate.
    std::fs::write(
        env.p("live/gw.key"),
        KeyPair::generate(gm_pki::KeyAlgorithm::Sm2)
            .unwrap()
            .to_pkcs8_pem()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let item = status(&cfg, "gw");
    assert_eq!(item.status, Status::Mismatch);
    assert!(item.reason.contains("does not belong"), "{}", item.reason);

    // A certificate that lacks a configured name.
    let key = KeyPair::generate(gm_pki::KeyAlgorithm::Sm2).unwrap();
    let cert = issue(&env.ca, &key, "CN=gw,C=CN", &[&format!("DNS:{HOST}")], 100);
    std::fs::write(env.p("live/gw.crt"), cert.to_pem()).unwrap();
    std::fs::write(env.p("live/gw.key"), key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    let item = status(&cfg, "gw");
    assert_eq!(item.status, Status::Mismatch);
    assert!(item.reason.contains("IP:10.1.2.3"), "{}", item.reason);

    // A certificate from another CA.
    let cert = issue(
        &env.ext_ca,
        &key,
        "CN=gw,C=CN",
        &[&format!("DNS:{HOST}"), "IP:10.1.2.3"],
        100,
    );
    std::fs::write(env.p("live/gw.crt"), cert.to_pem()).unwrap();
    let item = status(&cfg, "gw");
    assert_eq!(item.status, Status::Mismatch);
    assert!(item.reason.contains("does not verify"), "{}", item.reason);

    // Garbage.
    std::fs::write(env.p("live/gw.crt"), b"garbage").unwrap();
    assert_eq!(status(&cfg, "gw").status, Status::Mismatch);
}

#[test]
fn first_deployment_then_nothing_to_do() {
    let env = Env::new("first");
    let cfg = env.config("");
    let report = apply(&cfg, &only("gw")).unwrap();
    let item = &report.items[0];
    assert_eq!(item.action, ActionTaken::Renewed, "{item:?}");
    assert_eq!(item.version, Some(1));
    assert!(!report.failed());
    for p in ["live/gw.crt", "live/gw.key", "live/gw-chain.crt"] {
        assert!(is_symlink(&env.p(p)), "{p} is a link");
    }
    assert!(matches!(live_gw(&env), LiveState::Set(_)));
    let item = status(&cfg, "gw");
    assert_eq!(item.status, Status::Ok, "{}", item.reason);
    assert_eq!(item.current_version, Some(1));
    assert!(
        matches!(item.days_left, Some(364 | 365)),
        "{:?}",
        item.days_left
    );

    let again = apply(&cfg, &only("gw")).unwrap();
    assert_eq!(again.items[0].action, ActionTaken::None);
    assert_eq!(again.items[0].version, Some(1));

    // Key files are private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(env.p("store/gw/versions/v1/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn adopts_existing_files_renews_and_rolls_back() {
    let env = Env::new("adopt");
    let cfg = env.config("");
    let old = env.install_plain_gw(10);
    let old_state = live_gw(&env);

    let report = apply(&cfg, &only("gw")).unwrap();
    let item = &report.items[0];
    assert_eq!(item.status_before, Status::Renew);
    assert_eq!(item.action, ActionTaken::Renewed, "{item:?}");
    assert_eq!(item.version, Some(2), "the old files became version 1");
    assert_ne!(live_gw(&env), old_state);
    assert_eq!(status(&cfg, "gw").rollback_version, Some(1));
    // The old set is kept byte for byte.
    assert_eq!(
        std::fs::read(env.p("store/gw/versions/v1/cert.pem")).unwrap(),
        old.to_pem().as_bytes()
    );

    let back = rollback(&cfg, Some("gw"), false).unwrap();
    assert_eq!(back.items[0].action, ActionTaken::RolledBack);
    assert_eq!(back.items[0].version, Some(1));
    assert_eq!(live_gw(&env), old_state);
    assert_eq!(status(&cfg, "gw").status, Status::Renew);

    // Nothing older than version 1.
    assert!(matches!(
        rollback(&cfg, Some("gw"), false),
        Err(RotateError::NothingToRollBack(_))
    ));

    // The next apply makes version 3 (numbers are never reused).
    let report = apply(&cfg, &only("gw")).unwrap();
    assert_eq!(report.items[0].version, Some(3));
}

#[test]
fn keeps_only_the_configured_number_of_versions() {
    let env = Env::new("keep");
    let cfg = env.config("");
    let force = ApplyOptions {
        force: true,
        ..only("gw")
    };
    for _ in 0..5 {
        assert_eq!(
            apply(&cfg, &force).unwrap().items[0].action,
            ActionTaken::Renewed
        );
    }
    let mut left: Vec<String> = std::fs::read_dir(env.p("store/gw/versions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["v3", "v4", "v5"], "current + keep = 2 previous");
}

#[test]
fn dry_run_writes_nothing_and_runs_no_hook() {
    let env = Env::new("dry");
    let marker = env.p("hook-ran");
    let cfg = env.config(&format!("hook = \"touch {}\"", marker.display()));
    env.install_plain_gw(10);
    let before = listing(&env.dir);
    let report = apply(
        &cfg,
        &ApplyOptions {
            dry_run: true,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(report.items[0].action, ActionTaken::WouldRenew);
    assert_eq!(report.items[1].action, ActionTaken::WouldRequest);
    assert_eq!(listing(&env.dir), before);
    assert!(!marker.exists());
    assert!(
        rollback(&cfg, Some("gw"), true).is_err(),
        "nothing to roll back to yet"
    );
}

fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            out.push(e.path().display().to_string());
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn hook_runs_after_switch_and_failures_are_reported_then_retried() {
    let env = Env::new("hook");
    let out = env.p("hook.out");
    let cfg = env.config(&format!(
        "hook = \"echo $GMKIT_ROTATE_NAME $GMKIT_ROTATE_ACTION $GMKIT_ROTATE_VERSION >> {}\"",
        out.display()
    ));
    let report = apply(&cfg, &only("gw")).unwrap();
    let hook = report.items[0].hook.as_ref().unwrap();
    assert!(hook.success, "{hook:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "gw apply 1\n");

    // A failing hook: the switch stands, the failure is reported, and the
    // next apply retries the hook even though the certificate is fine.
    let flag = env.p("hook-fails");
    std::fs::write(&flag, b"").unwrap();
    let cfg = env.config(&format!(
        "hook = \"test ! -e {} && echo ok || {{ echo reload failed >&2; exit 7; }}\"",
        flag.display()
    ));
    let report = apply(
        &cfg,
        &ApplyOptions {
            force: true,
            ..only("gw")
        },
    )
    .unwrap();
    let item = &report.items[0];
    assert_eq!(item.action, ActionTaken::Renewed);
    let hook = item.hook.as_ref().unwrap();
    assert!(!hook.success);
    assert_eq!(hook.exit_code, Some(7));
    assert!(hook.output.contains("reload failed"));
    assert!(report.failed());
    assert_eq!(status(&cfg, "gw").status, Status::Ok);
    assert!(status(&cfg, "gw").hook_pending);
    assert_eq!(status(&cfg, "gw").action, PlannedAction::RunHook);
    assert!(plan(&cfg, SystemTime::now()).unwrap().needs_action());

    std::fs::remove_file(&flag).unwrap();
    let report = apply(&cfg, &only("gw")).unwrap();
    assert_eq!(report.items[0].action, ActionTaken::HookRerun);
    assert!(report.items[0].hook.as_ref().unwrap().success);
    assert!(!status(&cfg, "gw").hook_pending);
    assert_eq!(status(&cfg, "gw").action, PlannedAction::None);
}

#[test]
fn hook_timeout_is_reported() {
    let env = Env::new("hook-timeout");
    let cfg = env.config("hook = \"sleep 30\"\nhook_timeout_secs = 1");
    let start = std::time::Instant::now();
    let report = apply(&cfg, &only("gw")).unwrap();
    let hook = report.items[0].hook.as_ref().unwrap();
    assert!(hook.timed_out && !hook.success, "{hook:?}");
    assert!(start.elapsed().as_secs() < 15);
}

/// The external CA (CFCA in production) issues for a CSR.
fn external_issue(env: &Env, csr_pem: &[u8], sans: &[&str], days: u32) -> Certificate {
    let csr = Csr::load(csr_pem).unwrap();
    let mut req = IssueRequest::from_csr(&csr, Profile::TlsServer)
        .unwrap()
        .days(days);
    req.sans = sans.iter().map(|s| s.parse().unwrap()).collect();
    env.ext_ca.issue(&req).unwrap()
}

#[test]
fn external_issuer_request_then_install() {
    let env = Env::new("external");
    let cfg = env.config("");
    let report = apply(&cfg, &only("cfca")).unwrap();
    let item = &report.items[0];
    assert_eq!(item.action, ActionTaken::Requested, "{item:?}");
    let csr_path = item.csr.clone().unwrap();
    assert_eq!(status(&cfg, "cfca").action, PlannedAction::AwaitIssuer);
    // Applying again keeps the same request.
    let again = apply(&cfg, &only("cfca")).unwrap();
    assert_eq!(again.items[0].action, ActionTaken::AwaitingIssuer);
    assert_eq!(again.items[0].csr.as_ref(), Some(&csr_path));
    let csr_pem = std::fs::read(&csr_path).unwrap();

    // Wrong certificates are refused and nothing is switched.
    let other_key = KeyPair::generate(gm_pki::KeyAlgorithm::Sm2).unwrap();
    let foreign = issue(
        &env.ext_ca,
        &other_key,
        "CN=pay.bank.example,C=CN",
        &["DNS:pay.bank.example"],
        365,
    );
    let err = install(&cfg, "cfca", foreign.to_pem().as_bytes(), None, false).unwrap_err();
    assert!(err.to_string().contains("pending key"), "{err}");
    let narrow = external_issue(&env, &csr_pem, &["DNS:other.bank.example"], 365);
    let err = install(&cfg, "cfca", narrow.to_pem().as_bytes(), None, false).unwrap_err();
    assert!(err.to_string().contains("pay.bank.example"), "{err}");
    let csr = Csr::load(&csr_pem).unwrap();
    let untrusted = env.ca.issue_csr(&csr, Profile::TlsServer, 365).unwrap();
    let err = install(&cfg, "cfca", untrusted.to_pem().as_bytes(), None, false).unwrap_err();
    assert_eq!(err.code(), "check_failed", "{err}");
    assert_eq!(status(&cfg, "cfca").status, Status::Missing);
    assert!(matches!(
        install(&cfg, "gw", b"", None, false),
        Err(RotateError::NotExternal(_))
    ));

    // The right one.
    let good = external_issue(&env, &csr_pem, &["DNS:pay.bank.example"], 365);
    let dry = install(&cfg, "cfca", good.to_pem().as_bytes(), None, true).unwrap();
    assert_eq!(dry.items[0].action, ActionTaken::WouldSwitch);
    let report = install(&cfg, "cfca", good.to_pem().as_bytes(), None, false).unwrap();
    assert_eq!(report.items[0].action, ActionTaken::Installed);
    let item = status(&cfg, "cfca");
    assert_eq!(item.status, Status::Ok, "{}", item.reason);
    assert!(item.pending_csr.is_none());
    assert_eq!(
        Certificate::load(&std::fs::read(env.p("live/cfca.crt")).unwrap()).unwrap(),
        good
    );
    assert!(matches!(
        install(&cfg, "cfca", good.to_pem().as_bytes(), None, false),
        Err(RotateError::NoPending(_))
    ));
}

#[test]
fn a_held_lock_makes_apply_fail_cleanly() {
    let env = Env::new("lock");
    let cfg = env.config("");
    std::fs::create_dir_all(env.p("store")).unwrap();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(env.p("store/.lock"))
        .unwrap();
    f.lock().unwrap();
    assert!(matches!(apply(&cfg, &opts()), Err(RotateError::Locked(_))));
    // Plans and dry runs do not need the lock.
    assert!(apply(
        &cfg,
        &ApplyOptions {
            dry_run: true,
            ..opts()
        }
    )
    .is_ok());
    drop(f);
    assert!(apply(&cfg, &opts()).is_ok());
}

#[test]
fn the_new_certificate_must_cover_the_old_names() {
    let env = Env::new("names");
    let cfg = env.config("");
    // The current certificate also covers an extra name the config lacks.
    let key = KeyPair::generate(gm_pki::KeyAlgorithm::Sm2).unwrap();
    let cert = issue(
        &env.ca,
        &key,
        "CN=gw,C=CN",
        &[
            &format!("DNS:{HOST}"),
            "IP:10.1.2.3",
            "DNS:legacy.bank.example",
        ],
        10,
    );
    std::fs::write(env.p("live/gw.crt"), cert.to_pem()).unwrap();
    std::fs::write(env.p("live/gw.key"), key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    std::fs::write(env.p("live/gw-chain.crt"), env.ca.certificate().to_pem()).unwrap();
    let before = live_gw(&env);
    let report = apply(&cfg, &only("gw")).unwrap();
    let item = &report.items[0];
    assert_eq!(item.action, ActionTaken::Failed);
    assert!(
        item.error.as_ref().unwrap().contains("legacy.bank.example"),
        "{item:?}"
    );
    assert_eq!(live_gw(&env), before, "nothing switched");
    let cfg = env.config("allow_name_change = true");
    assert_eq!(
        apply(&cfg, &only("gw")).unwrap().items[0].action,
        ActionTaken::Renewed
    );
}
