//! The two state machines of the connector protocol, as Elasticsearch enforces them: which
//! connector `status` may follow which (`PUT _connector/{id}/_status`), and which sync-job
//! status may follow which (cancel, claim, error). A refused transition is a 400
//! `status_exception` worded as Elasticsearch words it.

use super::store::status_exception;
use crate::elastic::error::EsError;

/// Connector statuses, in the protocol's order.
pub const CONNECTOR_STATUSES: &[&str] =
    &["created", "needs_configuration", "configured", "connected", "error"];

/// Sync-job statuses.
pub const SYNC_STATUSES: &[&str] =
    &["canceling", "canceled", "completed", "error", "in_progress", "pending", "suspended"];

/// The statuses a connector may move to from `from`.
fn connector_next(from: &str) -> &'static [&'static str] {
    match from {
        "created" => &["needs_configuration", "error"],
        "needs_configuration" => &["configured"],
        "configured" => &["needs_configuration", "connected", "error"],
        "connected" => &["configured", "error"],
        "error" => &["connected", "configured"],
        _ => &[],
    }
}

/// The statuses a sync job may move to from `from`; `completed`, `canceled` and `error` are
/// final.
fn sync_next(from: &str) -> &'static [&'static str] {
    match from {
        "pending" => &["in_progress", "canceled"],
        "in_progress" => &["canceling", "completed", "suspended", "error"],
        "suspended" => &["in_progress", "canceled"],
        "canceling" => &["canceled", "error"],
        _ => &[],
    }
}

/// Checks a connector status transition.
pub fn check_connector(from: &str, to: &str) -> Result<(), EsError> {
    if connector_next(from).contains(&to) {
        return Ok(());
    }
    Err(status_exception(format!(
        "Invalid transition attempt from [{from}] to [{to}]. Such a status transition is not supported by the Connector Protocol."
    )))
}

/// Checks a sync-job status transition.
pub fn check_sync_job(from: &str, to: &str) -> Result<(), EsError> {
    if sync_next(from).contains(&to) {
        return Ok(());
    }
    Err(status_exception(format!(
        "Invalid transition attempt from [{from}] to [{to}]. Such a ConnectorSyncStatus transition is not supported by the Connector Protocol."
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_protocol() {
        assert!(check_connector("created", "needs_configuration").is_ok());
        let e = check_connector("created", "connected").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.reason, "Invalid transition attempt from [created] to [connected]. Such a status transition is not supported by the Connector Protocol.");
        assert!(check_sync_job("pending", "canceled").is_ok());
        assert!(check_sync_job("in_progress", "canceling").is_ok());
        assert!(check_sync_job("completed", "canceling").is_err());
        assert!(check_sync_job("pending", "error").is_err());
    }
}
