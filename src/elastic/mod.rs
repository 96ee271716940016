//! Elasticsearch: the client, the content index, the documents already indexed, and the
//! bulk sink.
//!
//! [`client::connect`] builds the official client from [`options::ElasticOptions`];
//! [`index::ensure_content_index`] creates the index with the connector's mappings;
//! [`existing::load_existing`] reads what is indexed (so a full sync skips what has not
//! changed and deletes what is gone); [`sink::Sink`] writes `_bulk` NDJSON ([`bulk`]) with
//! the retry policy of [`retry`].

pub mod bulk;
pub mod client;
pub mod error;
pub mod existing;
pub mod index;
pub mod lease;
pub mod options;
pub mod request;
pub mod retry;
pub mod sink;
pub mod state;
