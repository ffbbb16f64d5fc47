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

use std::sync::Arc;

use crate::options::{
    Assumption, Candidate, CandidateSlot, Context, CostBreakdown, Evaluation, Exclusion,
    HourPrediction, LevelOutcome, MixturePart, Platform, monthly_quantile, worst_checked_p99,
};
use crate::quantiles::{QuantileSet, shifted_mixture_quantile};
use crate::spec::{Architecture, Deployment, LambdaConfig, PlatformKind, Provisioned};

use hour::{DurationMoments, HourModel};
use memory::{DurationLaw, init_duration, memory_candidates, memory_floor_mb};
pub use reserved::bounded_reserved;
use reserved::{http_entry, lambda_limit, reserved_options, reserved_variant};

/// The Lambda platform.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lambda;

/// Everything about one (memory, architecture) that does not depend on provisioned
/// concurrency.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Memory (MB).
    pub memory_mb: u32,
    /// Architecture.
    pub architecture: Architecture,
    /// Reserved concurrency kept.
    pub reserved: Option<u32>,
    /// Per hour of day.
    pub hours: Vec<HourModel>,
    /// Duration per hour at this memory (ms); `None` for hours without data. Hours
    /// usually share one distribution, so they share one allocation: a fleet's shapes
    /// are most of the models' memory.
    pub durations: Vec<Option<Arc<QuantileSet>>>,
    /// Billed duration per invocation per hour (ms).
    billed_ms: Vec<f64>,
    gb: f64,
    init_ms: f64,
    od_usd_per_gb_s: f64,
    pcd_usd_per_gb_s: f64,
    pc_usd_per_gb_s: f64,
    request_usd: f64,
    occurrences_per_month: f64,
}

impl Shape {
    /// Builds the shape; `None` when traffic exists but durations are unknown.
    pub fn new(
        ctx: &Context<'_>,
        law: &DurationLaw,
        memory_mb: u32,
        architecture: Architecture,
        reserved: Option<u32>,
    ) -> Option<Self> {
        let prices = &ctx.prices.lambda;
        let occ = ctx.prices.hour_buckets_per_month();
        let rounding = prices.duration_rounding_ms.max(1e-9);
        let mut hours = Vec::with_capacity(24);
        let mut durations = Vec::with_capacity(24);
        let mut billed_ms = Vec::with_capacity(24);
        let periodic = ctx.profile.periodic || ctx.spec.trigger.as_deref() == Some("timer");
        // Hours usually share one distribution (trace files, or no per-hour data): its
        // moments and billing are computed once.
        let mut last: Option<(&QuantileSet, Arc<QuantileSet>, DurationMoments, f64)> = None;
        for h in 0..24 {
            let hp = &ctx.profile.hours[h];
            let observed = ctx.profile.duration_for_hour(h);
            if observed.is_none() && hp.invocations > 0.0 {
                return None;
            }
            let (d, moments, billed) = match observed {
                None => (None, DurationMoments::constant(0.0, 0), 0.0),
                Some(q) => {
                    if last.as_ref().is_none_or(|l| !std::ptr::eq(l.0, q)) {
                        let scaled = law.at(q, f64::from(memory_mb), architecture);
                        let moments =
                            DurationMoments::of(&scaled, ctx.spec.model.keep_alive_minutes);
                        let billed = scaled.expected_rounded_up(rounding);
                        last = Some((q, Arc::new(scaled), moments, billed));
                    }
                    let l = last.as_ref().expect("just set");
                    (Some(l.1.clone()), l.2, l.3)
                }
            };
            hours.push(HourModel::new(
                hp,
                &moments,
                d.as_deref().filter(|_| periodic),
                ctx.spec.model.keep_alive_minutes,
                occ,
            ));
            billed_ms.push(billed);
            durations.push(d);
        }
        Some(Self {
            memory_mb,
            architecture,
            reserved,
            hours,
            durations,
            billed_ms,
            gb: f64::from(memory_mb) / 1024.0,
            init_ms: init_duration(ctx).0,
            od_usd_per_gb_s: ctx.lambda_duration_price(architecture),
            pcd_usd_per_gb_s: prices.provisioned_duration_usd_per_gb_second(architecture),
            pc_usd_per_gb_s: prices.provisioned_usd_per_gb_second(architecture),
            request_usd: prices.request_usd_per_million / 1e6,
            occurrences_per_month: occ,
        })
    }

    /// On-demand GB-seconds per month of hour `h` at `p` provisioned environments.
    pub fn on_demand_gb_seconds(&self, h: usize, p: u32) -> f64 {
        let m = &self.hours[h];
        let served = m.invocations_per_month * (1.0 - m.throttle_share(self.reserved));
        let cold = m.cold_starts_per_month(p).min(served);
        (served * self.billed_ms[h] * (1.0 - m.provisioned_share(p)) + cold * self.init_ms) / 1000.0
            * self.gb
    }

