//! A Confluence simulator (Cloud, Server, Data Center) that tests, `make ftest`, `make demo`
//! and `make bench` trust in place of a real site.
//!
//! [`ConfluenceSim::start`] generates a deterministic site from a [`SimConfig`] (see
//! [`generate`]) and serves it on 127.0.0.1 with the routes, field shapes, pagination and
//! known bugs of the chosen [`Flavour`] (see [`routes`], [`fields`], [`paging`]). Tests read
//! what a correct sync must produce from [`ConfluenceSim::catalog`], change the site between
//! syncs through [`ConfluenceSim::site`], inject failures through [`ConfluenceSim::faults`]
//! and count requests through [`ConfluenceSim::requests`]. Dropping the simulator stops it.
//!
//! Request-log and fault route names are the path templates as a client sees them, without
//! host or context path: Cloud `/wiki/rest/api/content/search`, `/wiki/api/v2/spaces/{id}/pages`;
//! Server/DC `/rest/api/content/search`, `/download/attachments/{id}/{file}`; the media host
//! `media:/file/{fileId}/binary`; the admin route `/__sim/admin`; anything unknown `(unmatched)`.
//!
//! Server/DC quirks (on by default, `SimConfig::quirks = false` turns them off): content
//! search caps `limit` at 50 with a body expanded, 200 with other expansions, 1000 without;
//! `rest/api/space` caps at 50; `_links.next` steps `start` by the *requested* limit (so a
//! client trusting it skips what a cap hid — page with `start += results.len()`); a full last
//! page and an empty page still carry `_links.next`; `rest/api/search`'s next link drops
//! `cql` (following it answers 400). Cloud quirk: expanding `ancestors.restrictions…` in
//! content search fails the whole batch (404) when a result has a trashed ancestor.

pub mod access;
pub mod admin;
pub mod attachment;
pub mod auth;
pub mod body;
pub mod catalog;
pub mod config;
pub mod cql_eval;
pub mod expand;
pub mod faults;
pub mod fields;
pub mod files;
pub mod generate;
pub mod media;
pub mod model;
pub mod mutations;
pub mod paging;
pub mod reply;
pub mod request_log;
pub mod routes;
pub mod search;
pub mod server;

use std::sync::Arc;

pub use access::{PrincipalGroup, PrincipalUser, Principals};
pub use catalog::{Catalog, CatalogEntry, CatalogSpace, CatalogUser};
pub use config::{AttachmentSizes, Credentials, Flavour, SimConfig, Size};
pub use faults::{FaultKind, FaultRule, Faults, RetryAfter, Trigger};
pub use model::{AttachmentFormat, ContentKind, ContentStatus};
pub use mutations::{Grantee, MutationError, SiteHandle};
pub use request_log::{FileInFlight, RequestLog};

/// A running simulator. Dropping it stops both listeners.
pub struct ConfluenceSim {
    shared: Arc<server::Shared>,
    _listeners: server::Listeners,
}

impl ConfluenceSim {
    /// Generates the site and starts serving it on 127.0.0.1 (`config.port`, 0 = free).
    pub async fn start(config: SimConfig) -> anyhow::Result<ConfluenceSim> {
        let site = generate::generate(&config);
        let (shared, listeners) = server::start(config, site).await?;
        Ok(ConfluenceSim { shared, _listeners: listeners })
    }

    /// What a user puts in `confluence_url`: Cloud `http://127.0.0.1:P/` (the client
    /// appends `wiki`); Server/DC `http://127.0.0.1:P` plus the context path.
    pub fn url(&self) -> String {
        match self.shared.config.flavour {
            Flavour::Cloud => format!("{}/", self.shared.origin),
            _ => format!("{}{}", self.shared.origin, self.shared.context),
        }
    }

    /// The REST base (`_links.base`): `…/wiki` on Cloud, the context path on Server/DC.
    pub fn base_url(&self) -> String {
        self.shared.base()
    }

    /// The origin of the media host Cloud downloads redirect to.
    pub fn media_url(&self) -> String {
        self.shared.media_origin.clone()
    }

    /// The configuration the simulator runs with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// The administrator's credentials for every auth scheme, and a regular user's.
    pub fn credentials(&self) -> Credentials {
        let site = match self.shared.site.read() {
            Ok(site) => site,
            Err(poisoned) => poisoned.into_inner(),
        };
        let admin = &site.users[0];
        let user = &site.users[1];
        Credentials {
            email: admin.email.clone(),
            api_token: admin.api_token.clone(),
            username: admin.username.clone(),
            password: admin.password.clone(),
            pat: admin.pat.clone(),
            user_username: user.username.clone(),
            user_password: user.password.clone(),
            user_email: user.email.clone(),
            user_api_token: user.api_token.clone(),
        }
    }

    /// Mutations between syncs.
    pub fn site(&self) -> SiteHandle {
        SiteHandle::new(self.shared.clone())
    }

    /// What a correct full sync must produce, as of now.
    pub fn catalog(&self) -> Catalog {
        self.site().read(Catalog::of)
    }

    /// How many documents a `spaces: *` sync indexes now (cheaper than `catalog()`).
    pub fn document_count(&self) -> usize {
        self.site().read(Catalog::count_documents)
    }

    /// Request counts.
    pub fn requests(&self) -> RequestLog {
        self.shared.log.clone()
    }

    /// Injected faults.
    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }
}

#[cfg(test)]
mod tests;
