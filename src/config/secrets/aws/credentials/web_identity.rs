//! A role assumed with a web identity token (EKS's IAM roles for service accounts): the token
//! file is read at each lookup (it is rotated under us) and exchanged with STS
//! `AssumeRoleWithWebIdentity`, an unsigned call whose answer is XML.

use std::path::Path;

use super::{Credentials, Env};
use crate::config::secrets::aws::xml_element as element;
use crate::config::Secret;

/// The role to assume.
pub(super) struct Role<'a> {
    /// `arn:aws:iam::…:role/…`.
    pub(crate) arn: &'a str,
    /// Names the session in CloudTrail.
    pub(crate) session_name: &'a str,
    /// Where the token is.
    pub(crate) token_file: &'a Path,
}

/// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, when both are set.
pub(super) async fn from_environment(
    env: &Env<'_>,
    http: &reqwest::Client,
    region: &str,
) -> Result<Option<Credentials>, String> {
    let (Some(token_file), Some(arn)) = (env.get("AWS_WEB_IDENTITY_TOKEN_FILE"), env.get("AWS_ROLE_ARN"))
    else {
        return Ok(None);
    };
    let session_name = env.get("AWS_ROLE_SESSION_NAME").unwrap_or("confluence-connector");
    let role = Role { arn, session_name, token_file: Path::new(token_file) };
    assume(env, http, region, &role, "the web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)").await.map(Some)
}

/// Exchanges the token for temporary credentials.
pub(super) async fn assume(
    env: &Env<'_>,
    http: &reqwest::Client,
    region: &str,
    role: &Role<'_>,
    source: &str,
) -> Result<Credentials, String> {
    let token = std::fs::read_to_string(role.token_file)
        .map_err(|e| format!("{source}: cannot read token file {}: {e}", role.token_file.display()))?;
    let region = env.get("AWS_REGION").or_else(|| env.get("AWS_DEFAULT_REGION")).unwrap_or(region);
    let endpoint = env
        .get("AWS_ENDPOINT_URL_STS")
        .or_else(|| env.get("AWS_ENDPOINT_URL"))
        .map(str::to_string)
        .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com"));
    let form = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", role.arn),
        ("RoleSessionName", role.session_name),
        ("WebIdentityToken", token.trim()),
    ];
    let response = http
        .post(&endpoint)
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("{source}: cannot reach STS at {endpoint}: {}", e.without_url()))?;
    let status = response.status();
    let xml =
        response.text().await.map_err(|e| format!("{source}: STS answer unreadable: {}", e.without_url()))?;
    if !status.is_success() {
        let code = element(&xml, "Code").unwrap_or("no code");
        let message = element(&xml, "Message").unwrap_or("");
        return Err(format!(
            "{source}: STS refused AssumeRoleWithWebIdentity for {} ({status}, {code}: {message})",
            role.arn
        ));
    }
    match (element(&xml, "AccessKeyId"), element(&xml, "SecretAccessKey")) {
        (Some(id), Some(key)) => Ok(Credentials {
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(key),
            session_token: element(&xml, "SessionToken").map(Secret::new),
            source: format!("{source}, role {}", role.arn),
        }),
        _ => Err(format!("{source}: STS answered without credentials")),
    }
}
