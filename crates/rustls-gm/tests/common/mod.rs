//! Shared test material: certificates made with the `openssl` 3 CLI, and an
//! in-memory handshake driver.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::Acceptor;
use rustls::{ClientConnection, ConnectionCommon, RootCertStore, ServerConnection, SideData};
use rustls_gm::server::{DualStack, Stack};

/// A leaf certificate with its key and issuing CA.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub ca: CertificateDer<'static>,
    pub ca_path: PathBuf,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

impl Identity {
    pub fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
    pub fn roots(&self) -> RootCertStore {
        roots(&[&self.ca])
    }
}

pub struct Pki {
    pub dir: PathBuf,
    /// SM2 server (PKCS#8 key), SAN localhost / 127.0.0.1.
    pub sm2_server: Identity,
    /// The same SM2 server key as SEC1 `EC PRIVATE KEY`.
    pub sm2_server_sec1: PrivateKeyDer<'static>,
    /// SM2 client certificate from the same SM2 CA.
    pub sm2_client: Identity,
    /// A second SM2 CA's server certificate (untrusted by the others).
    pub sm2_other_ca_server: Identity,
    pub rsa_server: Identity,
    pub ecdsa_server: Identity,
    /// An RSA client certificate, from the RSA CA.
    pub rsa_client: Identity,
}

pub fn roots(cas: &[&CertificateDer<'static>]) -> RootCertStore {
    let mut r = RootCertStore::empty();
    for ca in cas {
        r.add((*ca).clone()).expect("CA certificate parses");
    }
    r
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI is installed");
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const EXT_LEAF: &str = "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n";

/// Which key algorithm a CA/leaf pair uses.
#[derive(Clone, Copy)]
enum Alg {
    Sm2,
    Rsa,
    EcdsaP256,
}

impl Alg {
    fn genpkey(self) -> &'static [&'static str] {
        match self {
            Alg::Sm2 => &["-algorithm", "SM2"],
            Alg::Rsa => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            Alg::EcdsaP256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        }
    }
    fn sign_opts(self) -> &'static [&'static str] {
        match self {
            Alg::Sm2 => &["-sm3", "-sigopt", "distid:1234567812345678"],
            Alg::Rsa | Alg::EcdsaP256 => &["-sha256"],
        }
    }
}

fn make_ca(dir: &Path, name: &str, alg: Alg) {
    let key = format!("{name}.key");
    let mut args = vec!["genpkey"];
    args.extend_from_slice(alg.genpkey());
    args.extend_from_slice(&["-out", &key]);
    openssl(dir, &args);
    let cert = format!("{name}.pem");
    let subj = format!("/CN=rustls-gm test {name}");
    let mut args = vec!["req", "-x509", "-new", "-key", &key];
    args.extend_from_slice(alg.sign_opts());
    args.extend_from_slice(&[
        "-subj",
        &subj,
        "-days",
        "3650",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        &cert,
    ]);
    openssl(dir, &args);
}

fn make_leaf(dir: &Path, ca: &str, name: &str, alg: Alg) -> Identity {
    let key = format!("{name}.key");
    let mut args = vec!["genpkey"];
    args.extend_from_slice(alg.genpkey());
    args.extend_from_slice(&["-out", &key]);
    openssl(dir, &args);
    let csr = format!("{name}.csr");
    let subj = format!("/CN={name}");
    let mut args = vec!["req", "-new", "-key", &key];
    args.extend_from_slice(alg.sign_opts());
    args.extend_from_slice(&["-subj", &subj, "-out", &csr]);
    openssl(dir, &args);
    std::fs::write(dir.join("leaf.ext"), EXT_LEAF).unwrap();
    let cert = format!("{name}.pem");
    let ca_pem = format!("{ca}.pem");
    let ca_key = format!("{ca}.key");
    let mut args = vec![
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca_pem,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
    ];
    args.extend_from_slice(alg.sign_opts());
    if let Alg::Sm2 = alg {
        args.extend_from_slice(&["-vfyopt", "distid:1234567812345678"]);
    }
    args.extend_from_slice(&["-days", "365", "-extfile", "leaf.ext", "-out", &cert]);
    openssl(dir, &args);
    load_identity(dir, ca, name)
}

