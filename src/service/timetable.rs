//! When each scheduled sync runs next.
//!
//! One entry per sync kind with a schedule. Syncs run one at a time, so the next run of a
//! kind is computed from when its previous run *finished*: a sync that overruns its next slot
//! delays that run instead of stacking runs behind it. Pure logic on explicit times, so it is
//! tested without sleeping.

use chrono::{DateTime, Utc};

use crate::schedule::Schedule;
use crate::sync::SyncKind;

#[derive(Debug, Clone)]
struct Entry {
    kind: SyncKind,
    schedule: Schedule,
    next: Option<DateTime<Utc>>,
}

/// The next run of every scheduled kind.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timetable {
    entries: Vec<Entry>,
}

impl Timetable {
    /// An empty timetable.
    pub(crate) fn new() -> Self {
        Timetable::default()
    }

    /// Adds a kind; its first run is the schedule's first time after `now`.
    pub(crate) fn add(&mut self, kind: SyncKind, schedule: Schedule, now: DateTime<Utc>) {
        let next = schedule.next_after(now);
        self.entries.push(Entry { kind, schedule, next });
    }

    /// True when nothing is scheduled.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.iter().all(|e| e.next.is_none())
    }

    /// The earliest run: which kind, and when. Ties go to the kind added first (full
    /// before incremental), so a full sync is never starved.
    pub(crate) fn next(&self) -> Option<(SyncKind, DateTime<Utc>)> {
        self.entries.iter().filter_map(|e| e.next.map(|t| (e.kind, t))).min_by_key(|(_, t)| *t)
    }

    /// A run of `kind` finished at `finished`: its next run is the schedule's first time
    /// after that. Other kinds whose time passed meanwhile stay due (they run next, once).
    pub(crate) fn finished(&mut self, kind: SyncKind, finished: DateTime<Utc>) {
        for e in self.entries.iter_mut().filter(|e| e.kind == kind) {
            e.next = e.schedule.next_after(finished);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_earliest_kind_runs_first() {
        let mut t = Timetable::new();
        let now = at("2026-01-01T10:10:00Z");
        t.add(SyncKind::Full, Schedule::parse("0 0 * * * ?").unwrap(), now);
        t.add(SyncKind::Incremental, Schedule::parse("0 */15 * * * ?").unwrap(), now);
        assert_eq!(t.next(), Some((SyncKind::Incremental, at("2026-01-01T10:15:00Z"))));
        t.finished(SyncKind::Incremental, at("2026-01-01T10:16:00Z"));
        assert_eq!(t.next(), Some((SyncKind::Incremental, at("2026-01-01T10:30:00Z"))));
    }

    #[test]
    fn an_overrun_delays_the_next_run_instead_of_stacking() {
        let mut t = Timetable::new();
        t.add(SyncKind::Full, Schedule::parse("0 */10 * * * ?").unwrap(), at("2026-01-01T10:00:00Z"));
        assert_eq!(t.next(), Some((SyncKind::Full, at("2026-01-01T10:10:00Z"))));
        // The 10:10 run takes 25 minutes: the 10:20 and 10:30 slots are skipped, not queued.
        t.finished(SyncKind::Full, at("2026-01-01T10:35:00Z"));
        assert_eq!(t.next(), Some((SyncKind::Full, at("2026-01-01T10:40:00Z"))));
    }

    #[test]
    fn a_kind_that_became_due_during_another_run_runs_once_right_after() {
        let mut t = Timetable::new();
        let now = at("2026-01-01T10:00:00Z");
        t.add(SyncKind::Full, Schedule::parse("1h").unwrap(), now);
        t.add(SyncKind::AccessControl, Schedule::parse("5m").unwrap(), now);
        assert_eq!(t.next(), Some((SyncKind::AccessControl, at("2026-01-01T10:05:00Z"))));
        t.finished(SyncKind::AccessControl, at("2026-01-01T11:30:00Z"));
        assert_eq!(t.next(), Some((SyncKind::Full, at("2026-01-01T11:00:00Z"))));
        t.finished(SyncKind::Full, at("2026-01-01T11:40:00Z"));
        assert_eq!(t.next(), Some((SyncKind::AccessControl, at("2026-01-01T11:35:00Z"))));
    }

    #[test]
    fn all_three_kinds_take_turns_and_a_tie_goes_to_the_full_sync() {
        let mut t = Timetable::new();
        let now = at("2026-01-01T09:58:00Z");
        t.add(SyncKind::Full, Schedule::parse("0 0 10 * * ?").unwrap(), now);
        t.add(SyncKind::Incremental, Schedule::parse("0 */15 * * * ?").unwrap(), now);
        t.add(SyncKind::AccessControl, Schedule::parse("30m").unwrap(), now);
        // Full and incremental are both due at 10:00: the full sync goes first.
        assert_eq!(t.next(), Some((SyncKind::Full, at("2026-01-01T10:00:00Z"))));
        t.finished(SyncKind::Full, at("2026-01-01T10:25:00Z"));
        // The incremental sync due at 10:00 (and the 10:15 slot it missed) runs once, now.
        assert_eq!(t.next(), Some((SyncKind::Incremental, at("2026-01-01T10:00:00Z"))));
        t.finished(SyncKind::Incremental, at("2026-01-01T10:27:00Z"));
        assert_eq!(t.next(), Some((SyncKind::AccessControl, at("2026-01-01T10:28:00Z"))));
        t.finished(SyncKind::AccessControl, at("2026-01-01T10:29:00Z"));
        assert_eq!(t.next(), Some((SyncKind::Incremental, at("2026-01-01T10:30:00Z"))));
        assert_eq!(SyncKind::AccessControl.name(), "access_control");
    }

    #[test]
    fn nothing_scheduled() {
        assert!(Timetable::new().is_empty());
        assert_eq!(Timetable::new().next(), None);
    }
}
