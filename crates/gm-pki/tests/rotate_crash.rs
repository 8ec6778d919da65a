//! Crash safety of the rotation engine.
//!
//! Every file-system step of `apply`, `install` and `rollback` calls a
//! checkpoint first. For each scenario the steps are counted, then the
//! operation is repeated on a fresh copy of the starting state, crashing
//! before step k for every k:
//!
//! * in process: the checkpoint returns a "simulated crash" error, which the
//!   engine propagates without any clean-up (as a crash would);
//! * in a killed process: the test binary re-runs itself as a child that
//!   calls `std::process::abort()` at step k (no destructors, no unwinding).
//!
//! After each crash the live set (the configured paths, as a server reads
//! them) must be the complete old set or the complete new set, `plan` must
//! report it correctly, and a plain re-run must finish the job.

mod rotate_support;

use std::io;
use std::path::Path;
use std::time::SystemTime;

use gm_pki::atomic::simulated_crash;
use gm_pki::rotate::{
    apply_with, install_with, plan, rollback, rollback_with, ActionTaken, ApplyOptions, Config,
    Status,
};
use rotate_support::*;

#[derive(Clone, Copy, Debug)]
enum Scenario {
    /// Nothing installed yet: apply creates the first set.
    First,
    /// Regular files of an existing deployment, due for renewal: adopted,
    /// then renewed.
    Adopt,
    /// Already managed and due: a plain renewal (with a hook).
    Renew,
    /// Roll back from the new set to the old one.
    Rollback,
    /// External issuer: install the issued certificate.
    Install,
}

const ALL: [Scenario; 5] = [
    Scenario::First,
    Scenario::Adopt,
    Scenario::Renew,
    Scenario::Rollback,
    Scenario::Install,
];

struct Setup {
    env: Env,
    cfg: Config,
    /// The live state before the operation.
    old: LiveState,
    /// plan's status for it.
    old_status: Status,
    /// For Install: the issued certificate PEM.
    issued: Vec<u8>,
}

fn gw_status(cfg: &Config, name: &str) -> Status {
    plan(cfg, SystemTime::now())
        .unwrap()
        .items
        .into_iter()
        .find(|i| i.name == name)
        .unwrap()
        .status
}

fn setup(s: Scenario) -> Setup {
    let env = Env::new("crash");
    let hook = env.p("hook.log");
    let cfg = env.config(&format!(
        "hook = \"echo $GMKIT_ROTATE_VERSION >> {}\"",
        hook.display()
    ));
    let mut issued = Vec::new();
    match s {
        Scenario::First => {}
        Scenario::Adopt => {
            env.install_plain_gw(10);
        }
        Scenario::Renew => {
            env.install_plain_gw(10);
            apply(&cfg, "gw");
            rollback(&cfg, Some("gw"), false).unwrap();
        }
        Scenario::Rollback => {
            env.install_plain_gw(10);
            apply(&cfg, "gw");
        }
        Scenario::Install => {
            let report = gm_pki::rotate::apply(
                &cfg,
                &ApplyOptions {
                    only: Some("cfca".into()),
                    ..ApplyOptions::default()
                },
            )
            .unwrap();
            let csr = std::fs::read(report.items[0].csr.as_ref().unwrap()).unwrap();
            let csr = gm_pki::Csr::load(&csr).unwrap();
            issued = env
                .ext_ca
                .issue_csr(&csr, gm_pki::Profile::TlsServer, 365)
                .unwrap()
                .to_pem()
                .into_bytes();
        }
    }
    let (old, old_status) = match s {
        Scenario::Install => (live_cfca(&env), gw_status(&cfg, "cfca")),
        _ => (live_gw(&env), gw_status(&cfg, "gw")),
    };
    Setup {
        env,
        cfg,
        old,
        old_status,
        issued,
    }
}

fn apply(cfg: &Config, name: &str) {
    let r = gm_pki::rotate::apply(
        cfg,
        &ApplyOptions {
            only: Some(name.into()),
            ..ApplyOptions::default()
        },
    )
    .unwrap();
    assert!(!r.failed(), "{r:?}");
}

/// The live "cfca" set: absent, or complete and consistent.
fn live_cfca(env: &Env) -> LiveState {
    match (
        std::fs::read(env.p("live/cfca.crt")),
        std::fs::read(env.p("live/cfca.key")),
    ) {
        (Err(_), Err(_)) => LiveState::Nothing,
        (Ok(c), Ok(k)) => {
            let cert = gm_pki::Certificate::load(&c).unwrap();
            let key = gm_pki::KeyPair::load(&k, None).unwrap();
            assert!(cert.matches_key(&key), "live cfca key does not match");
            LiveState::Set(cert.fingerprint_sha256())
        }
        (c, k) => panic!("incomplete cfca set: cert {} key {}", c.is_ok(), k.is_ok()),
    }
}

/// Runs the scenario's operation with a checkpoint.
fn run(s: Scenario, st: &Setup, cp: &mut dyn FnMut(&str) -> io::Result<()>) -> bool {
    let opts = ApplyOptions {
        only: Some("gw".into()),
        ..ApplyOptions::default()
    };
    match s {
        Scenario::First | Scenario::Adopt | Scenario::Renew => {
            apply_with(&st.cfg, &opts, cp).is_ok()
        }
        Scenario::Rollback => rollback_with(&st.cfg, Some("gw"), false, cp).is_ok(),
        Scenario::Install => install_with(&st.cfg, "cfca", &st.issued, None, false, cp).is_ok(),
    }
}

