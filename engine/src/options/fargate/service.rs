//! One task size for one component: service times, tasks needed, latency and price per
//! hour of the day. Shared by scheduled and target-tracking options.

use std::sync::Arc;

use crate::cpu_share::CpuShare;
use crate::options::Context;
use crate::options::lambda::memory::DurationLaw;
use crate::quantiles::QuantileSet;
use crate::spec::{Architecture, Deployment, default_task_start_seconds};

use super::queueing;

/// Tasks kept running at least (one per availability zone).
pub const MIN_TASKS: u32 = 2;
/// Most tasks adaptd sizes a service for.
pub(crate) const MAX_TASKS: u32 = 5_000;
/// A slot is never planned above this utilisation, so queues stay finite.
pub(crate) const MAX_SLOT_UTILIZATION: f64 = 0.9;
/// A request that waits longer than this for a slot counts as Fargate's cold start: it
/// met a service without capacity (a burst target tracking had not caught up with), as
/// a Lambda request meets a new environment. The replay counts the same.
pub const COLD_WAIT_MS: f64 = 1_000.0;
/// An Application Load Balancer answers 504 when a target has not answered within its
/// idle timeout (60 s by default): HTTP requests that wait longer are errors.
pub const ALB_TIMEOUT_MS: f64 = 60_000.0;

/// Where the task start time came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskStart {
    /// Seconds from launch to serving.
    pub seconds: f64,
    /// `telemetry`, `config` or `default by image size`.
    pub source: &'static str,
}

impl TaskStart {
    /// Telemetry (a Fargate service's measured starts, reported as its init duration),
    /// else the config, else the image-size default.
    pub fn of(ctx: &Context<'_>) -> Self {
        let m = &ctx.spec.model;
        match (&ctx.spec.current, ctx.profile.init_duration_ms) {
            (Deployment::Fargate(_), Some(ms)) => TaskStart {
                seconds: ms / 1000.0,
                source: "telemetry",
            },
            _ => match m.fargate_task_start_seconds {
                Some(s) => TaskStart {
                    seconds: s,
                    source: "config",
                },
                None => TaskStart {
                    seconds: default_task_start_seconds(m.fargate_image_size_mb),
                    source: "default by image size",
                },
            },
        }
    }
}

/// What a task size implies for one component.
pub(crate) struct Sizing<'a> {
    pub ctx: &'a Context<'a>,
    pub vcpu: f64,
    pub memory_mb: u32,
    pub arch: Architecture,
    pub per_task: u32,
    /// Share of the tasks above the on-demand base on Spot.
    pub spot: f64,
    /// Durations as observed (ms) per hour: the profile's own.
    pub observed: Arc<[Option<&'a QuantileSet>]>,
    /// Squared coefficient of variation of each hour's durations: the service times'
    /// too (the sharing law rescales them), which the M/G/c wait reads.
    pub scv: Arc<[f64]>,
    /// How the task's vCPUs are shared by its requests: every service time and CPU
    /// figure below comes from it.
    pub share: CpuShare,
    /// CPU seconds a request of the window's mean observed duration consumes.
    pub cpu_seconds: f64,
    /// Arrival rate each hour is sized for (per second): its 99th-percentile minute.
    pub rate: Arc<[f64]>,
    /// On-demand price of one task per hour.
    pub task_usd_per_hour: f64,
}

/// What every size of one component reads the same: the component's hours and its
/// duration law. Built once per component and shared by its sizes (a size search
/// builds 35 of them per architecture).
#[derive(Debug, Clone)]
pub(crate) struct SizingInputs<'a> {
    law: DurationLaw,
    observed: Arc<[Option<&'a QuantileSet>]>,
    scv: Arc<[f64]>,
    rate: Arc<[f64]>,
    mean_observed_ms: f64,
}

impl<'a> SizingInputs<'a> {
    /// `None` when an hour with traffic has no durations.
    pub fn of(ctx: &Context<'a>) -> Option<Self> {
        let mut observed = Vec::with_capacity(24);
        let mut rate = Vec::with_capacity(24);
        let mut scv = Vec::with_capacity(24);
        for h in 0..24 {
            let hp = &ctx.profile.hours[h];
            let d = ctx.profile.duration_for_hour(h);
            if d.is_none() && hp.invocations > 0.0 {
                return None;
            }
            scv.push(d.map_or(1.0, QuantileSet::scv));
            observed.push(d);
            rate.push(hp.count_quantile(0.99) / 60.0);
        }
        Some(Self {
            law: DurationLaw::of(ctx),
            observed: observed.into(),
            scv: scv.into(),
            rate: rate.into(),
            mean_observed_ms: ctx
                .profile
                .duration_ms
                .as_ref()
                .map_or(0.0, QuantileSet::mean),
        })
    }
}

