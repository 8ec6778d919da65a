//! Hot reload: files swapped under a running resolver are served by the next
//! handshake; broken, mismatched, half-written, expired or wrong-type files
//! are reported and the previous certificate keeps serving.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{pki, pump, roots, Identity};
use rustls::pki_types::CertificateDer;
use rustls::server::Acceptor;
use rustls::{ClientConfig, ClientConnection, SignatureScheme};
use rustls_gm::client::ClientBuilder;
use rustls_gm::codepoints::{SM2SIG_SM3, TLS_SM4_GCM_SM3};
use rustls_gm::reload::{
    CertFiles, CheckOutcome, ReloadError, ReloadEvent, ReloadOptions, ReloadingDualStack,
    ReloadingResolver, Selection,
};
use rustls_gm::server::{Policy, Stack};

/// A scratch directory under cargo's per-target tmp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "rustls-gm-reload-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `data` to `path` atomically: temporary file, then rename.
fn replace_atomically(path: &Path, data: &[u8]) {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).unwrap();
    f.write_all(data).unwrap();
    f.sync_all().unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Overwrites `path` in place (truncate, then write), like a careless writer.
fn overwrite_in_place(path: &Path, data: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    f.write_all(data).unwrap();
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Installs `id`'s certificate and key as `name.crt` / `name.key`.
fn install(dir: &Scratch, name: &str, id: &Identity) -> CertFiles {
    let cert = dir.path(&format!("{name}.crt"));
    let key = dir.path(&format!("{name}.key"));
    replace_atomically(&cert, &read(&id.cert_path));
    replace_atomically(&key, &read(&id.key_path));
    CertFiles::new(cert, key)
}

fn swap(files: &CertFiles, id: &Identity) {
    replace_atomically(files.cert_path(), &read(&id.cert_path));
    replace_atomically(files.key_path(), &read(&id.key_path));
}

fn gm_client() -> Arc<ClientConfig> {
    Arc::new(
        ClientBuilder::new(pki().sm2_server.roots())
            .gm_only()
            .build()
            .unwrap(),
    )
}

fn standard_client() -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder_with_provider(
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(pki().rsa_server.roots())
        .with_no_client_auth(),
    )
}

/// An in-memory handshake through the reloading dual stack; returns the
/// certificate the client received and what the server says it served.
fn handshake(
    client: &Arc<ClientConfig>,
    server: &ReloadingDualStack,
) -> Result<(CertificateDer<'static>, Selection, ClientConnection), String> {
    let mut client = common::new_client(client);
    let mut acceptor = Acceptor::default();
    let accepted = loop {
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).unwrap();
        }
        acceptor.read_tls(&mut &buf[..]).unwrap();
        match acceptor.accept() {
            Ok(Some(accepted)) => break accepted,
            Ok(None) => continue,
            Err((e, _)) => return Err(e.to_string()),
        }
    };
    let (mut conn, selection) = server
        .accept_connection(accepted)
        .map_err(|(e, _)| e.to_string())?;
    pump(&mut client, &mut conn).map_err(|e| format!("{e:?}"))?;
    if client.is_handshaking() {
        return Err("handshake did not complete".into());
    }
    rustls_gm::client::verify_negotiated(&client).map_err(|e| e.to_string())?;
    let served = client.peer_certificates().unwrap()[0].clone();
    if client.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
        // No certificate was sent; the session keeps its original one.
        assert_eq!(selection.signature_scheme(), None);
    } else {
        assert_eq!(
            &served,
            selection.identity().end_entity(),
            "the Selection names the certificate actually served"
        );
    }
    Ok((served, selection, client))
}

fn events() -> (ReloadOptions, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let options = ReloadOptions::new().on_event(move |e| {
        let line = match e {
            ReloadEvent::Loaded { stack, identity } => {
                format!("loaded {stack:?} gen {}", identity.generation())
            }
            ReloadEvent::Failed { stack, error } => format!("failed {stack:?}: {error}"),
            _ => "other".into(),
        };
        sink.lock().unwrap().push(line);
    });
    (options, log)
}

