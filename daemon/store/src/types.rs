//! The rows the store reads and writes. They are what the API serves, so they are
//! `Serialize`; documents (recommendations, profiles, reports) stay JSON text inside
//! the store and are parsed only where a caller needs them.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Where a recommendation is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Made by a cycle, awaiting a decision.
    Proposed,
    /// Approved by a person; the apply feature may carry it out.
    Approved,
    /// Carried out.
    Applied,
    /// Refused by a person; not proposed again while the recommendation is the same.
    Rejected,
    /// Replaced by a newer version before it was applied.
    Superseded,
    /// Applied, then undone.
    RolledBack,
}

impl Lifecycle {
    /// Every status.
    pub const ALL: [Lifecycle; 6] = [
        Lifecycle::Proposed,
        Lifecycle::Approved,
        Lifecycle::Applied,
        Lifecycle::Rejected,
        Lifecycle::Superseded,
        Lifecycle::RolledBack,
    ];

    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Proposed => "proposed",
            Lifecycle::Approved => "approved",
            Lifecycle::Applied => "applied",
            Lifecycle::Rejected => "rejected",
            Lifecycle::Superseded => "superseded",
            Lifecycle::RolledBack => "rolled_back",
        }
    }
}

impl fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Lifecycle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Lifecycle::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown status `{s}` (expected one of: proposed, approved, applied, rejected, superseded, rolled_back)"
                )
            })
    }
}

/// A component as the service knows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentRow {
    /// Name.
    pub name: String,
    /// Attributes the collectors discovered (JSON object).
    pub attributes: serde_json::Value,
    /// Sources it was seen in (`file`, `cloudwatch`, `prometheus`).
    pub sources: Vec<String>,
    /// First and last time a collection saw it (ms since the epoch).
    pub first_seen_ms: i64,
    /// See `first_seen_ms`.
    pub last_seen_ms: i64,
    /// One past the last minute of stored telemetry, if any.
    pub data_until_minute: Option<i64>,
    /// Why its recommendation is stale (a failed collection), if it is.
    pub stale_reason: Option<String>,
    /// The cycle that made it stale.
    pub stale_since_cycle: Option<i64>,
}

/// A component seen in a collection.
#[derive(Clone, Debug, PartialEq)]
pub struct SeenComponent {
    /// Name.
    pub name: String,
    /// Attributes (JSON object).
    pub attributes: serde_json::Value,
    /// Every source that has seen it, this one included.
    pub sources: Vec<String>,
    /// One past the last minute collected this time, if any.
    pub data_until_minute: Option<i64>,
}

/// A telemetry summary to store: one component's profile over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct NewSummary {
    /// Component.
    pub component: String,
    /// First minute.
    pub start_minute: i64,
    /// One past the last minute.
    pub end_minute: i64,
    /// The `Profile` as JSON.
    pub profile: String,
}

/// A stored summary.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSummary {
    /// First minute.
    pub start_minute: i64,
    /// One past the last minute.
    pub end_minute: i64,
    /// The `Profile` as JSON.
    pub profile: String,
}

/// What one cycle collected, written at once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Collection {
    /// The cycle.
    pub cycle_id: i64,
    /// When (ms).
    pub at_ms: i64,
    /// Components seen.
    pub seen: Vec<SeenComponent>,
    /// New summaries.
    pub summaries: Vec<NewSummary>,
    /// New collector state, by source (JSON).
    pub states: Vec<(String, String)>,
    /// Summaries ending before this minute are deleted (the lookback).
    pub prune_before_minute: i64,
    /// Recent minutes of the metrics verification reads, for components the service
    /// may apply to (see [`super::recent`]).
    pub recent: Vec<super::recent::RecentSample>,
}

/// A stored recommendation version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecommendationRow {
    /// Id.
    pub id: i64,
    /// Component.
    pub component: String,
    /// Version, 1 for the component's first.
    pub version: i64,
    /// Lifecycle status.
    pub status: Lifecycle,
    /// The optimiser's verdict: `change`, `keep`, `slo_infeasible`, `no_data`.
    pub verdict: String,
    /// Whether this is the component's newest version.
    pub latest: bool,
    /// `current − recommended` (USD per month).
    pub saving_usd_per_month: f64,
    /// Monthly cost as deployed, if known.
    pub current_usd_per_month: Option<f64>,
    /// Monthly cost recommended, if known.
    pub recommended_usd_per_month: Option<f64>,
    /// One sentence.
    pub summary: String,
    /// The cycle that made it and the telemetry window it read.
    pub inputs: serde_json::Value,
    /// The last cycle that recommended the same thing.
    pub cycle_id: i64,
    /// When made (ms).
    pub created_ms: i64,
    /// Last status change (ms).
    pub updated_ms: i64,
    /// Who changed the status last, and their note.
    pub status_actor: Option<String>,
    /// See `status_actor`.
    pub status_note: Option<String>,
    /// Identity of what is recommended (verdict and target deployment), to tell a new
    /// version from the same advice again.
    #[serde(skip)]
    pub fingerprint: String,
    /// The `Recommendation` document (JSON), loaded only for single reads.
    #[serde(skip)]
    pub document: Option<String>,
    /// Figures for `/metrics` (JSON, see `service::metrics::Gauges`).
    #[serde(skip)]
    pub gauges: String,
}