fn count_steps(s: Scenario) -> usize {
    let st = setup(s);
    let mut n = 0;
    assert!(run(s, &st, &mut |_| {
        n += 1;
        Ok(())
    }));
    n
}

/// The invariant after a crash, then recovery by a plain re-run.
fn check_after_crash(s: Scenario, st: &Setup, k: usize) {
    let name = if matches!(s, Scenario::Install) {
        "cfca"
    } else {
        "gw"
    };
    let now = match s {
        Scenario::Install => live_cfca(&st.env),
        _ => live_gw(&st.env), // panics on an incomplete or inconsistent set
    };
    let status = gw_status(&st.cfg, name);
    if now == st.old {
        assert_eq!(
            status, st.old_status,
            "{s:?} crash at {k}: plan of the old set"
        );
    } else {
        assert!(matches!(now, LiveState::Set(_)), "{s:?} crash at {k}");
        let expected = match s {
            Scenario::Rollback => Status::Renew, // back on the old 10-day certificate
            _ => Status::Ok,
        };
        assert_eq!(status, expected, "{s:?} crash at {k}: plan of the new set");
    }
    // Recovery.
    match s {
        Scenario::Rollback => {
            if now == st.old {
                rollback(&st.cfg, Some("gw"), false).unwrap();
            }
            apply(&st.cfg, "gw");
            assert!(matches!(live_gw(&st.env), LiveState::Set(_)));
        }
        Scenario::Install => {
            let r = gm_pki::rotate::install(&st.cfg, "cfca", &st.issued, None, false);
            assert!(
                r.is_ok() || matches!(r, Err(gm_pki::rotate::RotateError::NoPending(_))),
                "{r:?}"
            );
            apply(&st.cfg, "cfca");
            assert_ne!(live_cfca(&st.env), LiveState::Nothing);
        }
        _ => {
            apply(&st.cfg, "gw");
            assert!(matches!(live_gw(&st.env), LiveState::Set(_)));
        }
    }
    assert_eq!(
        gw_status(&st.cfg, name),
        Status::Ok,
        "{s:?} crash at {k}: after recovery"
    );
    // No staging directories or temporary files survive a successful run.
    let store = st.env.p(&format!("store/{name}"));
    assert_no_leftovers(&store);
    assert_no_leftovers(&st.env.p("live"));
}

fn assert_no_leftovers(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let n = e.file_name().into_string().unwrap();
        assert!(
            !n.starts_with(".stage-") && !n.contains(".tmp."),
            "leftover {n}"
        );
        if e.file_type().unwrap().is_dir() && !n.starts_with('v') {
            assert_no_leftovers(&e.path());
        }
    }
}

#[test]
fn simulated_crash_at_every_step_leaves_old_or_new_set() {
    for s in ALL {
        let n = count_steps(s);
        assert!(n >= 8, "{s:?}: only {n} steps?");
        let mut saw_old = false;
        let mut saw_new = false;
        for k in 0..n {
            let st = setup(s);
            let mut i = 0;
            let ok = run(s, &st, &mut |step| {
                let r = if i == k {
                    Err(simulated_crash(step))
                } else {
                    Ok(())
                };
                i += 1;
                r
            });
            assert!(!ok, "{s:?}: the crash at step {k} was not propagated");
            let now = match s {
                Scenario::Install => live_cfca(&st.env),
                _ => live_gw(&st.env),
            };
            if now == st.old {
                saw_old = true;
            } else {
                saw_new = true;
            }
            check_after_crash(s, &st, k);
        }
        assert!(
            saw_old && saw_new,
            "{s:?}: both outcomes should occur over {n} steps"
        );
    }
}

/// The child half of `killed_process_at_every_step`: runs only when the
/// parent sets GMKIT_CRASH_DIR.
#[test]
fn crash_child() {
    let (Ok(dir), Ok(at), Ok(scenario)) = (
        std::env::var("GMKIT_CRASH_DIR"),
        std::env::var("GMKIT_CRASH_AT"),
        std::env::var("GMKIT_CRASH_SCENARIO"),
    ) else {
        return;
    };
    let at: usize = at.parse().unwrap();
    let cfg = Config::load(&Path::new(&dir).join("rotate.toml")).unwrap();
    let mut i = 0;
    let mut cp = |_: &str| -> io::Result<()> {
        if i == at {
            std::process::abort();
        }
        i += 1;
        Ok(())
    };
    let opts = ApplyOptions {
        only: Some("gw".into()),
        ..ApplyOptions::default()
    };
    match scenario.as_str() {
        "rollback" => {
            rollback_with(&cfg, Some("gw"), false, &mut cp).unwrap();
        }
        _ => {
            let r = apply_with(&cfg, &opts, &mut cp).unwrap();
            assert_eq!(r.items[0].action, ActionTaken::Renewed);
        }
    }
}

#[test]
fn killed_process_at_every_step() {
    let exe = std::env::current_exe().unwrap();
    for (s, arg) in [(Scenario::Adopt, "apply"), (Scenario::Rollback, "rollback")] {
        let n = count_steps(s);
        for k in 0..=n {
            let st = setup(s);
            let status = std::process::Command::new(&exe)
                .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
                .env("GMKIT_CRASH_DIR", &st.env.dir)
                .env("GMKIT_CRASH_AT", k.to_string())
                .env("GMKIT_CRASH_SCENARIO", arg)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert_eq!(
                status.success(),
                k == n,
                "{s:?}: child killed at step {k} of {n}"
            );
            check_after_crash(s, &st, k);
        }
    }
}
