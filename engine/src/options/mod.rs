//! Interchangeable options for a compute component.
//!
//! A platform (Lambda, Fargate, ...) is a [`Platform`] implementation in its own module:
//! it enumerates candidate configurations for a component ([`Candidate`]) with the cost
//! and risk of every per-hour level, and predicts a fully specified [`Deployment`]
//! ([`Evaluation`]). Adding a platform means one new module and one line in
//! [`platforms`]; nothing else in the engine changes.
//!
//! Platforms report facts (cost, cold starts, latency); they do not apply SLOs. The
//! optimiser decides what is acceptable, so the same facts also explain the options it
//! rejected.

pub mod fargate;
pub mod lambda;

use std::fmt;

use serde::Serialize;

use crate::prices::PriceSheet;
use crate::profile::Profile;
use crate::spec::{Architecture, ComponentSpec, Deployment, PlatformKind};

/// Everything a platform may read about one component.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The component.
    pub spec: &'a ComponentSpec,
    /// Its telemetry summary.
    pub profile: &'a Profile,
    /// Prices.
    pub prices: &'a PriceSheet,
    /// Marginal on-demand Lambda duration price per architecture (x86_64, arm64): the
    /// tier the account's total usage falls in.
    pub lambda_duration_usd_per_gb_second: [f64; 2],
    /// Models already built for this component, shared between candidate generation and
    /// evaluations (building one is the expensive step).
    pub cache: Option<&'a ModelCache>,
    /// Whether the candidates include a representative of what the guardrails forbid,
    /// priced only so that an explanation can say what a rule costs. A solve that no
    /// explanation follows (sizing a group's share of an account's limit) skips them:
    /// on the real-shaped 10,000 they were a Lambda shape and two Fargate sizings a
    /// function.
    pub forbidden: bool,
}

/// Per-component cache of Lambda shapes keyed by (memory, architecture, reserved
/// concurrency, on-demand duration price). Only valid for one component and one price
/// sheet; the marginal duration tier is in the key, so the deployed configuration can
/// be evaluated before its account's tier is known and the shape reused when the tier
/// turns out to be the first.
#[derive(Debug, Default)]
pub struct ModelCache {
    shapes: std::sync::Mutex<Vec<CachedShape>>,
}

/// (memory MB, architecture, reserved concurrency, duration price as bits).
pub(crate) type ShapeKey = (u32, Architecture, Option<u32>, u64);
type CachedShape = (ShapeKey, std::sync::Arc<lambda::Shape>);

