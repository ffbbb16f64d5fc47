//! What a report is made from: plain data that the CLI, the service and tests can all
//! supply, so rendering never touches telemetry, clocks or the network.

use std::collections::BTreeMap;

use adaptd_engine::spec::Deployment;
use adaptd_engine::telemetry::Minute;
use adaptd_optimizer::recommend::RecommendationSet;
use adaptd_optimizer::recommend::frontier::FrontierPoint;
use serde::{Deserialize, Serialize};

/// Everything a report shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// Shown at the top ("adaptd weekly report").
    pub title: String,
    /// The telemetry the report covers.
    pub period: Period,
    /// When the report was made (minutes since the Unix epoch, UTC).
    pub generated_at_minute: Minute,
    /// This period's recommendations.
    pub recommendations: RecommendationSet,
    /// The previous period's, for week-over-week changes.
    pub previous: Option<RecommendationSet>,
    /// What telemetry observed, by component.
    pub observed: BTreeMap<String, Observed>,
    /// Cost–latency frontiers of the top components, cheapest point first.
    pub frontiers: BTreeMap<String, Vec<FrontierPoint>>,
    /// Changes applied or rolled back, with their measured savings.
    pub changes: Vec<ChangeOutcome>,
    /// Data-quality findings not already in the recommendations.
    pub data_quality: Vec<DataQualityWarning>,
}

/// A half-open window `[start_minute, end_minute)` of telemetry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First minute covered.
    pub start_minute: Minute,
    /// One past the last minute covered.
    pub end_minute: Minute,
}

impl Period {
    /// Length in days.
    pub fn days(&self) -> f64 {
        (self.end_minute - self.start_minute) as f64 / 1440.0
    }

    /// Whether `minute` falls inside.
    pub fn contains(&self, minute: Minute) -> bool {
        (self.start_minute..self.end_minute).contains(&minute)
    }
}

/// Latency and cold starts as telemetry saw them over the period. Durations are the
/// function's execution time (what CloudWatch's `Duration` reports, init excluded), so
/// a predicted p99 that includes cold starts can legitimately sit above them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// Invocations in the period.
    pub invocations: f64,
    /// p99 execution time over the period (ms).
    pub p99_ms: Option<f64>,
    /// Cold starts per invocation.
    pub cold_start_rate: Option<f64>,
    /// p99 execution time per UTC hour of day (24 entries; `None` without data).
    pub hourly_p99_ms: Vec<Option<f64>>,
}

/// A data-quality finding: missing minutes, short history, estimated parameters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DataQualityWarning {
    /// The component concerned; `None` for the whole fleet.
    pub component: Option<String>,
    /// What is wrong and what it affects.
    pub message: String,
}

/// A recommendation that was applied: what the apply feature (or an operator, through
/// `adaptd report --applied FILE`) records when it changes a deployment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedChange {
    /// Component name, as in the recommendations.
    pub component: String,
    /// When the new deployment took effect (minutes since the Unix epoch, UTC).
    pub applied_at_minute: Minute,
    /// The deployment before the change.
    pub before: Deployment,
    /// The deployment after it.
    pub after: Deployment,
    /// The monthly saving the recommendation predicted (USD; negative when the change
    /// was made to meet an SLO and was predicted to cost more).
    pub predicted_saving_usd_per_month: f64,
    /// When the change was reverted, if it was.
    #[serde(default)]
    pub rolled_back_at_minute: Option<Minute>,
    /// Why it was reverted.
    #[serde(default)]
    pub rollback_reason: Option<String>,
}

/// The `--applied` file: `{"changes": [AppliedChange, …]}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliedFile {
    /// The changes, in any order.
    pub changes: Vec<AppliedChange>,
}

/// Why an applied-changes file was refused.
#[derive(Debug, thiserror::Error)]
pub enum AppliedError {
    /// Not JSON of the documented shape.
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        /// File name.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde said.
        message: String,
    },
    /// Well-formed, but a value is impossible.
    #[error("{origin}: changes[{index}].{field}: {message}")]
    Invalid {
        /// File name.
        origin: String,
        /// Position in `changes`.
        index: usize,
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl AppliedFile {
    /// Parses and checks `text`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, AppliedError> {
        let file: AppliedFile = serde_json::from_str(text).map_err(|e| AppliedError::Syntax {
            origin: origin.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        for (index, c) in file.changes.iter().enumerate() {
            let invalid = |field, message: String| AppliedError::Invalid {
                origin: origin.to_owned(),
                index,
                field,
                message,
            };
            if c.component.trim().is_empty() {
                return Err(invalid("component", "must not be empty".into()));
            }
            if !c.predicted_saving_usd_per_month.is_finite() {
                return Err(invalid(
                    "predicted_saving_usd_per_month",
                    format!(
                        "must be a finite number (got {})",
                        c.predicted_saving_usd_per_month
                    ),
                ));
            }
            if let Some(r) = c.rolled_back_at_minute
                && r < c.applied_at_minute
            {
                return Err(invalid(
                    "rolled_back_at_minute",
                    format!(
                        "is before applied_at_minute (got {r}, applied at {})",
                        c.applied_at_minute
                    ),
                ));
            }
        }
        Ok(file)
    }
}

/// Where a change stands in the report's period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeState {
    /// Applied during the period and still in place.
    Applied,
    /// Applied before the period and still in place (its savings keep being measured).
    Live,
    /// Reverted during the period.
    RolledBack,
}

/// The saving a change achieved, measured by replaying the traffic observed after it
/// against both deployments. Both replays see the same minutes and the same seed, so
/// their difference is the change's effect alone, not last week's traffic growth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Realised {
    /// First minute measured (the later of the change and the period start).
    pub from_minute: Minute,
    /// One past the last minute measured (the rollback or the period end).
    pub to_minute: Minute,
    /// Invocations replayed.
    pub invocations: u64,
    /// The traffic under the old deployment, per month (USD).
    pub before_usd_per_month: f64,
    /// The traffic under the new deployment, per month (USD).
    pub after_usd_per_month: f64,
    /// `before − after`.
    pub saving_usd_per_month: f64,
    /// `realised − predicted` saving: positive when the change saved more than
    /// promised.
    pub error_usd_per_month: f64,
    /// `error / |predicted|`, when the prediction is not zero.
    pub relative_error: Option<f64>,
    /// Replayed p99 latency under the new deployment (ms).
    pub after_p99_ms: Option<f64>,
    /// Replayed cold starts per invocation under the new deployment.
    pub after_cold_start_rate: f64,
}

/// One applied change, as the report shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeOutcome {
    /// What was changed.
    pub change: AppliedChange,
    /// Where it stands.
    pub state: ChangeState,
    /// The measured saving, when it could be measured.
    pub realised: Option<Realised>,
    /// Why it could not be measured (no telemetry after the change, replay failed).
    pub not_measured: Option<String>,
}

impl ChangeOutcome {
    /// The state of `change` in `period`, or `None` when it is outside it (reverted
    /// before the period began, or applied after it ended).
    pub fn state_in(change: &AppliedChange, period: &Period) -> Option<ChangeState> {
        if change.applied_at_minute >= period.end_minute {
            return None;
        }
        match change.rolled_back_at_minute {
            Some(r) if r < period.start_minute => None,
            Some(r) if r < period.end_minute => Some(ChangeState::RolledBack),
            _ if change.applied_at_minute >= period.start_minute => Some(ChangeState::Applied),
            _ => Some(ChangeState::Live),
        }
    }
}