#[test]
fn atomic_swap_is_served_on_both_stacks() {
    let p = pki();
    let dir = Scratch::new("swap");
    let gm_files = install(&dir, "sm2", &p.sm2_server);
    let std_files = install(&dir, "rsa", &p.rsa_server);
    let (options, log) = events();
    let server = ReloadingDualStack::builder()
        .gm_files(gm_files.clone())
        .standard_files(std_files.clone())
        .options(options)
        .build()
        .unwrap();
    // Fresh client configs for each handshake: a reused one would resume
    // the session and never see a new certificate.
    let (gm, standard) = (gm_client, standard_client);

    let (cert, sel, conn) = handshake(&gm(), &server).unwrap();
    assert_eq!(cert, p.sm2_server.chain[0]);
    assert_eq!(sel.stack(), Stack::Gm);
    assert_eq!(sel.identity().generation(), 1);
    assert_eq!(sel.signature_scheme(), Some(SM2SIG_SM3));
    assert_eq!(
        conn.negotiated_cipher_suite().unwrap().suite(),
        TLS_SM4_GCM_SM3
    );
    assert_eq!(sel.identity().summary().key_type, "SM2");
    assert_eq!(sel.identity().summary().subject, "CN=sm2-server");
    let (cert, sel, _) = handshake(&standard(), &server).unwrap();
    assert_eq!(cert, p.rsa_server.chain[0]);
    assert_eq!(sel.stack(), Stack::Standard);
    assert_eq!(sel.identity().summary().key_type, "RSA-2048");
    assert!(matches!(
        sel.signature_scheme(),
        Some(
            SignatureScheme::RSA_PSS_SHA256
                | SignatureScheme::RSA_PSS_SHA384
                | SignatureScheme::RSA_PSS_SHA512
        )
    ));

    // Nothing changed yet.
    assert!(server
        .check_now()
        .iter()
        .all(|(_, o)| *o == CheckOutcome::Unchanged));

    swap(&gm_files, &p.sm2_client);
    swap(&std_files, &p.rsa_client);
    let outcomes = server.check_now();
    assert!(
        outcomes
            .iter()
            .all(|(_, o)| *o == CheckOutcome::Reloaded(2)),
        "{outcomes:?}"
    );

    let (cert, sel, _) = handshake(&gm(), &server).unwrap();
    assert_eq!(cert, p.sm2_client.chain[0]);
    assert_eq!(sel.identity().generation(), 2);
    assert_eq!(sel.identity().summary().subject, "CN=sm2-client");
    let (cert, _, _) = handshake(&standard(), &server).unwrap();
    assert_eq!(cert, p.rsa_client.chain[0]);

    let stats = server.resolver(Stack::Gm).unwrap().stats();
    assert_eq!((stats.generation, stats.reloads, stats.failures), (2, 1, 0));
    let log = log.lock().unwrap();
    assert!(log.contains(&"loaded Gm gen 2".to_string()), "{log:?}");
    assert!(
        log.contains(&"loaded Standard gen 2".to_string()),
        "{log:?}"
    );
}

