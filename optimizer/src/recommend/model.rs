//! The recommendation document: what `adaptd recommend --output json` prints, what the
//! service stores and serves, and what reports, apply and IaC read.
//!
//! It is versioned by [`SCHEMA_VERSION`]; `docs/recommendations.md` describes every
//! field. Adding an optional field keeps the version; renaming or removing one, or
//! changing a meaning, bumps it.

use adaptd_engine::options::{CostBreakdown, Evaluation, HourPrediction, Outline};
use adaptd_engine::spec::{Deployment, Slo};
use adaptd_engine::zone::Zone;
use serde::{Deserialize, Serialize};

/// Version of the JSON document.
pub const SCHEMA_VERSION: u32 = 1;

/// Recommendations for a set of components, solved jointly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecommendationSet {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Totals.
    pub summary: Summary,
    /// One per component, sorted by name.
    pub components: Vec<Recommendation>,
    /// Companions proposed (RDS Proxies).
    pub companions: Vec<Companion>,
    /// Shared limits and how close the recommendation comes to them.
    pub shared_limits: Vec<SharedLimit>,
    /// How the optimiser did.
    pub solver: SolverReport,
    /// Problems that affect all components (budget, price tiers).
    pub warnings: Vec<String>,
}

/// Totals over all components and companions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Components considered.
    pub components: usize,
    /// Components whose recommendation differs from what is deployed.
    pub changes: usize,
    /// Monthly cost of what is deployed (components with data).
    pub current_usd_per_month: f64,
    /// Monthly cost recommended, companions included.
    pub recommended_usd_per_month: f64,
    /// `current − recommended`; negative when meeting the SLOs costs more.
    pub saving_usd_per_month: f64,
    /// Sum of the positive per-component savings: what is available to take.
    pub available_savings_usd_per_month: f64,
    /// Components that break their SLO as deployed (predicted).
    pub slo_breaches_current: usize,
    /// Components whose SLO cannot be met within the guardrails.
    pub slo_infeasible: usize,
    /// Components without usable data.
    pub no_data: usize,
}

/// Latency and reliability predicted for one deployment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Predicted {
    /// The deployment.
    pub deployment: Deployment,
    /// One-line description.
    pub description: String,
    /// Monthly cost (730 h).
    pub usd_per_month: f64,
    /// Its parts.
    pub cost: CostParts,
    /// Latency over the month (ms).
    pub p50_ms: f64,
    /// See `p50_ms`.
    pub p95_ms: f64,
    /// See `p50_ms`.
    pub p99_ms: f64,
    /// The worst hour's p99 (ms), what a p99 SLO is checked against.
    pub worst_hour_p99_ms: f64,
    /// Cold starts per invocation.
    pub cold_start_rate: f64,
    /// Throttles per invocation.
    pub throttle_rate: f64,
    /// Invocations per month.
    pub invocations_per_month: f64,
    /// Whether the component's SLO is met.
    pub meets_slo: bool,
}

/// Cost parts (USD per month).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostParts {
    /// Lambda requests.
    pub requests_usd_per_month: f64,
    /// Lambda duration.
    pub duration_usd_per_month: f64,
    /// Lambda init of on-demand environments.
    pub init_usd_per_month: f64,
    /// Lambda provisioned concurrency.
    pub provisioned_usd_per_month: f64,
    /// Fargate tasks.
    pub tasks_usd_per_month: f64,
    /// Load balancer.
    pub load_balancer_usd_per_month: f64,
}

impl From<&CostBreakdown> for CostParts {
    fn from(c: &CostBreakdown) -> Self {
        Self {
            requests_usd_per_month: c.requests_usd_per_month,
            duration_usd_per_month: c.duration_usd_per_month,
            init_usd_per_month: c.init_usd_per_month,
            provisioned_usd_per_month: c.provisioned_usd_per_month,
            tasks_usd_per_month: c.tasks_usd_per_month,
            load_balancer_usd_per_month: c.load_balancer_usd_per_month,
        }
    }
}

