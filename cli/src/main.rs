//! `gmkit`: command-line front end for the gmkit libraries.
//!
//! Each subcommand lives in its own module and only calls library code; this
//! file holds the argument definitions that tie them together.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cfca;
mod outcome;
mod pki;
mod rotate;
mod speed;
mod speed_tls;
mod vectors;

mod connect;
mod demo;
mod serve;
mod tls_common;

/// Chinese national cryptography (SM2/SM3/SM4) toolkit.
#[derive(Debug, Parser)]
#[command(name = "gmkit", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Known-answer test vectors (Wycheproof JSON, OpenSSL evp test data).
    Vectors(vectors::VectorsArgs),
    /// Single-thread speed: SM4 modes, SM3, HMAC-SM3, SM2 and TLS 1.3 handshakes and records.
    Speed(speed::SpeedArgs),
    /// Private keys: SM2, RSA and ECDSA P-256.
    Key(pki::KeyArgs),
    /// PKCS#10 certificate signing requests.
    Csr(pki::CsrArgs),
    /// A local certificate authority (SM2, RSA or P-256).
    Ca(pki::CaArgs),
    /// Show and verify X.509 certificates.
    Cert(pki::CertArgs),
    /// CFCA formats: .sm2 key files, dual-key CSRs, escrowed encryption keys.
    Cfca(cfca::CfcaArgs),
    /// Certificate rotation: plan, apply, install, rollback (exit 3 = renewal needed).
    Rotate(rotate::RotateArgs),
    /// Dual-stack TLS echo server (RFC 8998 for GM clients, RSA/ECDSA for the rest), with certificate hot reload.
    Serve(serve::ServeArgs),
    /// TLS client preferring RFC 8998; prints what was negotiated.
    Connect(connect::ConnectArgs),
    /// Self-contained dual-stack demo: GM and standard client against one server.
    Demo(demo::DemoArgs),
}

/// `gmkit ... | head` closes stdout early; Rust ignores SIGPIPE, so the
/// next `println!` panics with "failed printing to stdout: Broken pipe".
/// Exit quietly with the status a shell reports for SIGPIPE (141) instead
/// of printing a panic and a backtrace; every other panic is reported as
/// usual.
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    match cli.command {
        Command::Vectors(args) => vectors::main(args),
        Command::Speed(args) => speed::main(args),
        Command::Key(args) => pki::key_main(args),
        Command::Csr(args) => pki::csr_main(args),
        Command::Ca(args) => pki::ca_main(args),
        Command::Cert(args) => pki::cert_main(args),
        Command::Cfca(args) => cfca::main(args),
        Command::Rotate(args) => rotate::main(args),
        Command::Serve(args) => serve::main(args),
        Command::Connect(args) => connect::main(args),
        Command::Demo(args) => demo::main(args),
    }
}
