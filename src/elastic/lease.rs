//! A lease on an index: at most one sync writes into an index at a time, across processes.
//!
//! Inside one `run` process syncs already run one at a time; the lease also keeps apart a
//! one-shot `sync` started beside a running service, or two replicas of one deployment. It
//! is a document in a small hidden index (`.confluence-connector-leases`, id = the index
//! synced), created with `op_type=create` so that exactly one process wins, renewed while
//! its sync runs, and deleted at the end — every write guarded by `if_seq_no` /
//! `if_primary_term`, so a lease taken over is never overwritten by its former holder.
//!
//! A holder that died (`kill -9`, a lost node) stops renewing: its lease expires after
//! [`TTL`]. On the same host a dead holder is recognised at once by its process id, so a
//! restarted service does not wait for the expiry.
//!
//! Fencing: a holder that cannot renew (Elasticsearch unreachable from it, but perhaps not
//! from another process) must stop writing before its lease can lapse and be taken over —
//! else its batches, retried until Elasticsearch answers again, would land on top of the new
//! holder's. So the lease renews well ahead of expiry, every renewal is bounded by the time
//! the lease has left, and its [`Fence`] closes once the last confirmed renewal is older than
//! the TTL less a margin kept for writes in flight: the sink checks the fence before every
//! `_bulk` attempt, and the sync stops as on shutdown. The state and cursor are written only
//! right after a guarded renewal ([`Lease::confirm`]), so a holder that was taken over never
//! writes them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::client::EsClient;
use super::error::ElasticError;
use super::request::{send_json, Answer};
use crate::shutdown::Shutdown;

/// The index holding the leases.
pub const LEASE_INDEX: &str = ".confluence-connector-leases";

/// How long a lease lasts without renewal.
pub(crate) const TTL: Duration = Duration::from_secs(60);

/// How often a held lease is renewed.
const RENEW_EVERY: Duration = Duration::from_secs(10);

/// Of the TTL, what is kept for writes already in flight when the fence closes: the fence
/// closes this long before a lease whose renewals fail could lapse.
const MARGIN: Duration = Duration::from_secs(20);

/// The times of a lease: [`TTL`], [`RENEW_EVERY`] and [`MARGIN`] unless a test shortens them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimes {
    /// How long a lease lasts without renewal.
    pub ttl: Duration,
    /// How often it is renewed.
    pub renew_every: Duration,
    /// How long before a possible lapse the fence closes.
    pub margin: Duration,
}

impl Default for LeaseTimes {
    fn default() -> Self {
        LeaseTimes { ttl: TTL, renew_every: RENEW_EVERY, margin: MARGIN }
    }
}

/// Whether the holder may still write: open while the lease is surely held. Cheap to clone
/// and to ask (the sink asks before every `_bulk` attempt).
#[derive(Debug, Clone)]
pub struct Fence(Arc<FenceState>);

#[derive(Debug)]
struct FenceState {
    /// Until when writes are safe: the start of the last confirmed renewal, plus the TTL,
    /// less the margin.
    open_until: Mutex<tokio::time::Instant>,
    /// Closed for good: taken over, or renewals failed for too long.
    closed: std::sync::atomic::AtomicBool,
}

