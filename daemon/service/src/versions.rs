//! How a cycle's recommendation for a component becomes a stored version. Pure.
//!
//! A version is identified by its fingerprint (verdict and target deployment): the
//! same advice again is not a new version. A proposal still awaiting a decision is
//! refreshed with the new figures; a decided one (approved, applied, rejected,
//! rolled back) is left as decided, so a rejection is not re-proposed every hour.
//! Different advice is a new version, and an open previous one (proposed or
//! approved but not applied) is superseded.

use adaptd_engine::zone::Zone;
use adaptd_optimizer::recommend::{Recommendation, Status};
use serde::{Deserialize, Serialize};

use adaptd_store::{Lifecycle, NewVersion, RecommendationRow, VersionAction};

/// Figures of one recommendation that `/metrics` exports, kept beside the document
/// so a scrape does not parse thousands of documents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Gauges {
    /// As deployed.
    pub current: Option<Side>,
    /// As recommended.
    pub recommended: Option<Side>,
    /// Per local hour of day in `timezone`: mean and p99 invocations per minute,
    /// provisioned levels now and recommended.
    pub hours: Vec<HourGauge>,
    /// The zone of `hours` (the recommendation's).
    #[serde(default)]
    pub timezone: Zone,
    /// Observed duration quantiles over the lookback (ms): p50, p95, p99.
    pub observed_duration_ms: Option<[f64; 3]>,
}

/// Predicted figures of one deployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// Monthly cost.
    pub usd_per_month: f64,
    /// Latency quantiles over the month (ms).
    pub p50_ms: f64,
    /// See `p50_ms`.
    pub p95_ms: f64,
    /// See `p50_ms`.
    pub p99_ms: f64,
    /// The worst hour's p99 (ms).
    pub worst_hour_p99_ms: f64,
    /// Cold starts per invocation.
    pub cold_start_rate: f64,
}

/// One hour of day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HourGauge {
    /// Mean invocations per minute observed.
    pub invocations_per_minute: f64,
    /// 99th percentile of per-minute invocations.
    pub p99_invocations_per_minute: f64,
    /// Provisioned environments (or tasks) now.
    pub current_level: u32,
    /// Recommended.
    pub recommended_level: u32,
}

/// The verdict's name.
pub fn verdict(s: Status) -> &'static str {
    match s {
        Status::Change => "change",
        Status::Keep => "keep",
        Status::SloInfeasible => "slo_infeasible",
        Status::NoData => "no_data",
    }
}

/// What identifies the advice: the verdict and the deployment recommended.
pub fn fingerprint(r: &Recommendation) -> String {
    let target = r
        .recommended
        .as_ref()
        .map(|p| serde_json::to_string(&p.deployment).unwrap_or_default())
        .unwrap_or_default();
    format!("{}|{target}", verdict(r.status))
}

/// The gauges of `r`; `observed` are duration quantiles of the telemetry (ms).
pub fn gauges(r: &Recommendation, observed: Option<[f64; 3]>) -> Gauges {
    let side = |p: &adaptd_optimizer::recommend::Predicted| Side {
        usd_per_month: p.usd_per_month,
        p50_ms: p.p50_ms,
        p95_ms: p.p95_ms,
        p99_ms: p.p99_ms,
        worst_hour_p99_ms: p.worst_hour_p99_ms,
        cold_start_rate: p.cold_start_rate,
    };
    Gauges {
        current: r.current.as_ref().map(side),
        recommended: r.recommended.as_ref().map(side),
        hours: r
            .hours
            .iter()
            .map(|h| HourGauge {
                invocations_per_minute: h.invocations_per_minute,
                p99_invocations_per_minute: h.p99_invocations_per_minute,
                current_level: h.current_level,
                recommended_level: h.recommended_level,
            })
            .collect(),
        observed_duration_ms: observed,
        timezone: r.timezone,
    }
}