impl Predicted {
    /// From an evaluation, checked against `slo`.
    pub fn from_evaluation(e: &Evaluation, slo: &Slo) -> Self {
        Self {
            deployment: e.deployment.clone(),
            description: e.deployment.describe(),
            usd_per_month: e.usd_per_month,
            cost: CostParts::from(&e.cost),
            p50_ms: e.p50_ms,
            p95_ms: e.p95_ms,
            p99_ms: e.p99_ms,
            worst_hour_p99_ms: e.worst_hour_p99_ms,
            cold_start_rate: e.cold_start_rate,
            throttle_rate: e.throttle_rate,
            invocations_per_month: e.invocations_per_month,
            meets_slo: meets(e, slo),
        }
    }
}

/// Relative slack when checking an SLO against a prediction, so that a recommendation
/// sitting exactly on its target counts as meeting it.
pub const SLO_TOLERANCE: f64 = 1e-6;

/// Whether `e` meets `slo`.
pub fn meets(e: &Evaluation, slo: &Slo) -> bool {
    meets_with(e.worst_hour_p99_ms, e.cold_start_rate, &e.hours, slo)
}

/// Whether outline `o` meets `slo`, as [`meets`] judges an evaluation.
pub fn outline_meets(o: &Outline, slo: &Slo) -> bool {
    meets_with(o.worst_hour_p99_ms, o.cold_start_rate, &o.hours, slo)
}

fn meets_with(
    worst_hour_p99_ms: f64,
    cold_start_rate: f64,
    hours: &[HourPrediction],
    slo: &Slo,
) -> bool {
    let p99_ok = slo
        .p99_ms
        .is_none_or(|t| worst_hour_p99_ms <= t * (1.0 + SLO_TOLERANCE));
    let cold_ok = slo
        .max_cold_start_rate
        .is_none_or(|r| cold_start_rate <= r * (1.0 + SLO_TOLERANCE) + 1e-12);
    let thr_ok = slo.max_throttle_rate.is_none_or(|r| {
        hours.iter().all(|h| {
            h.invocations_per_month <= 0.0
                || h.throttles_per_month / h.invocations_per_month <= r + THROTTLE_TOLERANCE
        })
    });
    p99_ok && cold_ok && thr_ok
}

/// Throttle shares below this are noise of the Poisson tail, not throttling.
pub const THROTTLE_TOLERANCE: f64 = 1e-6;

/// What adaptd says about one component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Component name.
    pub component: String,
    /// The verdict.
    pub status: Status,
    /// The SLO it was held to.
    pub slo: Slo,
    /// What is deployed, predicted by the same model (absent without data).
    pub current: Option<Predicted>,
    /// What adaptd recommends (equal to `current` when nothing should change).
    pub recommended: Option<Predicted>,
    /// `current − recommended` (USD per month); negative means meeting the SLO costs more.
    pub saving_usd_per_month: f64,
    /// The changes, field by field.
    pub changes: Vec<Change>,
    /// How much to trust it.
    pub confidence: Confidence,
    /// Why.
    pub explanation: Explanation,
    /// Per hour of day, for charts.
    pub hours: Vec<HourRow>,
    /// The zone whose local hours `hours` and hourly schedules are (IANA name; `UTC`
    /// unless the component has a `timezone`).
    #[serde(default)]
    pub timezone: Zone,
}

/// The verdict on a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A different configuration is cheaper or needed for the SLO.
    Change,
    /// What is deployed is already the best choice.
    Keep,
    /// The SLO cannot be met within the guardrails; the recommendation is the closest.
    SloInfeasible,
    /// Not enough telemetry to say anything.
    NoData,
}

