//! A Cloud page's whole ancestor chain, for when a listing cannot rebuild it.
//!
//! Cloud v2 listings give each page its parent id only, and [`super::Ancestry`] rebuilds
//! chains from the pages a listing returned; a parent the listing did not return (in the
//! trash, a draft) ends the chain there. Read restrictions are inherited through such a
//! parent too, so document-level security asks for the rest: v2 `pages/{id}/ancestors`
//! answers top-most first, at most `limit` of them, without a cursor — for more, the same
//! call on the top-most ancestor.

use std::collections::HashSet;

use serde::Deserialize;

use super::client::ConfluenceClient;
use super::error::ConfluenceError;

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
}

impl ConfluenceClient {
    /// The ids of a Cloud page's ancestors, root first.
    pub async fn page_ancestor_ids(&self, page_id: &str) -> Result<Vec<String>, ConfluenceError> {
        let mut chain: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::from([page_id.to_string()]);
        let mut below = page_id.to_string();
        loop {
            let url = self.url(&["api", "v2", "pages", &below, "ancestors"], &[("limit", LIMIT.to_string())]);
            let page = self.get_json::<AncestorList>(url, "GET /api/v2/pages/{id}/ancestors").await?.body;
            let full = page.results.len() >= LIMIT;
            let fresh: Vec<String> =
                page.results.into_iter().map(|a| a.id).filter(|id| seen.insert(id.clone())).collect();
            let top = fresh.first().cloned();
            chain.splice(0..0, fresh);
            match top {
                // A full answer may leave out ancestors above its top-most one.
                Some(top) if full => below = top,
                _ => return Ok(chain),
            }
        }
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
            let tail: Vec<_> =
                chain[chain.len().saturating_sub(250)..].iter().map(|i| j!({"id": i.to_string()})).collect();
            reply(200, j!({"results": tail}), &[])
        })
        .await;
        let client = test_client(&server.origin, Flavour::Cloud).await;
        let ids = client.page_ancestor_ids("0").await.unwrap();
        let expected: Vec<String> = (1..=300).rev().map(|i| i.to_string()).collect();
        assert_eq!(ids, expected);
    }
}
