//! The report document: what `report.json` holds and what every renderer reads.
//!
//! Versioned by [`SCHEMA_VERSION`] and described by `docs/report.schema.json`, which a
//! test checks the output against. Money carries `usd_per_month` in its name; times are
//! RFC 3339 strings in UTC next to their minute numbers.

use adaptd_optimizer::recommend::frontier::FrontierPoint;
use adaptd_optimizer::recommend::{Change, CostParts, Status};
use serde::{Deserialize, Serialize};

use crate::input::{ChangeOutcome, DataQualityWarning};

/// Version of the JSON document. Adding an optional field keeps it; renaming or
/// removing one, or changing a meaning, bumps it (and the schema's `const`).
pub const SCHEMA_VERSION: u32 = 1;

/// A weekly report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Shown at the top.
    pub title: String,
    /// The telemetry covered.
    pub period: PeriodInfo,
    /// When it was made (RFC 3339, UTC).
    pub generated_at: String,
    /// The headline numbers.
    pub summary: Summary,
    /// Components at risk of missing their SLO, worst first.
    pub slo_risks: Vec<SloRisk>,
    /// Data-quality findings, fleet-wide first.
    pub data_quality: Vec<DataQualityWarning>,
    /// One per component, largest saving first.
    pub components: Vec<ComponentReport>,
    /// Changes applied, live or rolled back in the period.
    pub changes: Vec<ChangeOutcome>,
    /// Problems that affect all components (budget, price tiers).
    pub warnings: Vec<String>,
}

/// The period, as minutes and as text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodInfo {
    /// First minute (since the Unix epoch).
    pub start_minute: i64,
    /// One past the last minute.
    pub end_minute: i64,
    /// `start_minute` as RFC 3339.
    pub start: String,
    /// `end_minute` as RFC 3339.
    pub end: String,
    /// Length in days.
    pub days: f64,
    /// The end date (`2026-11-23`): the name of the period's directory.
    pub id: String,
}

/// Headline numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Components considered.
    pub components: usize,
    /// Components whose recommendation differs from what is deployed.
    pub changes_recommended: usize,
    /// Monthly cost of what is deployed.
    pub current_usd_per_month: f64,
    /// Monthly cost recommended.
    pub recommended_usd_per_month: f64,
    /// Sum of the positive per-component savings: what is there to take.
    pub available_savings_usd_per_month: f64,
    /// The same, a period ago (when the previous recommendations were given).
    pub previous_available_savings_usd_per_month: Option<f64>,
    /// Changes applied in the period.
    pub changes_applied: usize,
    /// Changes rolled back in the period.
    pub changes_rolled_back: usize,
    /// Savings predicted for the applied changes (live and applied, measured or not).
    pub predicted_savings_applied_usd_per_month: f64,
    /// Savings predicted for the changes whose saving was measured: what
    /// `realised_savings_usd_per_month` compares with.
    pub predicted_savings_measured_usd_per_month: f64,
    /// Savings measured for the changes still in place.
    pub realised_savings_usd_per_month: f64,
    /// Realised minus predicted, over the changes that could be measured.
    pub realised_error_usd_per_month: f64,
    /// Changes in place whose saving could not be measured.
    pub changes_not_measured: usize,
    /// Entries in `slo_risks`.
    pub slo_risks: usize,
    /// Entries in `data_quality`.
    pub data_quality_warnings: usize,
}

/// Why a component may miss its SLO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskKind {
    /// The SLO cannot be met within the guardrails.
    Infeasible,
    /// The model predicts the deployment in place breaks it.
    BreachPredicted,
    /// Telemetry's p99 is above the SLO's p99 target.
    ObservedAboveTarget,
    /// A change was reverted in the period.
    RolledBack,
}

/// One SLO risk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloRisk {
    /// The component.
    pub component: String,
    /// The kind.
    pub kind: RiskKind,
    /// One sentence with the numbers.
    pub detail: String,
}

/// One component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentReport {
    /// Its name.
    pub component: String,
    /// The verdict.
    pub status: Status,
    /// The deployment in place, described.
    pub current: Option<String>,
    /// The deployment recommended, described.
    pub recommended: Option<String>,
    /// Monthly cost in place.
    pub current_usd_per_month: Option<f64>,
    /// Monthly cost recommended.
    pub recommended_usd_per_month: Option<f64>,
    /// `current − recommended`.
    pub saving_usd_per_month: f64,
    /// The saving a period ago.
    pub previous_saving_usd_per_month: Option<f64>,
    /// Cost parts in place.
    pub current_cost: Option<CostParts>,
    /// Cost parts recommended.
    pub recommended_cost: Option<CostParts>,
    /// The settings that change.
    pub changes: Vec<Change>,
    /// `high`, `medium` or `low`.
    pub confidence: String,
    /// One sentence: why.
    pub explanation: String,
    /// The p99 target (ms).
    pub slo_p99_ms: Option<f64>,
    /// The cold-start target (share of invocations).
    pub slo_max_cold_start_rate: Option<f64>,
    /// Predicted worst-hour p99 in place (ms).
    pub predicted_p99_ms_current: Option<f64>,
    /// Predicted worst-hour p99 recommended (ms).
    pub predicted_p99_ms_recommended: Option<f64>,
    /// p99 execution time telemetry saw (ms).
    pub observed_p99_ms: Option<f64>,
    /// Predicted cold starts per invocation in place.
    pub predicted_cold_start_rate_current: Option<f64>,
    /// Predicted cold starts per invocation recommended.
    pub predicted_cold_start_rate_recommended: Option<f64>,
    /// Cold starts per invocation telemetry saw.
    pub observed_cold_start_rate: Option<f64>,
    /// Per hour of day, local to `timezone`.
    pub hours: Vec<HourPoint>,
    /// The IANA time zone of `hours` (the component's `timezone`; `"UTC"` when none
    /// is set). Absent in reports from before zones, whose hours are UTC.
    #[serde(default = "utc")]
    pub timezone: String,
    /// The cost–latency frontier, cheapest first (top components only).
    pub frontier: Vec<FrontierPoint>,
    /// Data-quality findings of this component.
    pub warnings: Vec<String>,
}

/// One hour of the day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HourPoint {
    /// Hour of day (0–23), local to the component's `timezone`.
    pub hour: usize,
    /// Mean invocations per minute.
    pub invocations_per_minute: f64,
    /// 99th percentile of invocations per minute.
    pub p99_invocations_per_minute: f64,
    /// Provisioned environments or tasks in place.
    pub current_level: u32,
    /// Recommended.
    pub recommended_level: u32,
    /// Predicted p99 in place (ms).
    pub predicted_p99_ms_current: f64,
    /// Predicted p99 recommended (ms).
    pub predicted_p99_ms_recommended: f64,
    /// Observed p99 execution time (ms).
    pub observed_p99_ms: Option<f64>,
}

fn utc() -> String {
    "UTC".to_owned()
}
