//! The service's persistent state behind one interface, [`Store`]: telemetry
//! summaries, versioned recommendations with their lifecycle, cycles, collector
//! watermarks, components and a generic audit log.
//!
//! One implementation, [`SqlStore`], speaks to SQLite (embedded default, WAL) and
//! PostgreSQL (shared by replicas) through sqlx's run-time driver selection; the two
//! differ only in their DDL ([`migrations`]) and in how leadership is held
//! ([`leader`]). Every query is plain SQL with `$n` parameters, which both accept.
//! Times are integers (milliseconds or minutes since the epoch) and documents are
//! JSON text, so nothing depends on a database's date or JSON types.

pub mod alerts;
mod backend;
mod deflated;
pub mod leader;
pub mod migrations;
pub mod recent;
pub mod redact;
mod sql;
mod types;

use std::future::Future;

pub use backend::Backend;
pub use deflated::{Deflated, deflate, inflate};
pub use redact::redact_url;
pub use sql::{SqlStore, now_ms};
pub use types::*;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or cannot be reached.
    #[error("store: {0}")]
    Db(#[from] sqlx::Error),
    /// A stored document does not parse (written by another version, or edited).
    #[error("store: {what} is not valid JSON ({source})")]
    Corrupt {
        /// Which row.
        what: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The database was migrated by a newer adaptd.
    #[error(
        "store: the database is at schema version {found}, newer than this build's {supported}; upgrade adaptd"
    )]
    TooNew {
        /// Version found.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// This replica no longer holds leadership; the write was not made.
    #[error("store: this replica is not the leader (leadership lost); nothing was written")]
    NotLeader,
    /// The settings cannot be used (a missing URL variable).
    #[error("store: {0}")]
    Settings(String),
}

/// A refused lifecycle change.
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    /// No recommendation has this id.
    #[error("no recommendation {0}")]
    NotFound(i64),
    /// The change is not allowed from the current status.
    #[error("recommendation {id} is {status}; {why}")]
    Conflict {
        /// The recommendation.
        id: i64,
        /// Its status.
        status: Lifecycle,
        /// Why the change is refused.
        why: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The service's state. Writes that "act" (cycles) require leadership, which the
/// implementation fences: a replica that lost it cannot commit a cycle.
pub trait Store: Send + Sync + 'static {
    /// Creates or upgrades the tables.
    fn migrate(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Whether the database answers (readiness).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Tries to become (or stay) the leader; `Ok(true)` while this replica leads.
    fn lead(&self) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives leadership up (on shutdown), so a follower takes over at once.
    fn resign(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The collector state of `source` (JSON), if any.
    fn collector_state(
        &self,
        source: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Records the start of a cycle; returns its id.
    fn begin_cycle(
        &self,
        instance: &str,
        started_ms: i64,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Writes what a cycle collected (components, summaries, collector state) in one
    /// transaction, so watermarks never move past summaries that were not stored.
    fn commit_collection(
        &self,
        c: &Collection,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Summaries of `component` whose window ends after `since_minute`, oldest first.
    fn summaries(
        &self,
        component: &str,
        since_minute: i64,
    ) -> impl Future<Output = Result<Vec<StoredSummary>, StoreError>> + Send;

    /// Every known component.
    fn components(&self) -> impl Future<Output = Result<Vec<ComponentRow>, StoreError>> + Send;

    /// The newest version of each component's recommendation.
    fn latest_recommendations(
        &self,
    ) -> impl Future<Output = Result<Vec<RecommendationRow>, StoreError>> + Send;

    /// The newest version of each component, in component order, handed to `each` one
    /// at a time as the database returns them (one query, so one consistent read): for
    /// readers that keep only a little of each row, where holding every row at once
    /// would be the service's largest allocation (the refresher, after every cycle).
    fn for_each_latest_recommendation<F>(
        &self,
        each: F,
    ) -> impl Future<Output = Result<(), StoreError>> + Send
    where
        F: FnMut(RecommendationRow) + Send;

    /// How many components are known, and how many of them are stale.
    fn component_counts(&self) -> impl Future<Output = Result<(i64, i64), StoreError>> + Send;

    /// Writes a cycle's outcome: new recommendation versions, supersessions,
    /// refreshed proposals, stale marks, the cycle row; one transaction, fenced by
    /// leadership.
    fn finish_cycle(&self, f: &CycleFinish) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Recommendations matching `filter`, and how many match without paging.
    fn list_recommendations(
        &self,
        filter: &RecommendationFilter,
    ) -> impl Future<Output = Result<(Vec<RecommendationRow>, i64), StoreError>> + Send;

    /// One recommendation with its document.
    fn recommendation(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<RecommendationRow>, StoreError>> + Send;

    /// Moves a recommendation from one of `from` to `to`, with an audit entry, in one
    /// transaction; refuses when its status is not in `from`.
    fn transition(
        &self,
        t: &Transition,
    ) -> impl Future<Output = Result<RecommendationRow, TransitionError>> + Send;

    /// Cycles, newest first.
    fn cycles(
        &self,
        limit: i64,
        before_id: Option<i64>,
    ) -> impl Future<Output = Result<Vec<CycleRow>, StoreError>> + Send;

    /// One cycle.
    fn cycle(&self, id: i64) -> impl Future<Output = Result<Option<CycleRow>, StoreError>> + Send;

    /// Appends to the audit log; returns the entry's id.
    fn audit(&self, e: &AuditEntry) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Audit entries, newest first.
    fn audit_log(
        &self,
        limit: i64,
        before_id: Option<i64>,
    ) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;

    /// Audit entries of `action` at or after `since_ms`, oldest first.
    fn audit_since(
        &self,
        action: &str,
        since_ms: i64,
    ) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;

    /// Every audit entry on `subject`, oldest first.
    fn audit_subject(
        &self,
        subject: &str,
    ) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;

    /// Entries of action `begin` with no later entry of action `end` on the same
    /// subject, oldest first: work begun and not finished (the apply feature's
    /// unfinished plans, after a crash).
    fn audit_open(
        &self,
        begin: &str,
        end: &str,
    ) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;

    /// Recent telemetry of `components` (the metrics verification reads) from minute
    /// `from_minute` on, as cycles collected it (see [`recent`]).
    fn recent_telemetry(
        &self,
        components: &[String],
        from_minute: i64,
    ) -> impl Future<Output = Result<adaptd_engine::telemetry::TelemetrySet, StoreError>> + Send;

    /// Forgets recent telemetry before `before_minute`; returns how many minutes of
    /// components were deleted.
    fn prune_recent(
        &self,
        before_minute: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// A number that changes whenever recommendations or cycles change, so readers
    /// (metrics, followers) refresh only when needed.
    fn revision(&self) -> impl Future<Output = Result<(i64, i64), StoreError>> + Send;

    /// A number that grows with every change to any recommendation (new versions,
    /// refreshes, confirmations, status changes) and with nothing else: what the
    /// in-memory listing is checked against on each request.
    fn recommendations_revision(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
}
