//! ECS on Fargate: task size (the valid vCPU/memory combinations, x86_64 or arm64),
//! requests per task, and who sets the task count — an hour-of-day schedule (scheduled
//! scaling) or target tracking on CPU or `ALBRequestCountPerTarget` with a min and max
//! — with a share of the tasks on Fargate Spot for queue and event consumers.
//!
//! Latency: an M/G/c queue with `c = tasks × per-task concurrency` slots (Erlang C
//! with the Allen–Cunneen variability factor, [`queueing`]). A
//! request's service time is its observed duration with the CPU-bound part rescaled by
//! the task's CPU sharing ([`crate::cpu_share`], the law the replay plays too): alone
//! it runs at `min(parallelism, vCPU)` vCPUs, under load it is stretched by processor
//! sharing among the requests in flight, up to what a task with every slot busy
//! completes. A schedule's tasks keep CPU under the target
//! utilisation and slots under 90 % busy in each hour's 99th-percentile minute; busier
//! minutes leave a backlog ([`tracking`]). Target tracking holds fewer tasks and
//! catches bursts only after its scale-out lag: the alarm's evaluation
//! (`fargate_scaling_lag_minutes`) plus the task start time ([`TaskStart`]: image
//! pull and start, Fargate's cold start). Requests that wait over a second for a slot,
//! in a burst's backlog or in the steady queue of a minute within capacity, are
//! Fargate's cold starts; HTTP requests that wait past the load balancer's
//! 60-second timeout are errors (throttles).
//!
//! Cost: on-demand tasks × (vCPU × vCPU-hour + GB × GB-hour); Spot tasks at the
//! sheet's Spot discount. An Application Load Balancer (hourly plus LCUs, clients
//! reusing a connection for 10 requests: 1 LCU per 250 req/s) only when an HTTP
//! function leaves Lambda without one. At least two tasks run, one per availability
//! zone.

mod candidates;
pub mod queueing;
pub mod service;
pub mod sizes;
mod tracking;

use crate::options::lambda::memory::DurationLaw;
use crate::options::{
    Assumption, Candidate, Context, CostBreakdown, Evaluation, Exclusion, HourPrediction,
    MixturePart, Platform, monthly_quantile, worst_checked_p99,
};
use crate::quantiles::QuantileSet;
use crate::spec::{Architecture, Deployment, FargateConfig, PlatformKind, TrackingMetric};

use candidates::{scheduled_candidate, tracking_candidate};
pub use service::{COLD_WAIT_MS, MIN_TASKS, TaskStart};
use service::{Sizing, SizingInputs};
use tracking::TrackedHour;

/// Requests per task considered.
const PER_TASK_CONCURRENCY: [u32; 7] = [1, 2, 4, 8, 16, 32, 64];
/// vCPU sizes considered.
const VCPUS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];
/// Requests per second per load-balancer capacity unit (see the module doc).
const REQUESTS_PER_LCU_SECOND: f64 = 250.0;
/// Share of the tasks above the on-demand base proposed on Spot for components that
/// tolerate interruption.
pub const SPOT_SHARE: f64 = 0.75;
/// Target slot utilisation of an `ALBRequestCountPerTarget` policy: the requests per
/// task-minute that keep a task's slots this busy on average.
const ALB_TARGET_SLOT_UTILIZATION: f64 = 0.7;

/// The Fargate platform.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fargate;

/// Whether requests arrive through a load balancer (HTTP): then waits past its timeout
/// are errors, and `ALBRequestCountPerTarget` can be tracked.
pub fn is_http(ctx: &Context<'_>) -> bool {
    ctx.spec.load_balancer || ctx.spec.trigger.as_deref() == Some("http")
}

/// Whether the component tolerates a task being stopped with two minutes' notice: queue
/// and event consumers, whose unfinished messages are delivered again.
pub(crate) fn tolerates_interruption(ctx: &Context<'_>) -> bool {
    matches!(ctx.spec.trigger.as_deref(), Some("queue" | "event")) && !ctx.spec.load_balancer
}

/// Minutes from a burst until target tracking's new tasks serve.
fn scale_out_lag_minutes(ctx: &Context<'_>) -> f64 {
    f64::from(ctx.spec.model.fargate_scaling_lag_minutes) + TaskStart::of(ctx).seconds / 60.0
}

