//! Authentication as Elasticsearch's security layer does it: `Authorization: ApiKey <base64>`
//! or `Basic`, and a 401 `security_exception` (with `WWW-Authenticate`) otherwise. Also the
//! `GET /_security/_authenticate` answer that clients use to check their credentials.

use base64::Engine;
use serde_json::{json, Value};

use super::config::EsSimConfig;
use super::error::EsError;

/// Who a request authenticated as.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// Security is disabled.
    Anonymous,
    /// Basic auth as this user.
    User(String),
    /// An API key (its id, when the key decodes as `id:secret`).
    ApiKey(String),
}

/// The `WWW-Authenticate` challenges Elasticsearch sends with a 401.
pub const CHALLENGES: [&str; 2] = ["Basic realm=\"security\", charset=\"UTF-8\"", "ApiKey"];

fn unauthorized(reason: String) -> EsError {
    EsError::new(401, "security_exception", reason).with("header", json!({"WWW-Authenticate": CHALLENGES}))
}

/// Checks the `Authorization` header of a request for `uri`.
pub fn authenticate(config: &EsSimConfig, header: Option<&str>, uri: &str) -> Result<Principal, EsError> {
    if !config.security_enabled {
        return Ok(Principal::Anonymous);
    }
    let Some(h) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Err(unauthorized(format!("missing authentication credentials for REST request [{uri}]")));
    };
    let (scheme, value) = h.split_once(' ').unwrap_or((h, ""));
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("ApiKey") {
        let id = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.split_once(':').map(|(id, _)| id.to_string()))
            .unwrap_or_default();
        if config.api_key.as_deref() == Some(value) || config.api_keys.iter().any(|k| k.encoded() == value) {
            return Ok(Principal::ApiKey(id));
        }
        return Err(unauthorized("unable to authenticate with provided credentials and anonymous access is not allowed for this request".to_string())
            .with("additional_unsuccessful_credentials", format!("API key: api key [{id}] does not exist")));
    }
    if scheme.eq_ignore_ascii_case("Basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let Some((user, pass)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err(unauthorized(format!("missing authentication credentials for REST request [{uri}]")));
        };
        let known = (user == config.username && pass == config.password)
            || config.users.iter().any(|u| u.name == user && u.password == pass);
        if known {
            return Ok(Principal::User(user.to_string()));
        }
        return Err(unauthorized(format!("unable to authenticate user [{user}] for REST request [{uri}]")));
    }
    Err(unauthorized(format!("missing authentication credentials for REST request [{uri}]")))
}

/// The `GET /_security/_authenticate` body.
pub fn authenticate_body(config: &EsSimConfig, who: &Principal) -> Value {
    match who {
        Principal::ApiKey(id) => json!({
            "username": config.username, "roles": [], "full_name": null, "email": null, "metadata": {},
            "enabled": true,
            "authentication_realm": {"name": "_es_api_key", "type": "_es_api_key"},
            "lookup_realm": {"name": "_es_api_key", "type": "_es_api_key"},
            "api_key": {"id": id, "name": "es-sim"},
            "authentication_type": "api_key"
        }),
        Principal::User(u) => json!({
            "username": u, "roles": [super::privileges::role_of(config, who).name()], "full_name": null, "email": null,
            "metadata": {"_reserved": true}, "enabled": true,
            "authentication_realm": {"name": "reserved", "type": "reserved"},
            "lookup_realm": {"name": "reserved", "type": "reserved"},
            "authentication_type": "realm"
        }),
        Principal::Anonymous => json!({
            "username": "_anonymous", "roles": ["superuser"], "full_name": null, "email": null,
            "metadata": {}, "enabled": true,
            "authentication_realm": {"name": "__anonymous", "type": "anonymous"},
            "lookup_realm": {"name": "__anonymous", "type": "anonymous"},
            "authentication_type": "anonymous"
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(u: &str, p: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")))
    }

    #[test]
    fn basic_and_api_key() {
        let c = EsSimConfig { api_key: Some("aWQ6c2VjcmV0".into()), ..Default::default() };
        assert_eq!(
            authenticate(&c, Some(&basic("elastic", "changeme")), "/").unwrap(),
            Principal::User("elastic".into())
        );
        assert_eq!(
            authenticate(&c, Some("ApiKey aWQ6c2VjcmV0"), "/").unwrap(),
            Principal::ApiKey("id".into())
        );
        let e = authenticate(&c, None, "/_search").unwrap_err();
        assert_eq!(
            (e.status, e.reason.as_str()),
            (401, "missing authentication credentials for REST request [/_search]")
        );
        let e = authenticate(&c, Some(&basic("bob", "x")), "/").unwrap_err();
        assert_eq!(e.reason, "unable to authenticate user [bob] for REST request [/]");
        assert!(authenticate(&c, Some("ApiKey bm9wZTpub3Bl"), "/").is_err());
    }
}
