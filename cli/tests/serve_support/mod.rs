//! Shared by the `serve_*` tests: a PKI made with gm-pki, a `gmkit serve`
//! child process bound to 127.0.0.1 (killed on drop) and bounded command
//! runs.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gm_pki::{CertificateAuthority, IssueRequest, KeyAlgorithm, KeyPair, Profile, SubjectAltName};

pub const BIN: &str = env!("CARGO_BIN_EXE_gmkit");

/// A scratch directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "gmkit-serve-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    pub fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub const PASSWORD: &str = "correct horse";

/// Writes the test PKI into `dir`:
/// `sm2-ca.pem`, `sm2-server.{pem,key}`, `sm2-server2.{pem,key}` (same CA,
/// OU "SM2 server 2"), `sm2-client.{pem,key}`, `sm2-server-enc.key`
/// (encrypted with [`PASSWORD`]), `other-ca.pem` / `other-server.{pem,key}`
/// (a second SM2 CA), `rsa-ca.pem`, `rsa-server.{pem,key}`,
/// `rsa-server-enc.key`, `rsa-client.{pem,key}`, `client-cas.pem` (SM2 +
/// RSA CA), `garbage.pem`.
pub fn make_pki(dir: &TempDir) {
    let write = |name: &str, data: &str| std::fs::write(dir.path(name), data).unwrap();
    let ca = |alg, name: &str| {
        CertificateAuthority::init(
            &format!("CN={name},O=gmkit tests,C=CN").parse().unwrap(),
            30,
            KeyPair::generate(alg).unwrap(),
        )
        .unwrap()
    };
    let leaf = |ca: &CertificateAuthority, alg, ou: &str, profile, file: &str| -> KeyPair {
        let key = KeyPair::generate(alg).unwrap();
        let req = IssueRequest::new(
            format!("CN=localhost,OU={ou},O=gmkit tests,C=CN")
                .parse()
                .unwrap(),
            key.public_key().clone(),
            profile,
        )
        .days(7)
        .san(SubjectAltName::Dns("localhost".into()))
        .san(SubjectAltName::Ip([127, 0, 0, 1].into()));
        let cert = ca.issue(&req).unwrap();
        write(&format!("{file}.pem"), &cert.to_pem());
        write(&format!("{file}.key"), &key.to_pkcs8_pem().unwrap());
        key
    };
    let sm2_ca = ca(KeyAlgorithm::Sm2, "test SM2 CA");
    let rsa_ca = ca(KeyAlgorithm::Rsa2048, "test RSA CA");
    let other_ca = ca(KeyAlgorithm::Sm2, "other SM2 CA");
    write("sm2-ca.pem", &sm2_ca.certificate().to_pem());
    write("rsa-ca.pem", &rsa_ca.certificate().to_pem());
    write("other-ca.pem", &other_ca.certificate().to_pem());
    write(
        "client-cas.pem",
        &format!(
            "{}{}",
            sm2_ca.certificate().to_pem(),
            rsa_ca.certificate().to_pem()
        ),
    );
    let sm2_key = leaf(
        &sm2_ca,
        KeyAlgorithm::Sm2,
        "SM2 server",
        Profile::TlsServer,
        "sm2-server",
    );
    write(
        "sm2-server-enc.key",
        &sm2_key.to_encrypted_pem(PASSWORD.as_bytes()).unwrap(),
    );
    leaf(
        &sm2_ca,
        KeyAlgorithm::Sm2,
        "SM2 server 2",
        Profile::TlsServer,
        "sm2-server2",
    );
    leaf(
        &sm2_ca,
        KeyAlgorithm::Sm2,
        "SM2 client",
        Profile::TlsClient,
        "sm2-client",
    );
    leaf(
        &other_ca,
        KeyAlgorithm::Sm2,
        "other SM2 server",
        Profile::TlsServer,
        "other-server",
    );
    let rsa_key = leaf(
        &rsa_ca,
        KeyAlgorithm::Rsa2048,
        "RSA server",
        Profile::TlsServer,
        "rsa-server",
    );
    write(
        "rsa-server-enc.key",
        &rsa_key.to_encrypted_pem(PASSWORD.as_bytes()).unwrap(),
    );
    leaf(
        &rsa_ca,
        KeyAlgorithm::Rsa2048,
        "RSA client",
        Profile::TlsClient,
        "rsa-client",
    );
    write(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    );
}