/// One changed setting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `platform`, `memory_mb`, `architecture`, `provisioned_concurrency`,
    /// `reserved_concurrency`, `fargate_size`, `tasks`.
    pub field: String,
    /// Old value, as text.
    pub from: String,
    /// New value, as text.
    pub to: String,
    /// `api` when adaptd may apply it through the AWS API, `iac` when it needs a code
    /// change (architecture, platform).
    pub applies_via: String,
}

/// How much data stands behind a recommendation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Confidence {
    /// `high`, `medium` or `low`.
    pub level: String,
    /// Days of per-minute data.
    pub days_of_data: f64,
    /// Invocations observed.
    pub invocations_seen: f64,
    /// What lowers it.
    pub reasons: Vec<String>,
}

/// The reasons behind a recommendation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// One sentence.
    pub summary: String,
    /// Constraints that decided the choice (SLO, guardrails, shared limits, memory floor).
    pub binding: Vec<String>,
    /// The best other options, cheapest first.
    pub alternatives: Vec<Alternative>,
    /// What the predictions assume.
    pub assumptions: Vec<String>,
    /// Data-quality findings.
    pub warnings: Vec<String>,
    /// The best option on the other platform (Fargate for a Lambda function, Lambda
    /// for an ECS service) beside the recommendation, and why it lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_platform: Option<PlatformComparison>,
}

/// The other platform's best option against the recommendation, figures side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlatformComparison {
    /// `lambda` or `fargate`.
    pub platform: String,
    /// Its best configuration.
    pub description: String,
    /// Its monthly cost.
    pub usd_per_month: f64,
    /// Its worst hour's p99 (ms).
    pub worst_hour_p99_ms: f64,
    /// Its cold starts per invocation (Fargate: requests that wait over a second for
    /// capacity).
    pub cold_start_rate: f64,
    /// Its throttles (Fargate: load-balancer timeouts) per invocation.
    pub throttle_rate: f64,
    /// Whether it meets the SLO.
    pub meets_slo: bool,
    /// The guardrail or platform limit that forbids it, if any.
    pub excluded_by: Option<String>,
    /// The recommendation's monthly cost, worst-hour p99 and cold-start share.
    pub recommended_usd_per_month: f64,
    /// See `recommended_usd_per_month`.
    pub recommended_worst_hour_p99_ms: f64,
    /// See `recommended_usd_per_month`.
    pub recommended_cold_start_rate: f64,
    /// Why it lost, in one sentence.
    pub why: String,
}

/// Another option and why it was not chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    /// Which family ("fargate", "lambda on demand", ...).
    pub kind: String,
    /// The configuration.
    pub description: String,
    /// Monthly cost.
    pub usd_per_month: f64,
    /// Whether it meets the SLO.
    pub meets_slo: bool,
    /// Worst hour p99 (ms).
    pub worst_hour_p99_ms: f64,
    /// Cold starts per invocation.
    pub cold_start_rate: f64,
    /// The guardrail that forbids it, if any ("allowed_platforms (rule prod)").
    pub excluded_by: Option<String>,
}

/// One hour of the day, current vs recommended.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HourRow {
    /// Hour of day, local in the recommendation's `timezone`.
    pub hour: usize,
    /// Mean invocations per minute observed.
    pub invocations_per_minute: f64,
    /// 99th percentile of per-minute invocations.
    pub p99_invocations_per_minute: f64,
    /// Provisioned environments or tasks now.
    pub current_level: u32,
    /// Recommended.
    pub recommended_level: u32,
    /// Predicted p99 now (ms).
    pub current_p99_ms: f64,
    /// Predicted p99 recommended (ms).
    pub recommended_p99_ms: f64,
    /// Predicted cold-start share now.
    pub current_cold_start_rate: f64,
    /// Predicted cold-start share recommended.
    pub recommended_cold_start_rate: f64,
}

/// A companion resource adaptd proposes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Companion {
    /// `rds_proxy`.
    pub kind: String,
    /// The database it fronts.
    pub database: String,
    /// Monthly cost.
    pub usd_per_month: f64,
    /// Components it serves.
    pub components: Vec<String>,
    /// Why it is needed.
    pub reason: String,
}