#[test]
fn broken_file_is_reported_and_the_old_certificate_keeps_serving() {
    let p = pki();
    let dir = Scratch::new("broken");
    let gm_files = install(&dir, "sm2", &p.sm2_server);
    let std_files = install(&dir, "rsa", &p.rsa_server);
    let (options, log) = events();
    let server = ReloadingDualStack::builder()
        .gm_files(gm_files.clone())
        .standard_files(std_files.clone())
        .options(options)
        .build()
        .unwrap();
    let gm_resolver = Arc::clone(server.resolver(Stack::Gm).unwrap());

    replace_atomically(
        gm_files.cert_path(),
        b"-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n",
    );
    replace_atomically(std_files.key_path(), b"not a key at all");
    let outcomes = server.check_now();
    assert!(
        matches!(
            &outcomes[..],
            [(_, CheckOutcome::Failed(_)), (_, CheckOutcome::Failed(_))]
        ),
        "{outcomes:?}"
    );
    assert!(matches!(
        gm_resolver.last_error(),
        Some(ReloadError::Certificate { .. })
    ));
    assert!(matches!(
        server.resolver(Stack::Standard).unwrap().last_error(),
        Some(ReloadError::Key { .. })
    ));
    assert_eq!(gm_resolver.stats().failures, 1);

    // Still the old pairs, on both stacks.
    let (cert, sel, _) = handshake(&gm_client(), &server).unwrap();
    assert_eq!(cert, p.sm2_server.chain[0]);
    assert_eq!(sel.identity().generation(), 1);
    let (cert, _, _) = handshake(&standard_client(), &server).unwrap();
    assert_eq!(cert, p.rsa_server.chain[0]);

    // Reported once per change, not at every check.
    assert!(server
        .check_now()
        .iter()
        .all(|(_, o)| *o == CheckOutcome::Unchanged));
    assert_eq!(gm_resolver.stats().failures, 1);
    assert_eq!(log.lock().unwrap().len(), 2, "{:?}", log.lock().unwrap());
    assert!(log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.starts_with("failed Gm:")));

    // A deleted file is a failure too.
    std::fs::remove_file(gm_files.cert_path()).unwrap();
    assert!(matches!(
        gm_resolver.check_now(),
        CheckOutcome::Failed(ReloadError::Io { .. })
    ));
    assert_eq!(
        handshake(&gm_client(), &server).unwrap().0,
        p.sm2_server.chain[0]
    );

    // Repaired: a new pair loads and the error clears.
    swap(&gm_files, &p.sm2_client);
    assert_eq!(gm_resolver.check_now(), CheckOutcome::Reloaded(2));
    assert_eq!(gm_resolver.last_error(), None);
    assert_eq!(
        handshake(&gm_client(), &server).unwrap().0,
        p.sm2_client.chain[0]
    );
}

#[test]
fn non_atomic_writer_never_gets_a_half_written_pair_served() {
    let p = pki();
    let dir = Scratch::new("partial");
    let files = install(&dir, "sm2", &p.sm2_server);
    let resolver = ReloadingResolver::new(Stack::Gm, files.clone(), ReloadOptions::new()).unwrap();
    let server_for = |r: &Arc<ReloadingResolver>| r.current().end_entity().clone();

    let new_cert = read(&p.sm2_client.cert_path);
    let new_key = read(&p.sm2_client.key_path);

    // 1. Half of the new certificate.
    overwrite_in_place(files.cert_path(), &new_cert[..new_cert.len() / 2]);
    assert!(matches!(
        resolver.check_now(),
        CheckOutcome::Failed(ReloadError::Certificate { .. })
    ));
    assert_eq!(server_for(&resolver), p.sm2_server.chain[0]);

    // 2. The whole new certificate, old key still in place.
    overwrite_in_place(files.cert_path(), &new_cert);
    assert_eq!(
        resolver.check_now(),
        CheckOutcome::Failed(ReloadError::KeyMismatch {
            cert: files.cert_path().to_path_buf(),
            key: files.key_path().to_path_buf(),
        })
    );
    assert_eq!(server_for(&resolver), p.sm2_server.chain[0]);

    // 3. Half of the new key.
    overwrite_in_place(files.key_path(), &new_key[..new_key.len() / 2]);
    assert!(matches!(resolver.check_now(), CheckOutcome::Failed(_)));
    assert_eq!(server_for(&resolver), p.sm2_server.chain[0]);

    // 4. Complete: now it loads.
    overwrite_in_place(files.key_path(), &new_key);
    assert_eq!(resolver.check_now(), CheckOutcome::Reloaded(2));
    assert_eq!(server_for(&resolver), p.sm2_client.chain[0]);
    assert_eq!(resolver.stats().failures, 3);

    // The same with the key written first (new key, old certificate).
    overwrite_in_place(files.key_path(), &read(&p.sm2_server.key_path));
    assert!(matches!(
        resolver.check_now(),
        CheckOutcome::Failed(ReloadError::KeyMismatch { .. })
    ));
    assert_eq!(server_for(&resolver), p.sm2_client.chain[0]);
    overwrite_in_place(files.cert_path(), &read(&p.sm2_server.cert_path));
    assert_eq!(resolver.check_now(), CheckOutcome::Reloaded(3));
    assert_eq!(server_for(&resolver), p.sm2_server.chain[0]);
}

