//! Secrets held in AWS Secrets Manager.
//!
//! The coordinates say which secret and in which region ([`Coordinates`]); the credentials
//! come from the standard chain ([`credentials`]); each secret is one signed
//! `GetSecretValue` call ([`secrets_manager`]). The endpoint is AWS's, unless
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER` or `AWS_ENDPOINT_URL` names another (an emulator, a
//! compatible service). A structured secret is JSON; `secretPointer` picks one value out of it.

mod coordinates;
mod credentials;
mod env;
mod secrets_manager;

use std::collections::HashMap;
use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;

pub(super) use coordinates::{normalised, Coordinates};
use env::Env;

use crate::config::Secret;

/// Reads every secret in `coordinates`, in the same order; `Err` says why one cannot be read.
/// The credentials are looked up once for all of them.
pub(super) async fn read_all(
    coordinates: &[&Coordinates],
    env: &HashMap<String, String>,
) -> Vec<Result<Secret, String>> {
    let env = Env::new(env);
    let http = match reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            return coordinates.iter().map(|_| Err(format!("cannot start an HTTP client: {e}"))).collect()
        }
    };
    let region = coordinates.first().map(|c| c.region.as_str()).unwrap_or("us-east-1");
    let credentials = match credentials::from_chain(&env, &http, region).await {
        Ok(credentials) => credentials,
        Err(why) => return coordinates.iter().map(|_| Err(why.clone())).collect(),
    };
    let reads = coordinates.iter().map(|c| read(c, &env, &http, &credentials));
    join_all(reads).await
}

/// One secret: the call, then the pointer.
async fn read(
    coordinates: &Coordinates,
    env: &Env<'_>,
    http: &reqwest::Client,
    credentials: &credentials::Credentials,
) -> Result<Secret, String> {
    let endpoint = endpoint(env, &coordinates.region);
    let text = secrets_manager::get_secret_value(
        http,
        &endpoint,
        &coordinates.region,
        credentials,
        &coordinates.secret_id,
    )
    .await
    .map_err(|failure| format!("{coordinates}: {failure}"))?;
    match &coordinates.secret_pointer {
        None => Ok(text),
        Some(pointer) => pick(&text, pointer).map_err(|why| format!("{coordinates}: {why}")),
    }
}

/// Where Secrets Manager answers for `region`.
fn endpoint(env: &Env<'_>, region: &str) -> String {
    if let Some(url) = env.get("AWS_ENDPOINT_URL_SECRETS_MANAGER").or_else(|| env.get("AWS_ENDPOINT_URL")) {
        return url.to_string();
    }
    let domain = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://secretsmanager.{region}.{domain}")
}

/// The value at `pointer` in the structured secret `text`. Errors name the pointer and, to
/// help find the right one, the secret's top-level keys — never a value.
fn pick(text: &Secret, pointer: &str) -> Result<Secret, String> {
    let Ok(json) = serde_json::from_str::<Value>(text.expose()) else {
        return Err(format!(
            "the secret is not JSON, so secretPointer {pointer} cannot be applied \
             (leave secretPointer out for a plaintext secret)"
        ));
    };
    let pointer_text = if pointer.starts_with('/') { pointer.to_string() } else { format!("/{pointer}") };
    match json.pointer(&pointer_text) {
        Some(Value::String(s)) => Ok(Secret::new(s.as_str())),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Secret::new(v.to_string())),
        Some(_) => Err(format!("secretPointer {pointer} points at a list, map or null, not at text")),
        None => {
            let keys = match &json {
                Value::Object(map) => map.keys().cloned().collect::<Vec<_>>().join(", "),
                _ => String::new(),
            };
            Err(format!("secretPointer {pointer} not found in the secret (its keys: {keys})"))
        }
    }
}

/// The text of the first `<name>` element: AWS's XML answers (STS, and the errors of its
/// query-protocol front ends) are flat enough for this.
fn xml_element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_read_out_of_xml_answers() {
        let xml = "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
                   <SessionToken>T</SessionToken><SecretAccessKey>K</SecretAccessKey>\
                   <AccessKeyId>ASIA1</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult>\
                   </AssumeRoleWithWebIdentityResponse>";
        assert_eq!(xml_element(xml, "AccessKeyId"), Some("ASIA1"));
        assert_eq!(xml_element(xml, "SessionToken"), Some("T"));
        assert_eq!(xml_element(xml, "Code"), None);
    }

    #[test]
    fn a_pointer_picks_a_value_and_its_errors_show_no_value() {
        let secret = Secret::new(r#"{"username":"u","password":"hunter2","port":5432}"#);
        assert_eq!(pick(&secret, "/password").unwrap().expose(), "hunter2");
        assert_eq!(pick(&secret, "password").unwrap().expose(), "hunter2");
        assert_eq!(pick(&secret, "/port").unwrap().expose(), "5432");
        let missing = pick(&secret, "/pasword").err().unwrap();
        assert!(
            missing.contains("/pasword not found") && missing.contains("password, port, username"),
            "{missing}"
        );
        assert!(!missing.contains("hunter2"), "{missing}");
        let plain = pick(&Secret::new("hunter2"), "/password").err().unwrap();
        assert!(plain.contains("not JSON") && !plain.contains("hunter2"), "{plain}");
    }

    #[test]
    fn the_endpoint_follows_the_overrides() {
        let env = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let none = env(&[]);
        assert_eq!(
            endpoint(&Env::new(&none), "ap-southeast-2"),
            "https://secretsmanager.ap-southeast-2.amazonaws.com"
        );
        assert_eq!(
            endpoint(&Env::new(&none), "cn-north-1"),
            "https://secretsmanager.cn-north-1.amazonaws.com.cn"
        );
        let general = env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]);
        assert_eq!(endpoint(&Env::new(&general), "x"), "http://127.0.0.1:1");
        let both = env(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:2"),
        ]);
        assert_eq!(endpoint(&Env::new(&both), "x"), "http://127.0.0.1:2");
    }
}