impl ModelCache {
    /// The cached shape for `key`, or the one `build` makes (cached when it succeeds).
    pub(crate) fn shape(
        &self,
        key: ShapeKey,
        build: impl FnOnce() -> Option<lambda::Shape>,
    ) -> Option<std::sync::Arc<lambda::Shape>> {
        if let Some(s) = self
            .lock()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, s)| s.clone())
        {
            return Some(s);
        }
        let shape = std::sync::Arc::new(build()?);
        self.lock().push((key, shape.clone()));
        Some(shape)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<CachedShape>> {
        // A panic while holding the lock leaves a valid (possibly shorter) vector.
        self.shapes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<'a> Context<'a> {
    /// A context with first-tier Lambda prices.
    pub fn new(spec: &'a ComponentSpec, profile: &'a Profile, prices: &'a PriceSheet) -> Self {
        Self {
            spec,
            profile,
            prices,
            lambda_duration_usd_per_gb_second: [
                prices
                    .lambda
                    .duration_usd_per_gb_second(Architecture::X86_64),
                prices
                    .lambda
                    .duration_usd_per_gb_second(Architecture::Arm64),
            ],
            cache: None,
            forbidden: true,
        }
    }

    /// The same context without the representatives of what the guardrails forbid.
    pub fn without_forbidden(self) -> Self {
        Self {
            forbidden: false,
            ..self
        }
    }

    /// Whether a candidate the guardrails exclude as `excluded` (if they do) is built.
    pub(crate) fn builds(&self, excluded: Option<&Exclusion>) -> bool {
        excluded.is_none() || self.forbidden
    }

    /// The same context with a model cache (valid for this component and price sheet).
    pub fn with_cache(self, cache: &'a ModelCache) -> Self {
        Self {
            cache: Some(cache),
            ..self
        }
    }

    /// Marginal on-demand duration price of `arch`.
    pub fn lambda_duration_price(&self, arch: Architecture) -> f64 {
        match arch {
            Architecture::X86_64 => self.lambda_duration_usd_per_gb_second[0],
            Architecture::Arm64 => self.lambda_duration_usd_per_gb_second[1],
        }
    }
}

/// Why a candidate is outside the guardrails. Kept, not dropped, so explanations can say
/// what the org's rules cost ("Fargate would save $54/month; forbidden in prod").
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Exclusion {
    /// The guardrail field (`allowed_platforms`, `allow_arm64`, `memory_mb_max`, ...).
    pub guardrail: String,
    /// The rules it came from.
    pub rules: Vec<String>,
    /// Human text.
    pub reason: String,
}

/// The consequences of one level in one slot.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LevelOutcome {
    /// Monthly cost of this slot at this level.
    pub usd_per_month: f64,
    /// Expected cold starts per month in this slot.
    pub cold_starts_per_month: f64,
    /// Expected throttled invocations per month in this slot.
    pub throttles_per_month: f64,
    /// Largest predicted p99 latency over the slot's hours that a p99 objective checks
    /// (ms; 0 when it checks none of them, see [`crate::spec::p99_checked_hours`]).
    pub p99_ms: f64,
    /// Largest throttle share over the slot's hours.
    pub throttle_rate: f64,
    /// Account concurrency this level takes in each of the slot's hours (provisioned
    /// environments; reserved concurrency is on the candidate).
    pub account_concurrency: u32,
}

/// One slot of a candidate: some hours of the day that share one level.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CandidateSlot {
    /// Hours of the day (0–23) the slot covers.
    pub hours: Vec<usize>,
    /// Per level (indexed like [`Candidate::levels`]): the outcome, or `None` when the
    /// level is not allowed (a guardrail).
    pub levels: Vec<Option<LevelOutcome>>,
    /// Cold starts per month caused by entering this slot at each level when the
    /// previous slot ran at a higher level (see the optimiser's transition risk).
    pub potential: Vec<f64>,
}

/// A fixed configuration with per-slot levels to choose.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    /// Short text ("lambda 512 MB arm64").
    pub label: String,
    /// The configuration with a zero schedule; [`Candidate::deployment`] fills it in.
    pub template: Deployment,
    /// Set when guardrails forbid it.
    pub excluded: Option<Exclusion>,
    /// Monthly cost besides the slots (load balancer, ...).
    pub fixed_usd_per_month: f64,
    /// Level values shared by the slots (provisioned environments or tasks).
    pub levels: Vec<u32>,
    /// The slots: 24 hourly ones, or one covering the whole day.
    pub slots: Vec<CandidateSlot>,
    /// Invocations per month this candidate serves.
    pub invocations_per_month: f64,
    /// Reserved concurrency, which takes account concurrency every hour.
    pub reserved_concurrency: Option<u32>,
    /// Peak connections to each database the component uses.
    pub db_connections: f64,
}

impl Candidate {
    /// The deployment for one level index per slot.
    pub fn deployment(&self, level_index: &[usize]) -> Deployment {
        let mut hourly = [0u32; 24];
        for (slot, &l) in self.slots.iter().zip(level_index) {
            for &h in &slot.hours {
                hourly[h] = self.levels[l];
            }
        }
        let mut d = self.template.clone();
        match &mut d {
            Deployment::Lambda(l) => l.provisioned = crate::spec::Provisioned::from_hourly(hourly),
            // Target tracking: the level is the policy's minimum, and the template's
            // tasks are what it holds each hour without one.
            Deployment::Fargate(f) => match f.target_tracking.as_mut() {
                Some(rule) => {
                    rule.min_tasks = hourly[0];
                    for (t, &min) in f.tasks.iter_mut().zip(&hourly) {
                        *t = (*t).max(min);
                    }
                }
                None => f.tasks = hourly,
            },
        }
        d
    }
}

