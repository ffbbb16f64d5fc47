//! AWS Lambda: memory, architecture, provisioned concurrency (none, constant or per hour
//! of day) and reserved concurrency.
//!
//! Cost, per hour of the day and month (730 h):
//! - requests: served invocations × the request price;
//! - duration: served invocations × billed duration (rounded up per invocation) × GB,
//!   at the provisioned-duration price for the share served by provisioned
//!   environments and the on-demand price (the account's marginal tier) for the rest;
//! - init: on-demand cold starts × init duration × GB at the on-demand price (billed
//!   since August 2025);
//! - provisioned concurrency: environments × GB × 3,600 s × its price.
//!
//! Not modelled: the ≤ 5-minute billing rounding of schedule changes and the init
//! billing of transition cold starts (both below a cent per change), the free tier,
//! ephemeral storage above 512 MB. The replay bills them exactly.

pub mod hour;
pub mod memory;
mod reserved;
mod shape;

use std::sync::Arc;

use crate::options::{
    Assumption, Candidate, CandidateSlot, Context, CostBreakdown, Evaluation, Exclusion,
    HourPrediction, LevelOutcome, MixturePart, Outline, Platform, monthly_quantile,
    worst_checked_p99,
};

use crate::spec::{Architecture, Deployment, LambdaConfig, PlatformKind, Provisioned};

use memory::{DurationLaw, init_duration, memory_candidates, memory_floor_mb};
pub use reserved::bounded_reserved;
use reserved::{http_entry, lambda_limit, reserved_options, reserved_variant};
pub use shape::Shape;
use shape::shape_of;

/// The Lambda platform.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lambda;

/// Level grid: every integer up to 16, then steps of about 8 %, up to `max`, plus extras.
pub fn level_grid(max: u32, extra: &[u32]) -> Vec<u32> {
    let mut v: Vec<u32> = (0..=max.min(16)).collect();
    let mut x = 16u32;
    while x < max {
        x = (x + (x / 12).max(1)).min(max);
        v.push(x);
    }
    v.extend_from_slice(extra);
    v.sort_unstable();
    v.dedup();
    v
}

fn exclusion(
    ctx: &Context<'_>,
    memory_mb: u32,
    arch: Architecture,
    current: Option<&LambdaConfig>,
) -> Option<Exclusion> {
    let g = &ctx.spec.guardrails;
    let ex = |guardrail: &str, reason: String| {
        Some(Exclusion {
            guardrail: guardrail.into(),
            rules: g.sources.clone(),
            reason,
        })
    };
    if !g.allows_platform(PlatformKind::Lambda) {
        return ex(
            "allowed_platforms",
            "Lambda is not an allowed platform".into(),
        );
    }
    if let Some(why) = lambda_limit(ctx) {
        return ex("lambda_limits", format!("Lambda cannot run it: {why}"));
    }
    if arch == Architecture::Arm64
        && !g.allow_arm64
        && current.is_none_or(|c| c.architecture != Architecture::Arm64)
    {
        return ex(
            "allow_arm64",
            "arm64 needs an arm64 build and is not allowed".into(),
        );
    }
    if memory_mb > g.memory_mb_max || memory_mb < g.memory_mb_min {
        return ex(
            "memory_mb",
            format!(
                "memory {memory_mb} MB is outside {}–{} MB",
                g.memory_mb_min, g.memory_mb_max
            ),
        );
    }
    if let (Some(f), Some(c)) = (g.max_memory_step_factor, current) {
        let ratio = f64::from(memory_mb) / f64::from(c.memory_mb);
        if ratio > f + 1e-9 || ratio < 1.0 / f - 1e-9 {
            return ex(
                "max_memory_step_factor",
                format!("{} → {memory_mb} MB is more than a ×{f} step", c.memory_mb),
            );
        }
    }
    None
}

