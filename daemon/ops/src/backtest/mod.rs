//! Backtests: replay the observed traffic against what each policy would have deployed.
//!
//! "Had you run this configuration last week, it would have cost $X and met the SLO on
//! Y % of requests." Five policies are compared, each replayed invocation by invocation
//! by `adaptd-replay` with the same seed, so they differ only in their decisions:
//!
//! 1. `current`: the configuration as collected or declared;
//! 2. `adaptd`: the optimiser's recommendation;
//! 3. `target-tracking`: AWS Application Auto Scaling on ProvisionedConcurrencyUtilization
//!    (target 0.7) at the memory of policy 4, for components with an SLO;
//! 4. `memory-only`: rightsizing in the style of AWS Compute Optimizer (the cheapest
//!    memory that meets the p99 objective, provisioned concurrency unchanged);
//! 5. `oracle`: the cheapest hourly schedule that meets the SLO on the replayed trace
//!    itself, at the memory of policy 4 (the limit no online policy can beat).
//!
//! Costs are over the replayed window and extrapolated to a 730-hour month by repeating
//! the window; the engine's predictions for the recommendation are compared with the
//! replay over the same window (the model's validation).

pub(crate) mod policies;
mod report;

use std::collections::BTreeMap;

use adaptd_config::Resolved;
use adaptd_engine::profile::Profile;
use adaptd_engine::spec::PlatformKind;
use adaptd_engine::telemetry::TelemetrySet;
use adaptd_optimizer::recommend::RecommendationSet;
use adaptd_replay::Params;
use serde::Serialize;

pub use policies::PolicyKind;
pub use report::{render_json, render_table};

/// Backtest settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Policies to run, in output order.
    pub policies: Vec<PolicyKind>,
    /// Replay parameters (seed, keep-alive, allocation delay).
    pub params: Params,
    /// Minimum capacity of the target-tracking policy.
    pub target_tracking_min_capacity: u32,
    /// Components without an SLO stay on demand under every policy but `current`
    /// (the decision-quality benchmark's rule: only SLO components are decided).
    pub no_slo_on_demand: bool,
    /// Worker threads.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            policies: PolicyKind::ALL.to_vec(),
            // A backtest judges steady state: the window starts warm, as the engine's
            // model of a history's first activity assumes.
            params: Params {
                warm_start: true,
                ..Params::default()
            },
            target_tracking_min_capacity: 1,
            no_slo_on_demand: false,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// One component under one policy, as replayed.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Component.
    pub component: String,
    /// Policy.
    pub policy: PolicyKind,
    /// What the policy deployed.
    pub deployment: String,
    /// The platform it deployed on.
    pub platform: PlatformKind,
    /// Whether the component has an SLO.
    pub has_slo: bool,
    /// Invocations replayed.
    pub invocations: u64,
    /// Cold starts.
    pub cold_starts: u64,
    /// Throttles.
    pub throttles: u64,
    /// Cost over the window (USD).
    pub window_usd: f64,
    /// Cost extrapolated to a month (USD).
    pub usd_per_month: f64,
    /// Whether the replay met the SLO (cold starts and throttles; p99 is reported, not
    /// judged, since the benchmark SLO has none).
    pub meets_slo: bool,
    /// Replayed p99 latency (ms).
    pub p99_ms: Option<f64>,
    /// The engine's prediction of the window cost, for fixed deployments.
    pub predicted_window_usd: Option<f64>,
    /// The engine's prediction of the cold-start rate, for fixed deployments.
    pub predicted_cold_start_rate: Option<f64>,
}

/// Totals of one policy.
#[derive(Debug, Clone, Serialize)]
pub struct PolicySummary {
    /// Policy.
    pub policy: PolicyKind,
    /// Cost over the window, all components (USD).
    pub window_usd: f64,
    /// Extrapolated to a month.
    pub usd_per_month: f64,
    /// Cost of the components with an SLO, per month.
    pub slo_components_usd_per_month: f64,
    /// Components with an SLO.
    pub slo_components: usize,
    /// Of those, how many met it on the replay.
    pub slo_met: usize,
    /// Share of the SLO components' invocations that were cold or throttled.
    pub cold_or_throttled_share: f64,
    /// Cost relative to the oracle's (when the oracle ran).
    pub cost_vs_oracle: Option<f64>,
}