/// Prediction for one hour of the day.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HourPrediction {
    /// Invocations per month in this hour of the day.
    pub invocations_per_month: f64,
    /// Expected cold starts per month.
    pub cold_starts_per_month: f64,
    /// Expected throttles per month.
    pub throttles_per_month: f64,
    /// Predicted latency quantiles (ms), cold starts and queueing included.
    pub p50_ms: f64,
    /// See `p50_ms`.
    pub p95_ms: f64,
    /// See `p50_ms`.
    pub p99_ms: f64,
    /// Provisioned environments or tasks.
    pub level: u32,
    /// Busiest-minute concurrency expected (executions at once).
    pub peak_concurrency: f64,
    /// Monthly cost of this hour of the day.
    pub usd_per_month: f64,
}

/// Where the money goes.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CostBreakdown {
    /// Lambda requests.
    pub requests_usd_per_month: f64,
    /// Lambda duration (on-demand and on provisioned environments).
    pub duration_usd_per_month: f64,
    /// Lambda initialisation of on-demand environments (billed since August 2025).
    pub init_usd_per_month: f64,
    /// Lambda provisioned concurrency.
    pub provisioned_usd_per_month: f64,
    /// Fargate tasks.
    pub tasks_usd_per_month: f64,
    /// Load balancer.
    pub load_balancer_usd_per_month: f64,
}

impl CostBreakdown {
    /// The total.
    pub fn total(&self) -> f64 {
        self.requests_usd_per_month
            + self.duration_usd_per_month
            + self.init_usd_per_month
            + self.provisioned_usd_per_month
            + self.tasks_usd_per_month
            + self.load_balancer_usd_per_month
    }
}

/// A model assumption an explanation can cite.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assumption {
    /// Parameter name (`keep_alive_minutes`, `cpu_bound_fraction`, ...).
    pub name: String,
    /// Its value.
    pub value: String,
    /// Where it came from (`telemetry`, `default`, `config`, `runtime default`).
    pub source: String,
}

/// The prediction for a fully specified deployment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// What was evaluated.
    pub deployment: Deployment,
    /// Monthly cost (730 h).
    pub usd_per_month: f64,
    /// Its parts.
    pub cost: CostBreakdown,
    /// Per hour of day, 24 entries.
    pub hours: Vec<HourPrediction>,
    /// Invocations per month.
    pub invocations_per_month: f64,
    /// Cold starts per invocation over the month.
    pub cold_start_rate: f64,
    /// Throttles per invocation over the month.
    pub throttle_rate: f64,
    /// Latency over the whole month (ms), invocation-weighted across hours.
    pub p50_ms: f64,
    /// See `p50_ms`.
    pub p95_ms: f64,
    /// See `p50_ms`.
    pub p99_ms: f64,
    /// The worst p99 over the hours a p99 objective checks (see
    /// [`crate::spec::p99_checked_hours`]).
    pub worst_hour_p99_ms: f64,
    /// Peak connections to each database used.
    pub db_connections: f64,
    /// On-demand Lambda GB-seconds per month (duration and init), which decide the
    /// account's duration price tier.
    pub on_demand_gb_seconds_per_month: f64,
    /// What the prediction rests on.
    pub assumptions: Vec<Assumption>,
}

/// What comparing one deployment with others reads of its prediction: an
/// [`Evaluation`] without the month's latency quantiles and the assumptions, which only
/// the recommendation itself reports. An explanation outlines a handful of alternatives
/// per component; those two parts were about half of evaluating each.
#[derive(Clone, Debug, PartialEq)]
pub struct Outline {
    /// As [`Evaluation::usd_per_month`].
    pub usd_per_month: f64,
    /// As [`Evaluation::hours`].
    pub hours: Vec<HourPrediction>,
    /// As [`Evaluation::cold_start_rate`].
    pub cold_start_rate: f64,
    /// As [`Evaluation::throttle_rate`].
    pub throttle_rate: f64,
    /// As [`Evaluation::worst_hour_p99_ms`].
    pub worst_hour_p99_ms: f64,
}

