//! `gmkit cfca`: CFCA's private formats (the `.sm2` key file, the dual-key
//! CSR and the escrowed encryption key). Every format operation is a
//! `gm_pki::cfca` call; this module reads and writes files and prints.
//!
//! Exit status: 0 success; 1 the operation failed (e.g. an output file could
//! not be written); 2 usage error or bad input (unreadable or malformed
//! file, wrong password, key and certificate not matching, existing output
//! without --force).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use gm_pki::atomic::Access;
use gm_pki::cfca::sm2file::{RawSm2File, Sm2File};
use gm_pki::cfca::{self, DualCsr, EscrowedKey};
use gm_pki::{Certificate, DistinguishedName, KeyPair};
use serde_json::json;
use zeroize::Zeroizing;

use crate::outcome::{
    check_overwrite, finish, read_input, read_password, write_outputs, Failure, Outcome,
    EXIT_FAILED, EXIT_USAGE,
};

const EXIT_HELP: &str = "\
Exit status: 0 success; 1 the operation failed (e.g. writing an output); 2 usage error or bad \
input (malformed file, wrong password, key/certificate mismatch, existing output without --force).
Passwords are never taken on the command line: use --password-file FILE or the GMKIT_PASSWORD \
environment variable.";

/// The `.sm2` format's weakness, printed on every export.
const WEAK_FORMAT_WARNING: &str = "\
warning: the CFCA .sm2 format protects the key with ONE SM3 hash of the password (no salt, no \
iteration count): a stolen file can be brute-forced fast. Use a long random password, keep the \
file for CFCA tools only, and store keys as encrypted PKCS#8 otherwise.";

/// Arguments of `gmkit cfca`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_HELP)]
pub struct CfcaArgs {
    #[command(subcommand)]
    command: CfcaCommand,
    /// Print one JSON object on stdout (also for errors).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum CfcaCommand {
    /// Read a .sm2 file (DER, base64 or PEM): write its key (PKCS#8) and certificate (PEM).
    #[command(after_help = EXIT_HELP)]
    Import(ImportArgs),
    /// Write a .sm2 file from a key and its certificate (weak format: see the warning).
    #[command(after_help = EXIT_HELP)]
    Export(ExportArgs),
    /// Make a dual-key CSR (signing key + temporary key for the escrowed encryption key).
    #[command(after_help = EXIT_HELP)]
    Csr(CsrArgs),
    /// Show a (dual-key) CSR: subject, keys, challenge password presence; verifies the signature.
    #[command(after_help = EXIT_HELP)]
    ShowCsr(ShowCsrArgs),
    /// Decrypt the escrowed encryption key CFCA returns, with the temporary key.
    #[command(after_help = EXIT_HELP)]
    EscrowDecrypt(EscrowArgs),
}

#[derive(Debug, Args)]
struct PasswordArgs {
    /// Read the password from this file (first line). Otherwise GMKIT_PASSWORD.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The .sm2 file.
    file: PathBuf,
    #[command(flatten)]
    password: PasswordArgs,
    /// Where to write the private key (PKCS#8 PEM, mode 0600).
    #[arg(long, value_name = "KEY")]
    key_out: PathBuf,
    /// Where to write the certificate (PEM).
    #[arg(long, value_name = "CERT")]
    cert_out: PathBuf,
    /// Encrypt the written key (PKCS#8, PBKDF2) with the password in this file.
    #[arg(long, value_name = "FILE")]
    key_password_file: Option<PathBuf>,
    /// Overwrite existing outputs.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// The SM2 private key (PEM or DER).
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// Password file of an encrypted input key.
    #[arg(long, value_name = "FILE")]
    key_password_file: Option<PathBuf>,
    /// The certificate of that key (PEM or DER).
    #[arg(long, value_name = "CERT")]
    cert: PathBuf,
    #[command(flatten)]
    password: PasswordArgs,
    /// The .sm2 file to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Write base64 text instead of binary DER.
    #[arg(long)]
    base64: bool,
    /// Overwrite an existing output.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct CsrArgs {
    /// Dual-key request (the only kind this command makes; for ordinary
    /// requests use `gmkit csr new`).
    #[arg(long)]
    dual: bool,
    /// The signing private key (SM2).
    #[arg(long, value_name = "SIGNKEY")]
    key: PathBuf,
    /// Password file of an encrypted signing key.
    #[arg(long, value_name = "FILE")]
    key_password_file: Option<PathBuf>,
    /// Subject, e.g. "CN=name,O=org,C=CN".
    #[arg(long)]
    subject: String,
    /// The challenge password (file or GMKIT_PASSWORD): agreed with CFCA.
    #[command(flatten)]
    password: PasswordArgs,
    /// Where to write the CSR (PEM).
    #[arg(long, value_name = "CSR")]
    out: PathBuf,
    /// Where to write the temporary private key (PKCS#8 PEM, 0600): keep it
    /// until the escrowed encryption key has been decrypted.
    #[arg(long, value_name = "TMPKEY")]
    temp_key_out: PathBuf,
    /// Overwrite existing outputs.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct ShowCsrArgs {
    /// The CSR (PEM, DER or base64).
    file: PathBuf,
    /// Show it even if its signature does not verify.
    #[arg(long)]
    no_verify: bool,
}

