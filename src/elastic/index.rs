//! The content index: created when missing, with mappings that keep the Elastic connector's
//! search behaviour.
//!
//! Elastic's framework creates `search-*` indices with no body, so dynamic mapping makes
//! every string `text` with a `.keyword` subfield — which the document-level-security query
//! relies on (`_allow_access_control.keyword`). We write the same shapes explicitly (and the
//! dates as dates), so the index does not depend on the first document's values.

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
pub fn content_mappings() -> Value {
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

/// Makes sure `index` can be written to.
pub async fn ensure_content_index(es: &EsClient, index: &str, mode: IndexMode) -> Result<(), ElasticError> {
    let path = format!("/{index}");
    let exists = send_json(es, Method::Head, &path, None, HeaderMap::new()).await?;
    match (exists, mode) {
        (Answer::Ok(_), _) => Ok(()),
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
