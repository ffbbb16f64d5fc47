//! What a replay reports, per UTC hour and over the window.
//!
//! The simulators fill one `HourAcc` per UTC hour the window touches with raw
//! quantities (billed milliseconds, environment-seconds, counts); prices are applied
//! only when the result is assembled (`billing.rs`), so the oracle can splice
//! hours from different runs and cost them once.

use adaptd_engine::telemetry::Minute;
use serde::Serialize;

use crate::sketch::Sketch;

/// Money spent, by item (USD).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cost {
    /// Lambda requests (served invocations).
    pub requests_usd: f64,
    /// Lambda duration on on-demand environments.
    pub on_demand_duration_usd: f64,
    /// Lambda duration on provisioned environments.
    pub provisioned_duration_usd: f64,
    /// Lambda init of on-demand cold starts.
    pub init_usd: f64,
    /// Lambda provisioned concurrency (allocated environments).
    pub provisioned_concurrency_usd: f64,
    /// Fargate tasks.
    pub tasks_usd: f64,
}

impl Cost {
    /// The total.
    pub fn total(&self) -> f64 {
        self.requests_usd
            + self.on_demand_duration_usd
            + self.provisioned_duration_usd
            + self.init_usd
            + self.provisioned_concurrency_usd
            + self.tasks_usd
    }

    /// Every item multiplied by `k`.
    pub fn scaled(&self, k: f64) -> Cost {
        Cost {
            requests_usd: self.requests_usd * k,
            on_demand_duration_usd: self.on_demand_duration_usd * k,
            provisioned_duration_usd: self.provisioned_duration_usd * k,
            init_usd: self.init_usd * k,
            provisioned_concurrency_usd: self.provisioned_concurrency_usd * k,
            tasks_usd: self.tasks_usd * k,
        }
    }

    pub(crate) fn add(&mut self, o: &Cost) {
        self.requests_usd += o.requests_usd;
        self.on_demand_duration_usd += o.on_demand_duration_usd;
        self.provisioned_duration_usd += o.provisioned_duration_usd;
        self.init_usd += o.init_usd;
        self.provisioned_concurrency_usd += o.provisioned_concurrency_usd;
        self.tasks_usd += o.tasks_usd;
    }
}

/// Latency of served invocations (ms), cold starts and queueing included; quantiles
/// from the sketch (within 0.79 % of the nearest-rank sample), maximum exact.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

/// One UTC hour of the window, or the whole window.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// First minute covered.
    pub start: Minute,
    /// Minutes covered.
    pub minutes: u32,
    /// Cost over those minutes.
    pub cost: Cost,
    /// Invocations that arrived.
    pub invocations: u64,
    /// Invocations served (not throttled).
    pub served: u64,
    /// Invocations that created an environment and waited for its init.
    pub cold_starts: u64,
    /// Invocations refused (reserved concurrency exhausted) or, on Fargate, never
    /// served because the service had no task left.
    pub throttles: u64,
    /// Invocations served by provisioned environments.
    pub provisioned_invocations: u64,
    /// Invocations served on demand while provisioned capacity was ready but all busy.
    pub spillover: u64,
    /// Latency; `None` when nothing was served (or latency was not recorded).
    pub latency: Option<Latency>,
    /// Most executions in flight at once (after each arrival).
    pub peak_concurrency: u32,
    /// Billed environment-seconds of provisioned concurrency, or task-seconds.
    pub capacity_seconds: f64,
    /// On-demand GB-seconds (duration and init), for the account's duration tier.
    pub on_demand_gb_seconds: f64,
}

impl Summary {
    /// Cold starts per invocation (the oracle's SLO measure, and the engine's).
    pub fn cold_start_rate(&self) -> f64 {
        ratio(self.cold_starts, self.invocations)
    }

    /// Throttles per invocation.
    pub fn throttle_rate(&self) -> f64 {
        ratio(self.throttles, self.invocations)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The outcome of one replay.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReplayResult {
    /// Workload name.
    pub workload: String,
    /// Seed of the draws.
    pub seed: u64,
    /// Per UTC hour touched by the window, in order.
    pub hours: Vec<Summary>,
    /// The whole window.
    pub total: Summary,
    /// The total cost extrapolated to a billing month (price sheet hours, 730).
    pub cost_per_month: Cost,
    /// Ready provisioned environments (Lambda) or tasks (Fargate) in each minute.
    pub capacity: Vec<u32>,
    /// The per-minute datapoint target tracking reads: Lambda
    /// ProvisionedConcurrencyUtilization (time-averaged busy provisioned / ready,
    /// emitted only in minutes with invocations and ready capacity) or Fargate average
    /// CPU utilisation (emitted whenever tasks run).
    pub utilization: Vec<Option<f32>>,
    /// Minutes the source did not observe (replayed without traffic).
    pub missing_minutes: u32,
    /// Arrivals plus completions simulated.
    pub events: u64,
}

impl ReplayResult {
    /// Monthly cost (USD).
    pub fn usd_per_month(&self) -> f64 {
        self.cost_per_month.total()
    }
}

/// Raw quantities of one hour, before prices.
#[derive(Clone, Debug, Default)]
pub(crate) struct HourAcc {
    pub start: Minute,
    pub minutes: u32,
    pub invocations: u64,
    pub served: u64,
    pub cold: u64,
    pub throttles: u64,
    pub provisioned: u64,
    pub spillover: u64,
    /// Billed duration (ms) on demand and on provisioned environments.
    pub od_billed_ms: f64,
    pub pc_billed_ms: f64,
    /// Init billed (ms).
    pub init_ms: f64,
    /// Enabled capacity-seconds inside the hour plus rounding charged to it.
    pub capacity_seconds: f64,
    /// Task-seconds of it on Fargate Spot.
    pub spot_seconds: f64,
    pub peak: u32,
    pub latency: Sketch,
    pub capacity: Vec<u32>,
    pub utilization: Vec<Option<f32>>,
    pub events: u64,
}
