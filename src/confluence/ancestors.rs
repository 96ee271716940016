//! A Cloud page's whole ancestor chain, for when a listing cannot rebuild it.
//!
//! Cloud v2 listings give each page its parent id only, and [`super::Ancestry`] rebuilds
//! chains from the pages a listing returned; a parent the listing did not return (in the
//! trash, a draft) ends the chain there. Read restrictions are inherited through such a
//! parent too, so document-level security asks for the rest: v2 `pages/{id}/ancestors`
//! answers top-most first, at most `limit` of them, without a cursor — for more, the same
//! call on the top-most ancestor. Ancestors come with their type: a page may sit below a
//! folder, a whiteboard or a database, whose restrictions are read differently.

use std::collections::HashSet;

use serde::Deserialize;

use super::api::v1;
use super::client::ConfluenceClient;
use super::error::{display_url, ConfluenceError};
use super::model::Ancestor;

/// Ancestors asked for per call (the documented maximum).
const LIMIT: usize = 250;

#[derive(Debug, Deserialize)]
struct AncestorList {
    #[serde(default)]
    results: Vec<AncestorId>,
}

#[derive(Debug, Deserialize)]
struct AncestorId {
    #[serde(deserialize_with = "super::api::id_string")]
    id: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

/// One ancestor of a Cloud page: its id and type (`page`, `folder`, `whiteboard`,
/// `database`, …; `None` when the answer did not say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AncestorLink {
    /// Content id.
    pub(crate) id: String,
    /// Content type.
    pub(crate) kind: Option<String>,
}

impl ConfluenceClient {
    /// The ancestors of a Cloud page, root first.
    pub(crate) async fn page_ancestors(&self, page_id: &str) -> Result<Vec<AncestorLink>, ConfluenceError> {
        let mut chain: Vec<AncestorLink> = Vec::new();
        let mut seen: HashSet<String> = HashSet::from([page_id.to_string()]);
        let mut below = page_id.to_string();
        loop {
            let url = self.url(&["api", "v2", "pages", &below, "ancestors"], &[("limit", LIMIT.to_string())]);
            let page = self.get_json::<AncestorList>(url, "GET /api/v2/pages/{id}/ancestors").await?.body;
            let full = page.results.len() >= LIMIT;
            let fresh: Vec<AncestorLink> = page
                .results
                .into_iter()
                .filter(|a| seen.insert(a.id.clone()))
                .map(|a| AncestorLink { id: a.id, kind: a.kind.filter(|k| !k.is_empty()) })
                .collect();
            let top = fresh.first().map(|a| a.id.clone());
            chain.splice(0..0, fresh);
            match top {
                // A full answer may leave out ancestors above its top-most one.
                Some(top) if full => below = top,
                _ => return Ok(chain),
            }
        }
    }

    /// Server/DC: a content's ancestors, root first (v1 `ancestors` expansion), for a
    /// listing that came without them.
    pub(crate) async fn content_ancestors(&self, content_id: &str) -> Result<Vec<Ancestor>, ConfluenceError> {
        let url = self.url(&["rest", "api", "content", content_id], &[("expand", "ancestors".to_string())]);
        let content = self.get_json::<v1::Content>(url.clone(), "GET /rest/api/content/{id}").await?.body;
        let chain = content.ancestors.ok_or_else(|| ConfluenceError::Decode {
            url: display_url(&url),
            detail: "the answer has no ancestors although they were asked for".to_string(),
        })?;
        Ok(chain.into_iter().map(|a| Ancestor { id: a.id, title: a.title }).collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::confluence::client::tests::test_client;
    use crate::confluence::options::Flavour;
    use crate::confluence::test_server::{json as reply, serve};
    use serde_json::json as j;

    #[tokio::test]
    async fn long_chains_are_read_from_the_top_most_ancestor_on() {
        // Page 0's ancestors are 1..=300, root (300) first; each call gives at most 250.
        let (server, _log) = serve(|seen, _| {
            let id: usize = seen.target.split('/').nth(5).unwrap().parse().unwrap();
            let chain: Vec<usize> = (id + 1..=300).rev().collect();
            let tail: Vec<_> = chain[chain.len().saturating_sub(250)..]
                .iter()
                .map(|i| j!({"id": i.to_string(), "type": if *i == 7 { "folder" } else { "page" }}))
                .collect();
            reply(200, j!({"results": tail}), &[])
        })
        .await;
        let client = test_client(&server.origin, Flavour::Cloud).await;
        let links = client.page_ancestors("0").await.unwrap();
        let ids: Vec<String> = links.iter().map(|a| a.id.clone()).collect();
        let expected: Vec<String> = (1..=300).rev().map(|i| i.to_string()).collect();
        assert_eq!(ids, expected);
        assert_eq!(links[293].kind.as_deref(), Some("folder"));
    }
}
