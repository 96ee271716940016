//! One Elasticsearch client per sync, built from [`ElasticOptions`], carrying the retry
//! policy every request made with it follows (so no call site can forget it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::error::ElasticError;
use super::options::ElasticOptions;
use super::retry::RetryPolicy;
use super::transport::Node;
use crate::shutdown::Shutdown;

/// The connection to the cluster, the retry policy of its requests, how many it retried,
/// and the signal that ends its waits.
#[derive(Clone)]
pub struct EsClient {
    node: Arc<Node>,
    policy: RetryPolicy,
    retries: Arc<AtomicU64>,
    /// Ends every wait before a retry (and gives up the retry): the sync's shutdown.
    stop: Shutdown,
}

impl EsClient {
    /// The connection requests go through.
    pub(crate) fn node(&self) -> &Node {
        &self.node
    }

    /// How requests are retried (`elasticsearch.max_retries`, `retry_interval`,
    /// `retry_on_timeout`).
    pub(crate) fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The same client, trying each request once: for answers that must come at once
    /// (`check`, health probes), where waiting out the retries would only hide the cause.
    pub(crate) fn without_retries(&self) -> EsClient {
        EsClient { policy: RetryPolicy { max_retries: 0, ..self.policy }, ..self.clone() }
    }

    /// The same client, whose waits before a retry end when `stop` fires: the retry is then
    /// not sent, and the request fails with its last answer (a sync stopped by a signal does
    /// not wait out its backoff).
    pub(crate) fn stopping_on(&self, stop: &Shutdown) -> EsClient {
        EsClient { stop: stop.clone(), ..self.clone() }
    }

    /// What ends the waits before a retry.
    pub(crate) fn stop(&self) -> &Shutdown {
        &self.stop
    }

    /// Counts one retry of a request other than `_bulk` (the sink counts its own).
    pub(crate) fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests other than `_bulk` sent again so far, by this client and its clones.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}

/// Builds the client: single node, credentials (API key wins), TLS, headers, timeout.
pub fn connect(options: &ElasticOptions) -> Result<EsClient, ElasticError> {
    Ok(EsClient {
        node: Arc::new(Node::connect(options)?),
        policy: options.request_policy(),
        retries: Arc::default(),
        stop: Shutdown::never(),
    })
}
