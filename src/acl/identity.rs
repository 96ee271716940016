//! Identity strings: how `_allow_access_control` and identity documents name people.
//!
//! The strings are Elastic's (`confluence-source.md`, "Document level security"), so search
//! applications built for its connector keep working: Cloud names users `account_id:<id>`
//! and groups `group_id:<id>`; Server and Data Center name users `user:<username>` and groups
//! `group:<name>`. Identity documents also carry `name:<display name, spaces as ->` and
//! `email_address:<email>` as descriptions. Cloud access classes are `access_class:<id>`
//! (ours: Elastic's connector does not read them). Inside the ACL computation people are plain
//! *keys* (the part after the prefix), so that a layer naming a user and another naming
//! their group can be compared ([`super::layer`]).

use crate::confluence::{Flavour, GroupRef, UserRef};

/// The ACL of a document nobody may read: not empty — Elasticsearch's `exists` sees no
/// value in an empty list, and the stored query shows documents without the field to
/// everyone — but a string no identity document holds (every identity has a `prefix:`).
pub const NOBODY: &str = "nobody";

/// How one flavour names users and groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identities {
    flavour: Flavour,
}

impl Identities {
    /// The names of `flavour`.
    pub(crate) fn new(flavour: Flavour) -> Identities {
        Identities { flavour }
    }

    /// The flavour.
    pub(crate) fn flavour(self) -> Flavour {
        self.flavour
    }

    /// A user's key: Cloud account id, Server/DC username (`None` when the API left it out;
    /// a Data Center user named by key only must be looked up first).
    pub(crate) fn user_key(self, user: &UserRef) -> Option<String> {
        let key = match self.flavour {
            Flavour::Cloud => user.account_id.as_deref(),
            Flavour::Server | Flavour::DataCenter => user.username.as_deref(),
        };
        key.filter(|k| !k.is_empty()).map(str::to_string)
    }

    /// A group's key: Cloud group id, Server/DC group name.
    pub(crate) fn group_key(self, group: &GroupRef) -> Option<String> {
        let key = match self.flavour {
            Flavour::Cloud => group.id.as_deref(),
            Flavour::Server | Flavour::DataCenter => group.name.as_deref(),
        };
        key.filter(|k| !k.is_empty()).map(str::to_string)
    }

    /// A group named by its key, as the group listings want it.
    pub(crate) fn group_ref(self, key: &str) -> GroupRef {
        match self.flavour {
            Flavour::Cloud => GroupRef { id: Some(key.to_string()), name: None },
            Flavour::Server | Flavour::DataCenter => GroupRef { name: Some(key.to_string()), id: None },
        }
    }

    /// The identity string of a user key.
    pub(crate) fn user(self, key: &str) -> String {
        match self.flavour {
            Flavour::Cloud => format!("account_id:{key}"),
            Flavour::Server | Flavour::DataCenter => format!("user:{key}"),
        }
    }

    /// The identity string of a group key.
    pub(crate) fn group(self, key: &str) -> String {
        match self.flavour {
            Flavour::Cloud => format!("group_id:{key}"),
            Flavour::Server | Flavour::DataCenter => format!("group:{key}"),
        }
    }
}

/// `name:<display name>`, spaces turned into `-` as Elastic's connector writes it.
pub(crate) fn display_name(name: &str) -> String {
    format!("name:{}", name.split_whitespace().collect::<Vec<_>>().join("-"))
}

/// `email_address:<email>`.
pub(crate) fn email_address(email: &str) -> String {
    format!("email_address:{email}")
}

/// `access_class:<id>`: a Cloud access class ([`super::access_class`]), on the documents
/// it may read and in the identity documents of the accounts it covers.
pub(crate) fn access_class(id: &str) -> String {
    format!("access_class:{id}")
}

/// `account_id:<id>`: a Cloud account id, or a Server/DC user key (as Elastic names it).
pub(crate) fn account_id(id: &str) -> String {
    format!("account_id:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flavour_names_people_as_elastic_does() {
        let cloud = Identities::new(Flavour::Cloud);
        let user = UserRef {
            account_id: Some("5b10ac8d82e05b22cc7d4ef5".into()),
            username: Some("ann".into()),
            ..UserRef::default()
        };
        let group = GroupRef { name: Some("dev".into()), id: Some("a1b2".into()) };
        assert_eq!(cloud.user(&cloud.user_key(&user).unwrap()), "account_id:5b10ac8d82e05b22cc7d4ef5");
        assert_eq!(cloud.group(&cloud.group_key(&group).unwrap()), "group_id:a1b2");
        let dc = Identities::new(Flavour::DataCenter);
        assert_eq!(dc.user(&dc.user_key(&user).unwrap()), "user:ann");
        assert_eq!(dc.group(&dc.group_key(&group).unwrap()), "group:dev");
        assert_eq!(dc.user_key(&UserRef { user_key: Some("k".into()), ..UserRef::default() }), None);
        assert_eq!(display_name("Ann  Lee Smith"), "name:Ann-Lee-Smith");
        assert!(!NOBODY.contains(':'));
    }
}