impl Platform for Lambda {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Lambda
    }

    fn candidates(&self, ctx: &Context<'_>) -> Vec<Candidate> {
        if !ctx.profile.has_traffic_data() {
            return Vec::new();
        }
        let current = match &ctx.spec.current {
            Deployment::Lambda(l) => Some(l),
            Deployment::Fargate(_) => None,
        };
        let current_mb = current.map_or(1024, |c| c.memory_mb);
        let reserved = current.and_then(|c| c.reserved_concurrency);
        let law = DurationLaw::of(ctx);
        let floor = memory_floor_mb(ctx)
            .unwrap_or(current_mb)
            .max(ctx.spec.guardrails.memory_mb_min.min(current_mb));
        let memories = memory_candidates(floor, current_mb, law.parallelism);
        let mut archs = vec![Architecture::X86_64, Architecture::Arm64];
        if let Some(c) = current {
            archs.sort_by_key(|&a| a != c.architecture);
        }
        let g = &ctx.spec.guardrails;
        let current_levels: Vec<u32> = current
            .map(|c| c.provisioned.hourly().to_vec())
            .unwrap_or_default();

        let mut out = Vec::new();
        for &arch in &archs {
            for &mem in &memories {
                let excluded = exclusion(ctx, mem, arch, current);
                if !ctx.builds(excluded.as_ref()) {
                    continue;
                }
                // Forbidden architectures are worth one representative, not a grid.
                if excluded.as_ref().is_some_and(|e| {
                    matches!(e.guardrail.as_str(), "allow_arm64" | "lambda_limits")
                }) && mem != floor.max(g.memory_mb_min)
                {
                    continue;
                }
                if excluded
                    .as_ref()
                    .is_some_and(|e| e.guardrail == "memory_mb")
                {
                    continue;
                }
                let Some(base) = shape_of(ctx, &law, mem, arch, reserved) else {
                    continue;
                };
                let options = if excluded.is_some() {
                    vec![bounded_reserved(g, reserved)]
                } else {
                    reserved_options(ctx, &base, reserved)
                };
                for r in options {
                    let shape = if r == reserved {
                        base.clone()
                    } else {
                        reserved_variant(ctx, &base, r)
                    };
                    let cap = r.unwrap_or(u32::MAX).min(g.max_provisioned_concurrency);
                    let current_peak = current_levels.iter().copied().max().unwrap_or(0);
                    let useful = shape.useful_max_level().min(cap);
                    let mut levels = if r == reserved {
                        level_grid(useful.max(current_peak), &current_levels)
                    } else {
                        level_grid(useful, &current_levels)
                    };
                    // A new cap admits no more provisioned environments than itself.
                    if let (Some(r), true) = (r, r != reserved) {
                        levels.retain(|&l| l <= r);
                    }
                    out.push(candidate(ctx, &shape, levels, current, excluded.clone()));
                }
            }
        }
        out
    }

    fn evaluate(&self, ctx: &Context<'_>, deployment: &Deployment) -> Option<Evaluation> {
        let (cfg, law, shape) = configured(ctx, deployment)?;
        let schedule = cfg.provisioned.hourly();
        let Hours {
            hours,
            cost,
            invocations,
            cold,
            throttles,
        } = Hours::of(&shape, &schedule);
        let parts: Vec<MixturePart<'_>> = (0..24)
            .filter_map(|h| {
                let dist = shape.durations[h].as_deref()?;
                let served = hours[h].invocations_per_month - hours[h].throttles_per_month;
                let shifted_share = if served > 0.0 {
                    hours[h].cold_starts_per_month / served
                } else {
                    0.0
                };
                Some(MixturePart {
                    weight: served,
                    dist,
                    shifted_share,
                    shift_ms: shape.init_ms,
                })
            })
            .collect();
        let q = |p: f64| monthly_quantile(&parts, p);
        let (init, init_source) = init_duration(ctx);
        let mut assumptions = law.assumptions();
        assumptions.extend([
            Assumption {
                name: "keep_alive_minutes".into(),
                value: ctx.spec.model.keep_alive_minutes.to_string(),
                source: "model".into(),
            },
            Assumption {
                name: "init_duration_ms".into(),
                value: format!("{init:.0}"),
                source: init_source.into(),
            },
            Assumption {
                name: "on_demand_usd_per_gb_second".into(),
                value: format!("{}", ctx.lambda_duration_price(cfg.architecture)),
                source: "price sheet (account's marginal tier)".into(),
            },
        ]);
        if let Some(entry) = http_entry(ctx) {
            assumptions.push(Assumption {
                name: "http_entry".into(),
                value: entry.into(),
                source: "model".into(),
            });
        }
        if cfg.architecture != law.observed_architecture {
            assumptions.push(Assumption {
                name: "arm64_duration_factor".into(),
                value: format!("{}", law.arm64_factor),
                source: "model".into(),
            });
        }
        Some(Evaluation {
            deployment: deployment.clone(),
            usd_per_month: cost.total(),
            cost,
            invocations_per_month: invocations,
            cold_start_rate: share(cold, invocations),
            throttle_rate: share(throttles, invocations),
            p50_ms: q(0.50),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            worst_hour_p99_ms: worst_checked_p99(&hours),
            db_connections: shape
                .peak_connections()
                .max(f64::from(cfg.provisioned.peak())),
            on_demand_gb_seconds_per_month: (0..24)
                .map(|h| shape.on_demand_gb_seconds(h, schedule[h]))
                .sum(),
            hours,
            assumptions,
        })
    }

    fn outline(&self, ctx: &Context<'_>, deployment: &Deployment) -> Option<Outline> {
        let (cfg, _, shape) = configured(ctx, deployment)?;
        let h = Hours::of(&shape, &cfg.provisioned.hourly());
        Some(Outline {
            usd_per_month: h.cost.total(),
            cold_start_rate: share(h.cold, h.invocations),
            throttle_rate: share(h.throttles, h.invocations),
            worst_hour_p99_ms: worst_checked_p99(&h.hours),
            hours: h.hours,
        })
    }
}

