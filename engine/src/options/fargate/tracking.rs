//! ECS target tracking: the tasks it holds per hour and what its scale-out lag costs
//! in bursts.
//!
//! **Tasks held.** Target tracking scales out after three one-minute datapoints above
//! target and in only after fifteen below 90 % of it (Application Auto Scaling's
//! alarms), so it holds roughly what the hour's busier minutes need: the tasks for
//! the hour's 90th-percentile minute at the target, bounded by min and max.
//!
//! **CPU tracking and full slots.** CPU tracking sees CPU only. A task whose every
//! slot is busy uses [`Sizing::saturated_cpu_utilization`] of its vCPU and can use no
//! more however long the queue behind it grows (an IO-bound request holds its slot
//! mostly waiting). When that is below the target, load never takes the metric over
//! the target: the policy never scales out, and scales in on every quiet minute (below
//! 90 % of the target), so it drifts to its minimum and stays there. Such a policy
//! holds `min_tasks` all day and its bursts get no relief (the lag is the whole hour):
//! the queue of a minute above capacity drains only on spare capacity, and an hour
//! whose mean is above capacity is a queue that grows all hour.
//!
//! **Steady waits.** A minute within capacity still queues: its requests wait over
//! [`COLD_WAIT_MS`] with the M/G/c probability at the minute's rate
//! ([`Sizing::queue_cold_share_at`]), each minute of the hour's count distribution at
//! its own rate — averaged over one service time `S`, so for requests longer than a
//! minute its deviation from the hour's mean shrinks by `√(60 s / S)` (the queue of
//! 10-minute requests sees ten minutes' arrivals, not one). A minute above capacity is the backlog's (below): its waits are
//! spread over the drain time, not an equilibrium's. Both are Fargate's cold starts.
//!
//! **Bursts.** A minute whose arrivals exceed what the held tasks serve leaves a
//! backlog `E = c − capacity`, drained by the spare capacity of the hour's average
//! minute; if that takes longer than the scale-out lag `L` (alarm evaluation,
//! `fargate_scaling_lag_minutes`, plus task start) the new tasks take over at `L`. The
//! backlog's waits are spread evenly up to that drain time `W`: the share longer than
//! [`COLD_WAIT_MS`] are Fargate's cold starts, and for HTTP the share longer than the
//! load balancer's 60-second timeout are 5xx errors (counted as throttles). When an
//! hour needs more tasks than the one before, its first `L` minutes run on the previous
//! hour's tasks: the same backlog arithmetic on the hour's mean minute.
//!
//! **Saturated hours.** When nothing scales out within the hour (a schedule, or CPU
//! tracking that cannot reach its target) and the hour's mean arrivals exceed what its
//! tasks complete, the queue grows by the difference every minute: a request arriving
//! `t` minutes into the hour waits `t × (mean − capacity) / capacity` minutes, so the
//! waits spread evenly up to `W = 60 × (mean − capacity) / capacity` and every request
//! of the hour is in that backlog.

use super::service::{ALB_TIMEOUT_MS, COLD_WAIT_MS, Sizing};
use crate::spec::{FargateTracking, TrackingMetric};

/// Share of the minutes the held tasks are sized for.
const HELD_FOR_QUANTILE: f64 = 0.9;
/// The lag of a task count that does not follow load within the hour.
pub(crate) const NO_RELIEF_MINUTES: f64 = 60.0;
/// Longest wait modelled (a day): a queue that never drains stays finite in figures.
const LONGEST_WAIT_MINUTES: f64 = 1440.0;

/// One hour under target tracking.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct TrackedHour {
    /// Tasks held (what is billed).
    pub tasks: u32,
    /// Requests per month that wait longer than [`COLD_WAIT_MS`].
    pub cold_per_month: f64,
    /// HTTP requests per month that wait past the load balancer's timeout.
    pub errors_per_month: f64,
    /// p99 latency (ms).
    pub p99_ms: f64,
}