/// A limit several components share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SharedLimit {
    /// `account_concurrency` or `database_connections`.
    pub kind: String,
    /// Account or database name.
    pub name: String,
    /// The limit.
    pub capacity: f64,
    /// The highest usage over the hours, as recommended.
    pub peak_usage: f64,
    /// Hours in which it binds (shadow price > 0).
    pub binding_hours: Vec<usize>,
    /// Marginal monthly cost of one more unit, where it binds (USD).
    pub shadow_price_usd: f64,
    /// Present when the limit could not hold every component's SLO: the quota request
    /// that would, and what it would buy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<Shortfall>,
    /// Present when the limit binds: the quota at which it would not, and what the plan
    /// would cost there. A limit that binds makes the plan dearer as well as giving
    /// SLOs way, so this quota can restore every SLO *and* save money, which the least
    /// quota of `shortfall` (forcing each component to its least usage) does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unbound: Option<Unbound>,
}

/// The plan without a limit in the way, every SLO held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unbound {
    /// How much the limit must rise for it to bind in no hour.
    pub raise_by: f64,
    /// The limit to request: for an account, its concurrency quota.
    pub request_limit: f64,
    /// What the plan at that limit would change in the monthly bill (USD; negative: it
    /// saves).
    pub change_usd_per_month: f64,
}

impl Unbound {
    /// "cost 12.34 USD/month less" or "… more", for warnings and tables.
    pub fn change_in_words(&self) -> String {
        let c = self.change_usd_per_month;
        let more_or_less = if c < 0.0 { "less" } else { "more" };
        format!("cost {:.2} USD/month {more_or_less}", c.abs())
    }
}

/// How far a shared limit falls short of every component's SLO. The plan stays within
/// the limit; these components' SLOs gave way to it (`status = slo_infeasible`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shortfall {
    /// How much the limit must rise (concurrent executions or connections): the least
    /// usage with which every SLO holds, minus the limit, in the worst hour.
    pub raise_by: f64,
    /// The limit to request: for an account, its concurrency quota; for a database,
    /// its usable connections.
    pub request_limit: f64,
    /// Hours of the day (UTC) in which the least SLO-meeting usage exceeds the limit.
    pub hours: Vec<usize>,
    /// Components whose SLO gave way to the limit, and which the raise restores.
    pub components: Vec<String>,
    /// What holding every SLO with the raised limit would change in the monthly bill
    /// (USD; absent when that plan could not be solved; an upper bound when an
    /// account's limit was shared out among groups of a large fleet).
    pub restore_usd_per_month: Option<f64>,
}

/// How the optimiser did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SolverReport {
    /// `decomposed` or `monolithic`.
    pub method: String,
    /// Relative gap between the solution and the proven lower bound.
    pub gap: f64,
    /// Whether the solver ran into `[optimizer] time_limit_seconds` (the plan is the
    /// best it had found by then). When it did not, a `gap` above `mip_gap` means the
    /// search ended short of the target on its own.
    #[serde(default)]
    pub time_limit_reached: bool,
    /// Objective (USD per month) and its lower bound.
    pub objective_usd_per_month: f64,
    /// See `objective_usd_per_month`.
    pub lower_bound_usd_per_month: f64,
    /// Wall time of building the candidates with the engine's models (ms).
    #[serde(default)]
    pub models_ms: f64,
    /// Wall time of the solve (ms).
    pub solve_ms: f64,
    /// Wall time of evaluating and explaining the choices (ms).
    #[serde(default)]
    pub explain_ms: f64,
    /// Wall time of the whole recommendation, models included (ms).
    pub total_ms: f64,
    /// Components, bases and alternatives in the problem.
    pub items: usize,
    /// See `items`.
    pub bases: usize,
    /// See `items`.
    pub alternatives: usize,
}
