//! How a Fargate task's vCPUs are shared by the requests in flight in it: the one law
//! the engine sizes tasks with, reads ECS durations with, and the replay plays minute
//! by minute (`adaptd-replay` calls it; nothing re-derives it).
//!
//! **The request.** A request does CPU work and waits (on a database, an API), in
//! whatever order. Measured in units of the observed mean duration, its CPU work is
//! `c = f × observed vCPU × arch` vCPU-units (its CPU-bound share `f` of the observed
//! duration, at the vCPUs it was observed with) and its wait `w = (1 − f) × arch`; it
//! can use at most `parallelism` vCPUs at once.
//!
//! **The task.** Its vCPUs are shared by whichever of its requests want CPU at that
//! instant (processor sharing, as the Linux scheduler shares a cgroup's quota): `j`
//! of them get `min(j × parallelism, vCPU)` between them. A fixed share per slot
//! (`vCPU / slots`) would be wrong both ways: a request alone in its task runs at the
//! task's full speed, and a task whose requests mostly wait lends the idle CPU to the
//! few computing. So:
//!
//! - **alone**, the CPU part runs at `min(vCPU, parallelism)`;
//! - **under load**, at CPU utilisation `ρ`, it stretches by `1 / (1 − ρ)`, processor
//!   sharing's mean sojourn under Poisson arrivals whatever the work's distribution
//!   (Kleinrock, *Queueing Systems* vol. 2, §4.4);
//! - **with every slot busy** the task is a closed network of `slots` requests, each
//!   computing (processor sharing) then waiting (a delay), replaced by the next in the
//!   queue when done. Its product form is exact and insensitive to the distributions
//!   (Baskett, Chandy, Muntz and Palacios, JACM 1975): its CPU utilisation is the most
//!   any load can push the task to (*saturated*), its throughput what a full task
//!   completes, its mean duration `slots / throughput` (Little) the longest.
//!
//! The stretch is the smaller of the two, so the law is exact at both ends, and a full
//! task's requests, each using `c / duration` vCPUs, add up to exactly the saturated
//! utilisation: what the replay's CPU datapoints show when every slot is busy is what
//! the engine's CPU target tracking decides on.

use crate::profile::Profile;
use crate::spec::FargateConfig;

/// The CPU-sharing law of one task size for one request shape.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuShare {
    vcpu: f64,
    /// CPU work per request, vCPU × observed mean durations.
    work: f64,
    /// Wait per request, observed mean durations.
    wait: f64,
    /// vCPUs a request alone in its task runs at.
    lone: f64,
    saturated: f64,
    saturated_stretch: f64,
}

impl CpuShare {
    /// The law for tasks of `vcpu` serving `per_task` requests at once, of requests
    /// whose CPU-bound share `cpu_bound` of the observed duration ran at
    /// `observed_vcpu`, using at most `parallelism` vCPUs, on an architecture that
    /// multiplies durations by `arch_factor`.
    pub fn new(
        vcpu: f64,
        per_task: u32,
        cpu_bound: f64,
        observed_vcpu: f64,
        parallelism: f64,
        arch_factor: f64,
    ) -> Self {
        let vcpu = vcpu.max(1e-9);
        let f = cpu_bound.clamp(0.0, 1.0);
        let arch = arch_factor.max(1e-9);
        let par = parallelism.max(1e-9);
        let mut s = Self {
            vcpu,
            work: f * observed_vcpu.max(0.0) * arch,
            wait: (1.0 - f) * arch,
            lone: vcpu.min(par),
            saturated: 0.0,
            saturated_stretch: 1.0,
        };
        (s.saturated, s.saturated_stretch) = s.closed_network(per_task.max(1), par);
        s
    }

    /// CPU utilisation and stretch of the CPU part with `k` requests always in the
    /// task: `π(j computing) ∝ Π_{m≤j} c / min(m·p, V) × w^(k−j) / (k−j)!`.
    fn closed_network(&self, k: u32, par: f64) -> (f64, f64) {
        if self.work <= 0.0 {
            return (0.0, 1.0);
        }
        let rate = |m: u32| (f64::from(m) * par).min(self.vcpu);
        // ln(i!) for i = 0..=k.
        let mut ln_fact = vec![0.0; k as usize + 1];
        for i in 2..=k as usize {
            ln_fact[i] = ln_fact[i - 1] + (i as f64).ln();
        }
        let mut log_a = 0.0;
        let mut logs = Vec::with_capacity(k as usize + 1);
        for j in 0..=k {
            if j > 0 {
                log_a += (self.work / rate(j)).ln();
            }
            let i = k - j;
            let log_b = if self.wait > 0.0 {
                f64::from(i) * self.wait.ln() - ln_fact[i as usize]
            } else if i == 0 {
                0.0
            } else {
                f64::NEG_INFINITY
            };
            logs.push(log_a + log_b);
        }
        let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (mut z, mut busy, mut computing) = (0.0, 0.0, 0.0);
        for (j, l) in logs.iter().enumerate() {
            let p = (l - top).exp();
            z += p;
            busy += p * rate(j as u32);
            computing += p * j as f64;
        }
        let rho = (busy / z / self.vcpu).min(1.0);
        // Little on the CPU: mean computing requests over throughput, against alone.
        let throughput = busy / z / self.work;
        let stretch = (computing / z / throughput) / (self.work / self.lone);
        (rho, stretch.max(1.0))
    }