#[derive(Debug, Args)]
struct EscrowArgs {
    /// CFCA's response (text with or without the numeric prefix, or DER).
    file: PathBuf,
    /// The temporary private key written by `gmkit cfca csr --dual`.
    #[arg(long, value_name = "TMPKEY")]
    temp_key: PathBuf,
    /// Password file of an encrypted temporary key.
    #[arg(long, value_name = "FILE")]
    temp_key_password_file: Option<PathBuf>,
    /// Where to write the encryption private key (PKCS#8 PEM, 0600).
    #[arg(long, value_name = "ENCKEY")]
    out: PathBuf,
    /// Also check that the key belongs to this encryption certificate.
    #[arg(long, value_name = "CERT")]
    cert: Option<PathBuf>,
    /// Overwrite an existing output.
    #[arg(long)]
    force: bool,
}

impl From<cfca::Error> for Failure {
    fn from(e: cfca::Error) -> Self {
        let code = match e {
            cfca::Error::Sm2 { .. } => EXIT_FAILED,
            _ => EXIT_USAGE,
        };
        Failure {
            message: e.to_string(),
            code,
            reason: None,
        }
    }
}

/// Runs `gmkit cfca ...`.
pub fn main(args: CfcaArgs) -> ExitCode {
    let (name, outcome) = match args.command {
        CfcaCommand::Import(a) => ("cfca import", import(a)),
        CfcaCommand::Export(a) => ("cfca export", export(a)),
        CfcaCommand::Csr(a) => ("cfca csr", dual_csr(a)),
        CfcaCommand::ShowCsr(a) => ("cfca show-csr", show_csr(a)),
        CfcaCommand::EscrowDecrypt(a) => ("cfca escrow-decrypt", escrow_decrypt(a)),
    };
    finish(name, args.json, outcome)
}

/// A password from a dedicated file option only (never GMKIT_PASSWORD,
/// which belongs to the command's main password).
fn read_password_file(file: Option<&Path>) -> Result<Option<Zeroizing<Vec<u8>>>, Failure> {
    crate::outcome::password_from(file, None).map_err(Failure::usage)
}

