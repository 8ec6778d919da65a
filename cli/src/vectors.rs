//! `gmkit vectors`: run known-answer vector files through the libraries.
//!
//! All detection, parsing and checking happens in `gm-testvectors`; this
//! module only chooses the inputs and prints the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use gm_testvectors::{run_paths, FileReport, Report, RunOptions, BUNDLED_DATA_DIR};

/// Exit status when every file parsed and no vector failed.
const EXIT_OK: u8 = 0;
/// Exit status when a vector failed or a file could not be run.
const EXIT_FAILED: u8 = 1;
/// Exit status for usage errors (clap uses the same value).
const EXIT_USAGE: u8 = 2;

/// Arguments of `gmkit vectors`.
#[derive(Debug, Args)]
pub struct VectorsArgs {
    #[command(subcommand)]
    command: VectorsCommand,
}

#[derive(Debug, Subcommand)]
enum VectorsCommand {
    /// Run vector files or directories (default: the bundled testvectors/data).
    ///
    /// Directories are searched recursively for *.json and *.txt files. The
    /// format of each file is detected from its content. Exit status: 0 if
    /// every file parsed and no vector failed, 1 otherwise, 2 for usage errors.
    Run(RunArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Vector files or directories.
    #[arg(value_name = "FILE_OR_DIR")]
    paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,

    /// SM4 backend to run on: soft, aesni-avx2, vaes-avx2, gfni-avx512 or auto
    /// (default: auto, which honours GMKIT_SM4_BACKEND).
    #[arg(long, value_name = "NAME")]
    backend: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// Per-file counts, failures and skip reasons, for people.
    Text,
    /// One JSON object on stdout, for machines.
    Json,
}

/// Runs `gmkit vectors ...` and returns the process exit status.
pub fn main(args: VectorsArgs) -> ExitCode {
    match args.command {
        VectorsCommand::Run(run) => ExitCode::from(run_command(run)),
    }
}

fn run_command(args: RunArgs) -> u8 {
    let opts = match args.backend.as_deref() {
        None => RunOptions::default(),
        Some(name) => match RunOptions::with_backend_name(name) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("gmkit vectors run: {e}");
                return EXIT_USAGE;
            }
        },
    };
    let paths = if args.paths.is_empty() {
        vec![default_data_dir()]
    } else {
        args.paths
    };
    let report = run_paths(&paths, &opts);
    match args.format {
        OutputFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("gmkit vectors run: cannot serialise the report: {e}");
                return EXIT_FAILED;
            }
        },
        OutputFormat::Text => print_text(&report),
    }
    if report.is_success() {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

/// The bundled vectors: next to the source tree this binary was built from,
/// else `./testvectors/data`.
fn default_data_dir() -> PathBuf {
    let bundled = Path::new(BUNDLED_DATA_DIR);
    if bundled.is_dir() {
        bundled.to_path_buf()
    } else {
        PathBuf::from("testvectors/data")
    }
}

fn print_text(report: &Report) {
    for file in &report.files {
        print_file(file);
    }
    if report.files.is_empty() {
        println!("no vector files found (directories are searched for *.json and *.txt)");
    }
    println!(
        "total: {} passed, {} failed, {} skipped in {} file(s) [SM4 backend: {}] => {}",
        report.passed,
        report.failed,
        report.skipped,
        report.files.len(),
        report.backend,
        if report.is_success() { "OK" } else { "FAILED" }
    );
}

fn print_file(file: &FileReport) {
    let status = if file.is_success() { "ok  " } else { "FAIL" };
    let what = match &file.algorithm {
        Some(a) => format!("{} {a}", file.format),
        None => file.format.to_string(),
    };
    println!(
        "{status} {} [{what}]: {} passed, {} failed, {} skipped",
        file.path.display(),
        file.passed,
        file.failed,
        file.skipped
    );
    for f in &file.failures {
        println!("     failed {}: {}", f.id, f.reason);
        if let Some(c) = &f.comment {
            println!("            ({c})");
        }
    }
    // Group skip reasons: a file of an unsupported algorithm skips every
    // vector for the same reason.
    let mut reasons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in &file.skips {
        reasons.entry(&s.reason).or_default().push(&s.id);
    }
    for (reason, ids) in reasons {
        let shown: Vec<&str> = ids.iter().take(5).copied().collect();
        let more = if ids.len() > shown.len() {
            format!(", ... {} more", ids.len() - shown.len())
        } else {
            String::new()
        };
        println!(
            "     skipped {} ({}{more}): {reason}",
            ids.len(),
            shown.join(", ")
        );
    }
}
