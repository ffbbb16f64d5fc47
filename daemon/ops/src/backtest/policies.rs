//! What each policy deploys for one component, and its replay.

use adaptd_engine::options::fargate::service::ALB_TIMEOUT_MS;
use adaptd_engine::options::fargate::{TaskStart, is_http};
use adaptd_engine::options::lambda::memory::{DurationLaw, init_duration};
use adaptd_engine::options::{Context, platform, platforms};
use adaptd_engine::prices::PriceSheet;
use adaptd_engine::profile::Profile;
use adaptd_engine::spec::{ComponentSpec, Deployment, PlatformKind, Provisioned};
use adaptd_engine::telemetry::ComponentTelemetry;
use adaptd_optimizer::recommend::Recommendation;
use adaptd_replay::{
    OracleSpace, Policy, ReplayResult, ReplaySlo, TargetTracking, Workload, WorkloadOptions,
    oracle, replay,
};
use serde::Serialize;

use super::{Options, Outcome};

/// The policies a backtest compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// The configuration as collected or declared.
    Current,
    /// adaptd's recommendation.
    Adaptd,
    /// AWS target tracking of provisioned concurrency (target 0.7).
    TargetTracking,
    /// Memory rightsizing only, in the style of AWS Compute Optimizer.
    MemoryOnly,
    /// The hindsight oracle: the cheapest schedule that meets the SLO on this trace.
    Oracle,
}

impl PolicyKind {
    /// All, in report order.
    pub const ALL: [PolicyKind; 5] = [
        PolicyKind::Current,
        PolicyKind::Adaptd,
        PolicyKind::TargetTracking,
        PolicyKind::MemoryOnly,
        PolicyKind::Oracle,
    ];

    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Current => "current",
            PolicyKind::Adaptd => "adaptd",
            PolicyKind::TargetTracking => "target-tracking",
            PolicyKind::MemoryOnly => "memory-only",
            PolicyKind::Oracle => "oracle",
        }
    }
}

/// One component to replay.
#[derive(Debug)]
pub struct Job<'a> {
    /// Its spec.
    pub spec: &'a ComponentSpec,
    /// Its telemetry.
    pub telemetry: &'a ComponentTelemetry,
    /// Its summary.
    pub profile: &'a Profile,
    /// What adaptd recommended.
    pub recommendation: Option<&'a Recommendation>,
}

/// Replays `job` under every policy in `options`.
pub fn run(job: &Job<'_>, prices: &PriceSheet, options: &Options) -> Result<Vec<Outcome>, String> {
    let spec = job.spec;
    let ctx = Context::new(spec, job.profile, prices);
    let workload = workload(job, &ctx)?;
    // The component's own Fargate facts: its task start (the engine's, from telemetry,
    // config or image size) and, behind a load balancer, its timeout.
    let mut options = options.clone();
    let start_minutes = (TaskStart::of(&ctx).seconds / 60.0).ceil().clamp(0.0, 59.0);
    options.params.task_start_minutes = start_minutes as u32;
    if is_http(&ctx) {
        options.params.http_timeout_ms = Some(ALB_TIMEOUT_MS);
    }
    let options = &options;
    let has_slo = spec.slo.max_cold_start_rate.is_some() || spec.slo.max_throttle_rate.is_some();
    let slo = ReplaySlo::from_slo(&spec.slo);
    let rightsized = memory_only(&ctx);
    let lambda_rightsized = match &rightsized {
        Deployment::Lambda(l) => Some(l),
        Deployment::Fargate(_) => None,
    };
    let on_demand = |d: &Deployment| -> Deployment {
        let mut d = d.clone();
        if let Deployment::Lambda(l) = &mut d {
            l.provisioned = Provisioned::None;
        }
        d
    };
    let mut out = Vec::new();
    for &policy in &options.policies {
        let decided = options.no_slo_on_demand && !has_slo && policy != PolicyKind::Current;
        let (label, result, static_deployment) = match policy {
            PolicyKind::Current => {
                let d = spec.current.clone();
                (
                    d.describe(),
                    replay_static(&workload, &d, options, prices)?,
                    Some(d),
                )
            }
            PolicyKind::Adaptd => {
                let d = job
                    .recommendation
                    .and_then(|r| r.recommended.as_ref())
                    .map_or_else(|| spec.current.clone(), |p| p.deployment.clone());
                let d = if decided { on_demand(&d) } else { d };
                (
                    d.describe(),
                    replay_static(&workload, &d, options, prices)?,
                    Some(d),
                )
            }
            PolicyKind::MemoryOnly => {
                let d = rightsized.clone();
                (
                    d.describe(),
                    replay_static(&workload, &d, options, prices)?,
                    Some(d),
                )
            }
            PolicyKind::TargetTracking | PolicyKind::Oracle
                if !has_slo || lambda_rightsized.is_none() =>
            {
                let d = on_demand(&rightsized);
                (
                    d.describe(),
                    replay_static(&workload, &d, options, prices)?,
                    Some(d),
                )
            }
            PolicyKind::TargetTracking => {
                let l = lambda_rightsized.expect("guarded above");
                let mut tt = TargetTracking::new(
                    l.memory_mb,
                    l.architecture,
                    options.target_tracking_min_capacity,
                    spec.guardrails.max_provisioned_concurrency,
                );
                tt.reserved_concurrency = l.reserved_concurrency;
                let label = format!(
                    "lambda {} MB {}, target tracking 0.7 (min {})",
                    l.memory_mb, l.architecture, options.target_tracking_min_capacity
                );
                let r = replay(
                    &workload,
                    &Policy::TargetTracking(tt),
                    &options.params,
                    prices,
                )
                .map_err(|e| e.to_string())?;
                (label, r, None)
            }
            PolicyKind::Oracle => {
                let l = lambda_rightsized.expect("guarded above");
                let space = OracleSpace {
                    memories: vec![l.memory_mb],
                    architecture: l.architecture,
                    reserved_concurrency: l.reserved_concurrency,
                    max_level: spec.guardrails.max_provisioned_concurrency,
                };
                let o = oracle(&workload, &slo, &space, &options.params, prices)
                    .map_err(|e| e.to_string())?;
                (o.deployment.describe(), o.result, Some(o.deployment))
            }
        };
        let t = &result.total;
        let meets = slo
            .max_cold_start_rate
            .is_none_or(|r| t.cold_starts as f64 <= r * t.invocations as f64 + 1e-9)
            && t.throttles as f64 <= slo.max_throttle_rate * t.invocations as f64 + 1e-9;
        let (predicted_window_usd, predicted_cold_start_rate) = match &static_deployment {
            Some(d) => predict_window(&ctx, d, job.profile).unzip(),
            None => (None, None),
        };
        out.push(Outcome {
            component: spec.name.clone(),
            policy,
            platform: static_deployment
                .as_ref()
                .map_or(PlatformKind::Lambda, Deployment::platform),
            deployment: label,
            has_slo,
            invocations: t.invocations,
            cold_starts: t.cold_starts,
            throttles: t.throttles,
            window_usd: t.cost.total(),
            usd_per_month: result.cost_per_month.total(),
            meets_slo: meets,
            p99_ms: t.latency.as_ref().map(|l| l.p99_ms),
            predicted_window_usd,
            predicted_cold_start_rate,
        });
    }
    Ok(out)
}