fn load_identity(dir: &Path, ca: &str, name: &str) -> Identity {
    let cert_path = dir.join(format!("{name}.pem"));
    let key_path = dir.join(format!("{name}.key"));
    let ca_path = dir.join(format!("{ca}.pem"));
    Identity {
        chain: CertificateDer::pem_file_iter(&cert_path)
            .unwrap()
            .map(Result::unwrap)
            .collect(),
        key: PrivateKeyDer::from_pem_file(&key_path).unwrap(),
        ca: CertificateDer::from_pem_file(&ca_path).unwrap(),
        ca_path,
        cert_path,
        key_path,
    }
}

/// The test PKI, made once per test binary.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        // Under cargo's per-target scratch dir; stale runs' dirs are removed.
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let exe = std::env::current_exe().unwrap();
        let prefix = format!("rustls-gm-{}-", exe.file_stem().unwrap().to_string_lossy());
        if let Ok(entries) = std::fs::read_dir(base) {
            for e in entries.flatten() {
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .map(|t| t.elapsed().unwrap_or_default().as_secs() > 600)
                    .unwrap_or(false);
                if old && e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = base.join(format!("{prefix}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        make_ca(&dir, "sm2-ca", Alg::Sm2);
        make_ca(&dir, "sm2-ca2", Alg::Sm2);
        make_ca(&dir, "rsa-ca", Alg::Rsa);
        make_ca(&dir, "ecdsa-ca", Alg::EcdsaP256);
        let sm2_server = make_leaf(&dir, "sm2-ca", "sm2-server", Alg::Sm2);
        // OpenSSL 3 writes SEC1 SM2 keys under the PEM label "SM2 PRIVATE KEY".
        openssl(
            &dir,
            &["ec", "-in", "sm2-server.key", "-out", "sm2-server-sec1.key"],
        );
        let sec1 = std::fs::read(dir.join("sm2-server-sec1.key")).unwrap();
        let sm2_server_sec1 = rustls_gm::private_key_from_pem(&sec1).unwrap();
        assert!(matches!(sm2_server_sec1, PrivateKeyDer::Sec1(_)));
        Pki {
            sm2_server,
            sm2_server_sec1,
            sm2_client: make_leaf(&dir, "sm2-ca", "sm2-client", Alg::Sm2),
            sm2_other_ca_server: make_leaf(&dir, "sm2-ca2", "sm2-other", Alg::Sm2),
            rsa_server: make_leaf(&dir, "rsa-ca", "rsa-server", Alg::Rsa),
            ecdsa_server: make_leaf(&dir, "ecdsa-ca", "ecdsa-server", Alg::EcdsaP256),
            rsa_client: make_leaf(&dir, "rsa-ca", "rsa-client", Alg::Rsa),
            dir,
        }
    })
}

/// Which side of an in-memory handshake failed, and how.
#[derive(Debug)]
pub enum Failure {
    Client(rustls::Error),
    Server(rustls::Error),
}

impl Failure {
    pub fn error(&self) -> &rustls::Error {
        match self {
            Failure::Client(e) | Failure::Server(e) => e,
        }
    }
}

/// Moves all pending TLS bytes from `from` to `to` (processing them as they
/// arrive, so `to`'s input buffer never fills up).
pub fn transfer<A: SideData, B: SideData>(
    from: &mut ConnectionCommon<A>,
    to: &mut ConnectionCommon<B>,
) -> Result<usize, rustls::Error> {
    let mut buf = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut buf).unwrap();
    }
    let mut rd = &buf[..];
    while !rd.is_empty() {
        to.read_tls(&mut rd).unwrap();
        to.process_new_packets()?;
    }
    Ok(buf.len())
}