/// A new load balancer, when an HTTP function leaves Lambda without one.
fn load_balancer_usd_per_month(ctx: &Context<'_>) -> f64 {
    let leaves_lambda = matches!(ctx.spec.current, Deployment::Lambda(_));
    let http = ctx.spec.trigger.as_deref() == Some("http");
    if !(leaves_lambda && http) || ctx.spec.load_balancer {
        return 0.0;
    }
    let alb = &ctx.prices.alb;
    let occ = ctx.prices.hour_buckets_per_month();
    let lcu_hours: f64 = ctx
        .profile
        .hours
        .iter()
        .map(|h| h.mean_per_minute() / 60.0 / REQUESTS_PER_LCU_SECOND * occ)
        .sum();
    alb.usd_per_hour * ctx.prices.hours_per_month + alb.usd_per_lcu_hour * lcu_hours
}

fn memory_need_mb(ctx: &Context<'_>, per_task: u32) -> f64 {
    // Assumption: a quarter of an invocation's memory is per-request state.
    let used = ctx.profile.max_memory_used_mb.unwrap_or(512.0);
    used * (1.0 + ctx.spec.model.memory_headroom) * (1.0 + f64::from(per_task - 1) / 4.0)
}

fn exclusion(ctx: &Context<'_>, arch: Architecture) -> Option<Exclusion> {
    let g = &ctx.spec.guardrails;
    let ex = |guardrail: &str, reason: &str| {
        Some(Exclusion {
            guardrail: guardrail.into(),
            rules: g.sources.clone(),
            reason: reason.into(),
        })
    };
    if !g.allows_platform(PlatformKind::Fargate) {
        return ex("allowed_platforms", "Fargate is not an allowed platform");
    }
    if arch == Architecture::Arm64
        && !g.allow_arm64
        && ctx.spec.current.architecture() != Architecture::Arm64
    {
        return ex(
            "allow_arm64",
            "arm64 needs an arm64 build and is not allowed",
        );
    }
    None
}