fn replay_static(
    w: &Workload,
    d: &Deployment,
    options: &Options,
    prices: &PriceSheet,
) -> Result<ReplayResult, String> {
    replay(w, &Policy::Static(d.clone()), &options.params, prices).map_err(|e| e.to_string())
}

/// The replay workload, with the same duration law and init time the engine assumed.
pub(crate) fn workload(job: &Job<'_>, ctx: &Context<'_>) -> Result<Workload, String> {
    let spec = job.spec;
    let mut opts = WorkloadOptions::from_model(&spec.model);
    // The engine's duration law, read once: the CPU-bound share (telemetry, config or
    // default), and what the observed durations ran at — for an ECS service, what
    // sharing its tasks' vCPUs left each request.
    let law = DurationLaw::of(ctx);
    opts.cpu_bound_fraction = law.cpu_bound_fraction.0;
    opts.observed_memory_mb = Some(law.observed_memory_mb);
    opts.observed_architecture = Some(law.observed_architecture);
    if let Deployment::Fargate(_) = &spec.current {
        opts.observed_vcpu = Some(law.observed_vcpu);
    }
    opts.init_duration_ms = Some(init_duration(ctx).0);
    let mut w = Workload::from_telemetry(job.telemetry, &opts).map_err(|e| e.to_string())?;
    w.timezone = spec.timezone;
    Ok(w)
}

/// Memory-only rightsizing: the cheapest memory of the current architecture (and the
/// current provisioned and reserved settings) that the engine predicts meets the p99
/// objective, as Compute Optimizer would recommend from duration and memory use.
fn memory_only(ctx: &Context<'_>) -> Deployment {
    let Deployment::Lambda(current) = &ctx.spec.current else {
        return ctx.spec.current.clone();
    };
    let lambda = platform(PlatformKind::Lambda);
    let mut best: Option<(f64, Deployment)> = None;
    for c in platforms()
        .iter()
        .filter(|p| p.kind() == PlatformKind::Lambda)
        .flat_map(|p| p.candidates(ctx))
    {
        let Deployment::Lambda(mut l) = c.template.clone() else {
            continue;
        };
        if l.architecture != current.architecture || c.excluded.is_some() {
            continue;
        }
        l.provisioned = current.provisioned.clone();
        l.reserved_concurrency = current.reserved_concurrency;
        let d = Deployment::Lambda(l);
        let Some(e) = lambda.evaluate(ctx, &d) else {
            continue;
        };
        if ctx.spec.slo.p99_ms.is_some_and(|t| e.worst_hour_p99_ms > t) {
            continue;
        }
        if best.as_ref().is_none_or(|b| e.usd_per_month < b.0) {
            best = Some((e.usd_per_month, d));
        }
    }
    best.map_or_else(|| ctx.spec.current.clone(), |b| b.1)
}

/// The engine's prediction over the observed window: each hour of the day's monthly
/// figure per occurrence, times the minutes of that hour observed.
fn predict_window(ctx: &Context<'_>, d: &Deployment, profile: &Profile) -> Option<(f64, f64)> {
    let e = platform(d.platform()).evaluate(ctx, d)?;
    let occ = ctx.prices.hour_buckets_per_month();
    let (mut usd, mut cold, mut inv) = (0.0, 0.0, 0.0);
    for (h, hp) in profile.hours.iter().enumerate() {
        let share = f64::from(hp.minutes_observed) / 60.0 / occ;
        usd += e.hours[h].usd_per_month * share;
        cold += e.hours[h].cold_starts_per_month * share;
        inv += e.hours[h].invocations_per_month * share;
    }
    Some((usd, if inv > 0.0 { cold / inv } else { 0.0 }))
}