impl From<Evaluation> for Outline {
    fn from(e: Evaluation) -> Self {
        Self {
            usd_per_month: e.usd_per_month,
            hours: e.hours,
            cold_start_rate: e.cold_start_rate,
            throttle_rate: e.throttle_rate,
            worst_hour_p99_ms: e.worst_hour_p99_ms,
        }
    }
}

/// A compute platform.
pub trait Platform: Send + Sync + fmt::Debug {
    /// Which platform.
    fn kind(&self) -> PlatformKind;

    /// Candidate configurations for the component, including those the guardrails
    /// exclude (marked). Empty when the component cannot run here at all.
    fn candidates(&self, ctx: &Context<'_>) -> Vec<Candidate>;

    /// Prediction for `deployment`, which must be of this platform.
    fn evaluate(&self, ctx: &Context<'_>, deployment: &Deployment) -> Option<Evaluation>;

    /// [`Platform::evaluate`]'s figures for comparing `deployment` with others, the
    /// same numbers for less work where a platform can skip the rest.
    fn outline(&self, ctx: &Context<'_>, deployment: &Deployment) -> Option<Outline> {
        self.evaluate(ctx, deployment).map(Outline::from)
    }
}

/// Every platform adaptd knows.
pub fn platforms() -> Vec<Box<dyn Platform>> {
    vec![Box::new(lambda::Lambda), Box::new(fargate::Fargate)]
}

/// The platform of `kind`.
pub fn platform(kind: PlatformKind) -> Box<dyn Platform> {
    platforms()
        .into_iter()
        .find(|p| p.kind() == kind)
        .expect("every kind is registered")
}

/// One hour's latency distribution: `dist`, with a share `shifted_share` of requests
/// delayed by `shift_ms` (cold starts, or queueing).
#[derive(Debug, Clone, Copy)]
pub(crate) struct MixturePart<'a> {
    pub weight: f64,
    pub dist: &'a crate::quantiles::QuantileSet,
    pub shifted_share: f64,
    pub shift_ms: f64,
}

/// Latency quantile over a month from per-hour mixtures, weighting hours by requests.
///
/// Hours often share one distribution (a source without per-hour percentiles, or a
/// shape's hours that share one): they are folded into one term per distribution and
/// shift first, so that the mixture has a few terms rather than two per hour. The
/// mixture is the same; only the order of the sums changes.
pub(crate) fn monthly_quantile(parts: &[MixturePart<'_>], p: f64) -> f64 {
    // (distribution, shift, weight).
    let mut terms: Vec<(&crate::quantiles::QuantileSet, f64, f64)> = Vec::new();
    for m in parts {
        for (shift, weight) in [
            (0.0, m.weight * (1.0 - m.shifted_share)),
            (m.shift_ms, m.weight * m.shifted_share),
        ] {
            match terms
                .iter_mut()
                .find(|t| std::ptr::eq(t.0, m.dist) && t.1.to_bits() == shift.to_bits())
            {
                Some(t) => t.2 += weight,
                None => terms.push((m.dist, shift, weight)),
            }
        }
    }
    crate::quantiles::mixture_quantile(&terms, p)
}

/// The worst p99 over the hours a p99 objective applies to.
pub(crate) fn worst_checked_p99(hours: &[HourPrediction]) -> f64 {
    let inv: Vec<f64> = hours.iter().map(|h| h.invocations_per_month).collect();
    let checked = crate::spec::p99_checked_hours(&inv);
    hours
        .iter()
        .enumerate()
        .filter(|&(h, x)| checked[h] && x.invocations_per_month > 0.0)
        .map(|(_, x)| x.p99_ms)
        .fold(0.0, f64::max)
}
