//! ECS on Fargate: task size (the valid vCPU/memory combinations), tasks per hour of
//! day, requests per task, architecture.
//!
//! Latency: an M/M/c queue with `c = tasks × per-task concurrency` slots (Erlang C). A
//! request's service time is its Lambda duration with the CPU-bound part rescaled: it
//! runs at `min(parallelism, vCPU)` vCPUs instead of the Lambda's share and is
//! stretched by `1 / (1 − ρ)` for the task's CPU utilisation `ρ` (processor sharing
//! among the requests in flight). Tasks are added until CPU stays under the target
//! utilisation and slots under 90 % busy. Each hour is sized for its 99th-percentile
//! minute, because a burst beyond the schedule waits `fargate_scaling_lag_minutes` for
//! target tracking. p99 response = p99 service time + p99 wait (an upper bound).
//!
//! Cost: tasks × (vCPU × vCPU-hour price + GB × GB-hour price) per hour, plus an
//! Application Load Balancer when an HTTP function leaves Lambda (hourly price plus
//! LCUs, assuming clients reuse a connection for 10 requests: 1 LCU per 250 req/s).
//! At least two tasks run, one per availability zone.

pub mod queueing;
pub mod sizes;

use crate::options::lambda::memory::DurationLaw;
use crate::options::{
    Assumption, Candidate, CandidateSlot, Context, CostBreakdown, Evaluation, Exclusion,
    HourPrediction, LevelOutcome, MixturePart, Platform, monthly_quantile, worst_checked_p99,
};
use crate::profile::lambda_vcpu;
use crate::quantiles::QuantileSet;
use crate::spec::{Architecture, Deployment, FargateConfig, PlatformKind};

/// Tasks kept running at least (one per availability zone).
pub const MIN_TASKS: u32 = 2;
/// Most tasks adaptd sizes a service for.
const MAX_TASKS: u32 = 5_000;
/// Requests per task considered.
const PER_TASK_CONCURRENCY: [u32; 7] = [1, 2, 4, 8, 16, 32, 64];
/// vCPU sizes considered.
const VCPUS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];
/// A slot is never planned above this utilisation, so queues stay finite.
const MAX_SLOT_UTILIZATION: f64 = 0.9;
/// Requests per second per load-balancer capacity unit (see the module doc).
const REQUESTS_PER_LCU_SECOND: f64 = 250.0;

/// The Fargate platform.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fargate;

/// What a task size implies for one function.
struct Sizing<'a> {
    ctx: &'a Context<'a>,
    vcpu: f64,
    memory_mb: u32,
    arch: Architecture,
    per_task: u32,
    /// Durations as observed (ms) per hour.
    observed: Vec<Option<QuantileSet>>,
    /// CPU-bound share of the observed duration.
    cpu_bound: f64,
    /// vCPUs the observed invocations ran with.
    observed_speed: f64,
    /// vCPUs one request can use on this task when it runs alone.
    speed: f64,
    /// Duration factor of the architecture change.
    arch_factor: f64,
    /// CPU seconds a request consumes.
    cpu_seconds: f64,
    /// Arrival rate to size each hour for (per second).
    rate: Vec<f64>,
    task_usd_per_hour: f64,
}