impl<'a> Sizing<'a> {
    pub fn new(
        ctx: &'a Context<'a>,
        vcpu: f64,
        memory_mb: u32,
        arch: Architecture,
        per_task: u32,
    ) -> Option<Self> {
        Some(Self::of(
            ctx,
            &SizingInputs::of(ctx)?,
            vcpu,
            memory_mb,
            arch,
            per_task,
        ))
    }

    /// [`Sizing::new`] from inputs already read.
    pub fn of(
        ctx: &'a Context<'a>,
        inputs: &SizingInputs<'a>,
        vcpu: f64,
        memory_mb: u32,
        arch: Architecture,
        per_task: u32,
    ) -> Self {
        let law = &inputs.law;
        let arch_factor = match (law.observed_architecture, arch) {
            (Architecture::X86_64, Architecture::Arm64) => law.arm64_factor,
            (Architecture::Arm64, Architecture::X86_64) => 1.0 / law.arm64_factor,
            _ => 1.0,
        };
        let share = CpuShare::new(
            vcpu,
            per_task,
            law.cpu_bound_fraction.0,
            law.observed_vcpu,
            law.parallelism,
            arch_factor,
        );
        Self {
            ctx,
            vcpu,
            memory_mb,
            arch,
            per_task,
            spot: 0.0,
            observed: inputs.observed.clone(),
            scv: inputs.scv.clone(),
            cpu_seconds: share.cpu_seconds(inputs.mean_observed_ms / 1000.0),
            share,
            rate: inputs.rate.clone(),
            task_usd_per_hour: ctx.prices.fargate.task_usd_per_hour(arch, vcpu, memory_mb),
        }
    }

    /// CPU utilisation of `n` tasks at `rate` requests per second.
    pub fn cpu_utilization_at(&self, rate: f64, n: u32) -> f64 {
        rate * self.cpu_seconds / (f64::from(n.max(1)) * self.vcpu)
    }

    /// Factor from the observed duration to the service time at `rate` with `n`
    /// tasks: [`CpuShare::factor`] at their CPU utilisation.
    pub fn service_factor_at(&self, rate: f64, n: u32) -> f64 {
        self.service_factor_at_utilization(self.cpu_utilization_at(rate, n))
    }

    /// The same factor at the task's CPU utilisation `rho`.
    pub fn service_factor_at_utilization(&self, rho: f64) -> f64 {
        self.share.factor(rho)
    }

    /// CPU utilisation of a task whose every slot is busy: the most load can push it
    /// to ([`CpuShare::saturated_utilization`]). An IO-bound request holds its slot
    /// mostly waiting, so a full task of few of them can sit below 100 % CPU.
    pub fn saturated_cpu_utilization(&self) -> f64 {
        self.share.saturated_utilization()
    }

    /// Service time distribution in hour `h` with `n` tasks (sized-for rate).
    pub fn service(&self, h: usize, n: u32) -> Option<QuantileSet> {
        let d = self.observed[h].as_ref()?;
        Some(d.scaled(self.service_factor_at(self.rate[h], n)))
    }

    /// Mean service time (s) in hour `h` at `rate` with `n` tasks.
    pub fn mean_service_s_at(&self, h: usize, rate: f64, n: u32) -> f64 {
        self.observed[h]
            .as_ref()
            .map_or(0.0, |d| d.mean() * self.service_factor_at(rate, n) / 1000.0)
    }

