//! [`CycleReport`]: what a cycle did, the one thing the cycle hands to those who act
//! after it (alerts' focus, the hand-over, metrics and logs); its own file so that they
//! read it without depending on how a cycle runs.

use crate::sources::Collected;

/// What a cycle did, for logs and metrics.
#[derive(Debug, Default)]
pub struct CycleReport {
    /// The cycle's id (0 when it could not even start).
    pub id: i64,
    /// `ok`, `partial`, `failed`, `interrupted`.
    pub outcome: String,
    /// Seconds per stage that ran.
    pub stage_seconds: Vec<(&'static str, f64)>,
    /// Stages that failed (a partial collection counts as a failure of `collect`).
    pub failed_stages: Vec<&'static str>,
    /// Per source: errors by kind, observation cost, whether it had no error.
    pub sources: Vec<Collected>,
    /// The error that ended the cycle, if any.
    pub error: Option<String>,
    /// Components marked stale.
    pub stale: usize,
    /// Recommendation versions written.
    pub versions: usize,
    /// Whether the optimiser ran.
    pub optimised: bool,
    /// What was stored per component: `insert`, `refresh` or `confirm`.
    pub components: Vec<(String, &'static str)>,
    /// Groups the optimiser solved one after the other.
    pub groups: usize,
    /// Whether the groups broke a shared limit together and were solved jointly.
    pub joint: bool,
    /// Whether the groups broke an account limit together and each was solved at its
    /// share of it.
    pub shared: bool,
}
