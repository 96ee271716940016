//! Elasticsearch: the client, the content index, the documents already indexed, and the
//! bulk sink.
//!
//! [`client::connect`] builds the official client from [`options::ElasticOptions`];
//! [`index::ensure_content_index`] creates the index with the connector's mappings;
//! [`existing::load_existing`] reads what is indexed (so a full sync skips what has not
//! changed and deletes what is gone); [`sink::Sink`] takes operations through a [`queue`]
//! bounded by count and bytes, writes `_bulk` NDJSON ([`bulk`]) into [`batch`]es and sends
//! them with the retry policy of [`retry`] (which [`request`] applies to every other
//! request), stopping when the [`monitor`] sees too many errors; [`progress`] and
//! [`progress_bar`] show how far a sync has got.

pub mod batch;
pub mod bulk;
pub mod client;
pub mod cluster;
pub mod error;
pub mod existing;
pub mod index;
pub mod lease;
pub mod monitor;
pub mod options;
pub mod privileges;
pub mod progress;
pub mod progress_bar;
pub mod queue;
pub mod request;
pub mod retry;
pub mod sink;
pub mod state;
mod transport;