fn load_key(path: &Path, password_file: Option<&Path>) -> Result<KeyPair, Failure> {
    let data = read_input(path)?;
    let pw = read_password_file(password_file)?;
    KeyPair::load(&data, pw.as_ref().map(|p| p.as_slice()))
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

fn sm2_key(key: &KeyPair, path: &Path) -> Result<gm_sm2::PrivateKey, Failure> {
    key.sm2()
        .cloned()
        .ok_or_else(|| Failure::usage(format!("{}: not an SM2 key", path.display())))
}

fn key_pem(key: &KeyPair, password: Option<&[u8]>) -> Result<Zeroizing<String>, Failure> {
    Ok(match password {
        Some(pw) => Zeroizing::new(key.to_encrypted_pem(pw)?),
        None => key.to_pkcs8_pem()?,
    })
}

fn import(a: ImportArgs) -> Outcome {
    check_overwrite(&[&a.key_out, &a.cert_out], a.force)?;
    let password = read_password(a.password.password_file.as_deref(), true)?.unwrap_or_default();
    let out_password = read_password_file(a.key_password_file.as_deref())?;
    let data = read_input(&a.file)?;
    let raw = RawSm2File::parse(&data)
        .map_err(|e| Failure::usage(format!("{}: {e}", a.file.display())))?;
    let file = raw
        .decrypt(&password)
        .map_err(|e| Failure::usage(format!("{}: {e}", a.file.display())))?;
    let (key, cert_der) = file.into_parts();
    let key = KeyPair::from_sm2(key)?;
    let cert = Certificate::from_der(&cert_der)
        .map_err(|e| Failure::usage(format!("{}: certificate: {e}", a.file.display())))?;
    let pem = key_pem(&key, out_password.as_ref().map(|p| p.as_slice()))?;
    write_outputs(
        &[
            (&a.key_out, pem.as_bytes(), Access::Private),
            (&a.cert_out, cert.to_pem().as_bytes(), Access::Public),
        ],
        a.force,
    )?;
    let now = std::time::SystemTime::now();
    let info = cert.info(now);
    Ok(json!({
        "key_out": a.key_out.display().to_string(),
        "cert_out": a.cert_out.display().to_string(),
        "key_encrypted": out_password.is_some(),
        "sm4_oid": format!("{:?}", raw.cipher()),
        "certificate": info,
        "text": format!(
            "key:         {} ({})\ncertificate: {}\nsubject:     {}\nissuer:      {}\nnot after:   {} ({} days left)\n",
            a.key_out.display(),
            if out_password.is_some() { "encrypted PKCS#8" } else { "unencrypted PKCS#8, mode 0600" },
            a.cert_out.display(),
            info.subject,
            info.issuer,
            info.not_after,
            info.days_left,
        ),
    }))
}

fn export(a: ExportArgs) -> Outcome {
    check_overwrite(&[&a.out], a.force)?;
    let password = read_password(a.password.password_file.as_deref(), true)?.unwrap_or_default();
    let key = load_key(&a.key, a.key_password_file.as_deref())?;
    let sm2 = sm2_key(&key, &a.key)?;
    let cert_der = cfca::certificate_der(&read_input(&a.cert)?)
        .map_err(|e| Failure::usage(format!("{}: {e}", a.cert.display())))?;
    let file = Sm2File::new(sm2, cert_der).map_err(|e| {
        Failure::usage(format!("{} and {}: {e}", a.key.display(), a.cert.display()))
    })?;
    let data = if a.base64 {
        file.to_base64(&password)?.into_bytes()
    } else {
        file.to_der(&password)?
    };
    // Mode 0600: the file holds the (weakly) encrypted key.
    write_outputs(&[(&a.out, &data, Access::Private)], a.force)?;
    eprintln!("{WEAK_FORMAT_WARNING}");
    Ok(json!({
        "out": a.out.display().to_string(),
        "encoding": if a.base64 { "base64" } else { "der" },
        "warning": WEAK_FORMAT_WARNING,
        "text": format!("wrote {} ({})", a.out.display(), if a.base64 { "base64" } else { "DER" }),
    }))
}

fn dual_csr(a: CsrArgs) -> Outcome {
    if !a.dual {
        return Err(Failure::usage(
            "only dual-key requests are made here: pass --dual (ordinary requests: gmkit csr new)",
        ));
    }
    check_overwrite(&[&a.out, &a.temp_key_out], a.force)?;
    let challenge = read_password(a.password.password_file.as_deref(), true)?.unwrap_or_default();
    let challenge = std::str::from_utf8(&challenge)
        .map_err(|_| Failure::usage("the challenge password is not UTF-8"))?
        .to_owned();
    let subject: DistinguishedName = a
        .subject
        .parse()
        .map_err(|e: gm_pki::Error| Failure::usage(e.to_string()))?;
    let key = load_key(&a.key, a.key_password_file.as_deref())?;
    let sm2 = sm2_key(&key, &a.key)?;
    let (csr, temp) = DualCsr::generate(&sm2, subject.to_der(), &challenge)?;
    let temp = KeyPair::from_sm2(temp)?;
    // Both or neither: a CSR without its temporary key would be useless.
    write_outputs(
        &[
            (
                &a.temp_key_out,
                temp.to_pkcs8_pem()?.as_bytes(),
                Access::Private,
            ),
            (&a.out, csr.to_pem().as_bytes(), Access::Public),
        ],
        a.force,
    )?;
    Ok(json!({
        "csr": a.out.display().to_string(),
        "temp_key": a.temp_key_out.display().to_string(),
        "subject": subject.to_string(),
        "text": format!(
            "CSR:           {}\ntemporary key: {} (keep it until the encryption key is decrypted)\n",
            a.out.display(),
            a.temp_key_out.display()
        ),
    }))
}

fn show_csr(a: ShowCsrArgs) -> Outcome {
    let data = read_input(&a.file)?;
    let csr = if a.no_verify {
        DualCsr::parse_unverified(&data)
    } else {
        DualCsr::parse(&data)
    }
    .map_err(|e| Failure::usage(format!("{}: {e}", a.file.display())))?;
    let subject = DistinguishedName::from_der(csr.subject_der())
        .map(|n| n.to_string())
        .unwrap_or_else(|e| format!("(unreadable: {e})"));
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let public = hex(&csr.public_key().to_sec1_bytes());
    let temp = csr.temp_public_key().map(|k| hex(&k.to_sec1_bytes()));
    let dual = csr.require_dual().is_ok();
    Ok(json!({
        "subject": subject,
        "signature_verified": !a.no_verify,
        "public_key": public,
        "temp_public_key": temp,
        "has_challenge_password": csr.challenge_password().is_some(),
        "dual": dual,
        "text": format!(
            "subject:            {subject}\nsignature:          {}\npublic key:         {public}\ntemporary key:      {}\nchallenge password: {}\ndual-key request:   {}\n",
            if a.no_verify { "not checked" } else { "verified (ID 1234567812345678)" },
            temp.as_deref().unwrap_or("(none)"),
            if csr.challenge_password().is_some() { "present" } else { "absent" },
            if dual { "yes" } else { "no" },
        ),
    }))
}

fn escrow_decrypt(a: EscrowArgs) -> Outcome {
    check_overwrite(&[&a.out], a.force)?;
    let temp = load_key(&a.temp_key, a.temp_key_password_file.as_deref())?;
    let temp = sm2_key(&temp, &a.temp_key)?;
    let data = read_input(&a.file)?;
    let envelope = EscrowedKey::parse(&data)
        .map_err(|e| Failure::usage(format!("{}: {e}", a.file.display())))?;
    let key = envelope
        .decrypt(&temp)
        .map_err(|e| Failure::usage(format!("{}: {e}", a.file.display())))?;
    let key = KeyPair::from_sm2(key)?;
    let mut cert_info = None;
    if let Some(cert_path) = &a.cert {
        let cert = Certificate::load(&read_input(cert_path)?)
            .map_err(|e| Failure::usage(format!("{}: {e}", cert_path.display())))?;
        if !cert.matches_key(&key) {
            return Err(Failure::usage(format!(
                "the decrypted key does not belong to {}",
                cert_path.display()
            )));
        }
        cert_info = Some(cert.info(std::time::SystemTime::now()));
    }
    write_outputs(
        &[(&a.out, key.to_pkcs8_pem()?.as_bytes(), Access::Private)],
        a.force,
    )?;
    Ok(json!({
        "out": a.out.display().to_string(),
        "certificate_checked": cert_info.is_some(),
        "certificate": cert_info,
        "text": format!(
            "encryption key: {} (PKCS#8, mode 0600){}\n",
            a.out.display(),
            if a.cert.is_some() { "; matches the certificate" } else { "" }
        ),
    }))
}