#[test]
fn a_chain_cut_between_certificates_is_refused() {
    // A leaf followed by half an intermediate: the leaf alone would parse
    // and match the key, but the file is incomplete.
    let p = pki();
    let dir = Scratch::new("chain");
    let files = install(&dir, "sm2", &p.sm2_server);
    let resolver = ReloadingResolver::new(Stack::Gm, files.clone(), ReloadOptions::new()).unwrap();
    let mut chain = read(&p.sm2_client.cert_path);
    let ca = read(&p.sm2_server.ca_path);
    chain.extend_from_slice(&ca[..ca.len() / 2]);
    replace_atomically(files.cert_path(), &chain);
    replace_atomically(files.key_path(), &read(&p.sm2_client.key_path));
    assert!(
        matches!(
            resolver.check_now(),
            CheckOutcome::Failed(ReloadError::Certificate { .. })
        ),
        "{:?}",
        resolver.last_error()
    );
    assert_eq!(resolver.current().generation(), 1);
}

#[test]
fn settle_waits_for_files_to_stop_changing() {
    let p = pki();
    let dir = Scratch::new("settle");
    let files = install(&dir, "rsa", &p.rsa_server);
    let resolver = ReloadingResolver::new(
        Stack::Standard,
        files.clone(),
        ReloadOptions::new().settle(Duration::from_millis(150)),
    )
    .unwrap();
    swap(&files, &p.rsa_client);
    assert!(matches!(resolver.check_now(), CheckOutcome::Settling(_)));
    assert!(matches!(resolver.check_now(), CheckOutcome::Settling(_)));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(resolver.check_now(), CheckOutcome::Reloaded(2));
}

