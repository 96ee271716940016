//! The query every identity document stores: what a search application adds to a user's
//! searches so that they find only what that user may read.
//!
//! It is Elastic's, byte for byte (`access_control.py`, `DLS_QUERY`, in elastic/connectors),
//! so applications and roles built on its identity documents work on ours: a document
//! without `_allow_access_control` is visible to everyone; any other is visible to whoever
//! holds one of its identities. A search application renders it with the identity
//! document's `params` (a mustache search template) and uses it as a filter, or puts the
//! whole `query.template` into a role or API key.

use serde_json::{json, Value};

/// The mustache source of the query (`{{#toJson}}access_control{{/toJson}}` is the user's
/// identities).
pub const DLS_QUERY: &str = concat!(
    "{\n",
    "                    \"bool\": {\n",
    "                        \"should\": [\n",
    "                            {\n",
    "                                \"bool\": {\n",
    "                                    \"must_not\": {\n",
    "                                        \"exists\": {\n",
    "                                            \"field\": \"_allow_access_control\"\n",
    "                                        }\n",
    "                                    }\n",
    "                                }\n",
    "                            },\n",
    "                            {\n",
    "                                \"terms\": {\n",
    "                                    \"_allow_access_control.keyword\": {{#toJson}}access_control{{/toJson}}\n",
    "                                }\n",
    "                            }\n",
    "                        ]\n",
    "                    }\n",
    "                }"
);

/// The `query` object of an identity document for these identities.
pub(super) fn stored_query(access: &[String]) -> Value {
    json!({"template": {"params": {"access_control": access}, "source": DLS_QUERY}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_renders_to_elastics_filter() {
        let access = vec!["user:ann".to_string(), "group:dev".to_string()];
        let rendered = DLS_QUERY.replace("{{#toJson}}access_control{{/toJson}}", &json!(access).to_string());
        let query: Value = serde_json::from_str(&rendered).unwrap();
        assert_eq!(
            query,
            json!({"bool": {"should": [
                {"bool": {"must_not": {"exists": {"field": "_allow_access_control"}}}},
                {"terms": {"_allow_access_control.keyword": ["user:ann", "group:dev"]}}
            ]}})
        );
        assert!(DLS_QUERY.starts_with("{\n                    \"bool\": {\n"));
        assert!(DLS_QUERY.ends_with("\n                    }\n                }"));
        assert_eq!(stored_query(&access)["template"]["params"]["access_control"][1], "group:dev");
    }
}
