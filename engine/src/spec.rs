//! What the engine knows about a component besides its telemetry: how it is deployed
//! now, the SLO it must meet, the guardrails it must stay within and the model
//! parameters that apply to it. The config crate builds these; the engine never reads
//! files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// CPU architecture of a Lambda function or Fargate task.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Intel/AMD.
    #[default]
    X86_64,
    /// Graviton.
    Arm64,
}

impl Architecture {
    /// The name AWS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// The name ECS uses in a task definition's `runtimePlatform.cpuArchitecture`.
    pub fn ecs_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "X86_64",
            Architecture::Arm64 => "ARM64",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The compute platforms adaptd can move a component between.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    /// AWS Lambda.
    Lambda,
    /// An ECS service on Fargate.
    Fargate,
}

impl PlatformKind {
    /// The name used in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformKind::Lambda => "lambda",
            PlatformKind::Fargate => "fargate",
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use crate::schedule::{Hourly, describe_schedule};

/// Provisioned concurrency of a Lambda function.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Provisioned {
    /// No provisioned concurrency.
    #[default]
    None,
    /// The same number of environments all day.
    Constant(u32),
    /// A number per hour of day (applied by scheduled actions).
    Hourly(Hourly<u32>),
}

impl Provisioned {
    /// Environments provisioned during `hour`.
    pub fn at(&self, hour: usize) -> u32 {
        match self {
            Provisioned::None => 0,
            Provisioned::Constant(n) => *n,
            Provisioned::Hourly(h) => h[hour % 24],
        }
    }

    /// The schedule as 24 values.
    pub fn hourly(&self) -> Hourly<u32> {
        std::array::from_fn(|h| self.at(h))
    }

    /// The simplest representation of a 24-value schedule.
    pub fn from_hourly(h: Hourly<u32>) -> Self {
        if h.iter().all(|&v| v == 0) {
            Provisioned::None
        } else if h.iter().all(|&v| v == h[0]) {
            Provisioned::Constant(h[0])
        } else {
            Provisioned::Hourly(h)
        }
    }

    /// Largest number of environments at any hour.
    pub fn peak(&self) -> u32 {
        (0..24).map(|h| self.at(h)).max().unwrap_or(0)
    }
}

/// How a Lambda function is deployed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaConfig {
    /// Memory in MB (128–10,240).
    pub memory_mb: u32,
    /// CPU architecture.
    pub architecture: Architecture,
    /// Provisioned concurrency.
    #[serde(default)]
    pub provisioned: Provisioned,
    /// Reserved concurrency, if set: a cap and a reservation.
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
}

/// How an ECS service on Fargate is deployed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FargateConfig {
    /// vCPUs per task (0.25–16, in AWS's allowed steps).
    pub vcpu: f64,
    /// Memory per task in MB, valid for the vCPU size.
    pub memory_mb: u32,
    /// CPU architecture.
    pub architecture: Architecture,
    /// Tasks per hour of day (a constant schedule has 24 equal values).
    pub tasks: Hourly<u32>,
    /// Requests one task serves at once.
    pub per_task_concurrency: u32,
    /// Who sets the task count: `None` runs `tasks` as a schedule (scheduled scaling);
    /// with target tracking `tasks` is what the model expects tracking to run each hour
    /// (the cost it is priced at), bounded by the policy's min and max.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tracking: Option<FargateTracking>,
    /// Share of the tasks above one on-demand task run on `FARGATE_SPOT` (0–1): a
    /// capacity provider strategy of `FARGATE` base 1, then weights in this ratio.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub spot_share: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl Default for FargateConfig {
    /// The smallest task, two of them all day, one request at a time.
    fn default() -> Self {
        Self {
            vcpu: 0.25,
            memory_mb: 512,
            architecture: Architecture::X86_64,
            tasks: [2; 24],
            per_task_concurrency: 1,
            target_tracking: None,
            spot_share: 0.0,
        }
    }
}

impl FargateConfig {
    /// The task's CPU as ECS writes it: units of 1/1024 vCPU (`512` for 0.5 vCPU).
    pub fn cpu_units(&self) -> u32 {
        let units = (self.vcpu * 1024.0).round();
        if units.is_finite() && units > 0.0 {
            units.min(f64::from(u32::MAX)) as u32
        } else {
            0
        }
    }