impl<'a> Sizing<'a> {
    fn new(
        ctx: &'a Context<'a>,
        vcpu: f64,
        memory_mb: u32,
        arch: Architecture,
        per_task: u32,
    ) -> Option<Self> {
        let law = DurationLaw::of(ctx);
        let f = law.cpu_bound_fraction.0;
        let par = law.parallelism;
        let observed_speed = match &ctx.spec.current {
            Deployment::Lambda(_) => lambda_vcpu(law.observed_memory_mb, par),
            Deployment::Fargate(c) => (c.vcpu / f64::from(c.per_task_concurrency.max(1))).min(par),
        };
        let arch_factor = match (law.observed_architecture, arch) {
            (Architecture::X86_64, Architecture::Arm64) => law.arm64_factor,
            (Architecture::Arm64, Architecture::X86_64) => 1.0 / law.arm64_factor,
            _ => 1.0,
        };
        let mut observed = Vec::with_capacity(24);
        let mut rate = Vec::with_capacity(24);
        for h in 0..24 {
            let hp = &ctx.profile.hours[h];
            let d = ctx.profile.duration_for_hour(h);
            if d.is_none() && hp.invocations > 0.0 {
                return None;
            }
            observed.push(d.cloned());
            rate.push(hp.count_quantile(0.99) / 60.0);
        }
        let mean_observed_ms = ctx
            .profile
            .duration_ms
            .as_ref()
            .map_or(0.0, QuantileSet::mean);
        Some(Self {
            ctx,
            vcpu,
            memory_mb,
            arch,
            per_task,
            observed,
            cpu_bound: f,
            observed_speed,
            speed: vcpu.min(par),
            arch_factor,
            cpu_seconds: f * mean_observed_ms / 1000.0 * observed_speed,
            rate,
            task_usd_per_hour: ctx.prices.fargate.task_usd_per_hour(arch, vcpu, memory_mb),
        })
    }

    /// CPU utilisation of `n` tasks in hour `h`.
    fn cpu_utilization(&self, h: usize, n: u32) -> f64 {
        self.rate[h] * self.cpu_seconds / (f64::from(n.max(1)) * self.vcpu)
    }

    /// Service time in hour `h` with `n` tasks: the CPU-bound part runs at the task's
    /// speed and is stretched by processor sharing (`1 / (1 − ρ)`), the rest is as
    /// observed.
    fn service(&self, h: usize, n: u32) -> Option<QuantileSet> {
        let d = self.observed[h].as_ref()?;
        let rho = self.cpu_utilization(h, n).min(0.99);
        let cpu = self.cpu_bound * self.observed_speed / self.speed / (1.0 - rho);
        Some(d.scaled((cpu + 1.0 - self.cpu_bound) * self.arch_factor))
    }

    /// Smallest task count that keeps CPU under target and slots under 90 % busy.
    fn stable_tasks(&self, h: usize) -> u32 {
        let Some(d) = &self.observed[h] else {
            return MIN_TASKS;
        };
        let lambda = self.rate[h];
        let target = self
            .ctx
            .spec
            .model
            .fargate_target_cpu_utilization
            .clamp(0.05, 1.0);
        let by_cpu = (lambda * self.cpu_seconds / (self.vcpu * target)).ceil() as u32;
        let mut n = by_cpu.max(MIN_TASKS);
        // Slots depend on the service time, which depends on n: iterate to a fixpoint.
        for _ in 0..64 {
            let mean_s = self.service(h, n).map_or(d.mean(), |s| s.mean()) / 1000.0;
            let by_slots =
                (lambda * mean_s / (f64::from(self.per_task) * MAX_SLOT_UTILIZATION)).ceil() as u32;
            if by_slots <= n {
                break;
            }
            n = by_slots;
        }
        n
    }

    /// Latency quantiles (ms) of hour `h` with `n` tasks.
    fn latency(&self, h: usize, n: u32) -> (f64, f64, f64) {
        let Some(s) = self.service(h, n) else {
            return (0.0, 0.0, 0.0);
        };
        let c = n.saturating_mul(self.per_task);
        let mean_s = s.mean() / 1000.0;
        let q =
            |p: f64| s.quantile(p) + 1000.0 * queueing::wait_quantile(c, self.rate[h], mean_s, p);
        (q(0.5), q(0.95), q(0.99))
    }

    /// Tasks per hour: stable, and meeting the SLO's p99 when one is set and reachable.
    fn planned_tasks(&self, h: usize) -> Option<u32> {
        let mut n = self.stable_tasks(h);
        let Some(target) = self.ctx.spec.slo.p99_ms else {
            return Some(n);
        };
        while n <= MAX_TASKS {
            if self.latency(h, n).2 <= target {
                return Some(n);
            }
            // Once waits and CPU contention are gone more tasks cannot help.
            let floor = self.observed[h].as_ref().map_or(0.0, |d| {
                d.quantile(0.99)
                    * (self.cpu_bound * self.observed_speed / self.speed + 1.0 - self.cpu_bound)
                    * self.arch_factor
            });
            if self.latency(h, n).2 <= floor * (1.0 + 1e-3) {
                return None;
            }
            n += (n / 8).max(1);
        }
        None
    }