    /// Outcome of hour `h` with `p` provisioned environments and `extra_cold` transition
    /// cold starts per month; returns the outcome, its cost breakdown and the throttle
    /// share. Without `detail` only p99 of the latency quantiles is computed.
    pub fn hour(
        &self,
        h: usize,
        p: u32,
        extra_cold: f64,
        detail: bool,
    ) -> (HourPrediction, CostBreakdown, f64) {
        let m = &self.hours[h];
        let inv = m.invocations_per_month;
        let throttle = m.throttle_share(self.reserved);
        let served = inv * (1.0 - throttle);
        let cold_steady = m.cold_starts_per_month(p).min(served);
        let cold = (cold_steady + extra_cold).min(served);
        let share_pc = m.provisioned_share(p);
        let billed_s = self.billed_ms[h] / 1000.0;
        let cost = CostBreakdown {
            requests_usd_per_month: served * self.request_usd,
            duration_usd_per_month: served
                * billed_s
                * self.gb
                * (share_pc * self.pcd_usd_per_gb_s + (1.0 - share_pc) * self.od_usd_per_gb_s),
            init_usd_per_month: cold_steady * self.init_ms / 1000.0
                * self.gb
                * self.od_usd_per_gb_s,
            provisioned_usd_per_month: f64::from(p)
                * self.gb
                * 3600.0
                * self.pc_usd_per_gb_s
                * self.occurrences_per_month,
            ..CostBreakdown::default()
        };
        let cold_rate = if served > 0.0 { cold / served } else { 0.0 };
        let q = |p: f64| match self.durations[h].as_deref() {
            Some(d) if served > 0.0 => shifted_mixture_quantile(d, cold_rate, self.init_ms, p),
            _ => 0.0,
        };
        // Candidates only need p99; a full evaluation reports the median and p95 too.
        let (p50, p95) = if detail {
            (q(0.50), q(0.95))
        } else {
            (0.0, 0.0)
        };
        let p99 = q(0.99);
        let pred = HourPrediction {
            invocations_per_month: inv,
            cold_starts_per_month: cold,
            throttles_per_month: inv * throttle,
            p50_ms: p50,
            p95_ms: p95,
            p99_ms: p99,
            level: p,
            peak_concurrency: m.mean_peak(),
            usd_per_month: cost.total(),
        };
        (pred, cost, throttle)
    }

    /// Peak connections: the busiest minute's concurrency at its 99.99th percentile,
    /// capped by reserved concurrency (each environment holds one connection).
    pub fn peak_connections(&self) -> f64 {
        let peak = self
            .hours
            .iter()
            .map(|m| m.peak_quantile(1e-4))
            .max()
            .unwrap_or(0);
        f64::from(self.reserved.map_or(peak, |r| peak.min(r)))
    }

    /// The same shape under another reserved concurrency (only throttles and
    /// connections depend on it, so nothing is rebuilt).
    pub fn with_reserved(&self, reserved: Option<u32>) -> Self {
        Self {
            reserved,
            ..self.clone()
        }
    }

    /// The smallest reserved concurrency whose throttle share stays within `share` in
    /// every hour (from each hour's concurrency distribution).
    pub fn cap_for_throttle_share(&self, share: f64) -> u32 {
        self.hours
            .iter()
            .map(|m| m.level_for_blocking(share))
            .max()
            .unwrap_or(0)
            .max(1)
    }

    /// The largest level worth offering: above the busiest minute's 99.99th percentile
    /// concurrency nothing improves.
    pub fn useful_max_level(&self) -> u32 {
        self.hours
            .iter()
            .map(|m| m.peak_quantile(1e-4))
            .max()
            .unwrap_or(0)
            + 1
    }
}

/// The shape, from the context's cache when it has one.
fn shape_of(
    ctx: &Context<'_>,
    law: &DurationLaw,
    memory_mb: u32,
    arch: Architecture,
    reserved: Option<u32>,
) -> Option<Arc<Shape>> {
    let build = || Shape::new(ctx, law, memory_mb, arch, reserved);
    match ctx.cache {
        Some(cache) => cache.shape(shape_key(ctx, memory_mb, arch, reserved), build),
        None => build().map(Arc::new),
    }
}

/// The cache key of a shape: its memory, architecture and reserved concurrency, and
/// the duration price it was built at (the context's marginal tier).
fn shape_key(
    ctx: &Context<'_>,
    memory_mb: u32,
    arch: Architecture,
    reserved: Option<u32>,
) -> crate::options::ShapeKey {
    let price = ctx.lambda_duration_price(arch).to_bits();
    (memory_mb, arch, reserved, price)
}

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
        let schedule = cfg.provisioned.hourly();
        let mut hours = Vec::with_capacity(24);
        let mut cost = CostBreakdown::default();
        let mut throttle_max: f64 = 0.0;
        for h in 0..24 {
            let prev = schedule[(h + 23) % 24];
            let m = &shape.hours[h];
            let extra = (m.potential_per_month(schedule[h]) - m.potential_per_month(prev)).max(0.0);
            let (pred, c, thr) = shape.hour(h, schedule[h], extra, true);
            cost.requests_usd_per_month += c.requests_usd_per_month;
            cost.duration_usd_per_month += c.duration_usd_per_month;
            cost.init_usd_per_month += c.init_usd_per_month;
            cost.provisioned_usd_per_month += c.provisioned_usd_per_month;
            throttle_max = throttle_max.max(thr);
            hours.push(pred);
        }
        let invocations: f64 = hours.iter().map(|h| h.invocations_per_month).sum();
        let cold: f64 = hours.iter().map(|h| h.cold_starts_per_month).sum();
        let throttles: f64 = hours.iter().map(|h| h.throttles_per_month).sum();
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
            cold_start_rate: if invocations > 0.0 {
                cold / invocations
            } else {
                0.0
            },
            throttle_rate: if invocations > 0.0 {
                throttles / invocations
            } else {
                0.0
            },
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