/// Runs both sides until no bytes move; returns the first error, after
/// delivering the failing side's alert to its peer.
pub fn pump(client: &mut ClientConnection, server: &mut ServerConnection) -> Result<(), Failure> {
    loop {
        let mut moved =
            match transfer(client, server).and_then(|n| server.process_new_packets().map(|_| n)) {
                Ok(n) => n,
                Err(e) => {
                    let _ = transfer(server, client);
                    return Err(Failure::Server(e));
                }
            };
        moved +=
            match transfer(server, client).and_then(|n| client.process_new_packets().map(|_| n)) {
                Ok(n) => n,
                Err(e) => {
                    let _ = transfer(client, server);
                    return Err(Failure::Client(e));
                }
            };
        if moved == 0 {
            return Ok(());
        }
    }
}

/// A full in-memory handshake against a plain `ServerConfig`.
pub fn connect(
    client_config: &Arc<rustls::ClientConfig>,
    server_config: &Arc<rustls::ServerConfig>,
) -> Result<(ClientConnection, ServerConnection), Failure> {
    let mut client = new_client(client_config);
    let mut server = ServerConnection::new(Arc::clone(server_config)).unwrap();
    pump(&mut client, &mut server)?;
    assert!(!client.is_handshaking() && !server.is_handshaking());
    Ok((client, server))
}

pub fn new_client(config: &Arc<rustls::ClientConfig>) -> ClientConnection {
    ClientConnection::new(Arc::clone(config), "localhost".try_into().unwrap()).unwrap()
}

/// A full in-memory handshake through the dual-stack acceptor.
pub fn connect_dual(
    client_config: &Arc<rustls::ClientConfig>,
    dual: &DualStack,
) -> Result<(ClientConnection, ServerConnection, Stack), Failure> {
    let mut client = new_client(client_config);
    let mut acceptor = Acceptor::default();
    let accepted = loop {
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).unwrap();
        }
        assert!(
            !buf.is_empty(),
            "client stalled before the ClientHello was complete"
        );
        acceptor.read_tls(&mut &buf[..]).unwrap();
        match acceptor.accept() {
            Ok(Some(accepted)) => break accepted,
            Ok(None) => continue,
            Err((e, mut alert)) => {
                let mut out = Vec::new();
                alert.write_all(&mut out).unwrap();
                client.read_tls(&mut &out[..]).unwrap();
                let _ = client.process_new_packets();
                return Err(Failure::Server(e));
            }
        }
    };
    match dual.accept_connection(accepted) {
        Ok((mut server, stack)) => {
            pump(&mut client, &mut server)?;
            assert!(!client.is_handshaking() && !server.is_handshaking());
            Ok((client, server, stack))
        }
        Err((e, mut alert)) => {
            let mut out = Vec::new();
            alert.write_all(&mut out).unwrap();
            client.read_tls(&mut &out[..]).unwrap();
            let _ = client.process_new_packets();
            Err(Failure::Server(e))
        }
    }
}

/// Sends application data both ways and checks it arrives intact.
pub fn exchange(client: &mut ClientConnection, server: &mut ServerConnection) {
    use std::io::Read as _;
    client.writer().write_all(b"ping from client").unwrap();
    pump(client, server).unwrap();
    let mut got = vec![0u8; 16];
    server.reader().read_exact(&mut got).unwrap();
    assert_eq!(got, b"ping from client");
    // Several records (the receive buffer holds 16 KiB of plaintext).
    for i in 0..5u8 {
        let big = vec![i; 10_000];
        server.writer().write_all(&big).unwrap();
        pump(client, server).unwrap();
        let mut got = vec![0u8; big.len()];
        client.reader().read_exact(&mut got).unwrap();
        assert_eq!(got, big);
    }
}

pub fn write_file(path: &Path, data: &[u8]) {
    std::fs::File::create(path)
        .unwrap()
        .write_all(data)
        .unwrap();
}
