//! From the `confluence` section of `config.yml` to a Confluence client.

use std::time::Duration;

use crate::config::{CloudAuthMethod, ConfluenceConfig, DataCenterAuthMethod, DataSource, Secret};
use crate::confluence::{Auth, ClientOptions, Flavour, GatewayCredential};

/// The client options the configuration describes. The config layer has already checked
/// that the credentials the flavour needs are present.
pub(crate) fn client_options(source: &ConfluenceConfig) -> ClientOptions {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let secret = |v: &Option<Secret>| v.clone().unwrap_or_default();
    let (flavour, auth) = match source.data_source {
        DataSource::ConfluenceCloud => {
            let auth = match source.cloud_auth_method {
                CloudAuthMethod::ApiToken => Auth::CloudApiToken {
                    email: text(&source.account_email),
                    token: secret(&source.api_token),
                },
                CloudAuthMethod::ScopedApiToken => Auth::CloudGateway {
                    cloud_id: source.cloud_id.clone(),
                    credential: GatewayCredential::ApiToken {
                        email: text(&source.account_email),
                        token: secret(&source.api_token),
                    },
                },
                CloudAuthMethod::Oauth => Auth::CloudGateway {
                    cloud_id: source.cloud_id.clone(),
                    credential: GatewayCredential::Bearer(secret(&source.oauth_access_token)),
                },
            };
            (Flavour::Cloud, auth)
        }
        DataSource::ConfluenceServer => (
            Flavour::Server,
            Auth::Basic { username: text(&source.username), password: secret(&source.password) },
        ),
        DataSource::ConfluenceDataCenter => {
            let auth = match source.data_center_auth_method {
                DataCenterAuthMethod::Basic => Auth::Basic {
                    username: text(&source.data_center_username),
                    password: secret(&source.data_center_password),
                },
                DataCenterAuthMethod::PersonalAccessToken => {
                    Auth::PersonalAccessToken(secret(&source.data_center_personal_access_token))
                }
            };
            (Flavour::DataCenter, auth)
        }
    };
    let mut options = ClientOptions::new(flavour, text(&source.confluence_url), auth);
    options.ssl_ca = if source.ssl_enabled { source.ssl_ca.clone() } else { None };
    options.danger_accept_invalid_certs = source.ssl_insecure_skip_verify;
    options.proxy = source.proxy.clone();
    options.retry_count = source.retry_count;
    options.max_retry_after = Duration::from_secs(source.max_retry_after);
    options.connect_timeout = Duration::from_secs(source.connect_timeout);
    options.read_timeout = Duration::from_secs(source.read_timeout);
    options.requests_per_second = source.requests_per_second;
    options.max_concurrent_requests = source.max_concurrent_requests;
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn source(yaml: &str) -> ConfluenceConfig {
        crate::config::load_str(yaml, &HashMap::new()).unwrap().config.confluence.unwrap()
    }

    #[test]
    fn each_flavour_gets_its_credential() {
        let cloud = client_options(&source(
            "confluence:\n  data_source: confluence_cloud\n  confluence_url: https://x.atlassian.net\n  account_email: a@b.c\n  api_token: t\n  spaces: '*'\n",
        ));
        assert_eq!(cloud.flavour, Flavour::Cloud);
        assert!(matches!(cloud.auth, Auth::CloudApiToken { ref email, .. } if email == "a@b.c"));

        let dc = client_options(&source(
            "confluence:\n  data_source: confluence_data_center\n  data_center_auth_method: personal_access_token\n  data_center_personal_access_token: p\n  confluence_url: https://wiki/confluence\n  spaces: DEV\n  retry_count: 7\n",
        ));
        assert_eq!(dc.flavour, Flavour::DataCenter);
        assert!(matches!(dc.auth, Auth::PersonalAccessToken(ref t) if t.expose() == "p"));
        assert_eq!(dc.retry_count, 7);
        assert_eq!(dc.base_url, "https://wiki/confluence");
    }

    /// The defaults [`ClientOptions::new`] fills in are what the schema's defaults give.
    #[test]
    fn the_defaults_of_the_client_options_are_the_schemas() {
        let from_schema = client_options(&source(
            "confluence:\n  confluence_url: http://wiki:8090\n  username: u\n  password: p\n  spaces: DEV\n",
        ));
        let auth = Auth::Basic { username: "u".into(), password: Secret::new("p") };
        let defaults = ClientOptions::new(Flavour::Server, "http://wiki:8090", auth);
        assert_eq!(format!("{from_schema:#?}"), format!("{defaults:#?}"));
    }

    #[test]
    fn ssl_ca_applies_only_when_ssl_enabled() {
        let off = client_options(&source(
            "confluence:\n  confluence_url: https://wiki\n  username: u\n  password: p\n  spaces: DEV\n  ssl_ca: /tmp/ca.pem\n",
        ));
        assert_eq!(off.ssl_ca, None);
        let on = client_options(&source(
            "confluence:\n  confluence_url: https://wiki\n  username: u\n  password: p\n  spaces: DEV\n  ssl_enabled: true\n  ssl_ca: /tmp/ca.pem\n",
        ));
        assert_eq!(on.ssl_ca.as_deref(), Some("/tmp/ca.pem"));
    }
}
