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

mod batch;
pub(crate) mod bulk;
pub(crate) mod client;
pub(crate) mod cluster;
pub(crate) mod error;
pub(crate) mod existing;
pub(crate) mod index;
pub(crate) mod lease;
mod monitor;
pub(crate) mod options;
pub(crate) mod privileges;
pub(crate) mod progress;
pub(crate) mod progress_bar;
mod queue;
pub(crate) mod request;
mod retry;
// Being changed on another branch: its items are narrowed to `pub(crate)` after that merge.
#[allow(unreachable_pub)]
pub(crate) mod sink;
pub(crate) mod state;
mod transport;

// Public: what tests/elastic_sink.rs, tests/lease.rs, tests/tls.rs and the bulk_encode bench
// drive.
pub use batch::{Batch, Batcher, BufferPool};
pub use bulk::{elasticsearch_id, Attached, Document, OpKind, Operation};
pub use client::{connect, EsClient};
pub use existing::load_existing;
pub use index::{ensure_content_index, template_name, IndexMode};
pub use lease::{Lease, LeaseTimes, LEASE_INDEX};
pub use options::{ElasticOptions, ErrorMonitorOptions};
pub use request::{send_json, Answer};
pub use sink::{Sink, SinkReport, FENCE_CLOSED};
pub use state::read_state;
