//! Credentials from the shared files: `~/.aws/credentials` (`[name]` sections) and
//! `~/.aws/config` (`[profile name]`, and `[default]`), paths overridden by
//! `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`, profile chosen by `AWS_PROFILE`.
//!
//! A profile gives static keys (`aws_access_key_id`, `aws_secret_access_key`,
//! `aws_session_token`) or a role to assume with a web identity token (`role_arn` +
//! `web_identity_token_file`). Profiles that need more (`source_profile`,
//! `credential_process`, SSO) are named in the error rather than silently skipped.

use std::collections::HashMap;
use std::path::Path;

use super::{web_identity, Credentials, Env};
use crate::config::Secret;

/// The chosen profile's credentials; `None` when no file has it (and none was asked for).
pub(super) async fn credentials(
    env: &Env<'_>,
    http: &reqwest::Client,
    region: &str,
) -> Result<Option<Credentials>, String> {
    let name = env.get("AWS_PROFILE").unwrap_or("default");
    let mut settings = HashMap::new();
    let mut read_from = Vec::new();
    // The config file first: the credentials file wins for keys both set.
    let files = [
        (env.aws_file("AWS_CONFIG_FILE", "config"), true),
        (env.aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials"), false),
    ];
    for (path, is_config) in files {
        let Some(path) = path else { continue };
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        if let Some(section) = section(&text, name, is_config) {
            settings.extend(section);
            read_from.push(path.display().to_string());
        }
    }
    if read_from.is_empty() {
        return match env.get("AWS_PROFILE") {
            Some(name) => Err(format!(
                "AWS_PROFILE is {name}, but no such profile is in ~/.aws/config or ~/.aws/credentials"
            )),
            None => Ok(None),
        };
    }
    let source = format!("profile {name} in {}", read_from.join(" and "));
    let get = |key: &str| settings.get(key).map(String::as_str).filter(|v| !v.is_empty());
    if let (Some(id), Some(key)) = (get("aws_access_key_id"), get("aws_secret_access_key")) {
        return Ok(Some(Credentials {
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(key),
            session_token: get("aws_session_token").map(Secret::new),
            source,
        }));
    }
    if let (Some(role), Some(token_file)) = (get("role_arn"), get("web_identity_token_file")) {
        let session = get("role_session_name").unwrap_or("confluence-connector");
        let role = web_identity::Role { arn: role, session_name: session, token_file: Path::new(token_file) };
        return web_identity::assume(env, http, region, &role, &source).await.map(Some);
    }
    let unsupported =
        ["source_profile", "credential_process", "sso_session", "sso_start_url", "credential_source"];
    match unsupported.iter().find(|key| get(key).is_some()) {
        Some(key) => Err(format!(
            "{source} uses {key}, which this connector does not read: give it static keys or \
             role_arn with web_identity_token_file, or use the environment variables"
        )),
        None => Ok(None),
    }
}

/// The `key = value` settings of profile `name` in an INI file; in the config file a
/// profile other than `default` is written `[profile name]`.
fn section(text: &str, name: &str, is_config: bool) -> Option<HashMap<String, String>> {
    let mut found: Option<HashMap<String, String>> = None;
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(header) = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            let header = header.trim();
            let header = if is_config {
                header.strip_prefix("profile ").map(str::trim).unwrap_or(header)
            } else {
                header
            };
            inside = header == name;
            if inside {
                found.get_or_insert_with(HashMap::new);
            }
            continue;
        }
        // Indented lines continue a nested setting (e.g. s3 = …), which is not ours.
        if !inside || line.starts_with([' ', '\t']) {
            continue;
        }
        if let (Some(map), Some((key, value))) = (found.as_mut(), trimmed.split_once('=')) {
            map.insert(key.trim().to_lowercase(), value.trim().to_string());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::section;

    #[test]
    fn sections_are_found_in_both_files() {
        let credentials = "[default]\naws_access_key_id = A1\naws_secret_access_key=K1\n\n[other]\naws_access_key_id = A2\n";
        assert_eq!(section(credentials, "default", false).unwrap()["aws_access_key_id"], "A1");
        assert_eq!(section(credentials, "other", false).unwrap()["aws_access_key_id"], "A2");
        assert!(section(credentials, "missing", false).is_none());
        let config = "[default]\nregion = eu-west-1\n[profile ci]\n# comment\nrole_arn = arn:aws:iam::1:role/r\ns3 =\n  max_concurrent_requests = 1\n";
        let ci = section(config, "ci", true).unwrap();
        assert_eq!(ci["role_arn"], "arn:aws:iam::1:role/r");
        assert!(!ci.contains_key("max_concurrent_requests"));
        assert_eq!(section(config, "default", true).unwrap()["region"], "eu-west-1");
    }
}
