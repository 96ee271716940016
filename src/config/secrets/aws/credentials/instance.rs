//! EC2 instance metadata, version 2 only (a session token first, then the role's
//! credentials). Off EC2 nothing answers at 169.254.169.254, so the first call waits one
//! second at most and then the chain ends; `AWS_EC2_METADATA_DISABLED=true` skips it, and
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT` points it elsewhere.

use std::time::Duration;

use serde_json::Value;

use super::{from_json, Credentials, Env};

const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";

/// The instance role's credentials; `None` when not on EC2 (or disabled).
pub(super) async fn credentials(
    env: &Env<'_>,
    http: &reqwest::Client,
) -> Result<Option<Credentials>, String> {
    if env.get("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    let base = env
        .get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .unwrap_or("http://169.254.169.254")
        .trim_end_matches('/');
    let token = http
        .put(format!("{base}/latest/api/token"))
        .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
        .timeout(Duration::from_secs(1))
        .send()
        .await;
    let token = match token {
        Ok(response) if response.status().is_success() => response.text().await.unwrap_or_default(),
        // Nothing there, or IMDSv2 refused: not an EC2 instance this chain can use.
        _ => return Ok(None),
    };
    let source = "EC2 instance metadata (IMDSv2)";
    let get = |path: String| {
        let request = http
            .get(format!("{base}{path}"))
            .header(TOKEN_HEADER, token.trim())
            .timeout(Duration::from_secs(5));
        async move {
            let response = request.send().await.map_err(|e| format!("{source}: {}", e.without_url()))?;
            let status = response.status();
            let text = response.text().await.map_err(|e| format!("{source}: {}", e.without_url()))?;
            if status.is_success() {
                Ok(text)
            } else {
                Err(format!("{source}: {path} answered {status} (does the instance have a role?)"))
            }
        }
    };
    let roles = get("/latest/meta-data/iam/security-credentials/".into()).await?;
    let Some(role) = roles.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Err(format!("{source}: the instance has no IAM role"));
    };
    let text = get(format!("/latest/meta-data/iam/security-credentials/{role}")).await?;
    let json: Value =
        serde_json::from_str(&text).map_err(|_| format!("{source}: credentials are not JSON"))?;
    from_json(&json, &format!("{source}, role {role}")).map(Some)
}