    /// CPU seconds one request of mean observed duration `mean_observed_s` uses.
    pub fn cpu_seconds(&self, mean_observed_s: f64) -> f64 {
        self.work * mean_observed_s
    }

    /// The task's CPU utilisation with every slot busy: the most load can push it to.
    pub fn saturated_utilization(&self) -> f64 {
        self.saturated
    }

    /// Duration relative to the observed at CPU utilisation `rho` (clamped to what a
    /// task can reach): the wait as observed, the CPU part at the lone speed stretched
    /// by sharing.
    pub fn factor(&self, rho: f64) -> f64 {
        let rho = rho.clamp(0.0, self.saturated);
        let stretch = if rho >= 1.0 {
            self.saturated_stretch
        } else {
            (1.0 / (1.0 - rho)).min(self.saturated_stretch)
        };
        self.wait + self.work / self.lone * stretch
    }

    /// Duration factor of a request alone in its task.
    pub fn lone_factor(&self) -> f64 {
        self.factor(0.0)
    }

    /// vCPUs a request in flight uses on average at utilisation `rho`: its CPU work
    /// over its duration. A full task's `per_task` requests use
    /// `per_task × busy_vcpu(saturated)` = `saturated × vCPU` between them.
    pub fn busy_vcpu(&self, rho: f64) -> f64 {
        self.work / self.factor(rho)
    }

    /// The task's CPU utilisation at `rate` requests per second per task of mean
    /// observed duration `mean_observed_s`, up to the saturated utilisation.
    pub fn utilization(&self, rate_per_task: f64, mean_observed_s: f64) -> f64 {
        (rate_per_task * self.cpu_seconds(mean_observed_s) / self.vcpu).min(self.saturated)
    }
}

/// vCPUs the durations of an ECS service ran at: the lone speed `min(vCPU,
/// parallelism)` slowed by the sharing at the load they were observed under. The load
/// is the requests in flight per task (Little: invocations × mean duration over task
/// time); the utilisation it implies depends on the CPU work, which depends on the
/// speed sought, so the speed is the fixed point, found by bisection (a faster
/// observation means more CPU work in the same duration, more sharing, a longer one).
pub fn observed_vcpu(
    cfg: &FargateConfig,
    profile: &Profile,
    cpu_bound: f64,
    parallelism: f64,
) -> f64 {
    let in_flight = in_flight_per_task(cfg, profile);
    observed_vcpu_at(
        cfg.vcpu,
        cfg.per_task_concurrency,
        cpu_bound,
        parallelism,
        in_flight,
    )
}

/// [`observed_vcpu`] with `in_flight` requests per task on average.
pub fn observed_vcpu_at(
    vcpu: f64,
    per_task: u32,
    cpu_bound: f64,
    parallelism: f64,
    in_flight: f64,
) -> f64 {
    let lone = vcpu.min(parallelism.max(1e-9));
    let duration_at = |speed: f64| {
        let law = CpuShare::new(vcpu, per_task, cpu_bound, speed, parallelism, 1.0);
        law.factor(in_flight * law.work / law.vcpu)
    };
    if cpu_bound <= 0.0 || duration_at(lone) <= 1.0 {
        return lone;
    }
    let (mut lo, mut hi) = (0.0, lone);
    for _ in 0..50 {
        let mid = 0.5 * (lo + hi);
        if duration_at(mid) > 1.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Mean requests in flight per task over the profile, at the deployed task counts.
fn in_flight_per_task(cfg: &FargateConfig, profile: &Profile) -> f64 {
    let mean_s = profile.duration_ms.as_ref().map_or(0.0, |d| d.mean()) / 1000.0;
    let (mut requests, mut task_seconds) = (0.0, 0.0);
    for (h, hp) in profile.hours.iter().enumerate() {
        requests += hp.invocations;
        task_seconds += f64::from(hp.minutes_observed) * 60.0 * f64::from(cfg.tasks[h].max(1));
    }
    if task_seconds <= 0.0 {
        0.0
    } else {
        requests * mean_s / task_seconds
    }
}

#[cfg(test)]
#[path = "cpu_share_tests.rs"]
mod tests;
