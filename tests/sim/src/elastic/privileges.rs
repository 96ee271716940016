//! Authorization: what an authenticated user may do. The superuser (`EsSimConfig::username`)
//! and API keys may do everything. Further users ([`EsUser`]) carry a [`Role`] — the ones
//! Elasticsearch's own YAML test cluster gives its ent-search users, so that its privilege
//! tests run here too, and a client's handling of a 403 can be tested. A refused request is a
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
    /// Nothing but `GET /_security/_authenticate`.
    Unprivileged,
}

impl Role {
    /// The role's name, as `_authenticate` and errors show it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Superuser => "superuser",
            Role::ConnectorReader => "connector_reader",
            Role::Unprivileged => "unprivileged",
        }
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
        _ => Role::Superuser,
    }
}

/// Whether `role` may call `method` on the route `pattern`.
fn allows(role: Role, pattern: &str, method: &str) -> bool {
    match role {
        Role::Superuser => true,
        Role::ConnectorReader => {
            pattern.starts_with("/_connector/_secret")
                || (pattern.starts_with("/_connector") && method == "GET")
                || pattern == "/_security/_authenticate"
        }
        Role::Unprivileged => pattern == "/_security/_authenticate",
    }
}

/// Refuses the request with a 403 unless the sender's role allows it.
pub fn authorize(config: &EsSimConfig, who: &Principal, pattern: &str, method: &str) -> Result<(), EsError> {
    let role = role_of(config, who);
    if allows(role, pattern, method) {
        return Ok(());
    }
    let user = match who {
        Principal::User(u) => u.as_str(),
        _ => "_anonymous",
    };
    Err(EsError::new(
        403,
        "security_exception",
        format!(
            "action [{method} {pattern}] is unauthorized for user [{user}] with effective roles [{}]",
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
    }
}
