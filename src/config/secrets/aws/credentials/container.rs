//! ECS (and EKS Pod Identity) container credentials: an HTTP endpoint named by
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on 169.254.170.2) or `…_FULL_URI`, with the
//! authorization token from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or `…_TOKEN` when set.

use serde_json::Value;

use super::{from_json, Credentials, Env};

/// The container's credentials; `None` when not in such a container.
pub(super) async fn credentials(
    env: &Env<'_>,
    http: &reqwest::Client,
) -> Result<Option<Credentials>, String> {
    let url = match (
        env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
    ) {
        (Some(relative), _) => format!("http://169.254.170.2{relative}"),
        (None, Some(full)) => full.to_string(),
        (None, None) => return Ok(None),
    };
    let source = "the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_*)";
    let token = match env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("{source}: cannot read token file {path}: {e}"))?,
        ),
        None => env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN").map(str::to_string),
    };
    let mut request = http.get(&url);
    if let Some(token) = token {
        request = request.header("authorization", token.trim());
    }
    let response =
        request.send().await.map_err(|e| format!("{source}: cannot reach {url}: {}", e.without_url()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{source}: {url} answered {status}"));
    }
    let json: Value =
        response.json().await.map_err(|e| format!("{source}: answer is not JSON: {}", e.without_url()))?;
    from_json(&json, source).map(Some)
}
