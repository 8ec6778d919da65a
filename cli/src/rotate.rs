//! `gmkit rotate`: certificate rotation from a TOML file (see
//! `gm_pki::rotate` for the file format and the crash-safety design).
//!
//! Exit status (cron jobs and Kubernetes CronJobs rely on it):
//!
//! | status | plan | apply / install / rollback |
//! |---|---|---|
//! | 0 | every certificate ok, nothing to do | done (or nothing to do; also "CSR written, waiting for the external CA") |
//! | 1 | the store could not be read | an action or a hook failed (the JSON says which) |
//! | 2 | usage error, bad configuration | usage error, bad configuration or input |
//! | 3 | renewal needed: some certificate is renew/expired/missing/mismatch, a request awaits the external CA, or a hook must be re-run | — |

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Args, Subcommand};
use gm_pki::rotate::{self, ApplyOptions, ApplyReport, Config, Plan, RotateError};
use serde_json::json;

const EXIT_OK: u8 = 0;
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
/// `plan`: something needs renewal (for alerting).
const EXIT_RENEWAL_NEEDED: u8 = 3;

const EXIT_HELP: &str = "\
Exit status: 0 ok / nothing to do / done; 1 an action or hook failed; 2 usage error or bad \
configuration; 3 (plan only) renewal needed: a certificate is renew, expired, missing or mismatch, \
a CSR awaits the external CA, or a hook must be re-run.";

/// Arguments of `gmkit rotate`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_HELP)]
pub struct RotateArgs {
    #[command(subcommand)]
    command: RotateCommand,
}

