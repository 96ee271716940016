//! The chain against files and local stand-ins for the ECS and EC2 endpoints.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};
use axum::Router;

use super::*;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn chain(pairs: &[(&str, &str)]) -> Result<Credentials, String> {
    let vars = vars(pairs);
    from_chain(&Env::new(&vars), &reqwest::Client::new(), "eu-west-1").await
}

/// Serves `router` on 127.0.0.1 until the test's runtime ends; its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

const NOWHERE: (&str, &str) = ("AWS_EC2_METADATA_DISABLED", "true");

#[tokio::test]
async fn the_environment_comes_first_and_must_be_complete() {
    let found =
        chain(&[("AWS_ACCESS_KEY_ID", "AKIA1"), ("AWS_SECRET_ACCESS_KEY", "k"), ("AWS_SESSION_TOKEN", "t")])
            .await
            .unwrap();
    assert_eq!(found.access_key_id, "AKIA1");
    assert_eq!(found.session_token.unwrap().expose(), "t");
    let half = chain(&[("AWS_ACCESS_KEY_ID", "AKIA1")]).await.err().unwrap();
    assert!(half.contains("AWS_SECRET_ACCESS_KEY is not"), "{half}");
}

#[tokio::test]
async fn a_named_profile_is_read_from_the_credentials_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = d\n[ci]\naws_access_key_id = AKIACI\naws_secret_access_key = c\n").unwrap();
    let path = file.display().to_string();
    let home = dir.path().display().to_string();
    let ci =
        chain(&[("AWS_SHARED_CREDENTIALS_FILE", &path), ("AWS_PROFILE", "ci"), ("HOME", &home), NOWHERE])
            .await
            .unwrap();
    assert_eq!(ci.access_key_id, "AKIACI");
    assert!(ci.source.contains("profile ci"), "{}", ci.source);
    let default = chain(&[("AWS_SHARED_CREDENTIALS_FILE", &path), ("HOME", &home), NOWHERE]).await.unwrap();
    assert_eq!(default.access_key_id, "AKIADEF");
    let missing =
        chain(&[("AWS_SHARED_CREDENTIALS_FILE", &path), ("AWS_PROFILE", "gone"), ("HOME", &home), NOWHERE])
            .await;
    assert!(missing.err().unwrap().contains("AWS_PROFILE is gone"));
}

#[tokio::test]
async fn nothing_configured_says_what_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().display().to_string();
    let none = chain(&[("HOME", &home), NOWHERE]).await.err().unwrap();
    assert!(none.starts_with("no AWS credentials found"), "{none}");
}

#[tokio::test]
async fn the_container_endpoint_is_asked_with_its_token() {
    let router = Router::new().route(
        "/creds",
        get(|headers: HeaderMap| async move {
            match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                Some("Bearer ecs") => {
                    (StatusCode::OK, r#"{"AccessKeyId":"ASIAECS","SecretAccessKey":"s","Token":"t"}"#)
                }
                _ => (StatusCode::UNAUTHORIZED, "{}"),
            }
        }),
    );
    let base = serve(router).await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().display().to_string();
    let full = format!("{base}/creds");
    let found = chain(&[
        ("HOME", &home),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &full),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer ecs"),
        NOWHERE,
    ])
    .await
    .unwrap();
    assert_eq!(found.access_key_id, "ASIAECS");
    let refused = chain(&[("HOME", &home), ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &full), NOWHERE])
        .await
        .err()
        .unwrap();
    assert!(refused.contains("401"), "{refused}");
}

#[tokio::test]
async fn instance_metadata_is_asked_with_an_imdsv2_session_token() {
    let router = Router::new()
        .route("/latest/api/token", put(|| async { "imds-token" }))
        .route(
            "/latest/meta-data/iam/security-credentials/",
            get(|headers: HeaderMap| async move {
                if headers.get("x-aws-ec2-metadata-token").is_some_and(|v| v == "imds-token") {
                    (StatusCode::OK, "web-role\n")
                } else {
                    (StatusCode::UNAUTHORIZED, "")
                }
            }),
        )
        .route(
            "/latest/meta-data/iam/security-credentials/web-role",
            get(|| async {
                r#"{"Code":"Success","AccessKeyId":"ASIAEC2","SecretAccessKey":"s","Token":"t"}"#
            }),
        );
    let base = serve(router).await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().display().to_string();
    let found = chain(&[("HOME", &home), ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &base)]).await.unwrap();
    assert_eq!(found.access_key_id, "ASIAEC2");
    assert!(found.source.contains("web-role"), "{}", found.source);
}