/// A new version to insert.
#[derive(Clone, Debug, PartialEq)]
pub struct NewVersion {
    /// Component.
    pub component: String,
    /// Verdict.
    pub verdict: String,
    /// See [`RecommendationRow`].
    pub saving_usd_per_month: f64,
    /// See [`RecommendationRow`].
    pub current_usd_per_month: Option<f64>,
    /// See [`RecommendationRow`].
    pub recommended_usd_per_month: Option<f64>,
    /// See [`RecommendationRow`].
    pub summary: String,
    /// See [`RecommendationRow`].
    pub fingerprint: String,
    /// The document (JSON), deflated until it is written.
    pub document: super::Deflated,
    /// Inputs (JSON).
    pub inputs: String,
    /// Gauges (JSON), deflated until it is written.
    pub gauges: super::Deflated,
}

/// What a cycle decided for one component.
#[derive(Clone, Debug, PartialEq)]
pub enum VersionAction {
    /// Insert a new version; supersede the previous one when it is open.
    Insert {
        /// The new version.
        new: NewVersion,
        /// Previous version to mark superseded (proposed or approved).
        supersede: Option<i64>,
    },
    /// The same advice as a proposed version: refresh its figures and document.
    Refresh {
        /// The proposed version.
        id: i64,
        /// Its new content.
        new: NewVersion,
    },
    /// The same advice as a decided version: note the cycle only.
    Confirm {
        /// The version.
        id: i64,
    },
}

/// How a cycle ended.
#[derive(Clone, Debug, PartialEq)]
pub struct CycleFinish {
    /// The cycle.
    pub cycle_id: i64,
    /// When it finished (ms).
    pub finished_ms: i64,
    /// `ok`, `partial` (some sources or components failed), `failed`, `interrupted`.
    pub outcome: String,
    /// The first stage that failed, if any.
    pub failed_stage: Option<String>,
    /// Why, for a person.
    pub error: Option<String>,
    /// Per-stage timings, sources, notes (JSON).
    pub report: String,
    /// Recommendation changes.
    pub actions: Vec<VersionAction>,
    /// Components whose recommendation is now stale, with why.
    pub stale: Vec<(String, String)>,
    /// Components that are fresh again.
    pub fresh: Vec<String>,
}

/// A stored cycle.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CycleRow {
    /// Id.
    pub id: i64,
    /// The replica that ran it.
    pub instance: String,
    /// Start (ms).
    pub started_ms: i64,
    /// End (ms), absent while running.
    pub finished_ms: Option<i64>,
    /// `running`, `ok`, `partial`, `failed`, `interrupted`.
    pub outcome: String,
    /// See [`CycleFinish`].
    pub failed_stage: Option<String>,
    /// See [`CycleFinish`].
    pub error: Option<String>,
    /// See [`CycleFinish`].
    pub report: serde_json::Value,
}

/// Filters of `GET /recommendations`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecommendationFilter {
    /// Any of these statuses (empty: any but superseded).
    pub statuses: Vec<Lifecycle>,
    /// Any of these verdicts (empty: any).
    pub verdicts: Vec<String>,
    /// Exactly this component.
    pub component: Option<String>,
    /// Saving at least this much (USD per month).
    pub min_saving_usd_per_month: Option<f64>,
    /// Older versions too.
    pub all_versions: bool,
    /// Page size.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

/// A lifecycle change requested by a person (or the apply feature).
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// The recommendation.
    pub id: i64,
    /// Allowed current statuses.
    pub from: Vec<Lifecycle>,
    /// New status.
    pub to: Lifecycle,
    /// Who.
    pub actor: String,
    /// Why.
    pub note: Option<String>,
    /// When (ms).
    pub at_ms: i64,
    /// Verdicts that may take this change (empty: any).
    pub verdicts: Vec<String>,
}

/// An audit entry: generic, so that approvals, cycles and the apply feature's
/// write-ahead log share one table.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// When (ms).
    pub at_ms: i64,
    /// Who (`api:<token>`, `service:<instance>`, `apply:<instance>`).
    pub actor: String,
    /// What (`recommendation.approve`, `apply.intent`, …).
    pub action: String,
    /// On what (`recommendation/42`, `component/checkout-api`).
    pub subject: String,
    /// Details (JSON).
    pub payload: String,
    /// `ok`, `failed`, `pending`, …
    pub outcome: String,
}

/// A stored audit entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditRow {
    /// Id, increasing.
    pub id: i64,
    /// See [`AuditEntry`].
    pub at_ms: i64,
    /// See [`AuditEntry`].
    pub actor: String,
    /// See [`AuditEntry`].
    pub action: String,
    /// See [`AuditEntry`].
    pub subject: String,
    /// See [`AuditEntry`].
    pub payload: serde_json::Value,
    /// See [`AuditEntry`].
    pub outcome: String,
}
