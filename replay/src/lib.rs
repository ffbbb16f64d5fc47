//! adaptd's replay simulator: per-minute traffic replayed invocation by invocation
//! against a Lambda or Fargate configuration, the AWS target-tracking baseline, and the
//! hindsight oracle.
//!
//! It is the instrument that measures the quality of adaptd's decisions, so it shares
//! nothing with the engine's analytic latency model (which it exists to check) and
//! everything with the engine's prices and duration law (so that a difference between
//! the two is a modelling difference, never a pricing one). It is pure: no I/O, no
//! clock, no async runtime, and every figure is reproducible from (workload, policy,
//! parameters, price sheet, seed).
//!
//! # Replay rules
//!
//! The same rules, with examples, are in `docs/replay.md`.
//!
//! - **Arrivals.** Minute `i` of the window draws from its own xoshiro256++ stream
//!   (seeded by SplitMix64 from the seed and the absolute minute): `count` arrival
//!   instants uniform over the minute, sorted, then `count` durations by inverse CDF
//!   from the minute's [`QuantileSet`](adaptd_engine::quantiles::QuantileSet), handed
//!   to the arrivals in time order ([`draws`]). The draws never depend on the policy.
//!   Timer-triggered workloads ([`workload::Arrivals::Periodic`]) instead arrive
//!   evenly spaced at one fixed phase, because timers fire on the clock.
//! - **Durations** are scaled by the engine's law: `duration_factor(observed MB, MB,
//!   f, parallelism)` × the arm64 factor when the architecture differs (Lambda), or the
//!   engine's CPU-sharing law at the minute's task CPU utilisation (Fargate: the
//!   task's vCPUs shared by the requests in flight; [`Workload::lambda_factor`],
//!   [`Workload::cpu_share`]).
//! - **Lambda environments** (`lambda.rs`): a free provisioned environment first, then
//!   (unless reserved concurrency is exhausted: throttle) the most recently used warm
//!   on-demand one, else a new environment and a cold start (init added to latency and
//!   busy time). Idle on-demand environments are reclaimed after the keep-alive. The
//!   on-demand pool starts empty; the first hour's provisioned environments are ready.
//! - **Capacity** (`capacity.rs`) changes at minute starts. A scheduled increase for
//!   hour `h` is issued `allocation_delay` minutes before `h` and ready at `h`; a
//!   decrease takes effect at `h` (busy environments finish first). Under target
//!   tracking, capacity requested at `t` is ready at `t + delay` ([`policy`]).
//! - **Billing** (`billing.rs`): the engine's Lambda rules — requests, per-invocation
//!   rounded duration at the on-demand or provisioned-duration price, init of on-demand
//!   cold starts — plus provisioned concurrency per environment from enable (issue) to
//!   disable, each interval rounded up to 5 minutes; Fargate task-seconds from launch
//!   to stop, one-minute minimum. Monthly cost = window cost × 730 h / window length.
//! - **Fargate** (`fargate.rs`): FIFO queue over `tasks × per-task concurrency` slots.
//! - **Output** ([`ReplayResult`]): per UTC hour and in total — cost by item,
//!   invocations, served, cold starts, throttles, spillover, latency p50/p95/p99 from a
//!   sketch within 0.79 % and exact max, peak concurrency — and per minute the ready
//!   capacity and the utilisation datapoint target tracking reads.
//! - **Oracle** ([`oracle()`]): the cheapest hourly provisioned-concurrency schedule
//!   (and memory) meeting a cold-start and throttle SLO on the replayed trace itself,
//!   by coordinate descent over exact replays: a strong heuristic, not a proof.

mod billing;
mod capacity;
pub mod draws;
mod error;
mod fargate;
mod lambda;
pub mod oracle;
pub mod policy;
pub mod result;
pub mod rng;
pub mod sketch;
pub mod workload;

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::spec::{Deployment, FargateConfig, LambdaConfig, TrackingMetric};

pub use error::ReplayError;
pub use oracle::{OracleResult, OracleSpace, ReplaySlo, oracle};
pub use policy::{Alarms, FargateTargetTracking, Policy, TargetTracking};
pub use result::{Cost, Latency, ReplayResult, Summary};
pub use workload::{Workload, WorkloadOptions};

