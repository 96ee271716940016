//! The kinds of sync: what a schedule, a CLI command or a sync job asks for.

/// The kinds of sync a schedule can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncKind {
    /// Full sync.
    Full,
    /// Incremental sync.
    Incremental,
    /// Access-control sync.
    AccessControl,
}

impl SyncKind {
    /// The kind as `config.yml` names it (`confluence.schedules.<name>`), for logs and metric
    /// labels.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SyncKind::Full => "full",
            SyncKind::Incremental => "incremental",
            SyncKind::AccessControl => "access_control",
        }
    }
}
