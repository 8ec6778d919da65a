//! `gmkit`: command-line front end for the gmkit libraries.
//!
//! Each subcommand lives in its own module and only calls library code; this
//! file holds the argument definitions that tie them together.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod speed;
mod vectors;

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
    /// Single-thread throughput of SM4 modes, SM3 and HMAC-SM3.
    Speed(speed::SpeedArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Vectors(args) => vectors::main(args),
        Command::Speed(args) => speed::main(args),
    }
}
