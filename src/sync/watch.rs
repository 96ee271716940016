//! What a driver may watch of a sync while it runs: the counters of its sink, so that the
//! managed service can report a job's progress to Kibana every few seconds.

use std::sync::{Arc, Mutex};

use crate::elastic::progress::{Progress, Snapshot};

/// A window on the sink of the sync it is handed to; empty until that sink starts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Watch(Arc<Mutex<Option<Arc<Progress>>>>);

impl Watch {
    /// A watch on nothing yet.
    pub(crate) fn new() -> Watch {
        Watch::default()
    }

    /// The counters now; zeros before the sink started.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let progress = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        progress.map(|p| p.snapshot()).unwrap_or_default()
    }

    /// Follows `progress` from now on.
    pub(crate) fn attach(&self, progress: Arc<Progress>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(progress);
    }
}