use billing::Rates;
use draws::{Draws, OnTheFly};
use fargate::{FargateSim, TaskControl};
use lambda::{Control, LambdaSim, hour_spans};
use policy::TrackingRule;
use result::HourAcc;

/// Replay parameters; the defaults are documented on each field.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// How long an idle on-demand environment stays warm (minutes). Default 10, the
    /// engine's default (AWS does not publish it).
    pub keep_alive_minutes: u32,
    /// Minutes between requesting provisioned concurrency and its being ready; also how
    /// early scheduled increases are issued. Default 2. Must be under 60.
    pub allocation_delay_minutes: u32,
    /// Minutes between launching a Fargate task and its serving (scale-out lag and
    /// schedule lead). Default 2. Must be under 60.
    pub task_start_minutes: u32,
    /// Init time when the workload has none (ms). Default 600, the engine's default for
    /// an unknown runtime.
    pub init_duration_ms: f64,
    /// Seed of the arrival and duration draws. Default 0.
    pub seed: u64,
    /// Start the window with warm on-demand environments, as if the same traffic had
    /// run before it: the busiest of the first keep-alive minutes finds that many warm.
    /// Without it (the default) the window's first invocations all pay a cold start, an
    /// edge effect a short trace charges to every policy; backtests turn it on.
    pub warm_start: bool,
    /// The load balancer's timeout (ms) when requests to a Fargate service come through
    /// one: requests waiting longer for a slot count as throttles (504s). Default none.
    pub http_timeout_ms: Option<f64>,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            keep_alive_minutes: 10,
            allocation_delay_minutes: 2,
            task_start_minutes: 2,
            init_duration_ms: 600.0,
            seed: 0,
            warm_start: false,
            http_timeout_ms: None,
        }
    }
}

impl Params {
    fn validate(&self) -> Result<(), ReplayError> {
        if self.allocation_delay_minutes >= 60 || self.task_start_minutes >= 60 {
            return Err(ReplayError::Params(format!(
                "allocation delay ({}) and task start ({}) must be under 60 minutes, so that a scheduled change is issued within the hour before it",
                self.allocation_delay_minutes, self.task_start_minutes
            )));
        }
        if !(self.init_duration_ms.is_finite() && self.init_duration_ms >= 0.0) {
            return Err(ReplayError::Params(format!(
                "init_duration_ms = {} must be ≥ 0",
                self.init_duration_ms
            )));
        }
        Ok(())
    }
}

