//! TLS to Confluence: certificates are verified against the system roots; `ssl_ca` (PEM text
//! or a file path) adds a private CA or pins a self-signed certificate; skipping verification
//! takes its own, explicit setting. Against local HTTPS servers (127.0.0.1) with the
//! certificates of `tests/fixtures/tls`, made with openssl the ways HTTPS guides make them
//! (`make.sh` there; valid until 2126; the CA keys were not kept): a private CA, a
//! self-signed certificate from `openssl req -x509` (marked CA:TRUE), and a root CA with an
//! intermediate. A refused certificate is not retried and its hint fits its case. The same
//! certificates, given as `elasticsearch.ca_certs`, for a server answering as
//! Elasticsearch does to `GET /`.

use std::sync::Arc;

use confluence_connector::config::Secret;
use confluence_connector::confluence::{Auth, ClientOptions, ConfluenceClient, Flavour};
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
const SELF_SIGNED: &str = include_str!("fixtures/tls/self-signed.pem");
const SELF_SIGNED_KEY: &str = include_str!("fixtures/tls/self-signed.key");
const OTHER_HOST: &str = include_str!("fixtures/tls/other-host.pem");
const OTHER_HOST_KEY: &str = include_str!("fixtures/tls/other-host.key");
const ROOT_CA: &str = include_str!("fixtures/tls/root-ca.pem");
const INTERMEDIATE: &str = include_str!("fixtures/tls/intermediate.pem");
const CHAIN: &str = include_str!("fixtures/tls/chain.pem");
const CHAIN_KEY: &str = include_str!("fixtures/tls/chain.key");

/// An HTTPS server on 127.0.0.1 signed by the test CA, answering every request with one
/// space; its base URL.
async fn https_server() -> String {
    https_server_with(CERT, KEY).await
}

/// The answer of the test servers to any request: one Confluence space.
const SPACES: &str =
    r#"{"results":[{"id":1,"key":"DEV","name":"Development"}],"start":0,"limit":100,"size":1,"_links":{}}"#;

/// An HTTPS server on 127.0.0.1 presenting `chain` (PEM, its certificate first).
async fn https_server_with(chain: &str, key: &str) -> String {
    https_server_answering(chain, key, SPACES).await
}

/// An HTTPS server on 127.0.0.1 presenting `chain` and answering every request with `body`.
async fn https_server_answering(chain: &str, key: &str, body: &'static str) -> String {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(chain.as_bytes()).collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
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
    wrong.ssl_ca = Some(ROOT_CA.to_string());
    assert!(space_keys(wrong).await.is_err());
}

#[tokio::test]
async fn skipping_verification_is_its_own_explicit_setting() {
    let url = https_server().await;
    let mut insecure = options(&url);
    insecure.danger_accept_invalid_certs = true;
    assert_eq!(space_keys(insecure).await.unwrap(), ["DEV"]);
}

fn with_ca(url: &str, ca: &str) -> ClientOptions {
    let mut options = options(url);
    options.ssl_ca = Some(ca.to_string());
    options
}

#[tokio::test]
async fn a_self_signed_certificate_made_by_openssl_req_x509_is_trusted_as_ssl_ca() {
    let url = https_server_with(SELF_SIGNED, SELF_SIGNED_KEY).await;
    assert_eq!(space_keys(with_ca(&url, SELF_SIGNED)).await.unwrap(), ["DEV"]);
    // By name too, as the certificate lists localhost.
    let by_name = url.replace("127.0.0.1", "localhost");
    assert_eq!(space_keys(with_ca(&by_name, SELF_SIGNED)).await.unwrap(), ["DEV"]);
}

#[tokio::test]
async fn a_root_ca_trusts_a_server_certificate_issued_through_an_intermediate() {
    let url = https_server_with(CHAIN, CHAIN_KEY).await;
    assert_eq!(space_keys(with_ca(&url, ROOT_CA)).await.unwrap(), ["DEV"]);
    // The intermediate alone is a trust anchor as well.
    assert_eq!(space_keys(with_ca(&url, INTERMEDIATE)).await.unwrap(), ["DEV"]);
}

#[tokio::test]
async fn a_pinned_certificate_must_still_name_the_host() {
    let url = https_server_with(OTHER_HOST, OTHER_HOST_KEY).await;
    let error = space_keys(with_ca(&url, OTHER_HOST)).await.unwrap_err();
    assert!(error.contains("does not name this host"), "{error}");
}

/// Retries allowed: a certificate error must still come back at once, with the hint of its case.
async fn refused(options: ClientOptions) -> String {
    let mut options = options;
    options.retry_count = 5;
    let started = std::time::Instant::now();
    let error = space_keys(options).await.unwrap_err();
    assert!(!error.contains("gave up after"), "a certificate error was retried: {error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{error}");
    error
}

