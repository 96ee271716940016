//! Over-the-wire tests of the simulator: each starts a simulator on a free port and talks to
//! it with `reqwest`, the way a connector does.

mod cloud;
mod cql;
mod faults_and_changes;
mod openapi;

mod self_hosted;

use serde_json::Value;

use super::{ConfluenceSim, Flavour, SimConfig, Size};

/// Starts a small simulator of `flavour` with `adjust` applied to its config.
async fn start(flavour: Flavour, adjust: impl FnOnce(&mut SimConfig)) -> ConfluenceSim {
    let mut config = SimConfig::new(flavour, Size::Small);
    adjust(&mut config);
    ConfluenceSim::start(config).await.expect("simulator starts")
}

/// A client that does not follow redirects (tests look at the 302s themselves).
fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// GET `base + path` with the administrator's credentials for the flavour.
async fn get(sim: &ConfluenceSim, path: &str) -> reqwest::Response {
    let credentials = sim.credentials();
    let request = client().get(format!("{}{path}", sim.base_url()));
    let request = match sim.config().flavour {
        Flavour::Cloud => request.basic_auth(&credentials.email, Some(&credentials.api_token)),
        _ => request.basic_auth(&credentials.username, Some(&credentials.password)),
    };
    request.send().await.expect("request")
}

/// GET and parse JSON, asserting the status.
async fn get_json(sim: &ConfluenceSim, path: &str, status: u16) -> Value {
    let response = get(sim, path).await;
    assert_eq!(response.status().as_u16(), status, "GET {path}");
    response.json().await.expect("json body")
}

/// `cql` encoded for a query string.
fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
