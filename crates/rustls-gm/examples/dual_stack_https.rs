//! A dual-stack HTTPS server on one port: RFC 8998 (SM4, SM2 certificate) for
//! GM clients, AES with the RSA/ECDSA certificate for everyone else.
//!
//! ```text
//! cargo run -p rustls-gm --example dual_stack_https -- \
//!     127.0.0.1:8443 sm2.crt sm2.key rsa.crt rsa.key
//! curl --cacert rsa-ca.crt https://localhost:8443/
//! ```
use std::fs::read;
use tokio::io::AsyncWriteExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, sm2_crt, sm2_key, rsa_crt, rsa_key] = &args[..] else {
        return Err("usage: dual_stack_https ADDR SM2_CERT SM2_KEY RSA_CERT RSA_KEY".into());
    };
    let server = std::sync::Arc::new(
        rustls_gm::server::DualStack::builder()
            .gm_identity_pem(&read(sm2_crt)?, &read(sm2_key)?)
            .standard_identity_pem(&read(rsa_crt)?, &read(rsa_key)?)
            .build()?,
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    loop {
        let (tcp, _) = listener.accept().await?;
        let server = server.clone();
        tokio::spawn(async move {
            let Ok((mut tls, stack)) = server.accept(tcp).await else {
                return;
            };
            let body = format!("hello over the {stack:?} stack\n");
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
            let _ = tls.write_all((head + &body).as_bytes()).await;
            let _ = tls.shutdown().await;
        });
    }
}