impl Sizing<'_> {
    /// Share of hour `h`'s requests on `n` tasks that wait over [`COLD_WAIT_MS`] in the
    /// steady state (module doc), the backlog of minutes above capacity aside.
    pub fn steady_cold_share(&self, h: usize, n: u32) -> f64 {
        let hp = &self.ctx.profile.hours[h];
        let observed: f64 = hp.count_bins.iter().map(|b| b.minutes).sum();
        if observed <= 0.0 || hp.invocations <= 0.0 || self.observed[h].is_none() {
            return 0.0;
        }
        let mean = hp.invocations / observed;
        let cap = self.capacity_per_minute(h, mean / 60.0, n);
        // The queue sees the arrivals of about one service time: over `S / 60`
        // minutes a minute's deviation from the hour's mean shrinks by `√(60 / S)`.
        let service_s = self.mean_service_s_at(h, mean / 60.0, n);
        let shrink = (60.0 / service_s.max(1e-9)).sqrt().min(1.0);
        let (mut cold, mut all) = (0.0, 0.0);
        for b in &hp.count_bins {
            if b.count <= cap {
                let per_minute = mean + (b.count - mean) * shrink;
                cold += b.minutes * b.count * self.queue_cold_share_at(h, per_minute / 60.0, n);
            }
            all += b.minutes * b.count;
        }
        if all > 0.0 {
            (cold / all).min(1.0)
        } else {
            0.0
        }
    }

    /// Whether load can take the tracked metric above the target, so the policy scales
    /// out: request counts always can; CPU only when a task with every slot busy
    /// reaches the target (see the module doc).
    pub fn scales_out_on_load(&self, rule: &FargateTracking) -> bool {
        match rule.metric {
            TrackingMetric::Cpu => {
                self.saturated_cpu_utilization() >= (rule.target_value / 100.0).clamp(0.01, 1.0)
            }
            TrackingMetric::AlbRequestCountPerTarget => true,
        }
    }

    /// Tasks the policy asks for at `per_minute` arrivals, before min and max.
    fn tracked_demand(&self, rule: &FargateTracking, per_minute: f64) -> u32 {
        if !self.scales_out_on_load(rule) {
            return 0;
        }
        let rate = per_minute / 60.0;
        let n = match rule.metric {
            TrackingMetric::Cpu => {
                let target = (rule.target_value / 100.0).clamp(0.01, 1.0);
                rate * self.cpu_seconds / (self.vcpu * target)
            }
            TrackingMetric::AlbRequestCountPerTarget => per_minute / rule.target_value.max(1e-9),
        };
        (n - 1e-9).ceil().max(0.0) as u32
    }

    /// Tasks held in hour `h`.
    pub fn tracked_tasks(&self, h: usize, rule: &FargateTracking) -> u32 {
        let hp = &self.ctx.profile.hours[h];
        let c = hp.count_quantile(HELD_FOR_QUANTILE);
        self.tracked_demand(rule, c)
            .clamp(rule.min_tasks, rule.max_tasks.max(rule.min_tasks))
    }

    /// Requests a minute `n` tasks complete with every slot or every vCPU busy,
    /// whichever runs out first, in hour `h` at `rate`.
    fn capacity_per_minute(&self, h: usize, rate: f64, n: u32) -> f64 {
        let s = self.mean_service_s_at(h, rate, n);
        let slots = if s > 0.0 {
            f64::from(n.saturating_mul(self.per_task)) * 60.0 / s
        } else {
            f64::INFINITY
        };
        let cpu = if self.cpu_seconds > 0.0 {
            f64::from(n) * self.vcpu * 60.0 / self.cpu_seconds
        } else {
            f64::INFINITY
        };
        slots.min(cpu)
    }

    /// Hour `h` on `n` tasks after an hour on `previous`, new tasks arriving
    /// `lag_minutes` after a burst begins.
    pub fn burst_hour(
        &self,
        h: usize,
        n: u32,
        previous: u32,
        lag_minutes: f64,
        http: bool,
    ) -> TrackedHour {
        let hp = &self.ctx.profile.hours[h];
        let occ = self.ctx.prices.hour_buckets_per_month();
        let observed: f64 = hp.count_bins.iter().map(|b| b.minutes).sum();
        if observed <= 0.0 || hp.invocations <= 0.0 || self.observed[h].is_none() {
            return TrackedHour {
                tasks: n,
                ..TrackedHour::default()
            };
        }
        let mean = hp.invocations / observed;
        let cap = self.capacity_per_minute(h, mean / 60.0, n);
        let spare = (cap - mean).max(0.1 * cap);
        // (backlog requests, waits > cold, waits > timeout) per observed minute.
        let mut acc = (0.0, 0.0, 0.0);
        let mut worst_wait_min: f64 = 0.0;
        let lag_wait = lag_minutes.max(1.0 / 60.0);
        let mut add = |excess: f64, weight: f64, drain_cap: f64, longest: f64| {
            if excess <= 0.0 {
                return;
            }
            let w = (excess / drain_cap).min(longest);
            let longer = |t_min: f64| (1.0 - t_min / w).clamp(0.0, 1.0);
            acc.0 += weight * excess;
            acc.1 += weight * excess * longer(COLD_WAIT_MS / 60_000.0);
            if http {
                acc.2 += weight * excess * longer(ALB_TIMEOUT_MS / 60_000.0);
            }
            worst_wait_min = worst_wait_min.max(w);
        };
        let saturated = mean > cap && lag_minutes >= NO_RELIEF_MINUTES;
        let steady_cold = if saturated {
            0.0
        } else {
            mean * self.steady_cold_share(h, n)
        };
        if saturated {
            // A queue that grows all hour: every request is in it (module doc).
            let w = (NO_RELIEF_MINUTES * (mean - cap) / cap.max(1e-9)).min(LONGEST_WAIT_MINUTES);
            add(mean, 1.0, mean / w.max(1e-9), LONGEST_WAIT_MINUTES);
        } else {
            for b in &hp.count_bins {
                add(b.count - cap, b.minutes / observed, spare, lag_wait);
            }
        }
        if n > previous {
            // The first L minutes on the previous hour's tasks, once per hour.
            let prev_cap = self.capacity_per_minute(h, mean / 60.0, previous);
            let excess = (mean - prev_cap) * lag_minutes;
            add(excess, 1.0 / observed, spare, lag_wait);
        }
        acc.1 += steady_cold;
        let minutes_per_month = 60.0 * occ;
        let inv_per_minute = mean;
        let backlog_share = (acc.0 / inv_per_minute).min(1.0);
        // p99: the steady part at the hour's mean, or inside the backlog's waits.
        let rate = mean / 60.0;
        let steady = self.latency_at(h, rate.min(0.95 * cap / 60.0), n, 0.99);
        let service_p99 = self.observed[h]
            .as_ref()
            .map_or(0.0, |d| d.quantile(0.99) * self.service_factor_at(rate, n));
        let in_backlog = if backlog_share > 0.01 {
            service_p99 + worst_wait_min * 60_000.0 * (1.0 - 0.01 / backlog_share)
        } else {
            0.0
        };
        TrackedHour {
            tasks: n,
            cold_per_month: acc.1 * minutes_per_month,
            errors_per_month: acc.2 * minutes_per_month,
            p99_ms: steady.max(in_backlog),
        }
    }

    /// All 24 hours under `rule`; the hour before midnight precedes hour 0.
    pub fn tracked_day(
        &self,
        rule: &FargateTracking,
        lag_minutes: f64,
        http: bool,
    ) -> Vec<TrackedHour> {
        let held: Vec<u32> = (0..24).map(|h| self.tracked_tasks(h, rule)).collect();
        let lag_minutes = if self.scales_out_on_load(rule) {
            lag_minutes
        } else {
            NO_RELIEF_MINUTES
        };
        (0..24)
            .map(|h| self.burst_hour(h, held[h], held[(h + 23) % 24], lag_minutes, http))
            .collect()
    }
}
