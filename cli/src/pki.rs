//! `gmkit key|csr|ca|cert`: keys, requests, a local CA, and certificate
//! inspection and verification. Every operation is a `gm-pki` call; this
//! module parses arguments, reads and writes files and prints results.
//!
//! Exit status for all of them: 0 success, 1 the operation or verification
//! failed, 2 usage error or bad input (unreadable or malformed files, bad
//! names, wrong password, refusing to overwrite without `--force`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Args, Subcommand, ValueEnum};
use gm_pki::atomic::Access;
use gm_pki::{
    verify_chain, Certificate, CertificateAuthority, Csr, DistinguishedName, IssueRequest,
    KeyAlgorithm, KeyPair, Profile, Purpose, SubjectAltName, VerifyOptions,
};
use serde_json::{json, Value};

use crate::outcome::{
    check_overwrite, finish, read_input, read_password, write_outputs, Failure, Outcome,
    EXIT_FAILED, EXIT_OK,
};

/// Shown under every command's help.
const EXIT_HELP: &str = "\
Exit status: 0 success; 1 operation or verification failed; 2 usage error or bad input \
(unreadable/malformed file, bad name, wrong or missing password, existing output without --force).
Passwords are never taken on the command line: use --password-file FILE or the GMKIT_PASSWORD \
environment variable.";

// ---------------------------------------------------------------------------
// Shared helpers

