//! One `GetSecretValue` call: the JSON 1.1 protocol, signed with SigV4 by AWS's own signer,
//! sent through reqwest, and its error answers turned into the causes a user can act on.

use std::fmt;
use std::time::SystemTime;

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use base64::Engine;
use serde_json::Value;

use super::credentials::Credentials;
use crate::config::Secret;

/// Why a secret could not be read.
#[derive(Debug)]
pub(super) enum Failure {
    /// `ResourceNotFoundException`: no such secret (or it has no current value).
    NotFound,
    /// `AccessDeniedException`: the credentials may not read it.
    AccessDenied {
        /// Where the credentials came from.
        source: String,
    },
    /// The credentials themselves were refused (unknown key, bad signature, expired).
    CredentialsRefused {
        /// AWS's error code.
        code: String,
        /// Where the credentials came from.
        source: String,
    },
    /// Any other error answer.
    Other {
        /// HTTP status.
        status: u16,
        /// AWS's error code and message.
        reason: String,
    },
    /// No answer, or one that cannot be read.
    Transport(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::NotFound => {
                f.write_str("no such secret (ResourceNotFoundException): check secretId and region")
            }
            Failure::AccessDenied { source } => write!(
                f,
                "access denied (AccessDeniedException): the AWS credentials from {source} may not call \
                 secretsmanager:GetSecretValue on this secret (or kms:Decrypt on its key)"
            ),
            Failure::CredentialsRefused { code, source } => {
                write!(f, "AWS refused the credentials from {source} ({code})")
            }
            Failure::Other { status, reason } => write!(f, "Secrets Manager answered {status}: {reason}"),
            Failure::Transport(why) => write!(f, "cannot reach Secrets Manager: {why}"),
        }
    }
}

/// The current value of `secret_id`, as text.
pub(super) async fn get_secret_value(
    http: &reqwest::Client,
    endpoint: &str,
    region: &str,
    credentials: &Credentials,
    secret_id: &str,
) -> Result<Secret, Failure> {
    let url = match url::Url::parse(endpoint) {
        Ok(url) => url.to_string(),
        Err(e) => return Err(Failure::Transport(format!("endpoint {endpoint} is not a URL: {e}"))),
    };
    let body = serde_json::json!({ "SecretId": secret_id }).to_string();
    let headers =
        [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", "secretsmanager.GetSecretValue")];
    let signed = signature_headers(&url, &headers, body.as_bytes(), region, credentials)
        .map_err(|e| Failure::Transport(format!("cannot sign the request: {e}")))?;
    let mut request = http.post(&url).body(body);
    for (name, value) in headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).chain(signed) {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| Failure::Transport(e.without_url().to_string()))?;
    let status = response.status().as_u16();
    let error_type =
        response.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).map(str::to_string);
    let text = response.text().await.map_err(|e| Failure::Transport(e.without_url().to_string()))?;
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status == 200 {
        return secret_text(&json);
    }
    // JSON from Secrets Manager itself; XML (`<Code>AccessDenied</Code>`) from the
    // authorisation in front of it on some compatible services and emulators.
    let code = error_type
        .or_else(|| json.get("__type").and_then(Value::as_str).map(str::to_string))
        .or_else(|| super::xml_element(&text, "Code").map(str::to_string))
        .map(|t| error_code(&t))
        .unwrap_or_default();
    let message = json
        .get("message")
        .or_else(|| json.get("Message"))
        .and_then(Value::as_str)
        .or_else(|| super::xml_element(&text, "Message"))
        .unwrap_or("");
    let source = credentials.source.clone();
    Err(match code.as_str() {
        "ResourceNotFoundException" => Failure::NotFound,
        "AccessDeniedException" | "AccessDenied" => Failure::AccessDenied { source },
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "ExpiredTokenException"
        | "IncompleteSignature" => Failure::CredentialsRefused { code, source },
        _ => Failure::Other {
            status,
            reason: if code.is_empty() { message.to_string() } else { format!("{code}: {message}") },
        },
    })
}

/// `ResourceNotFoundException` out of `…#ResourceNotFoundException` or
/// `ResourceNotFoundException:http://internal.amazon.com/…`.
fn error_code(raw: &str) -> String {
    let after_hash = raw.rsplit('#').next().unwrap_or(raw);
    after_hash.split(':').next().unwrap_or(after_hash).trim().to_string()
}

/// The secret's text: `SecretString`, or `SecretBinary` when it holds UTF-8.
fn secret_text(json: &Value) -> Result<Secret, Failure> {
    if let Some(text) = json.get("SecretString").and_then(Value::as_str) {
        return Ok(Secret::new(text));
    }
    let binary = json.get("SecretBinary").and_then(Value::as_str).unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(binary)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|text| !text.is_empty())
        .map(Secret::new)
        .ok_or_else(|| Failure::Other {
            status: 200,
            reason: "the secret holds neither text nor UTF-8 binary".into(),
        })
}

/// The headers SigV4 adds (`authorization`, `x-amz-date`, `x-amz-security-token`).
pub(super) fn signature_headers(
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    region: &str,
    credentials: &Credentials,
) -> Result<Vec<(String, String)>, String> {
    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.as_str(),
        credentials.secret_access_key.expose(),
        credentials.session_token.as_ref().map(|t| t.expose().to_string()),
        None,
        "confluence-connector",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("secretsmanager")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new("POST", url, headers.iter().copied(), SignableBody::Bytes(body))
        .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params).map_err(|e| e.to_string())?.into_parts();
    Ok(instructions.headers().map(|(n, v)| (n.to_string(), v.to_string())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_in_both_spellings() {
        assert_eq!(
            error_code("com.amazonaws.secretsmanager#ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            error_code("AccessDeniedException:http://internal.amazon.com/coral/"),
            "AccessDeniedException"
        );
        assert_eq!(error_code("AccessDeniedException"), "AccessDeniedException");
    }

    #[test]
    fn a_signature_covers_the_target_and_carries_the_session_token() {
        let credentials = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI"),
            session_token: Some(Secret::new("SESSION")),
            source: "test".into(),
        };
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "secretsmanager.GetSecretValue"),
        ];
        let signed =
            signature_headers("http://127.0.0.1:5000/", &headers, b"{}", "ap-southeast-2", &credentials)
                .unwrap();
        let get =
            |name: &str| signed.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let authorization = get("authorization");
        assert!(authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), "{authorization}");
        assert!(authorization.contains("/ap-southeast-2/secretsmanager/aws4_request"), "{authorization}");
        assert!(authorization.contains("x-amz-target"), "{authorization}");
        assert!(!authorization.contains("wJalrXUtnFEMI"), "{authorization}");
        assert_eq!(get("x-amz-security-token"), "SESSION");
    }
}