/// `deployment`'s Lambda configuration, the component's duration law and the shape
/// they give (cached): what [`Lambda::evaluate`] and [`Lambda::outline`] start from.
fn configured<'d>(
    ctx: &Context<'_>,
    deployment: &'d Deployment,
) -> Option<(&'d LambdaConfig, DurationLaw, Arc<Shape>)> {
    let Deployment::Lambda(cfg) = deployment else {
        return None;
    };
    let law = DurationLaw::of(ctx);
    let shape = shape_of(
        ctx,
        &law,
        cfg.memory_mb,
        cfg.architecture,
        cfg.reserved_concurrency,
    )?;
    Some((cfg, law, shape))
}

/// A schedule's 24 hours on one shape and what they add up to: the pass that
/// [`Lambda::evaluate`] and [`Lambda::outline`] share.
struct Hours {
    hours: Vec<HourPrediction>,
    cost: CostBreakdown,
    invocations: f64,
    cold: f64,
    throttles: f64,
}

impl Hours {
    fn of(shape: &Shape, schedule: &[u32; 24]) -> Self {
        let mut hours = Vec::with_capacity(24);
        let mut cost = CostBreakdown::default();
        for h in 0..24 {
            let prev = schedule[(h + 23) % 24];
            let m = &shape.hours[h];
            let extra = (m.potential_per_month(schedule[h]) - m.potential_per_month(prev)).max(0.0);
            let (pred, c, _) = shape.hour(h, schedule[h], extra, true);
            cost.requests_usd_per_month += c.requests_usd_per_month;
            cost.duration_usd_per_month += c.duration_usd_per_month;
            cost.init_usd_per_month += c.init_usd_per_month;
            cost.provisioned_usd_per_month += c.provisioned_usd_per_month;
            hours.push(pred);
        }
        Self {
            invocations: hours.iter().map(|h| h.invocations_per_month).sum(),
            cold: hours.iter().map(|h| h.cold_starts_per_month).sum(),
            throttles: hours.iter().map(|h| h.throttles_per_month).sum(),
            hours,
            cost,
        }
    }
}

