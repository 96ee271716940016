//! Authorization: what an authenticated user may do. The superuser (`EsSimConfig::username`)
//! and the configured API key (`EsSimConfig::api_key`) may do everything. Further users
//! ([`EsUser`]) and API keys ([`EsApiKey`]) carry a [`Role`] — the ones Elasticsearch's own
//! YAML test cluster gives its ent-search users, so that its privilege tests run here too,
//! and a reader that may not write — so that a client's handling of a 403, and its reading
//! of `_has_privileges` ([`super::has_privileges`]), can be tested. A refused request is a
//! 403 `security_exception`, as Elasticsearch answers it.

use super::auth::Principal;
use super::config::EsSimConfig;
use super::error::EsError;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything.
    Superuser,
    /// Read connectors and sync jobs, and read and write connector secrets — nothing else
    /// (the `entsearch-user` of Elasticsearch's test cluster).
    ConnectorReader,
    /// Read every index and its metadata, and monitor the cluster: no writes, no index
    /// creation, no mapping updates (a key given to dashboards, not to a connector).
    Reader,
    /// Nothing but `GET /_security/_authenticate` (and `_has_privileges`).
    Unprivileged,
}

impl Role {
    /// The role's name, as `_authenticate` and errors show it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Superuser => "superuser",
            Role::ConnectorReader => "connector_reader",
            Role::Reader => "reader",
            Role::Unprivileged => "unprivileged",
        }
    }

    /// The role's cluster privileges.
    pub fn cluster(self) -> &'static [&'static str] {
        match self {
            Role::Superuser => &["all"],
            Role::ConnectorReader => {
                &["monitor_connector", "read_connector_secrets", "write_connector_secrets"]
            }
            Role::Reader => &["monitor"],
            Role::Unprivileged => &[],
        }
    }

    /// The role's index privileges: `(index pattern, privileges)`.
    pub fn indices(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            Role::Superuser => &[("*", &["all"])],
            Role::ConnectorReader => &[(".elastic-connectors*", &["read"])],
            Role::Reader => &[("*", &["read", "view_index_metadata", "monitor"])],
            Role::Unprivileged => &[],
        }
    }
}

/// An API key besides the configured one, with its role (Elasticsearch's API keys carry role
/// descriptors that limit them).
#[derive(Clone, PartialEq, Eq)]
pub struct EsApiKey {
    /// The key's id.
    pub id: String,
    /// Its secret.
    pub secret: String,
    /// What it may do.
    pub role: Role,
}

impl EsApiKey {
    /// A key `id:secret` with a role.
    pub fn new(id: &str, secret: &str, role: Role) -> EsApiKey {
        EsApiKey { id: id.to_string(), secret: secret.to_string(), role }
    }

    /// The `Authorization: ApiKey` value: base64 of `id:secret`, as Elasticsearch's
    /// `encoded` field gives it.
    pub fn encoded(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.id, self.secret))
    }
}

impl std::fmt::Debug for EsApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsApiKey").field("id", &self.id).field("role", &self.role).finish()
    }
}

/// A basic-auth user besides the superuser.
#[derive(Clone, PartialEq, Eq)]
pub struct EsUser {
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
    /// What the user may do.
    pub role: Role,
}

impl EsUser {
    /// A user with a role.
    pub fn new(name: &str, password: &str, role: Role) -> EsUser {
        EsUser { name: name.to_string(), password: password.to_string(), role }
    }
}

impl std::fmt::Debug for EsUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsUser").field("name", &self.name).field("role", &self.role).finish()
    }
}

/// The role of whoever sent a request.
pub fn role_of(config: &EsSimConfig, who: &Principal) -> Role {
    match who {
        Principal::User(name) if *name != config.username => {
            config.users.iter().find(|u| u.name == *name).map_or(Role::Unprivileged, |u| u.role)
        }
        Principal::ApiKey(id) => {
            config.api_keys.iter().find(|k| k.id == *id).map_or(Role::Superuser, |k| k.role)
        }
        _ => Role::Superuser,
    }
}

/// Whether `role` may call `method` on the route `pattern`.
fn allows(role: Role, pattern: &str, method: &str) -> bool {
    // Every user may ask what it may do.
    if pattern.ends_with("/_has_privileges") || pattern == "/_security/_authenticate" {
        return true;
    }
    match role {
        Role::Superuser => true,
        Role::ConnectorReader => {
            pattern.starts_with("/_connector/_secret")
                || (pattern.starts_with("/_connector") && method == "GET")
                || pattern == "/_security/_authenticate"
        }
        Role::Reader => {
            matches!(method, "GET" | "HEAD") && !pattern.starts_with("/_connector")
                || matches!(
                    pattern,
                    "/_search"
                        | "/{index}/_search"
                        | "/_count"
                        | "/{index}/_count"
                        | "/{index}/_pit"
                        | "/_pit"
                        | "/_search/scroll"
                        | "/_search/scroll/{scroll_id}"
                )
        }
        Role::Unprivileged => false,
    }
}

/// Refuses the request with a 403 unless the sender's role allows it.
pub fn authorize(config: &EsSimConfig, who: &Principal, pattern: &str, method: &str) -> Result<(), EsError> {
    let role = role_of(config, who);
    if allows(role, pattern, method) {
        return Ok(());
    }
    let user = match who {
        Principal::User(u) => format!("user [{u}]"),
        Principal::ApiKey(id) => format!("API key id [{id}] of user [{}]", config.username),
        Principal::Anonymous => "user [_anonymous]".to_string(),
    };
    Err(EsError::new(
        403,
        "security_exception",
        format!(
            "action [{method} {pattern}] is unauthorized for {user} with effective roles [{}]",
            role.name()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_decide() {
        let config = EsSimConfig {
            users: vec![EsUser::new("reader", "pw", Role::ConnectorReader)],
            ..EsSimConfig::default()
        };
        let reader = Principal::User("reader".into());
        assert!(authorize(&config, &reader, "/_connector", "GET").is_ok());
        assert!(authorize(&config, &reader, "/_connector/_secret/{id}", "DELETE").is_ok());
        let e = authorize(&config, &reader, "/_connector/{connector_id}", "PUT").unwrap_err();
        assert_eq!((e.status, e.kind.as_str()), (403, "security_exception"));
        assert!(authorize(&config, &reader, "/{index}/_search", "GET").is_err());
        assert!(authorize(&config, &Principal::User("elastic".into()), "/_bulk", "POST").is_ok());
        assert!(authorize(&config, &Principal::ApiKey("k".into()), "/_bulk", "POST").is_ok());
        let limited = EsSimConfig { api_keys: vec![EsApiKey::new("ro", "s", Role::Reader)], ..config };
        let reader = Principal::ApiKey("ro".into());
        assert!(authorize(&limited, &reader, "/{index}/_search", "POST").is_ok());
        assert!(authorize(&limited, &reader, "/{index}/_mapping", "GET").is_ok());
        assert!(authorize(&limited, &reader, "/_security/user/_has_privileges", "POST").is_ok());
        let e = authorize(&limited, &reader, "/{index}/_bulk", "POST").unwrap_err();
        assert!(e.reason.contains("API key id [ro] of user [elastic]"), "{}", e.reason);
        assert!(authorize(&limited, &reader, "/{index}", "PUT").is_err());
    }
}
