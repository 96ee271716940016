//! The identity document of one person in `.search-acl-filter-<index>`.
//!
//! Shape (Elastic's, `confluence-source.md`): `identity` describes the person with prefixed
//! strings, `_allow_access_control` lists every identity the person holds (themselves and
//! each of their groups, named as document ACLs name them), `query` is the stored search
//! template a search application runs for them ([`super::query`]), `created_at` is when the
//! document was first written. Unlike Elastic's Data Center documents, whose
//! `account_id:`/`name:` identities match no document ACL, ours use the same `user:` and
//! `group:` strings as the documents. Cloud documents also hold `access_class:<id>` for each
//! access class that covers the person ([`super::access_class`]).
//!
//! Elastic's Cloud identities carry `locale:<locale>`, which it reads from Jira's user API.
//! Confluence's own user objects (user search, group members) have no locale field — only
//! `timeZone` — so ours carry none: reading it would need Jira on the site, which this
//! connector deliberately does without, and no document ACL names a locale anyway.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{json, Value};

use crate::confluence::Flavour;

use super::directory::Person;
use super::identity::{access_class, account_id, display_name, email_address, Identities};
use super::query::{stored_query, DLS_QUERY};

/// One person's identity document, before `created_at`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IdentityDoc {
    /// `_id`.
    pub(crate) id: String,
    /// The `identity` object.
    pub(crate) identity: BTreeMap<String, String>,
    /// `_allow_access_control`: the person's own identity first, then their groups', then
    /// their access classes', each sorted.
    pub(crate) access: Vec<String>,
}

impl IdentityDoc {
    /// The document of `person`, or `None` when they cannot be named (no key).
    pub(crate) fn of(person: &Person, ids: Identities) -> Option<IdentityDoc> {
        let key = ids.user_key(&person.user)?;
        let user = &person.user;
        let mut identity = BTreeMap::new();
        match ids.flavour() {
            Flavour::Cloud => {
                identity.insert("account_id".to_string(), account_id(&key));
            }
            Flavour::Server | Flavour::DataCenter => {
                if let Some(user_key) = user.user_key.as_deref().filter(|k| !k.is_empty()) {
                    identity.insert("account_id".to_string(), account_id(user_key));
                }
                identity.insert("username".to_string(), ids.user(&key));
            }
        }
        if let Some(name) = user.display_name.as_deref().filter(|n| !n.trim().is_empty()) {
            identity.insert("display_name".to_string(), display_name(name));
        }
        if let Some(email) = user.email.as_deref().filter(|e| !e.is_empty()) {
            identity.insert("email_address".to_string(), email_address(email));
        }
        let mut access = vec![ids.user(&key)];
        access.extend(person.groups.iter().map(|g| ids.group(g)));
        access.extend(person.classes.iter().map(|c| access_class(c)));
        Some(IdentityDoc { id: person.id.clone(), identity, access })
    }

    /// The `_source` to write.
    pub(crate) fn source(&self, created_at: &str) -> Value {
        json!({
            "id": self.id,
            "identity": self.identity,
            "created_at": created_at,
            "_allow_access_control": self.access,
            "query": stored_query(&self.access),
        })
    }

    /// A hash of what the document says (everything but `created_at`): equal to
    /// [`stored_digest`] of the indexed copy when it need not be written again.
    pub(crate) fn digest(&self) -> u64 {
        digest(
            self.identity.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &self.access,
            DLS_QUERY,
            &self.access,
        )
    }
}

/// [`IdentityDoc::digest`] of an indexed `_source`.
pub(crate) fn stored_digest(source: &Value) -> u64 {
    let strings = |value: &Value| -> Vec<String> {
        value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
    };
    let identity: BTreeMap<&str, &str> = source["identity"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
        .collect();
    let template = &source["query"]["template"];
    digest(
        identity.into_iter(),
        &strings(&source["_allow_access_control"]),
        template["source"].as_str().unwrap_or_default(),
        &strings(&template["params"]["access_control"]),
    )
}

fn digest<'a>(
    identity: impl Iterator<Item = (&'a str, &'a str)>,
    access: &[String],
    query: &str,
    params: &[String],
) -> u64 {
    let mut h = DefaultHasher::new();
    for (key, value) in identity {
        1u8.hash(&mut h);
        key.hash(&mut h);
        value.hash(&mut h);
    }
    2u8.hash(&mut h);
    access.hash(&mut h);
    query.hash(&mut h);
    params.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confluence::UserRef;

    fn ann() -> Person {
        Person {
            id: "8a7f8081".into(),
            user: UserRef {
                username: Some("ann".into()),
                user_key: Some("8a7f8081".into()),
                display_name: Some("Ann Lee".into()),
                email: Some("ann@example.com".into()),
                ..UserRef::default()
            },
            groups: ["confluence-users".to_string(), "dev".to_string()].into_iter().collect(),
            classes: Default::default(),
        }
    }

    #[test]
    fn data_center_documents_name_people_as_document_acls_do() {
        let doc = IdentityDoc::of(&ann(), Identities::new(Flavour::DataCenter)).unwrap();
        let source = doc.source("2026-01-01T00:00:00.000Z");
        assert_eq!(source["id"], "8a7f8081");
        assert_eq!(
            source["_allow_access_control"],
            json!(["user:ann", "group:confluence-users", "group:dev"])
        );
        assert_eq!(source["query"]["template"]["params"]["access_control"], source["_allow_access_control"]);
        assert_eq!(
            source["identity"],
            json!({"account_id": "account_id:8a7f8081", "username": "user:ann",
                   "display_name": "name:Ann-Lee", "email_address": "email_address:ann@example.com"})
        );
    }

    #[test]
    fn the_digest_of_the_indexed_copy_matches_until_something_changes() {
        let ids = Identities::new(Flavour::Cloud);
        let mut person = ann();
        person.user.account_id = Some("5b10".into());
        person.id = "5b10".into();
        person.classes.insert("all-licensed-users".into());
        let doc = IdentityDoc::of(&person, ids).unwrap();
        let stored = doc.source("2026-01-01T00:00:00.000Z");
        assert_eq!(
            stored["_allow_access_control"],
            json!([
                "account_id:5b10",
                "group_id:confluence-users",
                "group_id:dev",
                "access_class:all-licensed-users"
            ])
        );
        assert_eq!(stored_digest(&stored), doc.digest());
        person.groups.remove("dev");
        assert_ne!(IdentityDoc::of(&person, ids).unwrap().digest(), doc.digest());
        let mut tampered = stored.clone();
        tampered["query"]["template"]["source"] = json!("{}");
        assert_ne!(stored_digest(&tampered), doc.digest());
    }
}
