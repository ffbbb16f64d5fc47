//! The two kinds of Fargate candidate for one task size: a task count per hour of day
//! (scheduled scaling), and target tracking with its min and max, each priced and
//! judged hour by hour for the optimiser.

use super::service::{MAX_TASKS, MIN_TASKS, Sizing};
use super::tracking::TrackedHour;
use super::{
    ALB_TARGET_SLOT_UTILIZATION, is_http, load_balancer_usd_per_month, scale_out_lag_minutes,
    scheduled_hour,
};
use crate::options::{Candidate, CandidateSlot, Context, Exclusion, LevelOutcome};
use crate::spec::{Deployment, FargateConfig, FargateTracking, TrackingMetric};

fn label(sizing: &Sizing<'_>, how: &str) -> String {
    let mut s = format!(
        "fargate {} vCPU {} MB {}, {} per task{how}",
        sizing.vcpu, sizing.memory_mb, sizing.arch, sizing.per_task
    );
    if sizing.spot > 0.0 {
        s.push_str(&format!(", {:.0} % Spot", 100.0 * sizing.spot));
    }
    s
}

fn template(sizing: &Sizing<'_>, tasks: [u32; 24], rule: Option<FargateTracking>) -> Deployment {
    Deployment::Fargate(FargateConfig {
        vcpu: sizing.vcpu,
        memory_mb: sizing.memory_mb,
        architecture: sizing.arch,
        tasks,
        per_task_concurrency: sizing.per_task,
        target_tracking: rule,
        spot_share: sizing.spot,
    })
}

fn invocations_per_month(ctx: &Context<'_>) -> f64 {
    let occ = ctx.prices.hour_buckets_per_month();
    ctx.profile
        .hours
        .iter()
        .filter(|h| h.minutes_observed > 0)
        .map(|h| h.invocations / h.days() * occ)
        .sum()
}

/// Hour outcome as the optimiser sees it.
fn outcome(sizing: &Sizing<'_>, t: &TrackedHour, checked: bool, inv: f64) -> LevelOutcome {
    LevelOutcome {
        usd_per_month: sizing.hour_usd(t.tasks),
        cold_starts_per_month: t.cold_per_month.min(inv),
        throttles_per_month: t.errors_per_month.min(inv),
        p99_ms: if checked { t.p99_ms } else { 0.0 },
        throttle_rate: if inv > 0.0 {
            (t.errors_per_month / inv).min(1.0)
        } else {
            0.0
        },
        account_concurrency: 0,
    }
}

fn hourly_invocations(ctx: &Context<'_>) -> Vec<f64> {
    let occ = ctx.prices.hour_buckets_per_month();
    ctx.profile
        .hours
        .iter()
        .map(|h| {
            if h.minutes_observed > 0 {
                h.invocations / h.days() * occ
            } else {
                0.0
            }
        })
        .collect()
}

/// Levels summed over the day into one slot (no schedules, or target tracking).
fn day_outcome(parts: &[LevelOutcome]) -> LevelOutcome {
    LevelOutcome {
        usd_per_month: parts.iter().map(|o| o.usd_per_month).sum(),
        cold_starts_per_month: parts.iter().map(|o| o.cold_starts_per_month).sum(),
        throttles_per_month: parts.iter().map(|o| o.throttles_per_month).sum(),
        p99_ms: parts.iter().map(|o| o.p99_ms).fold(0.0, f64::max),
        throttle_rate: parts.iter().map(|o| o.throttle_rate).fold(0.0, f64::max),
        account_concurrency: 0,
    }
}

pub(super) fn scheduled_candidate(
    ctx: &Context<'_>,
    sizing: &Sizing<'_>,
    planned: &[u32],
    excluded: Option<Exclusion>,
) -> Candidate {
    let mut levels: Vec<u32> = planned.to_vec();
    levels.extend((0..24).map(|h| sizing.stable_tasks(h)));
    levels.sort_unstable();
    levels.dedup();
    let raw: Vec<f64> = ctx.profile.hours.iter().map(|h| h.invocations).collect();
    let checked = crate::spec::p99_checked_hours(&raw);
    let inv = hourly_invocations(ctx);
    let http = is_http(ctx);
    // A forbidden Fargate is priced, not planned: its bursts are not worth modelling
    // on a fleet where most components cannot move.
    let forbidden = excluded.is_some();
    let level_outcome = |h: usize, n: u32| -> Option<LevelOutcome> {
        (n >= sizing.stable_tasks(h)).then(|| {
            let hour = if forbidden {
                TrackedHour {
                    tasks: n,
                    p99_ms: sizing.latency(h, n).2,
                    ..TrackedHour::default()
                }
            } else {
                scheduled_hour(sizing, h, n, http)
            };
            outcome(sizing, &hour, checked[h], inv[h])
        })
    };
    let slots = if ctx.spec.guardrails.allow_schedules {
        (0..24)
            .map(|h| CandidateSlot {
                hours: vec![h],
                levels: levels.iter().map(|&n| level_outcome(h, n)).collect(),
                potential: Vec::new(),
            })
            .collect()
    } else {
        vec![CandidateSlot {
            hours: (0..24).collect(),
            levels: levels
                .iter()
                .map(|&n| {
                    let parts = (0..24)
                        .map(|h| level_outcome(h, n))
                        .collect::<Option<Vec<_>>>()?;
                    Some(day_outcome(&parts))
                })
                .collect(),
            potential: Vec::new(),
        }]
    };
    Candidate {
        label: label(sizing, ""),
        template: template(sizing, [0; 24], None),
        excluded,
        fixed_usd_per_month: load_balancer_usd_per_month(ctx),
        levels,
        slots,
        invocations_per_month: invocations_per_month(ctx),
        reserved_concurrency: None,
        db_connections: f64::from(planned.iter().copied().max().unwrap_or(0) * sizing.per_task),
    }
}

