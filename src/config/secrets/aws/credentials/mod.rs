//! AWS credentials from the standard chain, in the order AWS's own SDKs try it:
//!
//! 1. the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
//! 2. the shared files `~/.aws/credentials` and `~/.aws/config` ([`profile`]), profile
//!    `AWS_PROFILE` or `default`: static keys, or a role with a web identity token file;
//! 3. a web identity token (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, as EKS sets them),
//!    exchanged with STS ([`web_identity`]);
//! 4. the ECS container endpoint (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `…_FULL_URI`)
//!    ([`container`]);
//! 5. EC2 instance metadata, IMDSv2 only ([`instance`]).
//!
//! The first that has credentials wins; one that is configured but fails stops the chain
//! with its reason (guessing on would hide the mistake).

mod container;
mod instance;
mod profile;
mod web_identity;

use serde_json::Value;

use super::env::Env;
use crate::config::Secret;

/// Credentials to sign with.
#[derive(Debug, Clone)]
pub(super) struct Credentials {
    /// `AKIA…` / `ASIA…`: not secret, helps tell which identity was used.
    pub(crate) access_key_id: String,
    /// The signing key.
    pub(crate) secret_access_key: Secret,
    /// Set for temporary credentials.
    pub(crate) session_token: Option<Secret>,
    /// Where they came from, for messages: `the environment`, `profile default in …`.
    pub(crate) source: String,
}

/// The first credentials of the chain.
pub(super) async fn from_chain(
    env: &Env<'_>,
    http: &reqwest::Client,
    region: &str,
) -> Result<Credentials, String> {
    if let Some(found) = from_environment(env)? {
        return Ok(found);
    }
    if let Some(found) = profile::credentials(env, http, region).await? {
        return Ok(found);
    }
    if let Some(found) = web_identity::from_environment(env, http, region).await? {
        return Ok(found);
    }
    if let Some(found) = container::credentials(env, http).await? {
        return Ok(found);
    }
    if let Some(found) = instance::credentials(env, http).await? {
        return Ok(found);
    }
    Err("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in \
         ~/.aws/credentials (AWS_PROFILE), a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE and \
         AWS_ROLE_ARN), or run where ECS or EC2 instance metadata provides them"
        .into())
}

/// Step 1: the environment variables.
fn from_environment(env: &Env<'_>) -> Result<Option<Credentials>, String> {
    match (env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(key)) => Ok(Some(Credentials {
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(key),
            session_token: env.get("AWS_SESSION_TOKEN").map(Secret::new),
            source: "the environment (AWS_ACCESS_KEY_ID)".into(),
        })),
        (Some(_), None) => Err("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into()),
        (None, Some(_)) => Err("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not".into()),
        (None, None) => Ok(None),
    }
}

/// Credentials out of the JSON that ECS and instance metadata answer
/// (`AccessKeyId`, `SecretAccessKey`, `Token`).
fn from_json(json: &Value, source: &str) -> Result<Credentials, String> {
    let field = |name: &str| json.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
    match (field("AccessKeyId"), field("SecretAccessKey")) {
        (Some(id), Some(key)) => Ok(Credentials {
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(key),
            session_token: field("Token").map(Secret::new),
            source: source.to_string(),
        }),
        _ => Err(format!("{source} answered without AccessKeyId and SecretAccessKey")),
    }
}

#[cfg(test)]
mod tests;