    /// Smallest task count that keeps CPU under target and slots under 90 % busy at
    /// `rate` requests per second in hour `h`.
    pub fn stable_tasks_at(&self, h: usize, rate: f64) -> u32 {
        if self.observed[h].is_none() {
            return MIN_TASKS;
        }
        let target = self
            .ctx
            .spec
            .model
            .fargate_target_cpu_utilization
            .clamp(0.05, 1.0);
        let by_cpu = (rate * self.cpu_seconds / (self.vcpu * target)).ceil() as u32;
        let mut n = by_cpu.max(MIN_TASKS);
        // Slots depend on the service time, which depends on n: iterate to a fixpoint.
        for _ in 0..64 {
            let mean_s = self.mean_service_s_at(h, rate, n);
            let by_slots =
                (rate * mean_s / (f64::from(self.per_task) * MAX_SLOT_UTILIZATION)).ceil() as u32;
            if by_slots <= n {
                break;
            }
            n = by_slots.min(MAX_TASKS);
            if n == MAX_TASKS {
                break;
            }
        }
        n
    }

    /// Stable tasks for hour `h`'s 99th-percentile minute.
    pub fn stable_tasks(&self, h: usize) -> u32 {
        self.stable_tasks_at(h, self.rate[h])
    }

    /// Latency quantile `p` (ms) in hour `h` at `rate` with `n` tasks: service time plus
    /// the M/G/c wait ([`queueing`]).
    pub fn latency_at(&self, h: usize, rate: f64, n: u32, p: f64) -> f64 {
        let Some(d) = self.observed[h].as_ref() else {
            return 0.0;
        };
        let factor = self.service_factor_at(rate, n);
        let c = n.saturating_mul(self.per_task);
        let mean_s = d.mean() * factor / 1000.0;
        d.quantile(p) * factor + 1000.0 * queueing::wait_quantile(c, rate, mean_s, self.scv[h], p)
    }

    /// Share of the requests arriving at `rate` in hour `h` with `n` tasks that wait
    /// longer than [`COLD_WAIT_MS`] for a slot in the steady state (M/G/c): a service
    /// with capacity for the minute still queues its requests now and then. 1 when the
    /// rate is beyond the slots; the backlog of such minutes is
    /// [`Sizing::burst_hour`]'s.
    pub fn queue_cold_share_at(&self, h: usize, rate: f64, n: u32) -> f64 {
        if rate <= 0.0 || self.observed[h].is_none() {
            return 0.0;
        }
        let mean_s = self.mean_service_s_at(h, rate, n);
        let c = n.saturating_mul(self.per_task);
        queueing::wait_over(c, rate, mean_s, self.scv[h], COLD_WAIT_MS / 1000.0)
    }

    /// Latency quantiles (ms) of hour `h` with `n` tasks at the sized-for rate.
    pub fn latency(&self, h: usize, n: u32) -> (f64, f64, f64) {
        let q = |p| self.latency_at(h, self.rate[h], n, p);
        (q(0.5), q(0.95), q(0.99))
    }

    /// Tasks per hour: stable, and meeting the SLO's p99 and cold-start rate (the
    /// hour's requests waiting over [`COLD_WAIT_MS`] in the steady state) when set and
    /// reachable.
    pub fn planned_tasks(&self, h: usize) -> Option<u32> {
        let mut n = self.stable_tasks(h);
        let slo = &self.ctx.spec.slo;
        let cold_ok = |n: u32| {
            slo.max_cold_start_rate
                .is_none_or(|max| self.steady_cold_share(h, n) <= max)
        };
        while !cold_ok(n) && n < MAX_TASKS {
            n += (n / 8).max(1);
        }
        let Some(target) = slo.p99_ms else {
            return Some(n.min(MAX_TASKS));
        };
        while n <= MAX_TASKS {
            if self.latency(h, n).2 <= target {
                return Some(n);
            }
            // Once waits and CPU contention are gone more tasks cannot help.
            let floor = self.observed[h]
                .as_ref()
                .map_or(0.0, |d| d.quantile(0.99) * self.share.lone_factor());
            if self.latency(h, n).2 <= floor * (1.0 + 1e-3) {
                return None;
            }
            n += (n / 8).max(1);
        }
        None
    }

    /// Monthly cost of `n` tasks in one hour of the day, Spot share included.
    pub fn hour_usd(&self, n: u32) -> f64 {
        let f = &self.ctx.prices.fargate;
        let spot_tasks = f64::from(n.saturating_sub(1)) * self.spot.clamp(0.0, 1.0);
        (f64::from(n) - spot_tasks * f.spot_discount.clamp(0.0, 1.0))
            * self.task_usd_per_hour
            * self.ctx.prices.hour_buckets_per_month()
    }
}
