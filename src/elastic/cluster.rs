//! What the cluster says about itself (`GET /`, its ingest pipelines): asked by `check` and
//! by `/healthz`.

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

/// Whether the ingest pipeline `name` exists (`GET /_ingest/pipeline/{name}`, once): a sync
/// naming a missing one fails on its first `_bulk`, after its crawl and downloads began.
pub async fn pipeline_exists(es: &EsClient, name: &str) -> Result<bool, String> {
    let path = format!(
        "/_ingest/pipeline/{}",
        url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
    );
    match send_json(&es.without_retries(), Method::Get, &path, None, HeaderMap::new()).await {
        Ok(Answer::Ok(body)) => Ok(body.get(name).is_some()),
        Ok(Answer::NotFound) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}
