//! End to end: `gmkit serve` (GM only) runs with an SM2 certificate that
//! expires in a day, `gmkit rotate apply` replaces it through the rotation
//! store's `current` symlink, and the server's hot reload picks it up:
//!
//! * a TLS connection opened before the rotation keeps working after it;
//! * connections opened after it are served the new certificate (new
//!   serial, later `not_after`), seen both by an in-process rustls client
//!   and by `gmkit connect --json`;
//! * no handshake fails while the swap happens (a client thread opens
//!   connections in a loop throughout, bounded in count and time).

mod serve_support;

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serve_support::{
    connect_json, echo_gm as echo, gm_client_config as client_config, gmkit, open_gm as open,
    stderr, stdout, GmStream, Server, TempDir,
};

/// Upper bounds for the client loop running during the rotation.
const MAX_LOOP_CONNECTIONS: usize = 20_000;
/// Pause between two connections of the loop.
const LOOP_PAUSE: Duration = Duration::from_millis(2);
const MAX_LOOP_TIME: Duration = Duration::from_secs(60);
/// Connections the loop must make with the new certificate before it stops.
const AFTER_SWAP_CONNECTIONS: usize = 20;

/// Serial (hex) of the certificate the server sent.
fn peer_serial(s: &GmStream) -> String {
    let chain = s.conn.peer_certificates().expect("server certificate");
    gm_pki::Certificate::from_der(chain[0].as_ref())
        .expect("parse server certificate")
        .serial_hex()
}

/// A serial as `gmkit connect` / `gmkit serve` print it ("7F:61:..."),
/// in `cert show`'s form ("7F61...").
fn serial_of(cert: &serde_json::Value) -> String {
    cert["serial"]
        .as_str()
        .unwrap_or_else(|| panic!("no serial in {cert}"))
        .replace(':', "")
}

fn close(mut s: GmStream) {
    s.conn.send_close_notify();
    let _ = s.flush();
}

