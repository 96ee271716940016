//! What the cluster says about itself (`GET /`): asked by `check` and by `/healthz`.

use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::Method;

use super::client::EsClient;
use super::error::ElasticError;
use super::request::{send_json, Answer};

/// `GET /` on `es` (at `host`, named in messages): the cluster's version, or one line saying
/// why there is none — once, without the retries of a sync, so that `check` and every
/// `/healthz` probe answer at once.
pub async fn cluster_version(es: &EsClient, host: &str) -> Result<String, String> {
    match send_json(&es.without_retries(), Method::Get, "/", None, HeaderMap::new()).await {
        Ok(Answer::Ok(body)) => body["version"]["number"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{host} did not answer like Elasticsearch (no version.number)")),
        Ok(Answer::NotFound) => Err(format!("{host} answered 404 to GET /: is this Elasticsearch?")),
        Err(ElasticError::Transport { reason, .. }) => Err(format!("cannot reach {host}: {reason}")),
        Err(e) => Err(e.to_string()),
    }
}