    /// Tasks on Spot when `n` run: all above the one on-demand base, times the share.
    pub fn spot_tasks(&self, n: u32) -> f64 {
        f64::from(n.saturating_sub(1)) * self.spot_share.clamp(0.0, 1.0)
    }
}

/// The metric an ECS target-tracking policy follows (Application Auto Scaling's
/// predefined metric types for `ecs:service:DesiredCount`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingMetric {
    /// `ECSServiceAverageCPUUtilization`; the target is a percentage.
    Cpu,
    /// `ALBRequestCountPerTarget`; the target is requests per task per minute. Needs
    /// the service behind an Application Load Balancer.
    AlbRequestCountPerTarget,
}

impl TrackingMetric {
    /// The predefined metric type's name in the Application Auto Scaling API.
    pub fn aws_name(self) -> &'static str {
        match self {
            TrackingMetric::Cpu => "ECSServiceAverageCPUUtilization",
            TrackingMetric::AlbRequestCountPerTarget => "ALBRequestCountPerTarget",
        }
    }
}

/// An ECS service's target-tracking scaling policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FargateTracking {
    /// The metric followed.
    pub metric: TrackingMetric,
    /// The target value in the metric's unit, as the API takes it (`70` for 70 % CPU;
    /// `600` requests per task per minute).
    pub target_value: f64,
    /// Fewest tasks (the scalable target's minimum capacity).
    pub min_tasks: u32,
    /// Most tasks.
    pub max_tasks: u32,
}

/// The deployed (or proposed) configuration of a component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "platform")]
pub enum Deployment {
    /// On AWS Lambda.
    Lambda(LambdaConfig),
    /// On ECS Fargate.
    Fargate(FargateConfig),
}

impl Deployment {
    /// The platform.
    pub fn platform(&self) -> PlatformKind {
        match self {
            Deployment::Lambda(_) => PlatformKind::Lambda,
            Deployment::Fargate(_) => PlatformKind::Fargate,
        }
    }

    /// The architecture.
    pub fn architecture(&self) -> Architecture {
        match self {
            Deployment::Lambda(l) => l.architecture,
            Deployment::Fargate(f) => f.architecture,
        }
    }

    /// A short human description ("lambda 512 MB arm64, PC 4 (08–18 h)").
    pub fn describe(&self) -> String {
        match self {
            Deployment::Lambda(l) => {
                let mut s = format!("lambda {} MB {}", l.memory_mb, l.architecture);
                match &l.provisioned {
                    Provisioned::None => {}
                    Provisioned::Constant(n) => s.push_str(&format!(", provisioned {n}")),
                    Provisioned::Hourly(h) => {
                        s.push_str(&format!(", provisioned {}", describe_schedule(h)));
                    }
                }
                if let Some(r) = l.reserved_concurrency {
                    s.push_str(&format!(", reserved {r}"));
                }
                s
            }
            Deployment::Fargate(f) => {
                let mut s = format!(
                    "fargate {} vCPU {} MB {} × {} tasks, {} per task",
                    f.vcpu,
                    f.memory_mb,
                    f.architecture,
                    describe_schedule(&f.tasks),
                    f.per_task_concurrency
                );
                if let Some(t) = &f.target_tracking {
                    let target = match t.metric {
                        TrackingMetric::Cpu => format!("CPU {:.0} %", t.target_value),
                        TrackingMetric::AlbRequestCountPerTarget => {
                            format!("{:.0} requests per task-minute", t.target_value)
                        }
                    };
                    s = format!(
                        "fargate {} vCPU {} MB {}, {} per task, target tracking {target} ({}–{} tasks, ~{} expected)",
                        f.vcpu,
                        f.memory_mb,
                        f.architecture,
                        f.per_task_concurrency,
                        t.min_tasks,
                        t.max_tasks,
                        describe_schedule(&f.tasks)
                    );
                }
                if f.spot_share > 0.0 {
                    s.push_str(&format!(", {:.0} % Spot", 100.0 * f.spot_share));
                }
                s
            }
        }
    }
}

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