/// Replays `w` under `policy`.
pub fn replay(
    w: &Workload,
    policy: &Policy,
    params: &Params,
    prices: &PriceSheet,
) -> Result<ReplayResult, ReplayError> {
    w.validate()?;
    params.validate()?;
    let mut draws = OnTheFly::new(w, params.seed);
    match policy {
        Policy::Static(Deployment::Lambda(cfg)) => {
            check_lambda(cfg)?;
            let sim = lambda_sim(
                w,
                cfg.memory_mb,
                cfg,
                Control::Schedule(cfg.provisioned.hourly()),
                params,
                prices,
                true,
            );
            Ok(run_lambda(&sim, &mut draws, params, prices, cfg))
        }
        Policy::TargetTracking(tt) => {
            if !(tt.target > 0.0 && tt.target <= 1.0) || tt.min_capacity > tt.max_capacity {
                return Err(ReplayError::Config(format!(
                    "target tracking needs 0 < target ≤ 1 and min ≤ max (target {}, min {}, max {})",
                    tt.target, tt.min_capacity, tt.max_capacity
                )));
            }
            let cfg = LambdaConfig {
                memory_mb: tt.memory_mb,
                architecture: tt.architecture,
                provisioned: adaptd_engine::spec::Provisioned::None,
                reserved_concurrency: tt.reserved_concurrency,
            };
            check_lambda(&cfg)?;
            if let Some(r) = tt.reserved_concurrency
                && tt.max_capacity > r
            {
                return Err(ReplayError::Config(format!(
                    "max capacity {} exceeds reserved concurrency {r}",
                    tt.max_capacity
                )));
            }
            let rule = TrackingRule {
                target: tt.target,
                min: tt.min_capacity,
                max: tt.max_capacity,
                alarms: tt.alarms,
            };
            let sim = lambda_sim(
                w,
                tt.memory_mb,
                &cfg,
                Control::Tracking(rule),
                params,
                prices,
                true,
            );
            Ok(run_lambda(&sim, &mut draws, params, prices, &cfg))
        }
        Policy::Static(Deployment::Fargate(cfg)) => {
            check_fargate(cfg)?;
            let control = match &cfg.target_tracking {
                None => TaskControl::Schedule(cfg.tasks),
                Some(t) => {
                    if !(t.target_value.is_finite() && t.target_value > 0.0)
                        || t.min_tasks > t.max_tasks
                    {
                        return Err(ReplayError::Config(format!(
                            "target tracking needs a target > 0 and min ≤ max (target {}, min {}, max {})",
                            t.target_value, t.min_tasks, t.max_tasks
                        )));
                    }
                    let target = match t.metric {
                        TrackingMetric::Cpu => (t.target_value / 100.0).min(1.0),
                        TrackingMetric::AlbRequestCountPerTarget => t.target_value,
                    };
                    let rule = TrackingRule {
                        target,
                        min: t.min_tasks,
                        max: t.max_tasks,
                        alarms: Alarms::ECS,
                    };
                    let initial = cfg.tasks[w.timezone.hour_of_day(w.start)];
                    TaskControl::Tracking(rule, initial, t.metric)
                }
            };
            let sim = FargateSim {
                w,
                config: cfg,
                control,
                lag: i64::from(params.task_start_minutes),
                record_latency: true,
                timeout_ms: params.http_timeout_ms,
            };
            let accs = sim.run(&mut draws);
            let rates = Rates::fargate(prices, cfg.vcpu, cfg.memory_mb, cfg.architecture);
            Ok(assemble(w, params.seed, &rates, accs, prices))
        }
        Policy::FargateTargetTracking(ft) => {
            check_fargate(&ft.config)?;
            if !(ft.target > 0.0 && ft.target <= 1.0) || ft.min_tasks > ft.max_tasks {
                return Err(ReplayError::Config(format!(
                    "target tracking needs 0 < target ≤ 1 and min ≤ max (target {}, min {}, max {})",
                    ft.target, ft.min_tasks, ft.max_tasks
                )));
            }
            let rule = TrackingRule {
                target: ft.target,
                min: ft.min_tasks,
                max: ft.max_tasks,
                alarms: ft.alarms,
            };
            let initial = ft.config.tasks[w.timezone.hour_of_day(w.start)];
            let sim = FargateSim {
                w,
                config: &ft.config,
                control: TaskControl::Tracking(rule, initial, TrackingMetric::Cpu),
                lag: i64::from(params.task_start_minutes),
                record_latency: true,
                timeout_ms: params.http_timeout_ms,
            };
            let accs = sim.run(&mut draws);
            let c = &ft.config;
            let rates = Rates::fargate(prices, c.vcpu, c.memory_mb, c.architecture);
            Ok(assemble(w, params.seed, &rates, accs, prices))
        }
    }
}

fn check_lambda(cfg: &LambdaConfig) -> Result<(), ReplayError> {
    if cfg.memory_mb == 0 {
        return Err(ReplayError::Config("Lambda memory must be > 0 MB".into()));
    }
    if let Some(r) = cfg.reserved_concurrency
        && cfg.provisioned.peak() > r
    {
        return Err(ReplayError::Config(format!(
            "provisioned concurrency {} exceeds reserved concurrency {r}",
            cfg.provisioned.peak()
        )));
    }
    Ok(())
}

fn check_fargate(cfg: &FargateConfig) -> Result<(), ReplayError> {
    if !(cfg.vcpu.is_finite() && cfg.vcpu > 0.0) || cfg.memory_mb == 0 {
        return Err(ReplayError::Config(format!(
            "Fargate task needs vCPU > 0 and memory > 0 (got {} vCPU, {} MB)",
            cfg.vcpu, cfg.memory_mb
        )));
    }
    if cfg.per_task_concurrency == 0 {
        return Err(ReplayError::Config(
            "Fargate per-task concurrency must be ≥ 1".into(),
        ));
    }
    Ok(())
}