/// The cheapest size (vCPU, memory, requests per task) on `arch` whose schedule meets
/// the SLO's p99 in every hour, with that schedule (the first in size order on a tie).
///
/// Planning a size's hours is most of a Fargate model's cost (the cold-start and p99
/// searches run the M/G/c queue for every hour), and of the 35 sizes one wins. A
/// size's planned tasks never fall below its stable ones and cost rises with tasks,
/// so the stable schedule's cost bounds the size from below: sizes are planned
/// cheapest bound first, and a size is dropped as soon as its planned hours and the
/// bound of the rest cannot beat the best so far. The answer is the exhaustive
/// search's.
fn best_size<'a>(
    ctx: &'a Context<'a>,
    inputs: &SizingInputs<'a>,
    arch: Architecture,
) -> Option<(Sizing<'a>, Vec<u32>)> {
    let schedules = ctx.spec.guardrails.allow_schedules;
    let mut sizes: Vec<(f64, usize, Sizing<'_>, Vec<u32>)> = Vec::new();
    for vcpu in VCPUS {
        for per_task in PER_TASK_CONCURRENCY {
            let Some(mem) = sizes::smallest_memory(vcpu, memory_need_mb(ctx, per_task)) else {
                continue;
            };
            let sizing = Sizing::of(ctx, inputs, vcpu, mem, arch, per_task);
            let stable: Vec<u32> = (0..24).map(|h| sizing.stable_tasks(h)).collect();
            let bound = schedule_usd(&sizing, &stable, schedules);
            sizes.push((bound, sizes.len(), sizing, stable));
        }
    }
    sizes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    // (cost, size order) of the best so far: the exhaustive search keeps the first of
    // equals, so a later size must be strictly cheaper to replace it.
    let beats = |cost: f64, order: usize, best: &Option<(f64, usize, Sizing<'_>, Vec<u32>)>| {
        best.as_ref()
            .is_none_or(|b| cost < b.0 || (cost == b.0 && order < b.1))
    };
    let mut best: Option<(f64, usize, Sizing<'_>, Vec<u32>)> = None;
    for (bound, order, sizing, mut tasks) in sizes {
        if !beats(bound, order, &best) {
            break; // sorted: no later size can beat it either
        }
        let mut planned = true;
        for h in 0..24 {
            let Some(n) = sizing.planned_tasks(h) else {
                planned = false;
                break;
            };
            tasks[h] = n;
            if !beats(schedule_usd(&sizing, &tasks, schedules), order, &best) {
                planned = false;
                break;
            }
        }
        if !planned {
            continue;
        }
        if !schedules {
            tasks = vec![*tasks.iter().max().unwrap_or(&MIN_TASKS); 24];
        }
        let cost = schedule_usd(&sizing, &tasks, schedules);
        best = Some((cost, order, sizing, tasks));
    }
    best.map(|(_, _, s, t)| (s, t))
}

/// Monthly cost of a size with `tasks` in each hour: as given with schedules, else the
/// busiest hour's count all day. Never lower for more tasks in any hour.
fn schedule_usd(sizing: &Sizing<'_>, tasks: &[u32], schedules: bool) -> f64 {
    let most = *tasks.iter().max().unwrap_or(&MIN_TASKS);
    tasks
        .iter()
        .map(|&n| sizing.hour_usd(if schedules { n } else { most }))
        .sum()
}

impl Platform for Fargate {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Fargate
    }

    fn candidates(&self, ctx: &Context<'_>) -> Vec<Candidate> {
        if !ctx.profile.has_traffic_data() {
            return Vec::new();
        }
        let Some(inputs) = SizingInputs::of(ctx) else {
            return Vec::new(); // an hour with traffic but no durations
        };
        let mut out = Vec::new();
        for arch in [Architecture::X86_64, Architecture::Arm64] {
            // Pre-optimise the size: Fargate shares no limit with other components, so
            // the cheapest size that meets the SLO in every hour is the only one worth
            // handing to the optimiser.
            let excluded = exclusion(ctx, arch);
            if !ctx.builds(excluded.as_ref()) {
                continue;
            }
            let Some((sizing, tasks)) = best_size(ctx, &inputs, arch) else {
                continue;
            };
            out.push(scheduled_candidate(ctx, &sizing, &tasks, excluded.clone()));
            // What guardrails forbid is worth one representative, not every variant.
            if excluded.is_some() {
                continue;
            }
            let mut metrics = vec![TrackingMetric::Cpu];
            if is_http(ctx) {
                metrics.push(TrackingMetric::AlbRequestCountPerTarget);
            }
            for metric in metrics {
                out.extend(tracking_candidate(ctx, &sizing, &tasks, metric));
            }
            if tolerates_interruption(ctx) {
                let spot = Sizing {
                    spot: SPOT_SHARE,
                    ..sizing
                };
                out.push(scheduled_candidate(ctx, &spot, &tasks, None));
                out.extend(tracking_candidate(ctx, &spot, &tasks, TrackingMetric::Cpu));
            }
        }
        out
    }

    fn evaluate(&self, ctx: &Context<'_>, deployment: &Deployment) -> Option<Evaluation> {
        let Deployment::Fargate(cfg) = deployment else {
            return None;
        };
        let mut sizing = Sizing::new(
            ctx,
            cfg.vcpu,
            cfg.memory_mb,
            cfg.architecture,
            cfg.per_task_concurrency.max(1),
        )?;
        sizing.spot = cfg.spot_share;
        let lag = scale_out_lag_minutes(ctx);
        let http = is_http(ctx);
        let day: Vec<TrackedHour> = match &cfg.target_tracking {
            Some(rule) => sizing.tracked_day(rule, lag, http),
            None => (0..24)
                .map(|h| scheduled_hour(&sizing, h, cfg.tasks[h], http))
                .collect(),
        };
        let occ = ctx.prices.hour_buckets_per_month();
        let mut hours = Vec::with_capacity(24);
        for (h, t) in day.iter().enumerate() {
            let n = t.tasks;
            let (p50, p95, _) = sizing.latency(h, n);
            let hp = &ctx.profile.hours[h];
            let inv = if hp.minutes_observed > 0 {
                hp.invocations / hp.days() * occ
            } else {
                0.0
            };
            hours.push(HourPrediction {
                invocations_per_month: inv,
                cold_starts_per_month: t.cold_per_month.min(inv),
                throttles_per_month: t.errors_per_month.min(inv),
                p50_ms: p50.min(t.p99_ms),
                p95_ms: p95.min(t.p99_ms),
                p99_ms: t.p99_ms,
                level: n,
                peak_concurrency: sizing.rate[h]
                    * sizing.service(h, n).as_ref().map_or(0.0, QuantileSet::mean)
                    / 1000.0,
                usd_per_month: sizing.hour_usd(n),
            });
        }
        let cost = CostBreakdown {
            tasks_usd_per_month: hours.iter().map(|h| h.usd_per_month).sum(),
            load_balancer_usd_per_month: load_balancer_usd_per_month(ctx),
            ..CostBreakdown::default()
        };
        let invocations: f64 = hours.iter().map(|h| h.invocations_per_month).sum();
        let cold: f64 = hours.iter().map(|h| h.cold_starts_per_month).sum();
        let errors: f64 = hours.iter().map(|h| h.throttles_per_month).sum();
        // Month-level quantiles: each hour's response time as its service distribution
        // delayed by that hour's p99 wait (conservative).
        let services: Vec<(usize, QuantileSet)> = (0..24)
            .filter_map(|h| Some((h, sizing.service(h, hours[h].level)?)))
            .collect();
        let parts: Vec<MixturePart<'_>> = services
            .iter()
            .map(|(h, dist)| MixturePart {
                weight: hours[*h].invocations_per_month,
                dist,
                shifted_share: 1.0,
                shift_ms: (hours[*h].p99_ms - dist.quantile(0.99)).max(0.0),
            })
            .collect();
        let q = |p: f64| monthly_quantile(&parts, p);
        let assumptions = assumptions(ctx, cfg, cost.load_balancer_usd_per_month, &hours);
        let share = |x: f64| {
            if invocations > 0.0 {
                x / invocations
            } else {
                0.0
            }
        };
        Some(Evaluation {
            deployment: deployment.clone(),
            usd_per_month: cost.total(),
            cost,
            invocations_per_month: invocations,
            cold_start_rate: share(cold),
            throttle_rate: share(errors),
            p50_ms: q(0.5),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            worst_hour_p99_ms: worst_checked_p99(&hours),
            db_connections: f64::from(
                hours.iter().map(|h| h.level).max().unwrap_or(0) * cfg.per_task_concurrency,
            ),
            on_demand_gb_seconds_per_month: 0.0,
            hours,
            assumptions,
        })
    }
}

/// Hour `h` on a schedule of `n` tasks: sized-for latency, and the backlog of the
/// minutes busier than the schedule (no scale-out: a schedule only changes on the hour).
fn scheduled_hour(sizing: &Sizing<'_>, h: usize, n: u32, http: bool) -> TrackedHour {
    let b = sizing.burst_hour(h, n, n, tracking::NO_RELIEF_MINUTES, http);
    TrackedHour {
        p99_ms: b.p99_ms.max(sizing.latency(h, n).2),
        ..b
    }
}

fn assumptions(
    ctx: &Context<'_>,
    cfg: &FargateConfig,
    load_balancer_usd: f64,
    hours: &[HourPrediction],
) -> Vec<Assumption> {
    let a = |name: &str, value: String, source: &str| Assumption {
        name: name.into(),
        value,
        source: source.into(),
    };
    let law = DurationLaw::of(ctx);
    let start = TaskStart::of(ctx);
    let mut out = law.assumptions();
    out.extend([
        a("fargate_min_tasks", MIN_TASKS.to_string(), "model"),
        a(
            "fargate_sized_for",
            "each hour's 99th-percentile minute".into(),
            "model",
        ),
        a(
            "fargate_target_cpu_utilization",
            format!("{}", ctx.spec.model.fargate_target_cpu_utilization),
            "model",
        ),
        a(
            "fargate_task_start_seconds",
            format!("{:.0}", start.seconds),
            start.source,
        ),
    ]);
    if cfg.target_tracking.is_some() {
        out.push(a(
            "fargate_scale_out_lag_minutes",
            format!(
                "{:.1} ({} alarm + task start)",
                scale_out_lag_minutes(ctx),
                ctx.spec.model.fargate_scaling_lag_minutes
            ),
            "model",
        ));
    }
    if cfg.spot_share > 0.0 {
        let occ = ctx.prices.hour_buckets_per_month();
        let spot_task_hours: f64 = hours.iter().map(|h| cfg.spot_tasks(h.level) * occ).sum();
        let rate = ctx.spec.model.fargate_spot_interruptions_per_task_hour;
        out.push(a(
            "fargate_spot_interruptions_per_month",
            format!(
                "{:.1} (each stops a task with 2 minutes' notice; its unfinished messages are delivered again)",
                spot_task_hours * rate
            ),
            "model",
        ));
        out.push(a(
            "fargate_spot_discount",
            format!("{}", ctx.prices.fargate.spot_discount),
            "price sheet",
        ));
    }
    if load_balancer_usd > 0.0 {
        out.push(a(
            "load_balancer",
            "new ALB, 10 requests per connection".into(),
            "model",
        ));
    } else if ctx.spec.load_balancer {
        out.push(a(
            "load_balancer",
            "the component's existing ALB".into(),
            "config",
        ));
    }
    out
}

#[cfg(test)]
mod tests;
