//! Finding references in a tree, and reading file secrets through the whole loader.

use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::config::{load_str, ConfigError};

fn no_env() -> HashMap<String, String> {
    HashMap::new()
}

#[test]
fn references_are_found_at_secret_keys_in_every_form() {
    let tree = json!({
        "elasticsearch": {"password": "${file:/run/secrets/es}", "api_key": "plain"},
        "confluence": {
            "api_token": {"region": "ap-southeast-2", "secretId": "conf", "secretPointer": "/token"},
            "password": r#"{"region":"eu-west-1","secretId":"pw"}"#,
            "ssl_ca": "{not json at all"
        },
        "connectors": [{"connector_id": "a", "api_key": "${file:/run/secrets/a}"}]
    });
    let sources = Sources::find(tree, &no_env()).unwrap();
    let shown = format!("{sources:?}");
    assert!(shown.contains("elasticsearch.password <- file /run/secrets/es"), "{shown}");
    assert!(
        shown.contains("confluence.api_token <- AWS secret conf in ap-southeast-2 (secretPointer /token)"),
        "{shown}"
    );
    assert!(shown.contains("confluence.password <- AWS secret pw in eu-west-1"), "{shown}");
    assert!(shown.contains("connectors[0].api_key <- file /run/secrets/a"), "{shown}");
    assert_eq!(sources.references.len(), 4, "{shown}");
    assert!(!shown.contains("plain"), "{shown}");
}

#[test]
fn malformed_coordinates_and_misplaced_file_references_are_problems() {
    let tree = json!({
        "confluence": {"api_token": {"secretId": "x"}, "username": "${file:/etc/user}"},
        "elasticsearch": {"password": {"region": "r", "secretId": "x", "pointer": "/p"}}
    });
    let problems = Sources::find(tree, &no_env()).err().unwrap();
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|p| p.starts_with("confluence.api_token: AWS Secrets Manager coordinates need region")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|p| p
                .starts_with("elasticsearch.password: AWS Secrets Manager coordinates: unknown key pointer")),
        "{text:?}"
    );
    assert!(text.iter().any(|p| p.starts_with("confluence.username: ${file:…} is read only")), "{text:?}");
}

#[cfg(unix)]
fn secret_file(dir: &tempfile::TempDir, name: &str, text: &str, mode: u32) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

#[cfg(unix)]
#[test]
fn file_secrets_are_read_at_load_and_again_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let token = secret_file(&dir, "token", "FILE-TOKEN-1\n", 0o600);
    let ca = secret_file(&dir, "ca", "-----BEGIN CERTIFICATE-----\n", 0o644);
    let yaml = format!(
        "confluence:\n  data_source: confluence_cloud\n  confluence_url: https://x.atlassian.net\n  account_email: a@b.c\n  \
         api_token: ${{file:{token}}}\n  ssl_ca: ${{file:{ca}}}\n  spaces: '*'\n"
    );
    let loaded = load_str(&yaml, &no_env()).unwrap();
    let source = loaded.config.confluence.as_ref().unwrap();
    assert_eq!(source.api_token.as_ref().unwrap().expose(), "FILE-TOKEN-1");
    assert_eq!(source.ssl_ca.as_deref(), Some("-----BEGIN CERTIFICATE-----"));
    assert!(
        loaded.warnings.iter().any(|w| w.starts_with("confluence.ssl_ca: secret file")),
        "{:?}",
        loaded.warnings
    );
    assert!(!format!("{:?}", loaded.config).contains("FILE-TOKEN-1"));

    std::fs::write(&token, "FILE-TOKEN-2\n").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let fresh = runtime.block_on(loaded.config.with_fresh_secrets()).unwrap();
    assert_eq!(fresh.confluence.unwrap().api_token.unwrap().expose(), "FILE-TOKEN-2");
}

#[cfg(unix)]
#[test]
fn a_missing_file_stops_loading_naming_the_key() {
    let yaml =
        "elasticsearch:\n  password: ${file:/nonexistent/es_password}\nconnectors:\n  - connector_id: c\n";
    let err = load_str(yaml, &no_env()).unwrap_err();
    let ConfigError::Invalid(problems, _) = &err else { panic!("{err}") };
    assert_eq!(problems.len(), 1, "{err}");
    assert_eq!(problems[0].path, "elasticsearch.password");
    assert!(problems[0].message.contains("cannot read secret file /nonexistent/es_password"), "{err}");
}

#[test]
fn an_environment_override_may_hold_coordinates_as_json() {
    let env: HashMap<String, String> = [(
        "CONFLUENCE_CONNECTOR__ELASTICSEARCH__API_KEY".to_string(),
        r#"{"region":"us-east-1","secretId":"es"}"#.to_string(),
    )]
    .into();
    let tree = crate::config::layers::read_str("connectors:\n  - connector_id: c\n", &env).unwrap();
    let sources = Sources::find(tree, &env).unwrap();
    assert!(format!("{sources:?}").contains("elasticsearch.api_key <- AWS secret es in us-east-1"));
}