#[test]
fn wrong_key_types_are_refused() {
    let p = pki();
    let dir = Scratch::new("types");
    // RSA pair as the GM identity, SM2 pair as the standard one.
    let gm_files = install(&dir, "gm", &p.rsa_server);
    let std_files = install(&dir, "std", &p.sm2_server);
    let e = ReloadingResolver::new(Stack::Gm, gm_files.clone(), ReloadOptions::new()).unwrap_err();
    assert!(
        matches!(
            e,
            ReloadError::WrongKeyType {
                stack: Stack::Gm,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("not an SM2 key"), "{e}");
    let e = ReloadingResolver::new(Stack::Standard, std_files, ReloadOptions::new()).unwrap_err();
    assert!(
        matches!(
            e,
            ReloadError::WrongKeyType {
                stack: Stack::Standard,
                ..
            }
        ),
        "{e}"
    );

    // And at reload time: the old SM2 pair keeps serving.
    swap(&gm_files, &p.sm2_server);
    let resolver =
        ReloadingResolver::new(Stack::Gm, gm_files.clone(), ReloadOptions::new()).unwrap();
    swap(&gm_files, &p.ecdsa_server);
    assert!(matches!(
        resolver.check_now(),
        CheckOutcome::Failed(ReloadError::WrongKeyType { .. })
    ));
    assert_eq!(resolver.current().end_entity(), &p.sm2_server.chain[0]);
}

/// An RSA certificate for the rsa-client key that expired in 2020, made
/// with `openssl ca` (the only OpenSSL 3.0 command that sets both dates).
fn expired_rsa_cert(dir: &Scratch) -> PathBuf {
    let p = pki();
    let cnf = "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = pol\nunique_subject = no\n[pol]\ncommonName = supplied\n";
    std::fs::write(dir.path("ca.cnf"), cnf).unwrap();
    std::fs::write(dir.path("index.txt"), "").unwrap();
    std::fs::write(dir.path("serial"), "1000\n").unwrap();
    let out = dir.path("expired.pem");
    let status = Command::new("openssl")
        .current_dir(&dir.0)
        .args(["ca", "-batch", "-notext", "-config", "ca.cnf", "-cert"])
        .arg(&p.rsa_server.ca_path)
        .arg("-keyfile")
        .arg(p.dir.join("rsa-ca.key"))
        .arg("-in")
        .arg(p.dir.join("rsa-client.csr"))
        .args([
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200102000000Z",
            "-out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    out
}

#[test]
fn expired_certificate_is_refused() {
    let p = pki();
    let dir = Scratch::new("expired");
    let files = install(&dir, "rsa", &p.rsa_server);
    let resolver =
        ReloadingResolver::new(Stack::Standard, files.clone(), ReloadOptions::new()).unwrap();
    let expired = expired_rsa_cert(&dir);
    replace_atomically(files.cert_path(), &read(&expired));
    replace_atomically(files.key_path(), &read(&p.rsa_client.key_path));
    match resolver.check_now() {
        CheckOutcome::Failed(e @ ReloadError::Expired { .. }) => {
            assert!(
                e.to_string().contains("expired at 2020-01-02T00:00:00Z"),
                "{e}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(resolver.current().end_entity(), &p.rsa_server.chain[0]);
    // At start-up it is an error.
    let e = ReloadingResolver::new(Stack::Standard, files, ReloadOptions::new()).unwrap_err();
    assert!(matches!(e, ReloadError::Expired { .. }), "{e}");
}

#[test]
fn lazy_check_on_handshake_and_background_watcher() {
    let p = pki();
    let dir = Scratch::new("lazy");
    let gm_files = install(&dir, "sm2", &p.sm2_server);
    let server = ReloadingDualStack::builder()
        .gm_files(gm_files.clone())
        .policy(Policy::GmOnly)
        .options(ReloadOptions::new().check_every(Duration::ZERO))
        .build()
        .unwrap();
    swap(&gm_files, &p.sm2_client);
    // No explicit check: the handshake's resolver call notices the change.
    assert_eq!(
        handshake(&gm_client(), &server).unwrap().0,
        p.sm2_client.chain[0]
    );

    // A watcher thread, no lazy checks.
    let dir2 = Scratch::new("watch");
    let std_files = install(&dir2, "rsa", &p.rsa_server);
    let server = ReloadingDualStack::builder()
        .standard_files(std_files.clone())
        .policy(Policy::StandardOnly)
        .build()
        .unwrap();
    let watcher = server.watch(Duration::from_millis(20)).unwrap();
    swap(&std_files, &p.rsa_client);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server
        .resolver(Stack::Standard)
        .unwrap()
        .current()
        .generation()
        < 2
    {
        assert!(Instant::now() < deadline, "the watcher did not reload");
        std::thread::sleep(Duration::from_millis(10));
    }
    watcher.stop();
    assert_eq!(
        handshake(&standard_client(), &server).unwrap().0,
        p.rsa_client.chain[0]
    );
}

#[test]
fn handshakes_never_fail_while_files_are_swapped() {
    let p = pki();
    let dir = Scratch::new("race");
    let gm_files = install(&dir, "sm2", &p.sm2_server);
    let std_files = install(&dir, "rsa", &p.rsa_server);
    let server = Arc::new(
        ReloadingDualStack::builder()
            .gm_files(gm_files.clone())
            .standard_files(std_files.clone())
            .options(ReloadOptions::new().check_every(Duration::from_millis(1)))
            .build()
            .unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let makers: [fn() -> Arc<ClientConfig>; 2] = [gm_client, standard_client];
    let clients: Vec<_> = makers
        .into_iter()
        .map(|client| {
            let (server, stop) = (Arc::clone(&server), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut served = std::collections::HashSet::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) || n < 5 {
                    let (cert, _, _) =
                        handshake(&client(), &server).expect("handshake during swap");
                    served.insert(cert);
                    n += 1;
                }
                (n, served)
            })
        })
        .collect();
    for round in 0..20 {
        let (gm, rsa) = if round % 2 == 0 {
            (&p.sm2_client, &p.rsa_client)
        } else {
            (&p.sm2_server, &p.rsa_server)
        };
        // Half of the rounds non-atomically (key and cert out of step).
        if round % 4 < 2 {
            swap(&gm_files, gm);
            swap(&std_files, rsa);
        } else {
            overwrite_in_place(gm_files.key_path(), &read(&gm.key_path));
            overwrite_in_place(std_files.cert_path(), &read(&rsa.cert_path));
            std::thread::sleep(Duration::from_millis(5));
            overwrite_in_place(gm_files.cert_path(), &read(&gm.cert_path));
            overwrite_in_place(std_files.key_path(), &read(&rsa.key_path));
        }
        std::thread::sleep(Duration::from_millis(15));
    }
    stop.store(true, Ordering::Relaxed);
    for (i, c) in clients.into_iter().enumerate() {
        let (n, served) = c.join().unwrap();
        assert!(n >= 5);
        let allowed = if i == 0 {
            [&p.sm2_server.chain[0], &p.sm2_client.chain[0]]
        } else {
            [&p.rsa_server.chain[0], &p.rsa_client.chain[0]]
        };
        assert!(served.iter().all(|c| allowed.contains(&c)));
    }
}

#[test]
fn builder_errors() {
    let p = pki();
    let dir = Scratch::new("builder");
    let e = ReloadingDualStack::builder()
        .gm_files(install(&dir, "sm2", &p.sm2_server))
        .build()
        .unwrap_err();
    assert!(matches!(e, ReloadError::Config(_)), "{e}");
    let e = ReloadingDualStack::builder()
        .gm_files(CertFiles::new(
            dir.path("missing.crt"),
            dir.path("missing.key"),
        ))
        .policy(Policy::GmOnly)
        .build()
        .unwrap_err();
    assert!(matches!(e, ReloadError::Io { .. }), "{e}");
    assert!(e.to_string().contains("missing.crt"), "{e}");
    let e = ReloadingDualStack::builder()
        .gm_files(install(&dir, "sm2b", &p.sm2_server))
        .policy(Policy::GmOnly)
        .configure(|_, c| {
            c.cert_resolver = Arc::new(rustls::server::ResolvesServerCertUsingSni::new())
        })
        .build()
        .unwrap_err();
    assert!(matches!(e, ReloadError::Config(_)), "{e}");
}

#[test]
fn encrypted_sm2_key_with_password_and_gm_client_auth() {
    let p = pki();
    let dir = Scratch::new("enc");
    let key = gm_sm2::PrivateKey::load(&read(&p.sm2_server.key_path), None).unwrap();
    let enc = key
        .to_encrypted_pkcs8_pem(b"hunter2", &gm_sm2::Pbes2Params::default())
        .unwrap();
    std::fs::write(dir.path("enc.key"), enc.as_bytes()).unwrap();
    std::fs::copy(&p.sm2_server.cert_path, dir.path("enc.crt")).unwrap();
    let files = CertFiles::new(dir.path("enc.crt"), dir.path("enc.key"));
    let e = ReloadingResolver::new(Stack::Gm, files.clone(), ReloadOptions::new()).unwrap_err();
    assert!(e.to_string().contains("encrypted"), "{e}");
    let e = ReloadingResolver::new(
        Stack::Gm,
        files.clone().password("wrong"),
        ReloadOptions::new(),
    )
    .unwrap_err();
    assert!(matches!(e, ReloadError::Key { .. }), "{e}");

    let server = ReloadingDualStack::builder()
        .gm_files(files.password("hunter2"))
        .policy(Policy::GmOnly)
        .gm_client_auth(rustls_gm::server::gm_client_verifier(p.sm2_client.roots()).unwrap())
        .build()
        .unwrap();
    let client = Arc::new(
        ClientBuilder::new(roots(&[&p.sm2_server.ca]))
            .gm_only()
            .client_auth(p.sm2_client.chain.clone(), p.sm2_client.key())
            .build()
            .unwrap(),
    );
    let (cert, sel, _) = handshake(&client, &server).unwrap();
    assert_eq!(cert, p.sm2_server.chain[0]);
    assert_eq!(sel.signature_scheme(), Some(SM2SIG_SM3));
    // Without a client certificate the GM stack refuses.
    assert!(handshake(&gm_client(), &server).is_err());
}
