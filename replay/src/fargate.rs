//! A Fargate service: tasks of `per_task_concurrency` slots behind one FIFO queue.
//!
//! A request's service time is its observed duration times the engine's CPU-sharing
//! law ([`adaptd_engine::cpu_share::CpuShare`]) at the minute's CPU utilisation: the
//! CPU work of the minute's arrivals and of the requests queued at its start over the
//! ready tasks' vCPUs, up to what a task with every slot busy reaches. A request takes
//! the factor of the minute it starts in. An arrival takes a free slot, or waits in
//! FIFO order for the next slot to free (or for a task to become ready); its latency
//! is wait plus service. Requests still queued at the window's end are served
//! afterwards by the tasks then running; with none running they are counted as
//! throttles.
//!
//! CPU: a request does the law's CPU work (`f × observed duration × observed vCPUs`,
//! the engine's `cpu_seconds`), spread evenly over its service time. The per-minute
//! average CPU utilisation is the busy requests' vCPUs over `ready tasks × vcpu × 60
//! s`; ECS publishes it whenever tasks run. With every slot busy it is the law's
//! saturated utilisation, which is what the engine's CPU tracking decides on.
//!
//! Tasks follow the hour-of-day schedule (increases launched `task_start_minutes`
//! before their hour, so they are ready at it; decreases at the hour, in-flight
//! requests finish) or target tracking on average CPU or on requests per task
//! (`ALBRequestCountPerTarget`: the minute's arrivals over the ready tasks), launching
//! tasks that are ready after the same lag. Billing: per second from launch to stop,
//! at least one minute per task start (the rounding rule of
//! [`crate::capacity::Rounding::FARGATE`]); the tasks above one on Spot
//! (`spot_share`) at the sheet's Spot discount.
//!
//! A request that waits longer than the engine's `COLD_WAIT_MS` (1 s) for a slot is
//! counted as a cold start (Fargate's: it met a service without capacity), and behind a
//! load balancer one that waits longer than its 60-second timeout as a throttle (a 504;
//! the task still works on it). Spot interruptions are not replayed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use adaptd_engine::cpu_share::CpuShare;
use adaptd_engine::options::fargate::COLD_WAIT_MS;
use adaptd_engine::spec::{FargateConfig, Hourly, TrackingMetric};

use crate::capacity::{Capacity, Rounding};
use crate::draws::{Draws, MINUTE_MS};
use crate::lambda::hour_spans;
use crate::policy::{Action, Tracker, TrackingRule};
use crate::result::HourAcc;
use crate::workload::Workload;

/// Who sets the task count.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TaskControl {
    /// Tasks per hour of day.
    Schedule(Hourly<u32>),
    /// Target tracking on a metric; the initial task count.
    Tracking(TrackingRule, u32, TrackingMetric),
}

/// The fixed inputs of a Fargate replay.
#[derive(Debug, Clone)]
pub(crate) struct FargateSim<'a> {
    pub w: &'a Workload,
    pub config: &'a FargateConfig,
    pub control: TaskControl,
    /// Task start lag (minutes).
    pub lag: i64,
    pub record_latency: bool,
    /// The load balancer's timeout (ms), when requests come through one.
    pub timeout_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Queued {
    arrival: f64,
    /// Observed-scale duration (ms), before the sharing law.
    base: f64,
    hour: usize,
}

/// The sharing law's figures for the requests starting in the current minute.
#[derive(Debug, Default, Clone, Copy)]
struct Sharing {
    /// Service time over observed duration.
    factor: f64,
    /// vCPUs a request in flight uses.
    vcpu: f64,
}

#[derive(Debug, Default)]
struct Slots {
    /// Requests in service: (end, vCPUs used), earliest end first.
    busy: BinaryHeap<Reverse<(u64, u64)>>,
    queue: VecDeque<Queued>,
    /// vCPUs the requests in service use.
    cpu: f64,
    /// vCPU-milliseconds used since the last datapoint.
    integral: f64,
    last: f64,
    sharing: Sharing,
    record_latency: bool,
    timeout_ms: Option<f64>,
}

impl Slots {
    fn start(&mut self, q: Queued, at: f64, accs: &mut [HourAcc], now_hour: usize) {
        let service = q.base * self.sharing.factor;
        self.busy.push(Reverse((
            (at + service).to_bits(),
            self.sharing.vcpu.to_bits(),
        )));
        self.cpu += self.sharing.vcpu;
        let acc = &mut accs[q.hour];
        let wait = at - q.arrival;
        if wait > COLD_WAIT_MS {
            acc.cold += 1;
        }
        if self.timeout_ms.is_some_and(|t| wait > t) {
            acc.throttles += 1;
        } else {
            acc.served += 1;
        }
        if self.record_latency {
            acc.latency.add(wait + service);
        }
        let in_flight = self.busy.len() as u32;
        let now = &mut accs[now_hour];
        now.peak = now.peak.max(in_flight);
    }

    fn fill(&mut self, t: f64, slots: usize, accs: &mut [HourAcc], now_hour: usize) {
        while self.busy.len() < slots {
            let Some(q) = self.queue.pop_front() else {
                break;
            };
            self.start(q, t, accs, now_hour);
        }
    }

    /// Completes everything up to `t`, handing freed slots to the queue in order.
    fn advance(&mut self, t: f64, slots: usize, accs: &mut [HourAcc], now_hour: usize) {
        while let Some(&Reverse((bits, vcpu))) = self.busy.peek() {
            let e = f64::from_bits(bits);
            if e > t {
                break;
            }
            self.integral += self.cpu * (e - self.last);
            self.last = e;
            self.busy.pop();
            self.cpu = if self.busy.is_empty() {
                0.0
            } else {
                (self.cpu - f64::from_bits(vcpu)).max(0.0)
            };
            self.fill(e, slots, accs, now_hour);
        }
        if t.is_finite() {
            self.integral += self.cpu * (t - self.last);
            self.last = t;
        }
    }
}