/// Model parameters; each has a documented default and may be set per component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelParams {
    /// How long Lambda keeps an idle on-demand environment warm (minutes). AWS does not
    /// publish it; 10 minutes is a common observation and the replay's default.
    pub keep_alive_minutes: u32,
    /// Initialisation time of a new environment when telemetry has none (ms).
    pub init_duration_ms: Option<f64>,
    /// Share of the duration that is CPU-bound and so shrinks with more vCPU (0–1).
    /// Estimated from history when memory changed; else this default.
    pub cpu_bound_fraction: Option<f64>,
    /// Threads the code can keep busy; caps the speed-up above 1,769 MB (1 vCPU).
    pub parallelism: f64,
    /// Duration on arm64 relative to x86_64 (1.0 = same speed).
    pub arm64_duration_factor: f64,
    /// Time between a provisioned-concurrency increase and its environments being ready
    /// (minutes); scheduled increases are issued this much ahead of the hour.
    pub provisioned_allocation_delay_minutes: u32,
    /// Memory headroom over the largest observed use (0.2 = +20 %).
    pub memory_headroom: f64,
    /// Minutes from a sustained rise in load until ECS target tracking asks for more
    /// tasks: the scale-out alarm's evaluation periods (3 one-minute datapoints above
    /// target, Application Auto Scaling's default) and the metric's publication. The
    /// task start time comes on top (`fargate_task_start_seconds`).
    pub fargate_scaling_lag_minutes: u32,
    /// Seconds from launching a Fargate task until it serves (image pull, ENI, start):
    /// Fargate's cold start. From telemetry (ECS task events) when visible, else this
    /// when set, else a default by `fargate_image_size_mb` (see
    /// [`default_task_start_seconds`]).
    #[serde(default)]
    pub fargate_task_start_seconds: Option<f64>,
    /// Compressed size of the service's container image (MB), which sets the default
    /// task start time: Fargate caches no image, every task pulls all of it.
    #[serde(default)]
    pub fargate_image_size_mb: Option<f64>,
    /// Expected Fargate Spot interruptions per Spot task-hour. AWS publishes none; the
    /// default (0.01) is an assumption to override from the service's own events.
    #[serde(default = "default_spot_interruptions")]
    pub fargate_spot_interruptions_per_task_hour: f64,
    /// Largest request or response body (KB), when known. A move to Lambda needs it
    /// within 6 MB (a function URL; 1 MB through an ALB's Lambda target).
    #[serde(default)]
    pub max_payload_kb: Option<f64>,
    /// Target CPU utilisation of a Fargate service.
    pub fargate_target_cpu_utilization: f64,
}

impl Default for ModelParams {
    fn default() -> Self {
        Self {
            keep_alive_minutes: 10,
            init_duration_ms: None,
            cpu_bound_fraction: None,
            parallelism: 1.0,
            arm64_duration_factor: 1.0,
            provisioned_allocation_delay_minutes: 2,
            memory_headroom: 0.2,
            fargate_scaling_lag_minutes: 3,
            fargate_target_cpu_utilization: 0.7,
            fargate_task_start_seconds: None,
            fargate_image_size_mb: None,
            fargate_spot_interruptions_per_task_hour: default_spot_interruptions(),
            max_payload_kb: None,
        }
    }
}

fn default_spot_interruptions() -> f64 {
    0.01
}

/// Image size assumed when neither telemetry nor config gives one (MB, compressed): a
/// slim runtime base image with an application on top.
pub const DEFAULT_IMAGE_SIZE_MB: f64 = 250.0;

/// Fargate task start time (s) when telemetry has none, from the image size.
///
/// Fargate runs every task on a fresh single-use instance and caches no image, so the
/// whole image is pulled and unpacked for every task, and the time to pull is "directly
/// correlated to the time taken to start a Fargate task" (AWS, *Linux containers on
/// Fargate container image pull behavior*); `awsvpc` adds "several seconds" for the
/// task's network interface (AWS, *Optimize Amazon ECS task launch time*). The default
/// is 20 s of provisioning, ENI and container start plus the image at 50 MB/s
/// (pull and gzip unpack): 25 s for a 250 MB image, 60 s for 2 GB. Measured starts in
/// telemetry always win.
pub fn default_task_start_seconds(image_size_mb: Option<f64>) -> f64 {
    20.0 + image_size_mb.unwrap_or(DEFAULT_IMAGE_SIZE_MB).max(0.0) / 50.0
}