/// Target tracking on `metric` at the size of the schedule `planned`; the level is the
/// policy's minimum task count.
pub(super) fn tracking_candidate(
    ctx: &Context<'_>,
    sizing: &Sizing<'_>,
    planned: &[u32],
    metric: TrackingMetric,
) -> Option<Candidate> {
    let target_value = match metric {
        TrackingMetric::Cpu => {
            if sizing.cpu_seconds <= 0.0 {
                // CPU never moves: the policy would never scale.
                return None;
            }
            100.0 * ctx.spec.model.fargate_target_cpu_utilization
        }
        TrackingMetric::AlbRequestCountPerTarget => {
            // Requests per task-minute that keep its slots 70 % busy or its CPU at the
            // target, whichever is fewer.
            let hour = (0..24).find(|&h| sizing.observed[h].is_some())?;
            let s = sizing.mean_service_s_at(hour, 0.0, 1);
            if s <= 0.0 {
                return None;
            }
            let by_slots = f64::from(sizing.per_task) * 60.0 / s * ALB_TARGET_SLOT_UTILIZATION;
            let by_cpu = if sizing.cpu_seconds > 0.0 {
                sizing.vcpu * 60.0 / sizing.cpu_seconds
                    * ctx.spec.model.fargate_target_cpu_utilization
            } else {
                f64::INFINITY
            };
            by_slots.min(by_cpu).floor()
        }
    };
    if target_value < 1.0 {
        return None;
    }
    let busiest = (0..24)
        .map(|h| {
            let top = ctx.profile.hours[h].max_per_minute() / 60.0;
            sizing.stable_tasks_at(h, top)
        })
        .max()
        .unwrap_or(MIN_TASKS);
    let peak_planned = planned.iter().copied().max().unwrap_or(MIN_TASKS);
    let max_tasks = (2 * busiest.max(peak_planned)).clamp(MIN_TASKS, MAX_TASKS);
    let rule = |min: u32| FargateTracking {
        metric,
        target_value,
        min_tasks: min,
        max_tasks,
    };
    // CPU tracking whose target a task with every slot busy cannot reach never scales
    // out on load (tracking module doc): it is a fixed `min_tasks` service whose queue
    // grows with every burst. It is not offered rather than offered with that queue
    // priced in: at any minimum that keeps up with the load it is the schedule's
    // fixed count at the busiest hour's size, which the scheduled candidate already
    // offers cheaper (it follows the hours), and below that minimum it is a queue
    // that never drains, so it could only ever be chosen by a model error. Request
    // count tracking, which does follow load, is offered in its place for HTTP.
    if !sizing.scales_out_on_load(&rule(MIN_TASKS)) {
        return None;
    }
    let mut levels = vec![MIN_TASKS];
    let mut sorted = planned.to_vec();
    sorted.sort_unstable();
    levels.extend([sorted[0], sorted[sorted.len() / 2]]);
    levels.retain(|&l| l <= max_tasks);
    levels.sort_unstable();
    levels.dedup();
    let lag = scale_out_lag_minutes(ctx);
    let http = is_http(ctx);
    let raw: Vec<f64> = ctx.profile.hours.iter().map(|h| h.invocations).collect();
    let checked = crate::spec::p99_checked_hours(&raw);
    let inv = hourly_invocations(ctx);
    let slot_levels = levels
        .iter()
        .map(|&min| {
            let day = sizing.tracked_day(&rule(min), lag, http);
            let parts: Vec<LevelOutcome> = day
                .iter()
                .enumerate()
                .map(|(h, t)| outcome(sizing, t, checked[h], inv[h]))
                .collect();
            Some(day_outcome(&parts))
        })
        .collect();
    // The tasks tracking holds with no minimum; the chosen minimum raises them.
    let free = rule(0);
    let held: [u32; 24] = std::array::from_fn(|h| sizing.tracked_tasks(h, &free));
    let how = match metric {
        TrackingMetric::Cpu => format!(", target tracking CPU {target_value:.0} %"),
        TrackingMetric::AlbRequestCountPerTarget => {
            format!(", target tracking {target_value:.0} requests per task-minute")
        }
    };
    Some(Candidate {
        label: label(sizing, &how),
        template: template(sizing, held, Some(free)),
        excluded: None,
        fixed_usd_per_month: load_balancer_usd_per_month(ctx),
        levels,
        slots: vec![CandidateSlot {
            hours: (0..24).collect(),
            levels: slot_levels,
            potential: Vec::new(),
        }],
        invocations_per_month: invocations_per_month(ctx),
        reserved_concurrency: None,
        db_connections: f64::from(max_tasks * sizing.per_task),
    })
}