#[derive(Debug, Args)]
struct Common {
    /// The rotation configuration (TOML).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum RotateCommand {
    /// Say what apply would do and why (exit 3 when renewal is needed).
    #[command(after_help = EXIT_HELP)]
    Plan {
        #[command(flatten)]
        common: Common,
        /// Only this managed certificate.
        #[arg(long)]
        name: Option<String>,
    },
    /// Renew what needs renewing; switch each new set atomically; run hooks.
    #[command(after_help = EXIT_HELP)]
    Apply {
        #[command(flatten)]
        common: Common,
        /// Only say what would be done: write nothing, run no hook.
        #[arg(long)]
        dry_run: bool,
        /// Renew even certificates that are ok.
        #[arg(long)]
        force: bool,
        /// Only this managed certificate.
        #[arg(long)]
        name: Option<String>,
        /// Password of an encrypted local CA key (file; else GMKIT_CA_PASSWORD).
        #[arg(long, value_name = "FILE")]
        ca_password_file: Option<PathBuf>,
    },
    /// Switch back to the previous version (atomically); run hooks.
    #[command(after_help = EXIT_HELP)]
    Rollback {
        #[command(flatten)]
        common: Common,
        /// Only say what would be done.
        #[arg(long)]
        dry_run: bool,
        /// Only this managed certificate.
        #[arg(long)]
        name: Option<String>,
    },
    /// Install the certificate the external CA issued for the pending CSR.
    #[command(after_help = EXIT_HELP)]
    Install {
        #[command(flatten)]
        common: Common,
        /// The managed certificate.
        #[arg(long)]
        name: String,
        /// The issued certificate (PEM or DER; may be followed by its chain).
        #[arg(long, value_name = "CERT")]
        cert: PathBuf,
        /// More chain certificates (PEM); default: the leaf file's extra
        /// certificates, else the current version's chain.
        #[arg(long, value_name = "FILE")]
        chain: Option<PathBuf>,
        /// Only check; switch nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs `gmkit rotate ...`.
pub fn main(args: RotateArgs) -> ExitCode {
    let code = match args.command {
        RotateCommand::Plan { common, name } => plan(&common, name.as_deref()),
        RotateCommand::Apply {
            common,
            dry_run,
            force,
            name,
            ca_password_file,
        } => apply(&common, dry_run, force, name, ca_password_file),
        RotateCommand::Rollback {
            common,
            dry_run,
            name,
        } => with_config(&common, |cfg| {
            let r = rotate::rollback(cfg, name.as_deref(), dry_run)?;
            Ok(report(&common, &r))
        }),
        RotateCommand::Install {
            common,
            name,
            cert,
            chain,
            dry_run,
        } => with_config(&common, |cfg| {
            let cert_data = std::fs::read(&cert)
                .map_err(|e| RotateError::Config(format!("{}: {e}", cert.display())))?;
            let chain_data = match &chain {
                Some(p) => Some(
                    std::fs::read(p)
                        .map_err(|e| RotateError::Config(format!("{}: {e}", p.display())))?,
                ),
                None => None,
            };
            let r = rotate::install(cfg, &name, &cert_data, chain_data.as_deref(), dry_run)?;
            Ok(report(&common, &r))
        }),
    };
    ExitCode::from(code)
}

/// Loads the configuration and runs `f`; errors are printed with their
/// exit status.
fn with_config(common: &Common, f: impl FnOnce(&Config) -> Result<u8, RotateError>) -> u8 {
    let result = Config::load(&common.config).and_then(|cfg| f(&cfg));
    match result {
        Ok(code) => code,
        Err(e) => {
            let code = if e.is_usage() {
                EXIT_USAGE
            } else {
                EXIT_FAILED
            };
            if common.json {
                let v = json!({ "ok": false, "error": e.to_string(), "error_code": e.code(), "exit_code": code });
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                eprintln!("gmkit rotate: {e}");
            }
            code
        }
    }
}

fn plan(common: &Common, name: Option<&str>) -> u8 {
    with_config(common, |cfg| {
        let mut p = rotate::plan(cfg, SystemTime::now())?;
        if let Some(n) = name {
            cfg.get(n)?;
            p.items.retain(|i| i.name == n);
        }
        let code = if p.needs_action() {
            EXIT_RENEWAL_NEEDED
        } else {
            EXIT_OK
        };
        if common.json {
            let v = json!({ "ok": true, "renewal_needed": code == EXIT_RENEWAL_NEEDED, "exit_code": code, "items": p.items });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        } else {
            print_plan(&p);
        }
        Ok(code)
    })
}

fn print_plan(p: &Plan) {
    for i in &p.items {
        let days = i
            .days_left
            .map(|d| format!("{d} days left"))
            .unwrap_or_else(|| "-".into());
        let version = i
            .current_version
            .map(|v| format!("v{v}"))
            .unwrap_or_else(|| "unmanaged".into());
        println!(
            "{:<16} {:<8} {:<14} {:<10} action: {}",
            i.name,
            i.status.name(),
            days,
            version,
            name_of(&i.action)
        );
        println!("{:<16} {}", "", i.reason);
        if let Some(csr) = &i.pending_csr {
            println!("{:<16} pending CSR: {}", "", csr.display());
        }
        if i.hook_pending {
            println!("{:<16} the hook of the last switch has not succeeded", "");
        }
    }
}

fn apply(
    common: &Common,
    dry_run: bool,
    force: bool,
    name: Option<String>,
    ca_password_file: Option<PathBuf>,
) -> u8 {
    with_config(common, |cfg| {
        let ca_password =
            crate::outcome::password_from(ca_password_file.as_deref(), Some("GMKIT_CA_PASSWORD"))
                .map_err(RotateError::Config)?;
        let opts = ApplyOptions {
            dry_run,
            force,
            only: name,
            ca_password,
            now: None,
        };
        let r = rotate::apply(cfg, &opts)?;
        Ok(report(common, &r))
    })
}

/// Prints an apply/install/rollback report; returns the exit status.
fn report(common: &Common, r: &ApplyReport) -> u8 {
    let code = if r.failed() { EXIT_FAILED } else { EXIT_OK };
    if common.json {
        let v = json!({ "ok": code == EXIT_OK, "exit_code": code, "dry_run": r.dry_run, "items": r.items });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return code;
    }
    for i in &r.items {
        let version = match (i.previous_version, i.version) {
            (Some(a), Some(b)) if a != b => format!("v{a} -> v{b}"),
            (_, Some(b)) => format!("v{b}"),
            _ => "-".into(),
        };
        println!(
            "{:<16} {:<8} {:<16} {}",
            i.name,
            i.status_before.name(),
            name_of(&i.action),
            version
        );
        if let Some(e) = &i.error {
            eprintln!("{:<16} error: {e}", i.name);
        }
        if let Some(csr) = &i.csr {
            println!(
                "{:<16} submit {} to the CA, then: gmkit rotate install --config {} --name {} --cert FILE",
                "",
                csr.display(),
                common.config.display(),
                i.name
            );
        }
        if let Some(h) = &i.hook {
            if h.success {
                println!("{:<16} hook ok: {}", "", h.command);
            } else {
                eprintln!(
                    "{:<16} hook FAILED ({}): {}\n{}",
                    i.name,
                    if h.timed_out {
                        "timed out".to_string()
                    } else {
                        format!("exit {:?}", h.exit_code)
                    },
                    h.command,
                    h.output.trim_end()
                );
            }
        }
    }
    if r.dry_run {
        println!("(dry run: nothing was written)");
    }
    code
}

/// The serialized (kebab-case) name of an enum value.
fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