#[tokio::test]
async fn certificate_errors_are_not_retried_and_their_hint_fits_the_case() {
    // A private CA that is not configured: set ssl_ca (and ssl_enabled).
    let url = https_server().await;
    let error = refused(options(&url)).await;
    assert!(error.contains("set ssl_enabled: true and ssl_ca"), "{error}");

    // ssl_ca set to a CA that did not sign the certificate.
    let error = refused(with_ca(&url, ROOT_CA)).await;
    assert!(error.contains("ssl_ca did not issue"), "{error}");

    // A self-signed certificate, not configured: give that certificate as ssl_ca.
    let url = https_server_with(SELF_SIGNED, SELF_SIGNED_KEY).await;
    let error = refused(options(&url)).await;
    assert!(error.contains("ssl_ca") && error.contains("self-signed"), "{error}");
    assert!(!error.contains("it is retried"), "{error}");
}

#[tokio::test]
async fn https_to_a_plain_http_port_says_so() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            use std::io::Write;
            let mut stream = stream;
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let error = refused(options(&format!("https://127.0.0.1:{port}"))).await;
    assert!(error.contains("http://"), "{error}");
}

/// What a node answers to `GET /`.
const ROOT: &str =
    r#"{"name":"node","cluster_name":"tls","version":{"number":"9.1.0"},"tagline":"You Know, for Search"}"#;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(name)
}

/// Elasticsearch options for `url` trusting `ca_certs` (a fixture's name), retrying 5 times.
fn es_options(url: &str, ca_certs: Option<&str>) -> confluence_connector::elastic::ElasticOptions {
    confluence_connector::elastic::ElasticOptions {
        host: url.to_string(),
        ca_certs: ca_certs.map(fixture),
        max_retries: 5,
        retry_interval: std::time::Duration::from_secs(1),
        ..Default::default()
    }
}

/// `GET /` through the client a sync uses (with its retries): the version, or the error.
async fn es_version(options: confluence_connector::elastic::ElasticOptions) -> Result<String, String> {
    use confluence_connector::elastic::{connect, send_json, Answer};
    let es = connect(&options).map_err(|e| e.to_string())?;
    let headers = elasticsearch::http::headers::HeaderMap::new();
    match send_json(&es, elasticsearch::http::Method::Get, "/", None, headers).await {
        Ok(Answer::Ok(body)) => Ok(body["version"]["number"].as_str().unwrap_or_default().to_string()),
        Ok(Answer::NotFound) => Err("404".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test]
async fn elasticsearch_ca_certs_trusts_a_self_signed_certificate_made_by_openssl_req_x509() {
    let url = https_server_answering(SELF_SIGNED, SELF_SIGNED_KEY, ROOT).await;
    assert_eq!(es_version(es_options(&url, Some("self-signed.pem"))).await.unwrap(), "9.1.0");
    let by_name = url.replace("127.0.0.1", "localhost");
    assert_eq!(es_version(es_options(&by_name, Some("self-signed.pem"))).await.unwrap(), "9.1.0");
    // Pinned, the certificate must still name the host.
    let other = https_server_answering(OTHER_HOST, OTHER_HOST_KEY, ROOT).await;
    let error = es_version(es_options(&other, Some("other-host.pem"))).await.unwrap_err();
    assert!(error.contains("does not name this host") && error.contains("elasticsearch.host"), "{error}");
}

#[tokio::test]
async fn elasticsearch_ca_certs_trusts_a_private_ca_and_a_root_above_an_intermediate() {
    let url = https_server_answering(CERT, KEY, ROOT).await;
    assert_eq!(es_version(es_options(&url, Some("ca.pem"))).await.unwrap(), "9.1.0");
    let chain = https_server_answering(CHAIN, CHAIN_KEY, ROOT).await;
    assert_eq!(es_version(es_options(&chain, Some("root-ca.pem"))).await.unwrap(), "9.1.0");
}

/// Retries allowed (5, a second apart): a refused certificate comes back at once.
async fn es_refused(options: confluence_connector::elastic::ElasticOptions) -> String {
    let started = std::time::Instant::now();
    let error = es_version(options).await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "retried: {error}");
    assert!(!error.contains("attempt"), "{error}");
    error
}

#[tokio::test]
async fn elasticsearch_certificate_errors_are_not_retried_and_their_hint_fits_the_case() {
    let self_signed = https_server_answering(SELF_SIGNED, SELF_SIGNED_KEY, ROOT).await;
    let error = es_refused(es_options(&self_signed, None)).await;
    assert!(error.contains("elasticsearch.ca_certs") && error.contains("self-signed"), "{error}");
    assert!(error.contains("TLS with elasticsearch.host failed"), "{error}");

    let private = https_server_answering(CERT, KEY, ROOT).await;
    let error = es_refused(es_options(&private, None)).await;
    assert!(error.contains("set elasticsearch.ssl: true and elasticsearch.ca_certs"), "{error}");
    let error = es_refused(es_options(&private, Some("root-ca.pem"))).await;
    assert!(error.contains("elasticsearch.ca_certs did not issue"), "{error}");
}