/// The Lambda simulator of one configuration.
pub(crate) fn lambda_sim<'a>(
    w: &'a Workload,
    memory_mb: u32,
    cfg: &LambdaConfig,
    control: Control,
    params: &Params,
    prices: &PriceSheet,
    record_latency: bool,
) -> LambdaSim<'a> {
    LambdaSim {
        w,
        factor: w.lambda_factor(memory_mb, cfg.architecture),
        init_ms: w.init_duration_ms.unwrap_or(params.init_duration_ms),
        keep_alive_ms: f64::from(params.keep_alive_minutes) * draws::MINUTE_MS,
        reserved: cfg.reserved_concurrency,
        delay: i64::from(params.allocation_delay_minutes),
        rounding_ms: prices.lambda.duration_rounding_ms.max(1e-9),
        granularity_seconds: prices.lambda.provisioned_billing_granularity_seconds,
        record_latency,
        warm_start: params.warm_start,
        control,
        spans: hour_spans(w.start, w.minutes()),
    }
}

fn run_lambda(
    sim: &LambdaSim<'_>,
    draws: &mut impl Draws,
    params: &Params,
    prices: &PriceSheet,
    cfg: &LambdaConfig,
) -> ReplayResult {
    let mut st = sim.initial_state();
    let accs: Vec<HourAcc> = (0..sim.spans.len())
        .map(|h| sim.run_hour(&mut st, h, draws))
        .collect();
    let rates = Rates::lambda(prices, cfg.memory_mb, cfg.architecture);
    assemble(sim.w, params.seed, &rates, accs, prices)
}

/// Prices the hours and sums them up.
pub(crate) fn assemble(
    w: &Workload,
    seed: u64,
    rates: &Rates,
    accs: Vec<HourAcc>,
    prices: &PriceSheet,
) -> ReplayResult {
    let mut total = Summary {
        start: w.start,
        minutes: w.minutes() as u32,
        ..Summary::default()
    };
    let mut sketch = sketch::Sketch::default();
    let mut capacity = Vec::with_capacity(w.minutes());
    let mut utilization = Vec::with_capacity(w.minutes());
    let mut events = 0;
    let mut hours = Vec::with_capacity(accs.len());
    for acc in accs {
        let s = Summary {
            start: acc.start,
            minutes: acc.minutes,
            cost: rates.cost(&acc),
            invocations: acc.invocations,
            served: acc.served,
            cold_starts: acc.cold,
            throttles: acc.throttles,
            provisioned_invocations: acc.provisioned,
            spillover: acc.spillover,
            latency: latency(&acc.latency),
            peak_concurrency: acc.peak,
            capacity_seconds: acc.capacity_seconds,
            on_demand_gb_seconds: rates.on_demand_gb_seconds(&acc),
        };
        total.cost.add(&s.cost);
        total.invocations += s.invocations;
        total.served += s.served;
        total.cold_starts += s.cold_starts;
        total.throttles += s.throttles;
        total.provisioned_invocations += s.provisioned_invocations;
        total.spillover += s.spillover;
        total.peak_concurrency = total.peak_concurrency.max(s.peak_concurrency);
        total.capacity_seconds += s.capacity_seconds;
        total.on_demand_gb_seconds += s.on_demand_gb_seconds;
        sketch.merge(&acc.latency);
        capacity.extend_from_slice(&acc.capacity);
        utilization.extend_from_slice(&acc.utilization);
        events += acc.events;
        hours.push(s);
    }
    total.latency = latency(&sketch);
    let per_month = if w.minutes() > 0 {
        prices.hours_per_month * 60.0 / w.minutes() as f64
    } else {
        0.0
    };
    ReplayResult {
        workload: w.name.clone(),
        seed,
        cost_per_month: total.cost.scaled(per_month),
        hours,
        total,
        capacity,
        utilization,
        missing_minutes: w.missing_minutes.len() as u32,
        events,
    }
}

fn latency(s: &sketch::Sketch) -> Option<Latency> {
    Some(Latency {
        p50_ms: s.quantile(0.50)?,
        p95_ms: s.quantile(0.95)?,
        p99_ms: s.quantile(0.99)?,
        max_ms: s.max()?,
    })
}
