//! The two indices of the connector protocol, `.elastic-connectors` and
//! `.elastic-connectors-sync-jobs`, read and written as Elastic's service does: searches with
//! sequence numbers, and updates guarded by them where two processes may race (preparing a
//! connector, marking a schedule, starting a job).
//!
//! Elasticsearch installs their mappings (the ent-search templates); the service only makes
//! sure the concrete indices exist, so that those templates apply.

use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::Method;
use serde_json::{json, Value};

use crate::elastic::client::EsClient;
use crate::elastic::error::ElasticError;
pub(crate) use crate::elastic::request::path_segment as encode;
use crate::elastic::request::{send_json, Answer};

/// The connector documents (an alias).
pub(super) const CONNECTORS: &str = ".elastic-connectors";
/// The sync-job documents (an alias).
pub(super) const SYNC_JOBS: &str = ".elastic-connectors-sync-jobs";
/// Documents a search page holds.
const PAGE: usize = 100;

/// A document with the sequence number and primary term it was read at.
#[derive(Debug, Clone)]
pub(crate) struct Versioned {
    /// `_id`.
    pub(crate) id: String,
    /// `_seq_no`.
    pub(crate) seq_no: u64,
    /// `_primary_term`.
    pub(crate) primary_term: u64,
    /// `_source`.
    pub(crate) source: Value,
}

impl Versioned {
    fn from_hit(hit: &Value) -> Option<Versioned> {
        Some(Versioned {
            id: hit["_id"].as_str()?.to_string(),
            seq_no: hit["_seq_no"].as_u64()?,
            primary_term: hit["_primary_term"].as_u64()?,
            source: hit["_source"].clone(),
        })
    }
}

/// Why an update was not made.
#[derive(Debug)]
pub(super) enum UpdateError {
    /// The document changed since it was read (409): read it again and decide again.
    Conflict,
    /// The document is gone.
    Missing,
    /// Anything else.
    Elastic(ElasticError),
}

impl std::fmt::Display for UpdateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpdateError::Conflict => f.write_str("the document changed meanwhile (version conflict)"),
            UpdateError::Missing => f.write_str("the document does not exist"),
            UpdateError::Elastic(e) => write!(f, "{e}"),
        }
    }
}

/// Creates the concrete `-v1` indices when they are missing (with no body, so that
/// Elasticsearch's templates give them their mappings), as Elastic's preflight does.
pub(super) async fn ensure_indices(es: &EsClient) -> Result<(), ElasticError> {
    for index in [CONNECTORS, SYNC_JOBS] {
        let concrete = format!("/{index}-v1");
        if let Answer::NotFound = send_json(es, Method::Head, &concrete, None, HeaderMap::new()).await? {
            match send_json(es, Method::Put, &concrete, None, HeaderMap::new()).await {
                Ok(_) => tracing::info!(index = %concrete, "created the connector protocol index"),
                // Another process created it first.
                Err(ElasticError::Status { error_type: Some(t), .. })
                    if t == "resource_already_exists_exception" => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Every document of `index` matching `query`, in `sort` order, 100 a page.
pub(super) async fn search(
    es: &EsClient,
    index: &str,
    query: Value,
    sort: Value,
) -> Result<Vec<Versioned>, ElasticError> {
    let path = format!("/{index}/_search?expand_wildcards=hidden");
    let mut found = Vec::new();
    loop {
        let body = json!({
            "query": query,
            "sort": sort,
            "from": found.len(),
            "size": PAGE,
            "seq_no_primary_term": true,
        });
        let answer = match send_json(es, Method::Post, &path, Some(&body), HeaderMap::new()).await? {
            Answer::Ok(answer) => answer,
            // No connector was ever created.
            Answer::NotFound => return Ok(found),
        };
        let hits = answer["hits"]["hits"].as_array().cloned().unwrap_or_default();
        let total = answer["hits"]["total"]["value"].as_u64().unwrap_or(0) as usize;
        let page = hits.len();
        found.extend(hits.iter().filter_map(Versioned::from_hit));
        if page < PAGE || found.len() >= total {
            return Ok(found);
        }
    }
}

/// One document, real-time; `None` when it does not exist.
pub(super) async fn get(es: &EsClient, index: &str, id: &str) -> Result<Option<Versioned>, ElasticError> {
    let path = format!("/{index}/_doc/{}", encode(id));
    match send_json(es, Method::Get, &path, None, HeaderMap::new()).await? {
        Answer::NotFound => Ok(None),
        Answer::Ok(doc) if doc["found"] == json!(false) => Ok(None),
        Answer::Ok(doc) => Ok(Versioned::from_hit(&doc)),
    }
}

/// Merges `doc` into the document `id`; with `read`, only if it is still the version read.
pub(super) async fn update(
    es: &EsClient,
    index: &str,
    id: &str,
    doc: Value,
    read: Option<&Versioned>,
) -> Result<(), UpdateError> {
    let mut path = format!("/{index}/_update/{}?refresh=true", encode(id));
    if let Some(read) = read {
        path.push_str(&format!("&if_seq_no={}&if_primary_term={}", read.seq_no, read.primary_term));
    }
    match send_json(es, Method::Post, &path, Some(&json!({ "doc": doc })), HeaderMap::new()).await {
        Ok(Answer::Ok(_)) => Ok(()),
        Ok(Answer::NotFound) => Err(UpdateError::Missing),
        Err(e) if e.status() == Some(409) => Err(UpdateError::Conflict),
        Err(e) => Err(UpdateError::Elastic(e)),
    }
}

/// A `_connector` API call; `Ok(None)` for a 404.
pub(super) async fn api(
    es: &EsClient,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Option<Value>, ElasticError> {
    match send_json(es, method, path, body, HeaderMap::new()).await? {
        Answer::Ok(value) => Ok(Some(value)),
        Answer::NotFound => Ok(None),
    }
}