/// The new version's row content.
pub fn new_version(
    r: &Recommendation,
    inputs: &serde_json::Value,
    observed: Option<[f64; 3]>,
) -> NewVersion {
    NewVersion {
        component: r.component.clone(),
        verdict: verdict(r.status).to_owned(),
        saving_usd_per_month: r.saving_usd_per_month,
        current_usd_per_month: r.current.as_ref().map(|p| p.usd_per_month),
        recommended_usd_per_month: r.recommended.as_ref().map(|p| p.usd_per_month),
        summary: r.explanation.summary.clone(),
        fingerprint: fingerprint(r),
        document: serde_json::to_string(r).unwrap_or_default().as_str().into(),
        inputs: inputs.to_string(),
        gauges: serde_json::to_string(&gauges(r, observed))
            .unwrap_or_default()
            .as_str()
            .into(),
    }
}

/// What deciding a new version needs of the component's newest one: a cycle holds one
/// per component while it optimises, so not the whole row.
#[derive(Clone, Debug, PartialEq)]
pub struct Previous {
    /// Its id.
    pub id: i64,
    /// Its status.
    pub status: Lifecycle,
    /// What it recommends (see `RecommendationRow::fingerprint`).
    pub fingerprint: String,
}

impl From<RecommendationRow> for Previous {
    fn from(r: RecommendationRow) -> Self {
        Self {
            id: r.id,
            status: r.status,
            fingerprint: r.fingerprint,
        }
    }
}

/// What to store for `new`, given the component's newest stored version.
pub fn decide(previous: Option<&Previous>, new: NewVersion) -> VersionAction {
    let Some(prev) = previous else {
        return VersionAction::Insert {
            new,
            supersede: None,
        };
    };
    if prev.fingerprint == new.fingerprint {
        return match prev.status {
            Lifecycle::Proposed => VersionAction::Refresh { id: prev.id, new },
            _ => VersionAction::Confirm { id: prev.id },
        };
    }
    let open = matches!(prev.status, Lifecycle::Proposed | Lifecycle::Approved);
    VersionAction::Insert {
        new,
        supersede: open.then_some(prev.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(fp: &str) -> NewVersion {
        NewVersion {
            component: "a".into(),
            verdict: "change".into(),
            saving_usd_per_month: 1.0,
            current_usd_per_month: Some(2.0),
            recommended_usd_per_month: Some(1.0),
            summary: String::new(),
            fingerprint: fp.into(),
            document: "{}".into(),
            inputs: "{}".into(),
            gauges: "{}".into(),
        }
    }

    fn row(status: Lifecycle, fp: &str) -> Previous {
        Previous {
            id: 7,
            status,
            fingerprint: fp.into(),
        }
    }

    #[test]
    fn the_same_advice_is_not_a_new_version() {
        let p = row(Lifecycle::Proposed, "x");
        assert!(matches!(
            decide(Some(&p), version("x")),
            VersionAction::Refresh { id: 7, .. }
        ));
        for s in [
            Lifecycle::Approved,
            Lifecycle::Rejected,
            Lifecycle::Applied,
            Lifecycle::RolledBack,
        ] {
            assert_eq!(
                decide(Some(&row(s, "x")), version("x")),
                VersionAction::Confirm { id: 7 }
            );
        }
    }

    #[test]
    fn new_advice_supersedes_only_open_versions() {
        assert!(matches!(
            decide(None, version("y")),
            VersionAction::Insert {
                supersede: None,
                ..
            }
        ));
        for (s, sup) in [
            (Lifecycle::Proposed, Some(7)),
            (Lifecycle::Approved, Some(7)),
            (Lifecycle::Applied, None),
            (Lifecycle::Rejected, None),
        ] {
            match decide(Some(&row(s, "x")), version("y")) {
                VersionAction::Insert { supersede, .. } => assert_eq!(supersede, sup, "{s}"),
                other => panic!("{s}: {other:?}"),
            }
        }
    }
}
