//! TLS to Confluence: certificates are verified against the system roots; `ssl_ca` (PEM text
//! or a file path) adds a private CA; skipping verification takes its own, explicit setting.
//! Against a local HTTPS server whose certificate (for 127.0.0.1) is signed by the test CA of
//! `tests/fixtures/tls` (made with openssl, valid until 2126; the CA key was not kept).

use std::sync::Arc;

use confluence_connector::confluence::{Auth, ClientOptions, ConfluenceClient, Flavour, Secret};
use futures::TryStreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{crypto, ServerConfig};
use tokio_rustls::TlsAcceptor;

const CA: &str = include_str!("fixtures/tls/ca.pem");
const CERT: &str = include_str!("fixtures/tls/server.pem");
const KEY: &str = include_str!("fixtures/tls/server.key");

/// An HTTPS server on 127.0.0.1 answering every request with one space; its base URL.
async fn https_server() -> String {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(CERT.as_bytes()).collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).unwrap();
    let config = ServerConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A refused handshake (the client does not trust us) just ends the connection.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"results":[{"id":1,"key":"DEV","name":"Development"}],"start":0,"limit":100,"size":1,"_links":{}}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

fn options(url: &str) -> ClientOptions {
    let mut options = ClientOptions::new(
        Flavour::Server,
        url,
        Auth::Basic { username: "admin".into(), password: Secret::new("pw") },
    );
    options.retry_count = 0;
    options
}

async fn space_keys(options: ClientOptions) -> Result<Vec<String>, String> {
    let client = ConfluenceClient::new(options).await.map_err(|e| e.to_string())?;
    let spaces: Vec<_> = client.spaces(&[]).try_collect().await.map_err(|e| e.to_string())?;
    Ok(spaces.into_iter().map(|s| s.key).collect())
}

#[tokio::test]
async fn an_unknown_ca_is_refused_by_default() {
    let url = https_server().await;
    let error = space_keys(options(&url)).await.unwrap_err();
    assert!(error.to_lowercase().contains("certificate"), "{error}");
}

#[tokio::test]
async fn ssl_ca_as_pem_text_or_as_a_path_is_trusted() {
    let url = https_server().await;
    let mut with_text = options(&url);
    with_text.ssl_ca = Some(CA.to_string());
    assert_eq!(space_keys(with_text).await.unwrap(), ["DEV"]);

    let mut with_path = options(&url);
    with_path.ssl_ca = Some(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls/ca.pem").to_string());
    assert_eq!(space_keys(with_path).await.unwrap(), ["DEV"]);

    // A CA that did not sign the server's certificate does not help.
    let mut wrong = options(&url);
    wrong.ssl_ca = Some(CERT.to_string());
    assert!(space_keys(wrong).await.is_err());
}

#[tokio::test]
async fn skipping_verification_is_its_own_explicit_setting() {
    let url = https_server().await;
    let mut insecure = options(&url);
    insecure.danger_accept_invalid_certs = true;
    assert_eq!(space_keys(insecure).await.unwrap(), ["DEV"]);
}
