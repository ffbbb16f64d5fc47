//! What a component must meet and stay within: its SLO (with the chance it is
//! planned to hold with) and the org's guardrails.

use std::collections::BTreeSet;

use super::deployment::PlatformKind;
use serde::{Deserialize, Serialize};

/// The largest Poisson mean `μ` with `P(N ≤ allowed) ≥ confidence` (bisection on the
/// decreasing CDF).
fn poisson_mean_for_confidence(allowed: f64, confidence: f64) -> f64 {
    let k = allowed.max(0.0) as u64;
    let (mut lo, mut hi) = (
        0.0,
        allowed.max(0.0) + 10.0 * (allowed.max(1.0)).sqrt() + 10.0,
    );
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        // Adjacent floats: every later step would leave `lo` as it is. Planning asks
        // this for every candidate of every component, and the steps past this point
        // were half of what it cost.
        if mid <= lo || mid >= hi {
            break;
        }
        if crate::poisson::cdf(mid, k) >= confidence {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Share of a component's requests whose hours may go unchecked by a p99 objective.
///
/// A p99 over the two requests of a quiet night hour means nothing, and holding it to
/// the target would buy provisioned concurrency for no one. The quietest hours that
/// together carry at most this share of requests are exempt; every other hour must meet
/// the target. Since the exempt hours hold under 0.5 % of requests, the month's p99 still
/// follows the checked hours'.
pub const P99_EXEMPT_SHARE: f64 = 0.005;

/// Which hours of the day a p99 objective applies to, given invocations per hour.
pub fn p99_checked_hours(invocations_by_hour: &[f64]) -> [bool; 24] {
    let total: f64 = invocations_by_hour.iter().sum();
    let mut checked = [true; 24];
    if total <= 0.0 {
        return checked;
    }
    let mut order: Vec<usize> = (0..invocations_by_hour.len().min(24)).collect();
    order.sort_by(|&a, &b| invocations_by_hour[a].total_cmp(&invocations_by_hour[b]));
    let mut exempt = 0.0;
    for h in order {
        exempt += invocations_by_hour[h] / total;
        if exempt > P99_EXEMPT_SHARE {
            break;
        }
        checked[h] = false;
    }
    checked
}

/// The service-level objective of a component. Unset fields are not constrained.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// p99 latency, including cold starts and queueing, in every hour of the day that
    /// carries traffic (ms); see [`P99_EXEMPT_SHARE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    /// Share of invocations that may pay a cold start over the whole period (0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cold_start_rate: Option<f64>,
    /// Share of invocations that may be throttled in any hour (0–1); 0 forbids throttles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_throttle_rate: Option<f64>,
    /// The period over which the cold-start objective is judged (hours; by default the
    /// length of the telemetry the plan is made from, see [`Slo::judged_over_history`]).
    /// Shorter periods hold fewer invocations, so chance matters more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_hours: Option<f64>,
    /// Probability with which adaptd plans to meet the cold-start objective in each
    /// period (default 0.9): cold starts are random, and planning for the expected
    /// count would miss half the periods whose budget it exactly fills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

/// One billing month (hours): the unit budgets are expressed in, and the longest
/// period an SLO is judged over by default.
pub const DEFAULT_SLO_PERIOD_HOURS: f64 = 730.0;
/// The shortest period an SLO is judged over by default (hours): a day, the unit the
/// profile repeats (hour-of-day models), so a history of a few hours is judged as the
/// day it stands for.
pub const MIN_HISTORY_PERIOD_HOURS: f64 = 24.0;
/// The default probability of meeting the cold-start objective in a period.
pub const DEFAULT_SLO_CONFIDENCE: f64 = 0.9;

impl Slo {
    /// Expected cold starts per month that meet `max_cold_start_rate` with the SLO's
    /// confidence, for `invocations_per_month`.
    ///
    /// Cold starts in a period are modelled as Poisson: the period allows
    /// `B = ⌊rate × invocations in the period⌋` of them, and the plan keeps the expected
    /// count `μ` low enough that `P(N ≤ B) ≥ confidence`. For large budgets this is
    /// about `B − 1.28·√B` at 90 %; for a function with fewer than `1/rate` invocations a
    /// period it is `−ln(confidence)`, about 0.1.
    pub fn cold_start_budget_per_month(&self, invocations_per_month: f64) -> Option<f64> {
        let rate = self.max_cold_start_rate?;
        let period = self
            .period_hours
            .unwrap_or(DEFAULT_SLO_PERIOD_HOURS)
            .max(1e-6);
        let confidence = self
            .confidence
            .unwrap_or(DEFAULT_SLO_CONFIDENCE)
            .clamp(0.0, 0.999_999);
        let per_period = invocations_per_month * period / DEFAULT_SLO_PERIOD_HOURS;
        let allowed = (rate * per_period + 1e-9).floor();
        Some(poisson_mean_for_confidence(allowed, confidence) * DEFAULT_SLO_PERIOD_HOURS / period)
    }

    /// This SLO as judged when the plan is made from `history_hours` of telemetry: an
    /// unset period becomes the history's own length, clamped to
    /// [`MIN_HISTORY_PERIOD_HOURS`]–[`DEFAULT_SLO_PERIOD_HOURS`]; a configured one wins
    /// (and without a cold-start objective the period means nothing and stays unset).
    ///
    /// Why: the allowance is a share of a period's invocations, and what the history
    /// shows is one period of that length. Judged over a month, a quiet function's
    /// allowance of 1 % would be met on average across many days of which some break
    /// it; judged over the history's length, the plan must hold within it.
    pub fn judged_over_history(&self, history_hours: f64) -> Slo {
        let mut slo = self.clone();
        if slo.max_cold_start_rate.is_some()
            && slo.period_hours.is_none()
            && history_hours.is_finite()
            && history_hours > 0.0
        {
            slo.period_hours =
                Some(history_hours.clamp(MIN_HISTORY_PERIOD_HOURS, DEFAULT_SLO_PERIOD_HOURS));
        }
        slo
    }

    /// Whether any objective is set.
    pub fn is_set(&self) -> bool {
        self.p99_ms.is_some()
            || self.max_cold_start_rate.is_some()
            || self.max_throttle_rate.is_some()
    }
}

/// The org's limits for one component, already resolved from the rules that match it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardrails {
    /// Platforms the component may run on; empty means any.
    pub allowed_platforms: BTreeSet<PlatformKind>,
    /// Smallest memory adaptd may choose (MB).
    pub memory_mb_min: u32,
    /// Largest memory adaptd may choose (MB).
    pub memory_mb_max: u32,
    /// Whether arm64 may be proposed (it needs an arm64 build).
    pub allow_arm64: bool,
    /// Largest provisioned concurrency per function.
    pub max_provisioned_concurrency: u32,
    /// Whether hour-of-day schedules may be proposed (else constant only).
    pub allow_schedules: bool,
    /// Memory may change by at most this factor per step (2.0: halve or double).
    pub max_memory_step_factor: Option<f64>,
    /// Provisioned concurrency may rise by at most this share of the current value per
    /// step (0.5 = +50 %), or by `max_provisioned_step_absolute`, whichever is larger.
    pub max_provisioned_step_relative: Option<f64>,
    /// See `max_provisioned_step_relative`.
    pub max_provisioned_step_absolute: Option<u32>,
    /// Smallest reserved concurrency adaptd may set (a cap below it would throttle
    /// what the org wants served). With `reserved_concurrency_max` equal, fixes it.
    #[serde(default)]
    pub reserved_concurrency_min: Option<u32>,
    /// Largest reserved concurrency adaptd may set; when set, every Lambda option is
    /// capped (a function must not take more than this from the account's pool).
    #[serde(default)]
    pub reserved_concurrency_max: Option<u32>,
    /// A change is proposed only when it moves the bill by at least this much, and by
    /// at least `min_change_saving_share` of the deployed cost, while the deployed
    /// configuration holds the SLO: churn has a cost the model does not see.
    pub min_change_saving_usd_per_month: f64,
    /// See `min_change_saving_usd_per_month` (0.02 = 2 %).
    pub min_change_saving_share: f64,
    /// Names of the rules these came from, for explanations.
    pub sources: Vec<String>,
}

/// Default of [`Guardrails::min_change_saving_usd_per_month`].
pub const DEFAULT_MIN_CHANGE_SAVING_USD_PER_MONTH: f64 = 1.0;
/// Default of [`Guardrails::min_change_saving_share`].
pub const DEFAULT_MIN_CHANGE_SAVING_SHARE: f64 = 0.02;

impl Default for Guardrails {
    fn default() -> Self {
        Self {
            allowed_platforms: BTreeSet::new(),
            memory_mb_min: 128,
            memory_mb_max: 10_240,
            allow_arm64: false,
            max_provisioned_concurrency: 1_000,
            allow_schedules: true,
            max_memory_step_factor: None,
            max_provisioned_step_relative: None,
            max_provisioned_step_absolute: None,
            reserved_concurrency_min: None,
            reserved_concurrency_max: None,
            min_change_saving_usd_per_month: DEFAULT_MIN_CHANGE_SAVING_USD_PER_MONTH,
            min_change_saving_share: DEFAULT_MIN_CHANGE_SAVING_SHARE,
            sources: Vec::new(),
        }
    }
}

impl Guardrails {
    /// Whether `platform` is allowed.
    pub fn allows_platform(&self, platform: PlatformKind) -> bool {
        self.allowed_platforms.is_empty() || self.allowed_platforms.contains(&platform)
    }

    /// The largest provisioned concurrency allowed in one step from `current`.
    pub fn provisioned_step_limit(&self, current: u32) -> u32 {
        let rel = self
            .max_provisioned_step_relative
            .map(|r| current + (f64::from(current) * r).floor() as u32);
        let abs = self.max_provisioned_step_absolute.map(|a| current + a);
        let step = match (rel, abs) {
            (None, None) => u32::MAX,
            (Some(r), None) => r,
            (None, Some(a)) => a,
            (Some(r), Some(a)) => r.max(a),
        };
        step.min(self.max_provisioned_concurrency)
    }
}
