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
pub(crate) async fn cluster_version(es: &EsClient, host: &str) -> Result<String, String> {
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
pub(crate) async fn pipeline_exists(es: &EsClient, name: &str) -> Result<bool, String> {
    let path = format!("/_ingest/pipeline/{}", super::request::path_segment(name));
    match send_json(&es.without_retries(), Method::Get, &path, None, HeaderMap::new()).await {
        Ok(Answer::Ok(body)) => Ok(body.get(name).is_some()),
        Ok(Answer::NotFound) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// The Elasticsearch majors this connector is built and tested for (its client speaks 9.x;
/// CI runs against 8.19).
pub(crate) const SUPPORTED_MAJORS: &[u64] = &[8, 9];

/// Whether `version` (e.g. `8.19.2`, `9.1.0-SNAPSHOT`) is one this connector supports;
/// `allow_mismatch` (`ALLOW_ES_VERSION_MISMATCH`, as Elastic's service reads it) lets any
/// version through with a warning.
pub(crate) fn check_version(version: &str, allow_mismatch: bool) -> Result<(), String> {
    let major = version.split('.').next().and_then(|m| m.trim().parse::<u64>().ok());
    if major.is_some_and(|m| SUPPORTED_MAJORS.contains(&m)) {
        return Ok(());
    }
    let why = format!(
        "Elasticsearch {version} is not supported: this connector works with Elasticsearch 8.x and 9.x \
         (set ALLOW_ES_VERSION_MISMATCH=true to try anyway)"
    );
    if allow_mismatch {
        tracing::warn!("{why}; going on because ALLOW_ES_VERSION_MISMATCH is set");
        return Ok(());
    }
    Err(why)
}

/// `ALLOW_ES_VERSION_MISMATCH` as Elastic's service reads it (`true`, `1`, `yes`).
pub(crate) fn mismatch_allowed() -> bool {
    std::env::var("ALLOW_ES_VERSION_MISMATCH")
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

/// Before a sync writes: refuses a cluster of a major this connector does not support. A
/// cluster that does not say its version (`GET /` refused to this user, or not served) is
/// let through: the writes themselves will tell.
pub(crate) async fn refuse_unsupported(es: &EsClient, host: &str) -> Result<(), String> {
    match cluster_version(es, host).await {
        Ok(version) => check_version(&version, mismatch_allowed()),
        Err(why) => {
            tracing::debug!("could not read the Elasticsearch version ({why}); not checked");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_version;

    #[test]
    fn majors_8_and_9_are_supported_others_refused_unless_allowed() {
        assert!(check_version("8.19.21", false).is_ok());
        assert!(check_version("9.1.0-SNAPSHOT", false).is_ok());
        let refused = check_version("7.17.0", false).unwrap_err();
        assert!(refused.contains("7.17.0") && refused.contains("ALLOW_ES_VERSION_MISMATCH"), "{refused}");
        assert!(check_version("10.0.0", false).is_err());
        assert!(check_version("nonsense", false).is_err());
        assert!(check_version("7.17.0", true).is_ok());
    }
}