/// The default CPU-bound share when history has no memory change to learn it from.
pub const DEFAULT_CPU_BOUND_FRACTION: f64 = 0.5;

/// Per-runtime initialisation defaults (ms), used when telemetry reports none. Typical
/// values of small functions without SnapStart; a runtime not listed gets 600 ms.
pub fn default_init_duration_ms(runtime: Option<&str>) -> f64 {
    let Some(r) = runtime else { return 600.0 };
    let r = r.to_ascii_lowercase();
    if r.starts_with("java") {
        1500.0
    } else if r.starts_with("dotnet") {
        800.0
    } else if r.starts_with("python") || r.starts_with("nodejs") {
        300.0
    } else if r.starts_with("ruby") {
        400.0
    } else if r.starts_with("provided") || r.starts_with("go") {
        100.0
    } else {
        600.0
    }
}

/// The trigger of a function (from config or the trace), used by SLO and guardrail rules.
pub type Trigger = String;

/// A component: one Lambda function or ECS service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentSpec {
    /// Unique name.
    pub name: String,
    /// Account key (from config) whose concurrency limit this component shares.
    pub account: String,
    /// Environment (prod, staging, ...), if known.
    pub environment: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Trigger (http, queue, timer, ...), if known.
    pub trigger: Option<Trigger>,
    /// Runtime (nodejs20.x, python3.12, ...), if known.
    pub runtime: Option<String>,
    /// What is deployed now.
    pub current: Deployment,
    /// Whether `current` was discovered/declared (true) or assumed from defaults.
    pub current_is_known: bool,
    /// The objective.
    pub slo: Slo,
    /// The limits.
    pub guardrails: Guardrails,
    /// Databases this component connects to (names of [`DatabaseSpec`]s).
    pub databases: Vec<String>,
    /// Model parameters.
    pub model: ModelParams,
    /// Whether an Application Load Balancer already routes to it (an ECS service in a
    /// target group, or a Lambda function as an ALB target): a move between platforms
    /// keeps it and pays for no new one.
    #[serde(default)]
    pub load_balancer: bool,
    /// The zone its hour-of-day schedules are in: profiles bucket traffic by this
    /// zone's local hour, so `Provisioned::Hourly` levels are local hours.
    #[serde(default)]
    pub timezone: crate::zone::Zone,
}

/// A relational database that components connect to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatabaseSpec {
    /// Name, referenced by components.
    pub name: String,
    /// Connections the database accepts.
    pub max_connections: u32,
    /// vCPUs of the instance (RDS Proxy is billed per vCPU of its target).
    pub vcpus: u32,
    /// Whether an RDS Proxy already fronts it.
    pub has_proxy: bool,
    /// Connections kept for other clients (admin, migrations, other services).
    pub reserved_connections: u32,
}

/// An AWS account's shared Lambda limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountSpec {
    /// Key referenced by components.
    pub name: String,
    /// The account's concurrent-executions quota (1,000 by default on AWS).
    pub concurrency_limit: u32,
}

impl AccountSpec {
    /// AWS keeps 100 executions unreserved; reserved plus provisioned may use the rest.
    pub const UNRESERVED_MINIMUM: u32 = 100;