#[derive(Debug, Args)]
struct PasswordArgs {
    /// Read the password from this file (first line; a trailing newline is
    /// removed). Otherwise GMKIT_PASSWORD is used if set.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

impl PasswordArgs {
    fn password(&self) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, Failure> {
        read_password(self.password_file.as_deref(), false)
    }
}

/// Loading a CA directory: a missing or unreadable file is bad input.
fn load_ca(dir: &Path, password: Option<&[u8]>) -> Result<CertificateAuthority, Failure> {
    CertificateAuthority::load_with_password(dir, password).map_err(|e| match e {
        gm_pki::Error::Io { .. } => Failure::usage(e.to_string()),
        other => other.into(),
    })
}

fn load_key(path: &Path, pw: &PasswordArgs) -> Result<KeyPair, Failure> {
    let data = read_input(path)?;
    let password = pw.password()?;
    KeyPair::load(&data, password.as_ref().map(|p| p.as_slice()))
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

fn parse_subject(s: &str) -> Result<DistinguishedName, Failure> {
    s.parse()
        .map_err(|e: gm_pki::Error| Failure::usage(e.to_string()))
}

fn parse_sans(v: &[String]) -> Result<Vec<SubjectAltName>, Failure> {
    v.iter()
        .map(|s| {
            s.parse()
                .map_err(|e: gm_pki::Error| Failure::usage(e.to_string()))
        })
        .collect()
}

fn cert_json(c: &Certificate, now: SystemTime) -> Value {
    serde_json::to_value(c.info(now)).unwrap_or(Value::Null)
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AlgArg {
    /// SM2 (sm2p256v1), signed with SM2-with-SM3.
    Sm2,
    /// RSA-2048 (sha256WithRSAEncryption).
    Rsa,
    /// RSA-3072.
    Rsa3072,
    /// RSA-4096.
    Rsa4096,
    /// ECDSA P-256 (ecdsa-with-SHA256).
    P256,
}

impl From<AlgArg> for KeyAlgorithm {
    fn from(a: AlgArg) -> Self {
        match a {
            AlgArg::Sm2 => KeyAlgorithm::Sm2,
            AlgArg::Rsa => KeyAlgorithm::Rsa2048,
            AlgArg::Rsa3072 => KeyAlgorithm::Rsa3072,
            AlgArg::Rsa4096 => KeyAlgorithm::Rsa4096,
            AlgArg::P256 => KeyAlgorithm::P256,
        }
    }
}

// ---------------------------------------------------------------------------
// gmkit key

/// Arguments of `gmkit key`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Generate a private key (PKCS#8 PEM, mode 0600; encrypted with
    /// PBKDF2-HMAC-SHA256 + AES-256-CBC when a password is given).
    #[command(after_help = EXIT_HELP)]
    Gen(KeyGenArgs),
}

#[derive(Debug, Args)]
struct KeyGenArgs {
    /// Key algorithm (RSA and P-256 are for fallback certificates).
    #[arg(long, value_enum, default_value_t = AlgArg::Sm2)]
    alg: AlgArg,
    /// Where to write the private key.
    #[arg(long, value_name = "KEY")]
    out: PathBuf,
    /// Also write the public key (SubjectPublicKeyInfo PEM) here.
    #[arg(long, value_name = "FILE")]
    pubout: Option<PathBuf>,
    #[command(flatten)]
    password: PasswordArgs,
    /// Overwrite existing output files.
    #[arg(long)]
    force: bool,
    /// Print a JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `gmkit key ...`.
pub fn key_main(args: KeyArgs) -> ExitCode {
    match args.command {
        KeyCommand::Gen(a) => {
            let json_out = a.json;
            finish("key gen", json_out, key_gen(a))
        }
    }
}

fn key_gen(a: KeyGenArgs) -> Outcome {
    check_overwrite(&[&a.out], a.force)?;
    if let Some(p) = &a.pubout {
        check_overwrite(&[p], a.force)?;
    }
    let password = a.password.password()?;
    let alg = KeyAlgorithm::from(a.alg);
    let key = KeyPair::generate(alg)?;
    let pem = match &password {
        Some(pw) => zeroize::Zeroizing::new(key.to_encrypted_pem(pw)?),
        None => key.to_pkcs8_pem()?,
    };
    let public = a.pubout.as_ref().map(|p| (p, key.public_key().to_pem()));
    let mut files = vec![(a.out.as_path(), pem.as_bytes(), Access::Private)];
    if let Some((p, public_pem)) = &public {
        files.push((p.as_path(), public_pem.as_bytes(), Access::Public));
    }
    write_outputs(&files, a.force)?;
    let kid = gm_pki_hex(&key.public_key().key_identifier());
    Ok(json!({
        "key": path_str(&a.out),
        "alg": alg.name(),
        "encrypted": password.is_some(),
        "public_key": a.pubout.as_deref().map(path_str),
        "key_id": kid,
        "text": format!(
            "wrote {} {} private key to {}{}\nkey id (SHA-1 of the public key): {kid}\n",
            if password.is_some() { "encrypted" } else { "unencrypted" },
            alg.name(),
            a.out.display(),
            a.pubout.as_deref().map(|p| format!(" and its public key to {}", p.display())).unwrap_or_default(),
        ),
    }))
}

fn gm_pki_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

// ---------------------------------------------------------------------------
// gmkit csr

/// Arguments of `gmkit csr`.
#[derive(Debug, Args)]
pub struct CsrArgs {
    #[command(subcommand)]
    command: CsrCommand,
}

#[derive(Debug, Subcommand)]
enum CsrCommand {
    /// Create a PKCS#10 request signed with the key (SM2: ID 1234567812345678).
    #[command(after_help = EXIT_HELP)]
    New(CsrNewArgs),
    /// Show a request and check its signature (exit 1 if it does not verify).
    #[command(after_help = EXIT_HELP)]
    Show(CsrShowArgs),
}

#[derive(Debug, Args)]
struct CsrNewArgs {
    /// The private key (PEM or DER; encrypted keys need a password).
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// Subject, e.g. "CN=www.example.cn,O=Example,C=CN" or "/C=CN/O=Example/CN=www.example.cn".
    #[arg(long)]
    subject: String,
    /// Subject alternative name: DNS:name or IP:address (repeatable).
    #[arg(long = "san", value_name = "SAN")]
    sans: Vec<String>,
    /// Where to write the request (PEM).
    #[arg(long, value_name = "CSR")]
    out: PathBuf,
    #[command(flatten)]
    password: PasswordArgs,
    /// Overwrite an existing output file.
    #[arg(long)]
    force: bool,
    /// Print a JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct CsrShowArgs {
    /// The request (PEM or DER).
    file: PathBuf,
    /// Print a JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `gmkit csr ...`.
pub fn csr_main(args: CsrArgs) -> ExitCode {
    match args.command {
        CsrCommand::New(a) => {
            let j = a.json;
            finish("csr new", j, csr_new(a))
        }
        CsrCommand::Show(a) => {
            let j = a.json;
            finish("csr show", j, csr_show(a))
        }
    }
}

fn csr_new(a: CsrNewArgs) -> Outcome {
    check_overwrite(&[&a.out], a.force)?;
    let subject = parse_subject(&a.subject)?;
    let sans = parse_sans(&a.sans)?;
    let key = load_key(&a.key, &a.password)?;
    let csr = Csr::new(&key, &subject, &sans)?;
    write_outputs(
        &[(&a.out, csr.to_pem().as_bytes(), Access::Public)],
        a.force,
    )?;
    Ok(json!({
        "csr": path_str(&a.out),
        "subject": csr.subject().to_string(),
        "sans": csr.subject_alt_names().iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "key_alg": csr.public_key().algorithm().to_string(),
        "sig_alg": csr.signature_algorithm().name(),
        "text": format!("wrote request for {} to {}\n", csr.subject(), a.out.display()),
    }))
}

fn csr_show(a: CsrShowArgs) -> Outcome {
    let csr = Csr::load(&read_input(&a.file)?)?;
    let check = csr.verify_proof_of_possession();
    let sans: Vec<String> = csr
        .subject_alt_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let sig_id = match &check {
        Ok(id) if csr.signature_algorithm().is_sm2() => {
            Some(String::from_utf8_lossy(id).into_owned())
        }
        _ => None,
    };
    let text = format!(
        "Subject: {}\nPublic key: {}\nSignature: {}{}\nSANs: {}\nSignature check: {}\n",
        csr.subject(),
        csr.public_key().algorithm(),
        csr.signature_algorithm(),
        sig_id
            .as_deref()
            .map(|i| format!(" (SM2 ID {i:?})"))
            .unwrap_or_default(),
        if sans.is_empty() {
            "-".to_owned()
        } else {
            sans.join(", ")
        },
        match &check {
            Ok(_) => "OK".to_owned(),
            Err(e) => format!("FAILED: {e}"),
        }
    );
    if let Err(e) = check {
        let mut f = Failure::from(e);
        f.code = EXIT_FAILED;
        f.reason = Some("bad_signature");
        if !a.json {
            print!("{text}");
        }
        return Err(f);
    }
    Ok(json!({
        "subject": csr.subject().to_string(),
        "key_alg": csr.public_key().algorithm().to_string(),
        "sig_alg": csr.signature_algorithm().name(),
        "sm2_id": sig_id,
        "sans": sans,
        "signature_ok": true,
        "text": text,
    }))
}

// ---------------------------------------------------------------------------
// gmkit ca

/// Arguments of `gmkit ca`.
#[derive(Debug, Args)]
pub struct CaArgs {
    #[command(subcommand)]
    command: CaCommand,
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Create a CA directory: a new key and a self-signed root certificate
    /// (or, with --parent, an intermediate CA signed by another CA
    /// directory). Writes ca.key (0600), ca.crt, ca.json and, for an
    /// intermediate, chain.crt.
    #[command(after_help = EXIT_HELP)]
    Init(CaInitArgs),
    /// Issue a certificate for a CSR. The CSR's signature is checked first
    /// (SM2 with ID 1234567812345678, or the empty ID OpenSSL 3.0 uses by
    /// default); subject and SANs are taken from it, everything else from
    /// the profile.
    #[command(after_help = EXIT_HELP)]
    Issue(CaIssueArgs),
}

#[derive(Debug, Args)]
struct CaInitArgs {
    /// The CA directory (created 0700 if missing).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// CA subject, e.g. "CN=Example Root CA,O=Example,C=CN".
    #[arg(long)]
    subject: String,
    /// Validity in days.
    #[arg(long, default_value_t = 3650)]
    days: u32,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t = AlgArg::Sm2)]
    alg: AlgArg,
    /// Make an intermediate CA signed by the CA in this directory (its key
    /// password, if any, is the same --password-file / GMKIT_PASSWORD).
    #[arg(long, value_name = "DIR")]
    parent: Option<PathBuf>,
    /// SM2 ID for the CA's signatures (default 1234567812345678; change only
    /// if every verifier is configured for it).
    #[arg(long, value_name = "ID")]
    sm2_id: Option<String>,
    #[command(flatten)]
    password: PasswordArgs,
    /// Overwrite an existing CA in DIR.
    #[arg(long)]
    force: bool,
    /// Print a JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// TLS server: digitalSignature (+keyEncipherment for RSA), serverAuth.
    Server,
    /// TLS client: digitalSignature, clientAuth.
    Client,
    /// GM/T 0015 signing certificate: digitalSignature, nonRepudiation.
    Sign,
    /// GM/T 0015 encryption certificate: keyEncipherment, dataEncipherment, keyAgreement.
    Enc,
    /// Intermediate CA (pathLen 0).
    Intermediate,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Self {
        match p {
            ProfileArg::Server => Profile::TlsServer,
            ProfileArg::Client => Profile::TlsClient,
            ProfileArg::Sign => Profile::GmSign,
            ProfileArg::Enc => Profile::GmEnc,
            ProfileArg::Intermediate => Profile::IntermediateCa,
        }
    }
}

#[derive(Debug, Args)]
struct CaIssueArgs {
    /// The CA directory.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The request (PEM or DER).
    #[arg(long, value_name = "CSR")]
    csr: PathBuf,
    /// Certificate profile.
    #[arg(long, value_enum)]
    profile: ProfileArg,
    /// Validity in days.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Additional subject alternative name: DNS:name or IP:address (repeatable).
    #[arg(long = "san", value_name = "SAN")]
    sans: Vec<String>,
    /// Where to write the certificate (PEM).
    #[arg(long, value_name = "CERT")]
    out: PathBuf,
    /// Also write the certificate followed by the CA chain (without the root) here.
    #[arg(long, value_name = "FILE")]
    fullchain_out: Option<PathBuf>,
    #[command(flatten)]
    password: PasswordArgs,
    /// Overwrite existing output files.
    #[arg(long)]
    force: bool,
    /// Print a JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `gmkit ca ...`.
pub fn ca_main(args: CaArgs) -> ExitCode {
    match args.command {
        CaCommand::Init(a) => {
            let j = a.json;
            finish("ca init", j, ca_init(a))
        }
        CaCommand::Issue(a) => {
            let j = a.json;
            finish("ca issue", j, ca_issue(a))
        }
    }
}

fn ca_init(a: CaInitArgs) -> Outcome {
    let subject = parse_subject(&a.subject)?;
    let password = a.password.password()?;
    let pw = password.as_ref().map(|p| p.as_slice());
    if !a.force {
        for name in [gm_pki::ca_files::CERT, gm_pki::ca_files::KEY] {
            check_overwrite(&[&a.dir.join(name)], false)?;
        }
    }
    let key = KeyPair::generate(a.alg.into())?;
    let ca = match &a.parent {
        Some(parent) => {
            let parent = load_ca(parent, pw)?;
            let ca = parent.new_intermediate(&subject, a.days, key)?;
            match &a.sm2_id {
                Some(id) => ca.with_sm2_id(id.as_bytes()),
                None => ca,
            }
        }
        None => match &a.sm2_id {
            Some(id) => {
                CertificateAuthority::init_with_sm2_id(&subject, a.days, key, id.as_bytes())?
            }
            None => CertificateAuthority::init(&subject, a.days, key)?,
        },
    };
    ca.save(&a.dir, pw, a.force)?;
    let now = SystemTime::now();
    let cert = ca.certificate();
    Ok(json!({
        "dir": path_str(&a.dir),
        "certificate": cert_json(cert, now),
        "key_encrypted": password.is_some(),
        "text": format!(
            "created {} CA in {}\n  subject: {}\n  issuer:  {}\n  expires: {} ({} days)\n  key:     {} ({})\n",
            if a.parent.is_some() { "intermediate" } else { "root" },
            a.dir.display(),
            cert.subject(),
            cert.issuer(),
            gm_pki::rfc3339(cert.not_after()),
            cert.days_left(now),
            a.dir.join(gm_pki::ca_files::KEY).display(),
            if password.is_some() { "encrypted" } else { "unencrypted: protect this file" },
        ),
    }))
}

fn ca_issue(a: CaIssueArgs) -> Outcome {
    check_overwrite(&[&a.out], a.force)?;
    if let Some(p) = &a.fullchain_out {
        check_overwrite(&[p], a.force)?;
    }
    let extra = parse_sans(&a.sans)?;
    let password = a.password.password()?;
    let ca = load_ca(&a.dir, password.as_ref().map(|p| p.as_slice()))?;
    let csr = Csr::load(&read_input(&a.csr)?)?;
    let req = IssueRequest::from_csr(&csr, a.profile.into())?
        .days(a.days)
        .sans(extra);
    let cert = ca.issue(&req)?;
    let cert_pem = cert.to_pem();
    // The full chain: the certificate, then every CA above it except a
    // self-issued root.
    let full = a.fullchain_out.as_ref().map(|p| {
        let mut full = cert_pem.clone();
        for c in std::iter::once(ca.certificate()).chain(ca.chain().iter()) {
            if !c.is_self_issued() {
                full.push_str(&c.to_pem());
            }
        }
        (p, full)
    });
    let mut files = vec![(a.out.as_path(), cert_pem.as_bytes(), Access::Public)];
    if let Some((p, full)) = &full {
        files.push((p.as_path(), full.as_bytes(), Access::Public));
    }
    write_outputs(&files, a.force)?;
    let now = SystemTime::now();
    Ok(json!({
        "certificate": cert_json(&cert, now),
        "out": path_str(&a.out),
        "text": format!(
            "issued {} certificate {} for {}\n  SANs: {}\n  valid until {} ({} days)\n  written to {}\n",
            Profile::from(a.profile),
            cert.serial_hex(),
            cert.subject(),
            cert.subject_alt_names().iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
            gm_pki::rfc3339(cert.not_after()),
            cert.days_left(now),
            a.out.display(),
        ),
    }))
}

// ---------------------------------------------------------------------------
// gmkit cert

/// Arguments of `gmkit cert`.
#[derive(Debug, Args)]
pub struct CertArgs {
    #[command(subcommand)]
    command: CertCommand,
}

#[derive(Debug, Subcommand)]
enum CertCommand {
    /// Show a certificate like `openssl x509 -text`, plus the days left.
    /// JSON fields: subject, issuer, serial, not_before, not_after,
    /// days_left, expired, key_alg, sig_alg, sans, key_usage,
    /// ext_key_usage, is_ca, fingerprints.
    #[command(after_help = EXIT_HELP)]
    Show(CertShowArgs),
    /// Verify a certificate chain to trusted roots. FILE may hold the leaf
    /// followed by intermediates. On failure the JSON `reason` is one of:
    /// expired, not_yet_valid, unknown_issuer, wrong_issuer, bad_signature,
    /// wrong_sm2_id, name_mismatch, key_usage, ca_used_as_end_entity,
    /// issuer_not_ca, path_len_exceeded, unsupported_algorithm, malformed,
    /// expiring_soon, other.
    #[command(after_help = EXIT_HELP)]
    Verify(CertVerifyArgs),
}

#[derive(Debug, Args)]
struct CertShowArgs {
    /// The certificate (PEM or DER).
    file: PathBuf,
    /// Show every certificate in the file, not only the first (JSON: an array).
    #[arg(long)]
    all: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PurposeArg {
    /// TLS server (serverAuth if extendedKeyUsage is present; digitalSignature).
    Server,
    /// TLS client (clientAuth; digitalSignature).
    Client,
    /// The chain only.
    Any,
}

#[derive(Debug, Args)]
struct CertVerifyArgs {
    /// The certificate to verify (PEM or DER), optionally followed by intermediates.
    file: PathBuf,
    /// Trusted root certificates (PEM bundle or DER).
    #[arg(long, value_name = "FILE")]
    roots: PathBuf,
    /// Intermediate certificates (PEM bundle or DER).
    #[arg(long, value_name = "FILE")]
    chain: Option<PathBuf>,
    /// Host name or IP address the certificate must be valid for (SANs).
    #[arg(long, value_name = "HOST")]
    name: Option<String>,
    /// What the certificate is for (default: server with --name, else any).
    #[arg(long, value_enum)]
    purpose: Option<PurposeArg>,
    /// SM2 ID the signatures must use.
    #[arg(long, value_name = "ID", default_value = "1234567812345678")]
    sm2_id: String,
    /// Fail (exit 1, reason expiring_soon) if the certificate expires within DAYS days.
    #[arg(long, value_name = "DAYS")]
    min_days: Option<i64>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `gmkit cert ...`.
pub fn cert_main(args: CertArgs) -> ExitCode {
    match args.command {
        CertCommand::Show(a) => {
            let j = a.json;
            cert_show(a, j)
        }
        CertCommand::Verify(a) => {
            let j = a.json;
            finish("cert verify", j, cert_verify(a))
        }
    }
}

fn cert_show(a: CertShowArgs, json_out: bool) -> ExitCode {
    let certs =
        match read_input(&a.file).and_then(|d| Certificate::load_all(&d).map_err(Failure::from)) {
            Ok(c) if !c.is_empty() => c,
            Ok(_) => {
                return finish(
                    "cert show",
                    json_out,
                    Err(Failure::usage("no certificate in the input")),
                )
            }
            Err(f) => return finish("cert show", json_out, Err(f)),
        };
    let certs = if a.all {
        certs
    } else {
        certs.into_iter().take(1).collect()
    };
    let now = SystemTime::now();
    if json_out {
        let v = if a.all {
            Value::Array(certs.iter().map(|c| cert_json(c, now)).collect())
        } else {
            cert_json(&certs[0], now)
        };
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        for c in &certs {
            print!("{}", c.to_text(now));
        }
    }
    ExitCode::from(EXIT_OK)
}

fn cert_verify(a: CertVerifyArgs) -> Outcome {
    let mut certs = Certificate::load_all(&read_input(&a.file)?)?;
    if certs.is_empty() {
        return Err(Failure::usage(format!(
            "{}: no certificate",
            a.file.display()
        )));
    }
    let leaf = certs.remove(0);
    let mut intermediates = certs;
    if let Some(c) = &a.chain {
        intermediates.extend(Certificate::load_all(&read_input(c)?)?);
    }
    let roots = Certificate::load_all(&read_input(&a.roots)?)?;
    if roots.is_empty() {
        return Err(Failure::usage(format!(
            "{}: no root certificate",
            a.roots.display()
        )));
    }
    let purpose = match (a.purpose, &a.name) {
        (Some(PurposeArg::Server), _) | (None, Some(_)) => Purpose::ServerAuth,
        (Some(PurposeArg::Client), _) => Purpose::ClientAuth,
        (Some(PurposeArg::Any), _) | (None, None) => Purpose::Any,
    };
    let opts = VerifyOptions {
        name: a.name.clone(),
        purpose,
        sm2_id: a.sm2_id.clone().into_bytes(),
        ..VerifyOptions::default()
    };
    let now = SystemTime::now();
    let chain = verify_chain(&leaf, &intermediates, &roots, &opts).map_err(|e| Failure {
        message: e.to_string(),
        code: EXIT_FAILED,
        reason: Some(e.code()),
    })?;
    let days = leaf.days_left(now);
    if let Some(min) = a.min_days {
        if days < min {
            return Err(Failure {
                message: format!(
                    "{} expires in {days} days (on {}), less than {min}",
                    leaf.subject(),
                    gm_pki::rfc3339(leaf.not_after())
                ),
                code: EXIT_FAILED,
                reason: Some("expiring_soon"),
            });
        }
    }
    let subjects: Vec<String> = chain
        .certificates
        .iter()
        .map(|c| c.subject().to_string())
        .collect();
    let mut text = format!("{}: OK\n", a.file.display());
    for (i, s) in subjects.iter().enumerate() {
        text.push_str(&format!("  {}{s}\n", "  ".repeat(i)));
    }
    text.push_str(&format!(
        "  expires {} ({days} days left)\n",
        gm_pki::rfc3339(leaf.not_after())
    ));
    Ok(json!({
        "chain": subjects,
        "days_left": days,
        "not_after": gm_pki::rfc3339(leaf.not_after()),
        "name": a.name,
        "purpose": purpose,
        "text": text,
    }))
}
