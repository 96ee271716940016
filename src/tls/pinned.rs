//! The certificates an administrator configured (`ssl_ca`, `elasticsearch.ca_certs`) are
//! trusted as roots beside the system and WebPKI roots, and a server that presents exactly
//! one of them is trusted too.
//!
//! The second rule is what a self-signed certificate needs. `openssl req -x509` (the way
//! Atlassian's, Elastic's and most HTTPS guides make one) marks the certificate as a CA, and
//! webpki refuses a CA certificate used as the server's own (`CaUsedAsEndEntity`) even when
//! it is a trusted root. An administrator who gives that very certificate has pinned it:
//! when the server's certificate is byte-for-byte a configured one, its host name is still
//! checked, but not its chain. Every other certificate goes through the ordinary WebPKI
//! verifier with the configured roots (a private CA, a CA with an intermediate).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The certificates of a PEM text; `Err` says what is wrong with it (for the setting's
/// own error).
pub(crate) fn read_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a valid PEM certificate: {e}"))?;
    if certificates.is_empty() {
        return Err("no certificate found in the PEM".to_string());
    }
    Ok(certificates)
}

/// A rustls client configuration trusting the system roots, the WebPKI roots, the
/// `configured` certificates as roots, and those same certificates when a server presents
/// one as its own. ALPN offers HTTP/2 and HTTP/1.1, as reqwest's own configuration does.
/// `Err` says why a certificate cannot be used.
pub(crate) fn client_config(configured: Vec<CertificateDer<'static>>) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // Native stores often hold a few unparsable ancient roots; those are skipped, as reqwest does.
    for native in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(native);
    }
    for (i, certificate) in configured.iter().enumerate() {
        roots
            .add(certificate.clone())
            .map_err(|e| format!("certificate {} of the PEM cannot be used: {e}", i + 1))?;
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("cannot build the certificate verifier: {e}"))?;
    let verifier = PinnedOrWebPki { pinned: configured, webpki, provider: provider.clone() };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Trusts a server certificate that is exactly one of `pinned` (for its host name), and
/// otherwise asks the WebPKI verifier.
#[derive(Debug)]
struct PinnedOrWebPki {
    /// The configured certificates.
    pinned: Vec<CertificateDer<'static>>,
    /// The ordinary chain verifier, with `pinned` among its roots.
    webpki: Arc<WebPkiServerVerifier>,
    /// Signature algorithms for the handshake signatures.
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pinned.iter().any(|pinned| pinned.as_ref() == end_entity.as_ref()) {
            let parsed = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
            return Ok(ServerCertVerified::assertion());
        }
        self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