impl Fence {
    fn new(open_until: tokio::time::Instant) -> Fence {
        Fence(Arc::new(FenceState {
            open_until: Mutex::new(open_until),
            closed: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// True while the lease is surely held.
    pub fn holds(&self) -> bool {
        !self.0.closed.load(std::sync::atomic::Ordering::Relaxed)
            && tokio::time::Instant::now() < self.open_until()
    }

    fn open_until(&self) -> tokio::time::Instant {
        *self.0.open_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn extend(&self, until: tokio::time::Instant) {
        *self.0.open_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = until;
    }

    fn close(&self) {
        self.0.closed.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Who holds a lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Host name of the holding process.
    pub(crate) host: String,
    /// Its process id.
    pub(crate) pid: u32,
    /// A random token: tells this process's lease from an older one of a reused pid.
    pub(crate) token: String,
    /// The kind of sync (`full`, `incremental`, `access_control`).
    pub(crate) kind: String,
    /// When it took the lease.
    pub(crate) since: DateTime<Utc>,
    /// When the lease lapses unless renewed.
    pub(crate) expires: DateTime<Utc>,
}

impl Holder {
    fn me(kind: &str, now: DateTime<Utc>) -> Holder {
        Holder {
            host: host_name(),
            pid: std::process::id(),
            token: format!("{:016x}", rand::random::<u64>()),
            kind: kind.to_string(),
            since: now,
            expires: now + chrono::Duration::from_std(TTL).unwrap_or(chrono::Duration::seconds(60)),
        }
    }

    /// True when the lease no longer holds: expired, or its process on this host is gone.
    fn lapsed(&self, now: DateTime<Utc>) -> bool {
        self.expires <= now || (self.host == host_name() && !process_alive(self.pid))
    }
}

/// Why a lease could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another process is syncing the index.
    #[error(
        "another {} sync of {index} is running (on {}, process {}, since {}); this one does not start — \
         if that process died, its lease lapses at {}",
        holder.kind, holder.host, holder.pid, holder.since.to_rfc3339(), holder.expires.to_rfc3339()
    )]
    Held {
        /// The index synced.
        index: String,
        /// Who has it.
        holder: Box<Holder>,
    },
    /// Elasticsearch could not be asked.
    #[error(transparent)]
    Elastic(#[from] ElasticError),
}

/// `(_seq_no, _primary_term)` of the lease document as we last wrote it. An async lock, held
/// across each guarded write: the renewer and [`Lease::confirm`] must not race each other
/// into a 409 that would read as a takeover.
type Version = Arc<tokio::sync::Mutex<(i64, i64)>>;

/// A held lease; renewed in the background until [`Lease::release`].
pub struct Lease {
    es: EsClient,
    id: String,
    /// Shared with the renewer, which updates it on each renewal.
    version: Version,
    renewer: JoinHandle<()>,
    lost: Shutdown,
    fence: Fence,
    /// What the renewer writes (expiry aside), for [`Lease::confirm`].
    me: Holder,
    times: LeaseTimes,
}

impl Lease {
    /// Takes the lease on `index` for a sync of `kind`, or says who has it.
    pub async fn acquire(es: &EsClient, index: &str, kind: &str) -> Result<Lease, LeaseError> {
        Lease::acquire_with(es, index, kind, LeaseTimes::default()).await
    }

    /// [`Lease::acquire`] with other times (tests of fencing use seconds, not minutes).
    pub async fn acquire_with(
        es: &EsClient,
        index: &str,
        kind: &str,
        times: LeaseTimes,
    ) -> Result<Lease, LeaseError> {
        ensure_lease_index(es).await?;
        let id = index.to_string();
        let path = format!("/{LEASE_INDEX}/_create/{}", super::request::path_segment(&id));
        let started = tokio::time::Instant::now();
        let mut me = Holder::me(kind, Utc::now());
        me.expires =
            me.since + chrono::Duration::from_std(times.ttl).unwrap_or(chrono::Duration::seconds(60));
        let body = to_value(&me);
        let version = match send_json(es, Method::Put, &path, Some(&body), HeaderMap::new()).await {
            Ok(Answer::Ok(answer)) => seq(&answer),
            Ok(Answer::NotFound) => return Err(unexpected(&path, "404").into()),
            Err(ElasticError::Status { status: 409, .. }) => take_over(es, &id, &me).await?,
            Err(e) => return Err(e.into()),
        };
        tracing::debug!(index, "sync lease taken");
        let version = Arc::new(tokio::sync::Mutex::new(version));
        let (lost_tx, lost) = Shutdown::manual();
        let fence = Fence::new(started + times.ttl.saturating_sub(times.margin));
        let renewer = tokio::spawn(renew(
            es.clone(),
            id.clone(),
            me.clone(),
            version.clone(),
            Renewal { lost: lost_tx, fence: fence.clone(), times },
        ));
        Ok(Lease { es: es.clone(), id, version, renewer, lost, fence, me, times })
    }

    /// Whether writes are still safe (see the module doc); for the sink.
    pub fn fence(&self) -> Fence {
        self.fence.clone()
    }

    /// Renews the lease now, guarded: `Ok` means it is held for another TTL, so that the
    /// state and cursor can be written; `Err` that it was taken over or cannot be confirmed,
    /// and nothing more may be written.
    pub async fn confirm(&self) -> Result<(), String> {
        if !self.fence.holds() {
            return Err("the sync lease was lost or could not be renewed in time".into());
        }
        let started = tokio::time::Instant::now();
        let mut me = self.me.clone();
        me.expires =
            Utc::now() + chrono::Duration::from_std(self.times.ttl).unwrap_or(chrono::Duration::seconds(60));
        match put_guarded(&self.es, &self.id, &me, &self.version, self.times.renew_every).await {
            Renewed::Yes => {
                self.fence.extend(started + self.times.ttl.saturating_sub(self.times.margin));
                Ok(())
            }
            Renewed::TakenOver => {
                self.fence.close();
                Err("the sync lease was taken over by another process".into())
            }
            Renewed::NoAnswer(e) => Err(format!("the sync lease could not be confirmed ({e})")),
        }
    }

    /// Fires if the lease was lost while the sync ran (another process took it over after
    /// renewals failed): the sync then stops, as on shutdown.
    pub(crate) fn lost(&self) -> Shutdown {
        self.lost.clone()
    }

    /// Gives the lease back (a failure only means it lapses after [`TTL`]).
    ///
    /// The renewer is aborted first; a renewal it had sent may still land after the version
    /// we hold, so a 409 re-reads the document and deletes it if it is still ours.
    pub async fn release(self) {
        self.renewer.abort();
        let mut version = *self.version.lock().await;
        let doc_path = format!("/{LEASE_INDEX}/_doc/{}", super::request::path_segment(&self.id));
        for _ in 0..2 {
            let (seq_no, term) = version;
            let path = format!("{doc_path}?if_seq_no={seq_no}&if_primary_term={term}");
            match send_json(&self.es, Method::Delete, &path, None, HeaderMap::new()).await {
                Err(ElasticError::Status { status: 409, .. }) => {
                    match send_json(&self.es, Method::Get, &doc_path, None, HeaderMap::new()).await {
                        Ok(Answer::Ok(doc))
                            if doc["_source"]["token"].as_str() == Some(self.me.token.as_str()) =>
                        {
                            version = seq(&doc);
                        }
                        // Another holder's now, or gone: nothing of ours to give back.
                        Ok(_) => return,
                        Err(e) => {
                            tracing::warn!(
                                index = self.id,
                                "could not give back the sync lease ({e}); it lapses by itself"
                            );
                            return;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        index = self.id,
                        "could not give back the sync lease ({e}); it lapses by itself"
                    );
                    return;
                }
                Ok(_) => return,
            }
        }
        tracing::warn!(
            index = self.id,
            "could not give back the sync lease (it kept changing); it lapses by itself"
        );
    }
}

impl Drop for Lease {
    /// A lease dropped without [`Lease::release`] (a sync that ended in an error) stops
    /// being renewed and lapses after [`TTL`].
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

/// Creates the lease index when missing: hidden, one shard, nothing indexed but the id.
async fn ensure_lease_index(es: &EsClient) -> Result<(), ElasticError> {
    let path = format!("/{LEASE_INDEX}");
    if let Answer::Ok(_) = send_json(es, Method::Head, &path, None, HeaderMap::new()).await? {
        return Ok(());
    }
    let body = json!({
        "settings": {"index": {"hidden": true, "number_of_shards": 1, "auto_expand_replicas": "0-1"}},
        "mappings": {"dynamic": false, "properties": {}}
    });
    match send_json(es, Method::Put, &path, Some(&body), HeaderMap::new()).await {
        Ok(_) => Ok(()),
        Err(ElasticError::Status { error_type: Some(t), .. }) if t == "resource_already_exists_exception" => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The lease exists: take it if it lapsed (guarded, so of two takers one wins), else refuse.
async fn take_over(es: &EsClient, id: &str, me: &Holder) -> Result<(i64, i64), LeaseError> {
    let path = format!("/{LEASE_INDEX}/_doc/{}", super::request::path_segment(id));
    let current = match send_json(es, Method::Get, &path, None, HeaderMap::new()).await? {
        Answer::Ok(doc) => doc,
        // Released between our create and this read: try once more from the start.
        Answer::NotFound => {
            let create = format!("/{LEASE_INDEX}/_create/{}", super::request::path_segment(id));
            return match send_json(es, Method::Put, &create, Some(&to_value(me)), HeaderMap::new()).await {
                Ok(Answer::Ok(answer)) => Ok(seq(&answer)),
                Ok(Answer::NotFound) => Err(unexpected(&create, "404").into()),
                Err(e) => Err(e.into()),
            };
        }
    };
    let holder: Option<Holder> = serde_json::from_value(current["_source"].clone()).ok();
    if holder.as_ref().is_some_and(|h| h.token == me.token) {
        // Ours: the create went through but its answer was lost, and the retry met it.
        return Ok(seq(&current));
    }
    if let Some(holder) = holder.filter(|h| !h.lapsed(Utc::now())) {
        return Err(LeaseError::Held { index: id.to_string(), holder: Box::new(holder) });
    }
    let (seq_no, term) = seq(&current);
    let guarded = format!("{path}?if_seq_no={seq_no}&if_primary_term={term}");
    match send_json(es, Method::Put, &guarded, Some(&to_value(me)), HeaderMap::new()).await {
        Ok(Answer::Ok(answer)) => {
            tracing::info!(index = id, "took over a lapsed sync lease");
            Ok(seq(&answer))
        }
        Ok(Answer::NotFound) => Err(unexpected(&guarded, "404").into()),
        // Someone else took it over first: theirs now.
        Err(ElasticError::Status { status: 409, .. }) => {
            match send_json(es, Method::Get, &path, None, HeaderMap::new()).await? {
                Answer::Ok(doc) => match serde_json::from_value::<Holder>(doc["_source"].clone()) {
                    Ok(holder) => Err(LeaseError::Held { index: id.to_string(), holder: Box::new(holder) }),
                    Err(e) => Err(unexpected(&path, &e.to_string()).into()),
                },
                Answer::NotFound => Err(unexpected(&path, "the lease vanished while taking it over").into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// What the renewer needs besides the lease document.
struct Renewal {
    /// Fired when the lease is lost: the sync stops.
    lost: watch::Sender<bool>,
    fence: Fence,
    times: LeaseTimes,
}

/// What became of one guarded renewal.
enum Renewed {
    Yes,
    /// Another process holds the lease now.
    TakenOver,
    /// No answer in time (Elasticsearch unreachable or slow).
    NoAnswer(String),
}

/// Writes `me` over the lease document if it is still the version we wrote last, within
/// `limit`. A 409 is a takeover only if the document is another holder's: an earlier write
/// of ours whose answer was lost (a timeout) also moves the version.
async fn put_guarded(es: &EsClient, id: &str, me: &Holder, version: &Version, limit: Duration) -> Renewed {
    let es = es.without_retries();
    let attempt = async {
        let mut version = version.lock().await;
        for _ in 0..2 {
            let (seq_no, term) = *version;
            let path = format!(
                "/{LEASE_INDEX}/_doc/{}?if_seq_no={seq_no}&if_primary_term={term}",
                super::request::path_segment(id)
            );
            match send_json(&es, Method::Put, &path, Some(&to_value(me)), HeaderMap::new()).await {
                Ok(Answer::Ok(answer)) => {
                    *version = seq(&answer);
                    return Renewed::Yes;
                }
                Ok(Answer::NotFound) => return Renewed::TakenOver,
                Err(ElasticError::Status { status: 409, .. }) => {
                    let path = format!("/{LEASE_INDEX}/_doc/{}", super::request::path_segment(id));
                    match send_json(&es, Method::Get, &path, None, HeaderMap::new()).await {
                        Ok(Answer::Ok(doc))
                            if doc["_source"]["token"].as_str() == Some(me.token.as_str()) =>
                        {
                            // Ours still: write again over the version our lost answer made.
                            *version = seq(&doc);
                        }
                        Ok(_) => return Renewed::TakenOver,
                        Err(e) => return Renewed::NoAnswer(e.to_string()),
                    }
                }
                Err(e) => return Renewed::NoAnswer(e.to_string()),
            }
        }
        Renewed::NoAnswer("the lease document kept changing under this process's own writes".into())
    };
    match tokio::time::timeout(limit, attempt).await {
        Ok(renewed) => renewed,
        Err(_) => Renewed::NoAnswer(format!("no answer within {limit:?}")),
    }
}

/// Renews the lease every `renew_every`, each attempt bounded by the time the fence has left;
/// extends the fence after each confirmed renewal. Taken over, or not renewed before the
/// fence closes: closes the fence and fires `lost`, so that the sync stops writing before
/// its lease can lapse.
async fn renew(es: EsClient, id: String, mut me: Holder, version: Version, renewal: Renewal) {
    let Renewal { lost, fence, times } = renewal;
    let stop = |why: &str| {
        tracing::error!(index = id, "{why}: this sync stops writing and ends incomplete");
        fence.close();
        let _ = lost.send(true);
    };
    loop {
        let next = tokio::time::Instant::now() + times.renew_every;
        tokio::time::sleep_until(next.min(fence.open_until())).await;
        let started = tokio::time::Instant::now();
        let left = fence.open_until().saturating_duration_since(started);
        if left.is_zero() {
            stop("the sync lease could not be renewed in time");
            return;
        }
        me.expires =
            Utc::now() + chrono::Duration::from_std(times.ttl).unwrap_or(chrono::Duration::seconds(60));
        match put_guarded(&es, &id, &me, &version, left.min(times.renew_every)).await {
            Renewed::Yes => fence.extend(started + times.ttl.saturating_sub(times.margin)),
            Renewed::TakenOver => {
                stop("the sync lease was taken over by another process");
                return;
            }
            Renewed::NoAnswer(e) => {
                tracing::warn!(index = id, "could not renew the sync lease ({e}); trying again");
            }
        }
    }
}

fn to_value(holder: &Holder) -> Value {
    serde_json::to_value(holder).unwrap_or_else(|_| json!({}))
}

/// `(_seq_no, _primary_term)` of a write or get answer.
fn seq(answer: &Value) -> (i64, i64) {
    (answer["_seq_no"].as_i64().unwrap_or(0), answer["_primary_term"].as_i64().unwrap_or(1))
}

fn unexpected(url: &str, reason: &str) -> ElasticError {
    ElasticError::Response { method: "PUT".into(), url: url.to_string(), reason: reason.to_string() }
}

/// This host's name, as the lease records it.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// Whether a process of this host is alive (where `/proc` tells; elsewhere, assume it is).
fn process_alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}
