//! The content index: created when missing, with mappings that keep the Elastic connector's
//! search behaviour.
//!
//! Elastic's framework creates `search-*` indices with no body, so dynamic mapping makes
//! every string `text` with a `.keyword` subfield — which the document-level-security query
//! relies on (`_allow_access_control.keyword`). We write the same shapes explicitly (and the
//! dates as dates), so the index does not depend on the first document's values.
//!
//! The index must keep those mappings even when it disappears under a running sync (deleted
//! by hand, by a retention policy, by a restore): the next `_bulk` would otherwise create it
//! again with dynamic mappings (`url`, `id` and `body` as text with keywords, no explicit
//! types), and every later document would be indexed under them. Two ways were possible: a
//! check before each write (a request per batch, and still a race between the check and the
//! write) or an index template for the index's exact name, which Elasticsearch itself
//! applies to whatever creates the index — a `_bulk` included. We install the template
//! ([`content_template`]): no extra request per batch, no race. It matches this one name
//! only, with a priority above hand-written templates, so a broad template (`search-*`)
//! cannot replace the connector's mappings. Creating templates needs the cluster privilege
//! `manage_index_templates`; without it the sync goes on and says once, in a warning, that
//! the index is not protected.

use super::client::EsClient;
use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::Method;
use serde_json::{json, Value};

use super::error::ElasticError;
use super::request::{send_json, Answer};

/// What to do about the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexMode {
    /// Create it with our mappings when it does not exist.
    CreateIfMissing,
    /// Use it (or the template that will create it) untouched.
    UseExisting,
}

/// `text` with a `keyword` subfield, as dynamic mapping does.
fn text_keyword() -> Value {
    json!({"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}})
}

/// The mappings of a content index.
pub(crate) fn content_mappings() -> Value {
    json!({
        "dynamic": true,
        "properties": {
            "id": {"type": "keyword"},
            "_timestamp": {"type": "date"},
            "createdDate": {"type": "date"},
            "type": {"type": "keyword"},
            "space_key": {"type": "keyword"},
            "key": {"type": "keyword"},
            "title": text_keyword(),
            "space": text_keyword(),
            "body": {"type": "text"},
            "url": {"type": "keyword"},
            "author": text_keyword(),
            "labels": text_keyword(),
            "size": {"type": "long"},
            "page": text_keyword(),
            "blogpost": text_keyword(),
            "ancestors": {"properties": {"title": text_keyword()}},
            "_allow_access_control": text_keyword(),
        }
    })
}

/// The priority of [`content_template`]: above the templates people write by hand (commonly
/// 100–1000) and an unusual number, since two templates of equal priority may not overlap.
pub(crate) const TEMPLATE_PRIORITY: u64 = 1_000_017;

/// The name of the index template that keeps `index`'s mappings.
pub fn template_name(index: &str) -> String {
    format!("{index}-confluence-connector")
}

/// An index template for exactly `index` with the connector's mappings: whatever creates
/// the index — a `_bulk` after the index was deleted included — creates it with them.
pub(crate) fn content_template(index: &str) -> Value {
    json!({
        "index_patterns": [index],
        "priority": TEMPLATE_PRIORITY,
        "template": {"mappings": content_mappings()},
        "_meta": {
            "managed_by": "confluence-connector",
            "description": "keeps the connector's mappings when a write re-creates the index",
        },
    })
}

/// Installs [`content_template`] for `index`; a failure is a warning, not an error: the
/// index exists (or is created next) with the right mappings either way, only a deletion
/// during the sync would not be covered.
async fn install_content_template(es: &EsClient, index: &str) {
    let path = format!("/_index_template/{}", template_name(index));
    match send_json(es, Method::Put, &path, Some(&content_template(index)), HeaderMap::new()).await {
        Ok(_) => tracing::debug!(index, "index template for the connector's mappings in place"),
        Err(error) => tracing::warn!(
            index,
            %error,
            "cannot install the index template {path}: if {index} is deleted during a sync, the \
             next write creates it with dynamic mappings. Give the connector's credentials the \
             cluster privilege manage_index_templates to prevent this"
        ),
    }
}

/// Makes sure `index` can be written to. With [`IndexMode::CreateIfMissing`] it also
/// installs [`content_template`], so that a write after the index was deleted re-creates it
/// with the connector's mappings rather than dynamic ones.
pub async fn ensure_content_index(es: &EsClient, index: &str, mode: IndexMode) -> Result<(), ElasticError> {
    let path = format!("/{index}");
    if mode == IndexMode::CreateIfMissing {
        install_content_template(es, index).await;
    }
    let exists = send_json(es, Method::Head, &path, None, HeaderMap::new()).await?;
    match (exists, mode) {
        (Answer::Ok(_), IndexMode::CreateIfMissing) => check_mappings(es, index).await,
        (Answer::Ok(_), IndexMode::UseExisting) => Ok(()),
        (Answer::NotFound, IndexMode::UseExisting) => {
            // A template may create it on the first write: nothing to do, as asked.
            tracing::info!(
                index,
                "index does not exist yet; it will be created by its template on first write"
            );
            Ok(())
        }
        (Answer::NotFound, IndexMode::CreateIfMissing) => {
            let body = json!({"mappings": content_mappings()});
            match send_json(es, Method::Put, &path, Some(&body), HeaderMap::new()).await {
                Ok(_) => {
                    tracing::info!(index, "created the content index");
                    Ok(())
                }
                // Created meanwhile by another process: fine.
                Err(ElasticError::Status { error_type: Some(t), .. })
                    if t == "resource_already_exists_exception" =>
                {
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// The fields whose type the connector's queries and deletions depend on: exact terms on
/// `id`, `type`, `space_key` and `url`, dates on `_timestamp`.
const CHECKED_FIELDS: [(&str, &str); 5] = [
    ("id", "keyword"),
    ("type", "keyword"),
    ("space_key", "keyword"),
    ("url", "keyword"),
    ("_timestamp", "date"),
];

/// Refuses an index that maps [`CHECKED_FIELDS`] otherwise than the connector does: made by
/// dynamic mapping (a write re-created it before the template existed, or another tool made
/// it), it would silently miss documents in every search by space and every deletion. A
/// field not mapped yet is fine: the connector's mapping applies when it first appears.
pub(crate) async fn check_mappings(es: &EsClient, index: &str) -> Result<(), ElasticError> {
    let path = format!("/{index}/_mapping");
    let Answer::Ok(answer) = send_json(es, Method::Get, &path, None, HeaderMap::new()).await? else {
        return Ok(());
    };
    // Keyed by the concrete index (the name may be an alias).
    let Some(properties) =
        answer.as_object().and_then(|o| o.values().next()).map(|m| &m["mappings"]["properties"])
    else {
        return Ok(());
    };
    let wrong: Vec<(&str, &str, String)> = CHECKED_FIELDS
        .iter()
        .filter_map(|(field, wanted)| {
            let found = properties[field]["type"].as_str()?;
            (found != *wanted).then(|| (*field, *wanted, found.to_string()))
        })
        .collect();
    if wrong.is_empty() {
        return Ok(());
    }
    Err(ElasticError::Mappings {
        index: index.to_string(),
        found: wrong.iter().map(|(f, _, found)| format!("{f} as {found}")).collect::<Vec<_>>().join(", "),
        wanted: wrong.iter().map(|(f, wanted, _)| format!("{f} as {wanted}")).collect::<Vec<_>>().join(", "),
    })
}
