//! An Elasticsearch test server, strict where Elasticsearch is strict: the REST subset the
//! connector uses, answered with Elasticsearch 8.x/9.x response shapes, status codes and
//! error types, holding data in memory. Runs in-process ([`EsSim::start`]) or as the
//! `es-sim` binary; [`EsTarget`] lets integration tests use a real cluster instead when
//! `ES_URL` is set.
//!
//! Running integration tests against a real cluster: set `ES_URL` (e.g.
//! `https://localhost:9200`) and either `ES_API_KEY` (the encoded `id:key`) or
//! `ES_USERNAME`/`ES_PASSWORD`; [`EsTarget::from_env_or_sim`] then returns that cluster
//! instead of starting an [`EsSim`], with no code change in the tests.

pub mod api_cluster;
pub mod api_docs;
pub mod api_indices;
pub mod api_search;
pub mod auth;
pub mod bulk;
pub mod cluster;
pub mod config;
pub mod connector;
pub mod dates;
pub mod error;
pub mod faults;
pub mod has_privileges;
pub mod mapping;
pub mod pipeline;
pub mod privileges;
pub mod query;
pub mod requests;
pub mod routes;
pub mod search;
pub mod server;
pub mod store;
pub mod target;
pub mod template;
pub mod write;

pub use config::EsSimConfig;
pub use error::EsError;
pub use faults::EsFaults;
pub use privileges::{EsApiKey, EsUser, Role};
pub use requests::{LoggedRequest, RequestLog};
pub use server::EsSim;
pub use target::EsTarget;
#[cfg(test)]
mod tests_client;
#[cfg(test)]
mod tests_http;