/// How well the engine's predictions match the replay (for the recommendation).
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    /// Components compared (with traffic).
    pub components: usize,
    /// Median and p90 of |predicted − replayed| monthly cost (USD).
    pub cost_abs_error_usd_per_month_median: f64,
    /// See `cost_abs_error_usd_per_month_median`.
    pub cost_abs_error_usd_per_month_p90: f64,
    /// Median and p90 of |predicted − replayed| / replayed cost.
    pub cost_relative_error_median: f64,
    /// See `cost_relative_error_median`.
    pub cost_relative_error_p90: f64,
    /// Median and p90 of |predicted − replayed| cold-start rate (absolute).
    pub cold_start_rate_abs_error_median: f64,
    /// See `cold_start_rate_abs_error_median`.
    pub cold_start_rate_abs_error_p90: f64,
    /// Sum of predicted and replayed window costs.
    pub predicted_window_usd: f64,
    /// See `predicted_window_usd`.
    pub replayed_window_usd: f64,
}

/// A backtest's results.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Minutes replayed (the longest component window).
    pub window_minutes: u64,
    /// Seed of the draws.
    pub seed: u64,
    /// Per policy.
    pub policies: Vec<PolicySummary>,
    /// Per component and policy.
    pub outcomes: Vec<Outcome>,
    /// The engine against the replay, when `adaptd` ran.
    pub validation: Option<Validation>,
    /// The same for the components adaptd put on Fargate, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_fargate: Option<Validation>,
    /// Components that could not be replayed, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Wall time (s).
    pub seconds: f64,
}

/// Why a backtest failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// No component could be replayed.
    #[error("nothing to replay: {0}")]
    Empty(String),
}

/// Replays every component under every policy.
pub fn backtest(
    resolved: &Resolved,
    telemetry: &TelemetrySet,
    profiles: &BTreeMap<String, Profile>,
    recommendations: &RecommendationSet,
    options: &Options,
) -> Result<Report, BacktestError> {
    let started = std::time::Instant::now();
    let recommended: BTreeMap<&str, &adaptd_optimizer::recommend::Recommendation> = recommendations
        .components
        .iter()
        .map(|r| (r.component.as_str(), r))
        .collect();
    let jobs: Vec<policies::Job<'_>> = resolved
        .components
        .iter()
        .filter_map(|spec| {
            Some(policies::Job {
                spec,
                telemetry: telemetry.components.get(&spec.name)?,
                profile: profiles.get(&spec.name)?,
                recommendation: recommended.get(spec.name.as_str()).copied(),
            })
        })
        .collect();
    if jobs.is_empty() {
        return Err(BacktestError::Empty(
            "no configured component has telemetry".into(),
        ));
    }
    let threads = options.threads.clamp(1, jobs.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, Result<Vec<Outcome>, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        out.push((i, policies::run(job, &resolved.prices, options)));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("backtest worker panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);

    let mut outcomes = Vec::new();
    let mut skipped = Vec::new();
    let mut window_minutes = 0;
    for (i, r) in results {
        match r {
            Ok(o) => outcomes.extend(o),
            Err(e) => skipped.push((jobs[i].spec.name.clone(), e)),
        }
        window_minutes = window_minutes.max(
            jobs[i]
                .telemetry
                .covered()
                .map_or(0, |(a, b)| (b - a) as u64),
        );
    }
    if outcomes.is_empty() {
        return Err(BacktestError::Empty(format!(
            "every component failed to replay; first: {:?}",
            skipped.first()
        )));
    }
    let policies = report::summarise(&options.policies, &outcomes);
    let validation = report::validate(&outcomes, None);
    let validation_fargate = report::validate(&outcomes, Some(PlatformKind::Fargate));
    Ok(Report {
        window_minutes,
        seed: options.params.seed,
        policies,
        outcomes,
        validation,
        validation_fargate,
        skipped,
        seconds: started.elapsed().as_secs_f64(),
    })
}