    fn hour_usd(&self, n: u32) -> f64 {
        f64::from(n) * self.task_usd_per_hour * self.ctx.prices.hour_buckets_per_month()
    }
}

fn load_balancer_usd_per_month(ctx: &Context<'_>) -> f64 {
    let leaves_lambda = matches!(ctx.spec.current, Deployment::Lambda(_));
    let http = ctx.spec.trigger.as_deref() == Some("http");
    if !(leaves_lambda && http) {
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

impl Platform for Fargate {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Fargate
    }

    fn candidates(&self, ctx: &Context<'_>) -> Vec<Candidate> {
        if !ctx.profile.has_traffic_data() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for arch in [Architecture::X86_64, Architecture::Arm64] {
            // Pre-optimise the size: Fargate shares no limit with other components, so
            // the cheapest size that meets the SLO in every hour is the only one worth
            // handing to the optimiser.
            let mut best: Option<(f64, Sizing<'_>, Vec<u32>)> = None;
            for vcpu in VCPUS {
                for per_task in PER_TASK_CONCURRENCY {
                    let Some(mem) = sizes::smallest_memory(vcpu, memory_need_mb(ctx, per_task))
                    else {
                        continue;
                    };
                    let Some(sizing) = Sizing::new(ctx, vcpu, mem, arch, per_task) else {
                        continue;
                    };
                    let Some(tasks) = (0..24)
                        .map(|h| sizing.planned_tasks(h))
                        .collect::<Option<Vec<u32>>>()
                    else {
                        continue;
                    };
                    let tasks = if ctx.spec.guardrails.allow_schedules {
                        tasks
                    } else {
                        vec![*tasks.iter().max().unwrap_or(&MIN_TASKS); 24]
                    };
                    let cost: f64 = tasks.iter().map(|&n| sizing.hour_usd(n)).sum();
                    if best.as_ref().is_none_or(|b| cost < b.0) {
                        best = Some((cost, sizing, tasks));
                    }
                }
            }
            if let Some((_, sizing, tasks)) = best {
                out.push(candidate(ctx, &sizing, &tasks, exclusion(ctx, arch)));
            }
        }
        out
    }

    fn evaluate(&self, ctx: &Context<'_>, deployment: &Deployment) -> Option<Evaluation> {
        let Deployment::Fargate(cfg) = deployment else {
            return None;
        };
        let sizing = Sizing::new(
            ctx,
            cfg.vcpu,
            cfg.memory_mb,
            cfg.architecture,
            cfg.per_task_concurrency.max(1),
        )?;
        let occ = ctx.prices.hour_buckets_per_month();
        let mut hours = Vec::with_capacity(24);
        for h in 0..24 {
            let n = cfg.tasks[h];
            let (p50, p95, p99) = sizing.latency(h, n);
            let hp = &ctx.profile.hours[h];
            hours.push(HourPrediction {
                invocations_per_month: if hp.minutes_observed > 0 {
                    hp.invocations / hp.days() * occ
                } else {
                    0.0
                },
                p50_ms: p50,
                p95_ms: p95,
                p99_ms: p99,
                level: n,
                peak_concurrency: sizing.rate[h]
                    * sizing.service(h, n).as_ref().map_or(0.0, QuantileSet::mean)
                    / 1000.0,
                usd_per_month: sizing.hour_usd(n),
                ..HourPrediction::default()
            });
        }
        let cost = CostBreakdown {
            tasks_usd_per_month: hours.iter().map(|h| h.usd_per_month).sum(),
            load_balancer_usd_per_month: load_balancer_usd_per_month(ctx),
            ..CostBreakdown::default()
        };
        let invocations: f64 = hours.iter().map(|h| h.invocations_per_month).sum();
        // Month-level quantiles: each hour's response time as its service distribution
        // delayed by that hour's p99 wait (conservative).
        let services: Vec<(usize, QuantileSet)> = (0..24)
            .filter_map(|h| Some((h, sizing.service(h, cfg.tasks[h])?)))
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
        let law = DurationLaw::of(ctx);
        let mut assumptions = law.assumptions();
        assumptions.extend([
            Assumption {
                name: "fargate_min_tasks".into(),
                value: MIN_TASKS.to_string(),
                source: "model".into(),
            },
            Assumption {
                name: "fargate_sized_for".into(),
                value: "each hour's 99th-percentile minute".into(),
                source: "model".into(),
            },
            Assumption {
                name: "fargate_target_cpu_utilization".into(),
                value: format!("{}", ctx.spec.model.fargate_target_cpu_utilization),
                source: "model".into(),
            },
        ]);
        if cost.load_balancer_usd_per_month > 0.0 {
            assumptions.push(Assumption {
                name: "load_balancer".into(),
                value: "new ALB, 10 requests per connection".into(),
                source: "model".into(),
            });
        }
        Some(Evaluation {
            deployment: deployment.clone(),
            usd_per_month: cost.total(),
            cost,
            invocations_per_month: invocations,
            cold_start_rate: 0.0,
            throttle_rate: 0.0,
            p50_ms: q(0.5),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
            worst_hour_p99_ms: worst_checked_p99(&hours),
            db_connections: f64::from(
                cfg.tasks.iter().copied().max().unwrap_or(0) * cfg.per_task_concurrency,
            ),
            on_demand_gb_seconds_per_month: 0.0,
            hours,
            assumptions,
        })
    }
}

fn candidate(
    ctx: &Context<'_>,
    sizing: &Sizing<'_>,
    planned: &[u32],
    excluded: Option<Exclusion>,
) -> Candidate {
    let mut levels: Vec<u32> = planned.to_vec();
    levels.extend((0..24).map(|h| sizing.stable_tasks(h)));
    levels.sort_unstable();
    levels.dedup();
    let invocations: Vec<f64> = ctx.profile.hours.iter().map(|h| h.invocations).collect();
    let checked = crate::spec::p99_checked_hours(&invocations);
    let outcome = |h: usize, n: u32| -> Option<LevelOutcome> {
        (n >= sizing.stable_tasks(h)).then(|| LevelOutcome {
            usd_per_month: sizing.hour_usd(n),
            cold_starts_per_month: 0.0,
            throttles_per_month: 0.0,
            p99_ms: if checked[h] {
                sizing.latency(h, n).2
            } else {
                0.0
            },
            throttle_rate: 0.0,
            account_concurrency: 0,
        })
    };
    let slots = if ctx.spec.guardrails.allow_schedules {
        (0..24)
            .map(|h| CandidateSlot {
                hours: vec![h],
                levels: levels.iter().map(|&n| outcome(h, n)).collect(),
                potential: Vec::new(),
            })
            .collect()
    } else {
        vec![CandidateSlot {
            hours: (0..24).collect(),
            levels: levels
                .iter()
                .map(|&n| {
                    let parts = (0..24).map(|h| outcome(h, n)).collect::<Option<Vec<_>>>()?;
                    Some(LevelOutcome {
                        usd_per_month: parts.iter().map(|o| o.usd_per_month).sum(),
                        p99_ms: parts.iter().map(|o| o.p99_ms).fold(0.0, f64::max),
                        ..parts[0].clone()
                    })
                })
                .collect(),
            potential: Vec::new(),
        }]
    };
    let occ = ctx.prices.hour_buckets_per_month();
    Candidate {
        label: format!(
            "fargate {} vCPU {} MB {}, {} per task",
            sizing.vcpu, sizing.memory_mb, sizing.arch, sizing.per_task
        ),
        template: Deployment::Fargate(FargateConfig {
            vcpu: sizing.vcpu,
            memory_mb: sizing.memory_mb,
            architecture: sizing.arch,
            tasks: [0; 24],
            per_task_concurrency: sizing.per_task,
        }),
        excluded,
        fixed_usd_per_month: load_balancer_usd_per_month(ctx),
        levels,
        slots,
        invocations_per_month: ctx
            .profile
            .hours
            .iter()
            .filter(|h| h.minutes_observed > 0)
            .map(|h| h.invocations / h.days() * occ)
            .sum(),
        reserved_concurrency: None,
        db_connections: f64::from(planned.iter().copied().max().unwrap_or(0) * sizing.per_task),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::lambda::tests::{flat_profile, lambda_spec};
    use crate::prices::PriceSheet;
    use crate::spec::{FargateConfig, PlatformKind, Provisioned};

    #[test]
    fn two_small_tasks_cost_what_the_price_sheet_says() {
        // 2 × (0.5 vCPU × $0.04048 + 1 GB × $0.004445) × 730 h = $36.0401.
        let profile = flat_profile(60.0, 100.0, 0.0);
        let mut spec = lambda_spec(1024, Provisioned::None);
        spec.current = Deployment::Fargate(FargateConfig {
            vcpu: 0.5,
            memory_mb: 1024,
            architecture: Architecture::X86_64,
            tasks: [2; 24],
            per_task_concurrency: 4,
        });
        let prices = PriceSheet::us_east_1();
        let ctx = Context::new(&spec, &profile, &prices);
        let e = Fargate.evaluate(&ctx, &spec.current).unwrap();
        assert!(
            (e.usd_per_month - 36.0401).abs() < 1e-4,
            "{}",
            e.usd_per_month
        );
        assert_eq!(e.cost.load_balancer_usd_per_month, 0.0);
        assert_eq!(e.cold_start_rate, 0.0);
        // 1 req/s of 100 ms on 8 slots: no queueing to speak of.
        assert!(e.p99_ms < 110.0, "{}", e.p99_ms);
    }

    #[test]
    fn an_http_function_leaving_lambda_pays_for_a_load_balancer() {
        let profile = flat_profile(60.0, 100.0, 0.0);
        let mut spec = lambda_spec(1024, Provisioned::None);
        spec.trigger = Some("http".into());
        let prices = PriceSheet::us_east_1();
        let ctx = Context::new(&spec, &profile, &prices);
        let c = Fargate.candidates(&ctx);
        assert_eq!(c.len(), 2);
        // $0.0225 × 730 h plus 1 req/s / 250 LCU × $0.008 × 730 h.
        let expected = 0.0225 * 730.0 + 0.008 * 730.0 / 250.0;
        assert!(
            (c[0].fixed_usd_per_month - expected).abs() < 1e-9,
            "{}",
            c[0].fixed_usd_per_month
        );
        assert!(c[0].excluded.is_none());
        assert_eq!(c[1].excluded.as_ref().unwrap().guardrail, "allow_arm64");
        spec.guardrails.allowed_platforms = [PlatformKind::Lambda].into();
        let ctx = Context::new(&spec, &profile, &prices);
        assert!(
            Fargate
                .candidates(&ctx)
                .iter()
                .all(|c| c.excluded.as_ref().unwrap().guardrail == "allowed_platforms")
        );
    }

    #[test]
    fn a_p99_target_buys_tasks_until_queueing_fits() {
        // 50 req/s of 200 ms, IO-bound: 10 in flight on average.
        let mut profile = flat_profile(3000.0, 200.0, 0.0);
        profile.duration_memory_mb = Some(1024.0);
        let mut spec = lambda_spec(1024, Provisioned::None);
        spec.model.cpu_bound_fraction = Some(0.0);
        spec.slo.p99_ms = Some(250.0);
        let prices = PriceSheet::us_east_1();
        let ctx = Context::new(&spec, &profile, &prices);
        let best = &Fargate.candidates(&ctx)[0];
        let choice: Vec<usize> = best
            .slots
            .iter()
            .map(|s| {
                s.levels
                    .iter()
                    .position(|o| o.as_ref().is_some_and(|o| o.p99_ms <= 250.0))
                    .unwrap()
            })
            .collect();
        let e = Fargate.evaluate(&ctx, &best.deployment(&choice)).unwrap();
        assert!(e.worst_hour_p99_ms <= 250.0, "{}", e.worst_hour_p99_ms);
    }
}