/// Runs a command with a deadline (killed if it overruns).
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let exited = wait_or_kill(&mut child, limit);
    let out = child.wait_with_output().expect("output");
    assert!(
        exited,
        "command overran {limit:?}: {cmd:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Waits up to `limit` for `child` to exit; kills it and returns false if
/// it has not.
fn wait_or_kill(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// `gmkit ARGS` without `GMKIT_PASSWORD` in the environment.
pub fn gmkit(args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("GMKIT_PASSWORD");
    run_bounded(cmd, Duration::from_secs(30))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `gmkit serve` arguments for the dual stack over `make_pki`'s SM2 and RSA
/// server identities.
pub fn dual_args(dir: &TempDir) -> Vec<String> {
    [
        "--sm2-cert",
        "sm2-server.pem",
        "--sm2-key",
        "sm2-server.key",
        "--rsa-cert",
        "rsa-server.pem",
        "--rsa-key",
        "rsa-server.key",
    ]
    .iter()
    .map(|a| {
        if a.starts_with("--") {
            a.to_string()
        } else {
            dir.p(a)
        }
    })
    .collect()
}

pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A child process whose stdout lines are read on a thread, so tests can
/// wait for a line with a deadline. Killed on drop.
pub struct LineChild {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    /// Every stdout line seen so far.
    pub seen: Vec<String>,
}

impl LineChild {
    /// Spawns `cmd` with stdin closed and stdout/stderr piped.
    pub fn spawn(mut cmd: Command) -> Self {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        LineChild {
            child: Some(child),
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// The next stdout line for which `pred` holds; after 20 s the child is
    /// killed and the test fails with everything it printed.
    pub fn next_line(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => {
                    let stderr = self.kill_and_stderr();
                    panic!(
                        "no {what} line within 20 s; seen:\n{}\nstderr:\n{stderr}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    /// The process id (while running).
    pub fn id(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Waits up to `limit` for the child to exit (killing it after that)
    /// and returns whether it exited by itself, its exit status and stderr,
    /// and the stdout lines it printed since the last wait.
    pub fn wait_exit(&mut self, limit: Duration) -> (bool, Output, Vec<String>) {
        let mut child = self.child.take().expect("running");
        let exited = wait_or_kill(&mut child, limit);
        let out = child.wait_with_output().expect("output");
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line.clone());
            rest.push(line);
        }
        (exited, out, rest)
    }

    fn kill_and_stderr(&mut self) -> String {
        let Some(mut child) = self.child.take() else {
            return String::new();
        };
        let _ = child.kill();
        child
            .wait_with_output()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for LineChild {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A running `gmkit serve --json` on 127.0.0.1 (port chosen by the OS and
/// read from its first log line). Killed on drop.
pub struct Server {
    proc: LineChild,
    pub port: u16,
}

impl Server {
    /// Starts `gmkit serve --listen 127.0.0.1:0 --json ARGS`.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--json"])
            .args(args)
            .env_remove("GMKIT_PASSWORD");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut server = Server {
            proc: LineChild::spawn(cmd),
            port: 0,
        };
        let listening = server.wait_for(|v| v["event"] == "listening");
        let addr = listening["addr"].as_str().expect("addr").to_string();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        server.port = addr.rsplit(':').next().unwrap().parse().unwrap();
        server
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn localhost(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// Every stdout line seen so far.
    pub fn seen(&self) -> &[String] {
        &self.proc.seen
    }

    /// The next JSON log line matching `pred` (panics after 20 s, and on a
    /// line that is not JSON).
    pub fn wait_for(&mut self, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let line = self.proc.next_line("matching log", |line| {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            pred(&v)
        });
        serde_json::from_str(&line).expect("checked above")
    }

    /// The next connection record.
    pub fn next_connection(&mut self) -> serde_json::Value {
        self.wait_for(|v| v["event"] == "connection")
    }

    /// Sends SIGTERM and returns the exit status and remaining output.
    #[cfg(unix)]
    pub fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = Command::new("kill")
            .args(["-TERM", &self.proc.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let (exited, out, rest) = self.proc.wait_exit(Duration::from_secs(15));
        assert!(exited, "gmkit serve did not stop on SIGTERM");
        (out.status, rest)
    }
}

/// A client TLS stream over TCP.
pub type GmStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// rustls-gm's GM-preferring client trusting the CA certificates in `ca`,
/// full handshakes only (a resumed session would not show the certificate
/// the server serves now).
pub fn gm_client_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).expect("CA file") {
        roots.add(c.expect("CA PEM")).expect("CA certificate");
    }
    let mut config = rustls_gm::client::ClientBuilder::new(roots)
        .build()
        .expect("client config");
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// Opens a connection to `addr` as `localhost` and completes the handshake
/// (no application data).
pub fn open_gm(config: &Arc<rustls::ClientConfig>, addr: &str) -> Result<GmStream, String> {
    let conn = rustls::ClientConnection::new(config.clone(), "localhost".try_into().unwrap())
        .map_err(|e| format!("client: {e}"))?;
    let tcp = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut s = rustls::StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn
            .complete_io(&mut s.sock)
            .map_err(|e| format!("handshake: {e}"))?;
    }
    Ok(s)
}

/// Writes `msg`, reads the echo; checks the suite is the GM one.
pub fn echo_gm(s: &mut GmStream, msg: &[u8]) -> Result<(), String> {
    s.write_all(msg).map_err(|e| format!("write: {e}"))?;
    s.flush().map_err(|e| format!("flush: {e}"))?;
    let mut got = vec![0u8; msg.len()];
    s.read_exact(&mut got).map_err(|e| format!("read: {e}"))?;
    if got != msg {
        return Err("echo differs".into());
    }
    let suite = s.conn.negotiated_cipher_suite().map(|s| s.suite());
    if suite != Some(rustls_gm::codepoints::TLS_SM4_GCM_SM3) {
        return Err(format!("unexpected suite {suite:?}"));
    }
    Ok(())
}

/// `gmkit connect --json ARGS`, parsed.
pub fn connect_json(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut all = vec!["connect", "--json", "--timeout", "10"];
    all.extend_from_slice(args);
    let out = gmkit(&all);
    let text = stdout(&out);
    let v = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("connect output is not JSON ({e}): {text}\n{}", stderr(&out)));
    (out.status.code(), v, stderr(&out))
}

/// Replaces `dst` with `src`'s content atomically (temp file + rename).
pub fn install(src: &Path, dst: &Path) {
    let tmp = dst.with_extension("tmp-install");
    std::fs::copy(src, &tmp).unwrap();
    std::fs::rename(&tmp, dst).unwrap();
}