impl FargateSim<'_> {
    /// Replays the window; one accumulator per UTC hour.
    pub fn run(&self, draws: &mut impl Draws) -> Vec<HourAcc> {
        let w = self.w;
        let cfg = self.config;
        let per_task = cfg.per_task_concurrency.max(1) as usize;
        let share = w.cpu_share(cfg.vcpu, cfg.per_task_concurrency, cfg.architecture);
        let spans = hour_spans(w.start, w.minutes());
        let mut accs: Vec<HourAcc> = spans
            .iter()
            .map(|&(a, b)| HourAcc {
                start: w.start + a as i64,
                minutes: (b - a) as u32,
                ..HourAcc::default()
            })
            .collect();
        let initial = match &self.control {
            TaskControl::Schedule(tasks) => tasks[w.timezone.hour_of_day(w.start)],
            TaskControl::Tracking(rule, initial, _) => (*initial).clamp(rule.min, rule.max),
        };
        let mut cap = Capacity::new(initial, Rounding::FARGATE);
        let mut tracker = Tracker::default();
        let mut next_issue = (w.start.div_euclid(60) + 1) * 60;
        let mut slots = Slots {
            record_latency: self.record_latency,
            timeout_ms: self.timeout_ms,
            ..Slots::default()
        };

        for (h, &(a, b)) in spans.iter().enumerate() {
            for i in a..b {
                let m = w.start + i as i64;
                let now = i as i64;
                match &self.control {
                    TaskControl::Schedule(tasks) => {
                        if i > 0 && m.rem_euclid(60) == 0 {
                            let target = tasks[w.timezone.hour_of_day(m)];
                            let req = cap.requested();
                            if req > target {
                                accs[h].capacity_seconds += cap.disable(req - target, now) as f64;
                            }
                        }
                        while next_issue - self.lag <= m {
                            let target = tasks[w.timezone.hour_of_day(next_issue)];
                            let req = cap.requested();
                            if target > req {
                                cap.enable(target - req, now, next_issue - w.start);
                            }
                            next_issue += 60;
                        }
                    }
                    TaskControl::Tracking(rule, _, _) => {
                        if i > 0 {
                            match tracker.decide(rule, now, cap.requested()) {
                                Action::Out(n) => cap.enable(n, now, now + self.lag),
                                Action::In(n) => {
                                    accs[h].capacity_seconds += cap.disable(n, now) as f64;
                                }
                                Action::None => {}
                            }
                        }
                    }
                }
                cap.promote(now);
                let ready = cap.ready();
                let n_slots = ready as usize * per_task;
                let t0 = i as f64 * MINUTE_MS;
                let (times, bases) = draws.minute(i);
                slots.sharing = minute_sharing(
                    &share,
                    times.len() + slots.queue.len(),
                    ready,
                    w.duration_for_minute(i).mean() / 1000.0,
                );
                slots.fill(t0, n_slots, &mut accs, h);
                accs[h].capacity.push(ready);

                for (&t, &base) in times.iter().zip(bases) {
                    accs[h].invocations += 1;
                    slots.advance(t, n_slots, &mut accs, h);
                    slots.queue.push_back(Queued {
                        arrival: t,
                        base,
                        hour: h,
                    });
                    slots.fill(t, n_slots, &mut accs, h);
                }
                slots.advance(t0 + MINUTE_MS, n_slots, &mut accs, h);
                let used = std::mem::take(&mut slots.integral);
                let datapoint = (ready > 0)
                    .then(|| (used / (f64::from(ready) * cfg.vcpu * MINUTE_MS)).clamp(0.0, 1.0));
                accs[h].utilization.push(datapoint.map(|v| v as f32));
                if let TaskControl::Tracking(rule, _, metric) = &self.control {
                    let tracked = match metric {
                        TrackingMetric::Cpu => datapoint,
                        TrackingMetric::AlbRequestCountPerTarget => {
                            (ready > 0).then(|| times.len() as f64 / f64::from(ready))
                        }
                    };
                    tracker.observe(rule, tracked, ready);
                }
                accs[h].capacity_seconds += f64::from(cap.enabled()) * 60.0;
                accs[h].spot_seconds += cfg.spot_tasks(cap.enabled()) * 60.0;
            }
        }
        let last = accs.len().saturating_sub(1);
        let n_slots = cap.ready() as usize * per_task;
        slots.advance(f64::INFINITY, n_slots, &mut accs, last);
        for q in std::mem::take(&mut slots.queue) {
            accs[q.hour].throttles += 1;
        }
        for acc in &mut accs {
            acc.events = acc.invocations + acc.served;
        }
        accs
    }
}

/// The sharing law in a minute whose `demand` requests (arrivals and those queued at
/// its start) of mean observed duration `mean_s` meet `ready` tasks: their CPU work
/// over the tasks' vCPUs, up to the saturated utilisation. Without a ready task the
/// requests wait, and start at a later minute's figures.
fn minute_sharing(share: &CpuShare, demand: usize, ready: u32, mean_s: f64) -> Sharing {
    let rho = if ready == 0 {
        share.saturated_utilization()
    } else {
        share.utilization(demand as f64 / 60.0 / f64::from(ready), mean_s)
    };
    Sharing {
        factor: share.factor(rho),
        vcpu: share.busy_vcpu(rho),
    }
}