/// `part` per invocation (0 without invocations).
fn share(part: f64, invocations: f64) -> f64 {
    if invocations > 0.0 {
        part / invocations
    } else {
        0.0
    }
}

fn candidate(
    ctx: &Context<'_>,
    shape: &Shape,
    levels: Vec<u32>,
    current: Option<&LambdaConfig>,
    excluded: Option<Exclusion>,
) -> Candidate {
    let g = &ctx.spec.guardrails;
    let allowed = |h: usize, level: u32| -> bool {
        let now = current.map_or(0, |c| c.provisioned.at(h));
        level <= now || level <= g.provisioned_step_limit(now)
    };
    let invocations: Vec<f64> = shape
        .hours
        .iter()
        .map(|m| m.invocations_per_month)
        .collect();
    let checked = crate::spec::p99_checked_hours(&invocations);
    let outcome = |h: usize, l: u32| -> LevelOutcome {
        let (pred, cost, throttle) = shape.hour(h, l, 0.0, false);
        LevelOutcome {
            usd_per_month: cost.total(),
            cold_starts_per_month: pred.cold_starts_per_month,
            throttles_per_month: pred.throttles_per_month,
            p99_ms: if checked[h] { pred.p99_ms } else { 0.0 },
            throttle_rate: throttle,
            account_concurrency: if shape.reserved.is_some() { 0 } else { l },
        }
    };
    let slots = if g.allow_schedules {
        (0..24)
            .map(|h| CandidateSlot {
                hours: vec![h],
                levels: levels
                    .iter()
                    .map(|&l| allowed(h, l).then(|| outcome(h, l)))
                    .collect(),
                potential: levels
                    .iter()
                    .map(|&l| shape.hours[h].potential_per_month(l))
                    .collect(),
            })
            .collect()
    } else {
        vec![CandidateSlot {
            hours: (0..24).collect(),
            levels: levels
                .iter()
                .map(|&l| {
                    if !(0..24).all(|h| allowed(h, l)) {
                        return None;
                    }
                    let parts: Vec<LevelOutcome> = (0..24).map(|h| outcome(h, l)).collect();
                    Some(LevelOutcome {
                        usd_per_month: parts.iter().map(|o| o.usd_per_month).sum(),
                        cold_starts_per_month: parts.iter().map(|o| o.cold_starts_per_month).sum(),
                        throttles_per_month: parts.iter().map(|o| o.throttles_per_month).sum(),
                        p99_ms: parts.iter().map(|o| o.p99_ms).fold(0.0, f64::max),
                        throttle_rate: parts.iter().map(|o| o.throttle_rate).fold(0.0, f64::max),
                        account_concurrency: if shape.reserved.is_some() { 0 } else { l },
                    })
                })
                .collect(),
            potential: Vec::new(),
        }]
    };
    Candidate {
        label: match shape.reserved {
            Some(r) => format!(
                "lambda {} MB {}, reserved {r}",
                shape.memory_mb, shape.architecture
            ),
            None => format!("lambda {} MB {}", shape.memory_mb, shape.architecture),
        },
        template: Deployment::Lambda(LambdaConfig {
            memory_mb: shape.memory_mb,
            architecture: shape.architecture,
            provisioned: Provisioned::None,
            reserved_concurrency: shape.reserved,
        }),
        excluded,
        fixed_usd_per_month: 0.0,
        levels,
        slots,
        invocations_per_month: shape.hours.iter().map(|m| m.invocations_per_month).sum(),
        reserved_concurrency: shape.reserved,
        db_connections: shape.peak_connections(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