/// `gmkit cert show --json FILE`.
fn cert_show(path: &str) -> serde_json::Value {
    let o = gmkit(&["cert", "show", path, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("cert show JSON")
}

#[derive(Default, Debug)]
struct LoopStats {
    ok: usize,
    failures: Vec<String>,
    /// Serials in the order they were seen (consecutive duplicates merged),
    /// with how many connections saw each.
    serials: Vec<(String, usize)>,
}

#[test]
fn rotate_apply_is_picked_up_without_failed_handshakes() {
    let dir = TempDir::new("rotate-e2e");
    let o = gmkit(&[
        "ca",
        "init",
        "--dir",
        &dir.p("ca"),
        "--subject",
        "CN=gmkit e2e root,O=gmkit tests,C=CN",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // A certificate valid for one day, installed by hand as regular files
    // (the first `rotate apply` adopts them as version 1).
    std::fs::create_dir_all(dir.path("live")).unwrap();
    let run = |args: &[&str]| {
        let o = gmkit(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    };
    run(&["key", "gen", "--alg", "sm2", "--out", &dir.p("live/gw.key")]);
    run(&[
        "csr",
        "new",
        "--key",
        &dir.p("live/gw.key"),
        "--subject",
        "CN=localhost,O=gmkit tests,C=CN",
        "--san",
        "DNS:localhost",
        "--san",
        "IP:127.0.0.1",
        "--out",
        &dir.p("gw.csr"),
    ]);
    run(&[
        "ca",
        "issue",
        "--dir",
        &dir.p("ca"),
        "--csr",
        &dir.p("gw.csr"),
        "--profile",
        "server",
        "--days",
        "1",
        "--out",
        &dir.p("live/gw.crt"),
    ]);
    let old = cert_show(&dir.p("live/gw.crt"));
    assert!(old["days_left"].as_i64().unwrap() <= 1, "{old}");
    let old_serial = old["serial"].as_str().unwrap().to_string();

    // Managed with a 30-day renew window: due now.
    std::fs::write(
        dir.path("rotate.toml"),
        r#"
[[cert]]
name = "gw"
cert = "live/gw.crt"
key = "live/gw.key"
renew_before_days = 30
key_algorithm = "sm2"
subject = "CN=localhost,O=gmkit tests,C=CN"
sans = ["DNS:localhost", "IP:127.0.0.1"]
profile = "server"
days = 365
issuer = "local-ca"
ca_dir = "ca"
"#,
    )
    .expect("write rotate.toml");
    let rotate = |sub: &str| {
        let o = gmkit(&["rotate", sub, "--config", &dir.p("rotate.toml"), "--json"]);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o))
            .unwrap_or_else(|e| panic!("rotate {sub} JSON ({e}): {}", stdout(&o)));
        (o.status.code(), v)
    };
    let (code, v) = rotate("plan");
    assert_eq!(code, Some(3), "{v}");
    assert_eq!(v["items"][0]["status"], "renew", "{v}");

    let mut server = Server::start(&[
        "--sm2-cert",
        &dir.p("live/gw.crt"),
        "--sm2-key",
        &dir.p("live/gw.key"),
        "--policy",
        "gm-only",
        "--reload-interval",
        "0.1",
    ]);
    let addr = server.addr();
    let ca = dir.path("ca/ca.crt");
    let tls = client_config(&ca);

    // Before the rotation: the old certificate, via both clients.
    let (code, v, err) = connect_json(&[&server.localhost(), "--ca", &dir.p("ca/ca.crt")]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(serial_of(&v["server_certificate"]), old_serial, "{v}");
    let mut before = open(&tls, &addr).expect("connection before the rotation");
    echo(&mut before, b"before the rotation").unwrap();
    assert_eq!(peer_serial(&before), old_serial);

    // A client loop running across the rotation.
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Mutex::new(LoopStats::default()));
    let looper = {
        let (stop, stats, tls, addr) = (stop.clone(), stats.clone(), tls.clone(), addr.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            for i in 0..MAX_LOOP_CONNECTIONS {
                if stop.load(Ordering::Relaxed) || start.elapsed() > MAX_LOOP_TIME {
                    break;
                }
                let r = open(&tls, &addr).and_then(|mut s| {
                    echo(&mut s, format!("loop {i}").as_bytes())?;
                    let serial = peer_serial(&s);
                    close(s);
                    Ok(serial)
                });
                let mut st = stats.lock().unwrap();
                match r {
                    Ok(serial) => {
                        st.ok += 1;
                        match st.serials.last_mut() {
                            Some((last, n)) if *last == serial => *n += 1,
                            _ => st.serials.push((serial, 1)),
                        }
                    }
                    Err(e) => st.failures.push(format!("connection {i}: {e}")),
                }
                drop(st);
                std::thread::sleep(LOOP_PAUSE);
            }
        })
    };
    // Let the loop get going on the old certificate.
    let deadline = Instant::now() + Duration::from_secs(20);
    while stats.lock().unwrap().ok < 10 {
        assert!(Instant::now() < deadline, "client loop does not progress");
        std::thread::sleep(Duration::from_millis(10));
    }

    // The rotation: a new key and a one-year certificate.
    let (code, v) = rotate("apply");
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["items"][0]["action"], "renewed", "{v}");
    let new = cert_show(&dir.p("live/gw.crt"));
    let new_serial = new["serial"].as_str().unwrap().to_string();
    assert_ne!(new_serial, old_serial);
    assert!(new["not_after"].as_str().unwrap() > old["not_after"].as_str().unwrap());
    assert!(std::fs::symlink_metadata(dir.path("live/gw.crt"))
        .unwrap()
        .file_type()
        .is_symlink());
    let (code, v) = rotate("plan");
    assert_eq!(code, Some(0), "{v}");

    // The server notices and swaps it in (adopting the hand-installed files
    // as version 1 may be seen as a reload of the same certificate first).
    let ev = server.wait_for(|v| v["event"] == "reload");
    assert_eq!(ev["ok"], true, "{ev}");
    assert_eq!(ev["stack"], "gm", "{ev}");

    // Keep the loop going until it has seen the new certificate a while.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        {
            let st = stats.lock().unwrap();
            if matches!(st.serials.last(), Some((s, n)) if *s == new_serial && *n >= AFTER_SWAP_CONNECTIONS)
            {
                break;
            }
        }
        assert!(
            Instant::now() < deadline && !looper.is_finished(),
            "client loop never saw the new certificate: {:?}",
            stats.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    looper.join().expect("client loop");
    let st = stats.lock().unwrap();
    assert!(
        st.failures.is_empty(),
        "failed handshakes: {:?}",
        st.failures
    );
    // Old serial first, then only the new one: no flapping back.
    let order: Vec<&str> = st.serials.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(order, [old_serial.as_str(), new_serial.as_str()], "{st:?}");
    eprintln!(
        "client loop: {} connections, 0 failures, {} with the old certificate, {} with the new",
        st.ok, st.serials[0].1, st.serials[1].1
    );

    // After the rotation: the new certificate, via both clients.
    let mut after = open(&tls, &addr).expect("connection after the rotation");
    echo(&mut after, b"after the rotation").unwrap();
    assert_eq!(peer_serial(&after), new_serial);
    close(after);
    let (code, v, err) = connect_json(&[
        &server.localhost(),
        "--ca",
        &dir.p("ca/ca.crt"),
        "--send",
        "hello",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(serial_of(&v["server_certificate"]), new_serial, "{v}");
    assert_eq!(
        v["server_certificate"]["not_after"], new["not_after"],
        "{v}"
    );

    // The connection opened before the rotation still echoes, still on the
    // old certificate's session.
    echo(&mut before, b"still alive after the rotation").unwrap();
    assert_eq!(peer_serial(&before), old_serial);
    close(before);
    let rec = server.wait_for(|v| v["event"] == "connection" && v["bytes"] == 49);
    assert_eq!(serial_of(&rec["certificate"]), old_serial, "{rec}");
    // No reload failed on the way (a half-switched pair would be one).
    let failed: Vec<serde_json::Value> = server
        .seen()
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "reload" && v["ok"] != true)
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
}