    /// Concurrency that reserved and provisioned settings may take together.
    pub fn reservable(&self) -> u32 {
        self.concurrency_limit
            .saturating_sub(Self::UNRESERVED_MINIMUM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_describe_their_peaks() {
        let mut h = [2u32; 24];
        for v in &mut h[8..18] {
            *v = 12;
        }
        assert_eq!(describe_schedule(&h), "12 in 08–18 h; 2 otherwise");
        assert_eq!(describe_schedule(&[3; 24]), "3");
        let mut w = [0u32; 24];
        w[22] = 5;
        w[23] = 5;
        w[0] = 5;
        assert_eq!(describe_schedule(&w), "5 in 22–01 h; 0 otherwise");
        let mut g = [0u32; 24];
        for i in [7, 8, 9, 14, 15] {
            g[i] = 1;
        }
        assert_eq!(describe_schedule(&g), "1 in 07–10 h, 14–16 h; 0 otherwise");
        let busy: [u32; 24] = std::array::from_fn(|i| 8 + (i as u32 % 5));
        assert_eq!(
            describe_schedule(&busy),
            "8–12 by hour, peak 12 in 04–05 h, 09–10 h, 14–15 h, 19–20 h"
        );
    }

    #[test]
    fn cold_start_budgets_leave_room_for_chance() {
        let slo = Slo {
            max_cold_start_rate: Some(0.01),
            ..Slo::default()
        };
        // 100,000 invocations a month: 1,000 allowed, planned at about 1000 − 1.28·√1000.
        let b = slo.cold_start_budget_per_month(100_000.0).unwrap();
        assert!((b - (1000.0 - 1.2816 * 1000f64.sqrt())).abs() < 3.0, "{b}");
        // 50 invocations in an 8-hour period: none allowed, so P(N = 0) ≥ 0.9.
        let short = Slo {
            period_hours: Some(8.0),
            ..slo
        };
        let per_month = 50.0 * 730.0 / 8.0;
        let b = short.cold_start_budget_per_month(per_month).unwrap();
        assert!((b * 8.0 / 730.0 - (-(0.9f64).ln())).abs() < 1e-9, "{b}");
        assert_eq!(Slo::default().cold_start_budget_per_month(1e6), None);
    }

    #[test]
    fn the_period_defaults_to_the_history_within_a_day_and_a_month() {
        let slo = Slo {
            max_cold_start_rate: Some(0.01),
            ..Slo::default()
        };
        let period = |s: &Slo, h: f64| s.judged_over_history(h).period_hours;
        assert_eq!(period(&slo, 8.0), Some(MIN_HISTORY_PERIOD_HOURS));
        assert_eq!(period(&slo, 14.0 * 24.0), Some(336.0));
        assert_eq!(period(&slo, 90.0 * 24.0), Some(DEFAULT_SLO_PERIOD_HOURS));
        assert_eq!(
            period(&slo, 0.0),
            None,
            "no history: the month default applies"
        );
        let configured = Slo {
            period_hours: Some(730.0),
            ..slo
        };
        assert_eq!(
            period(&configured, 8.0),
            Some(730.0),
            "a configured period wins"
        );
        // A day judged alone leaves less room than the same traffic judged over a month.
        let per_month = 50.0 * 730.0 / 24.0;
        let day = slo.judged_over_history(8.0);
        assert!(
            day.cold_start_budget_per_month(per_month).unwrap()
                < slo.cold_start_budget_per_month(per_month).unwrap()
        );
    }

    #[test]
    fn quiet_hours_are_exempt_from_p99_up_to_half_a_percent_of_requests() {
        let mut inv = [1000.0; 24];
        inv[2] = 10.0; // 0.04 %
        inv[3] = 50.0; // 0.2 %
        inv[4] = 100.0; // 0.4 %: cumulative 0.64 % > 0.5 %, so checked
        let c = p99_checked_hours(&inv);
        assert!(!c[2] && !c[3] && c[4] && c[0]);
        assert!(p99_checked_hours(&[0.0; 24]).iter().all(|&b| b));
    }

    #[test]
    fn provisioned_step_takes_the_larger_allowance_and_the_cap() {
        let g = Guardrails {
            max_provisioned_step_relative: Some(0.5),
            max_provisioned_step_absolute: Some(5),
            max_provisioned_concurrency: 100,
            ..Guardrails::default()
        };
        assert_eq!(g.provisioned_step_limit(0), 5);
        assert_eq!(g.provisioned_step_limit(20), 30);
        assert_eq!(g.provisioned_step_limit(90), 100);
        assert_eq!(Guardrails::default().provisioned_step_limit(7), 1_000);
    }

    #[test]
    fn provisioned_normalises() {
        assert_eq!(Provisioned::from_hourly([0; 24]), Provisioned::None);
        assert_eq!(Provisioned::from_hourly([4; 24]), Provisioned::Constant(4));
        let mut h = [0; 24];
        h[3] = 1;
        assert_eq!(Provisioned::from_hourly(h).peak(), 1);
    }
}
