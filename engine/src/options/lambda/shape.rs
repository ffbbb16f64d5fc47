//! A Lambda function's shape: everything about one (memory, architecture, reserved
//! concurrency) that does not depend on provisioned concurrency — its hours' models,
//! durations and prices — built once per component and cached.

use std::sync::Arc;

use super::hour::{DurationMoments, HourModel};
use super::memory::{DurationLaw, init_duration};
use crate::options::{Context, CostBreakdown, HourPrediction};
use crate::quantiles::{QuantileSet, shifted_mixture_quantile};
use crate::spec::Architecture;

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
    pub(super) init_ms: f64,
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
pub(super) fn shape_of(
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
pub(super) fn shape_key(
    ctx: &Context<'_>,
    memory_mb: u32,
    arch: Architecture,
    reserved: Option<u32>,
) -> crate::options::ShapeKey {
    let price = ctx.lambda_duration_price(arch).to_bits();
    (memory_mb, arch, reserved, price)
}
