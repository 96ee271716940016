//! A refused TLS handshake: found in a failed request's chain of errors, and turned into
//! what the person at the terminal should do, naming the settings of the end that refused
//! (Confluence's `ssl_ca`, Elasticsearch's `elasticsearch.ca_certs`). Trying again cannot
//! change a certificate, so callers never retry one.

/// The settings a hint names, as the end's configuration spells them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// The certificates to trust: `ssl_ca`, `elasticsearch.ca_certs`.
    pub(crate) ca: &'static str,
    /// What turns TLS settings on: `ssl_enabled: true`, `elasticsearch.ssl: true`.
    pub(crate) enable: &'static str,
    /// The server's URL: `confluence_url`, `elasticsearch.host`.
    pub(crate) url: &'static str,
    /// How the CA is given: `(PEM text or a file path)`.
    pub(crate) ca_form: &'static str,
    /// A plain-HTTP address of that server, for the hint of a port that does not speak TLS.
    pub(crate) plain_example: &'static str,
}

/// When the TLS handshake is what failed in `error`: what to do about it (`ca_set`: whether
/// [`Settings::ca`] is in use). `None` for every other failure.
pub(crate) fn refusal(
    error: &(dyn std::error::Error + 'static),
    settings: &Settings,
    ca_set: bool,
) -> Option<String> {
    rustls_error(error).map(|tls| hint(tls, settings, ca_set))
}

/// The rustls error in the chain of `error`. (An `io::Error` hides the error it wraps from
/// `source()`, and hyper's connector wraps one `io::Error` in another, so each one is opened.)
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(wrapped) => Some(wrapped),
            None => e.source(),
        };
    }
    None
}

/// What to do about a refused handshake, for its case.
fn hint(error: &rustls::Error, s: &Settings, ca_set: bool) -> String {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(certificate) = error else {
        return format!(
            "the server did not complete a TLS handshake: check that {} uses https only for a port that speaks TLS ({})",
            s.url, s.plain_example
        );
    };
    match certificate {
        C::UnknownIssuer if ca_set => format!(
            "{} did not issue the server's certificate: give the CA that signed it (for a chain through an intermediate CA, the root CA, and make sure the server sends the intermediate with its certificate), or the server's own certificate if it is self-signed",
            s.ca
        ),
        C::UnknownIssuer => format!(
            "the certificate is signed by a CA this machine does not trust: set {} and {} to that CA's certificate {}, or to the server's own certificate if it is self-signed",
            s.enable, s.ca, s.ca_form
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => format!(
            "the certificate does not name this host: use the host name the certificate lists (its subjectAltName) in {}, or reissue the certificate with a subjectAltName for this host (a common name alone is not enough)",
            s.url
        ),
        C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
            "the certificate is outside its validity period: renew it on the server (or check this machine's clock)".to_string()
        }
        C::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => format!(
            "the server presents a CA certificate as its own (a self-signed certificate made with openssl req -x509): give that same certificate as {}, with {}",
            s.ca, s.enable
        ),
        _ => format!(
            "the server's certificate cannot be verified: check the certificate chain the server sends, and {}",
            s.ca
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ELASTIC: Settings = Settings {
        ca: "elasticsearch.ca_certs",
        enable: "elasticsearch.ssl: true",
        url: "elasticsearch.host",
        ca_form: "(the path of a PEM file)",
        plain_example: "http://host:9200 is plain HTTP",
    };

    #[test]
    fn the_hint_names_the_settings_of_the_end_that_refused() {
        let unknown = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let text = refusal(&std::io::Error::other(unknown), &ELASTIC, false).unwrap();
        assert!(text.contains("set elasticsearch.ssl: true and elasticsearch.ca_certs"), "{text}");
        let text = refusal(
            &std::io::Error::other(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
            &ELASTIC,
            true,
        )
        .unwrap();
        assert!(text.starts_with("elasticsearch.ca_certs did not issue"), "{text}");
        assert!(refusal(&std::io::Error::other("connection refused"), &ELASTIC, true).is_none());
    }
}
