//! Lambda execution environments, one invocation at a time.
//!
//! An arrival at instant `t` with duration `d` (already scaled to the configuration):
//! 1. completions up to `t` free their environments: provisioned ones return to the
//!    provisioned pool, on-demand ones become idle, stamped with their last use;
//! 2. if fewer provisioned environments are busy than are ready, one serves it
//!    (latency `d`);
//! 3. otherwise, if reserved concurrency is set and `max(ready, busy provisioned) +
//!    busy on-demand` has reached it, the arrival is throttled (counted, not served,
//!    not billed);
//! 4. otherwise idle on-demand environments idle for longer than the keep-alive are
//!    reclaimed, and the most recently used remaining one serves it (latency `d`);
//! 5. otherwise a new on-demand environment is created: a cold start, busy for
//!    `init + d` and with latency `init + d`.
//!
//! Capacity events (schedule changes, scaling decisions) happen at minute starts; see
//! [`crate::capacity`] and [`crate::policy`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use adaptd_engine::spec::Hourly;
use adaptd_engine::telemetry::Minute;

use crate::billing::billed_ms;
use crate::capacity::Capacity;
use crate::draws::{Draws, MINUTE_MS};
use crate::policy::{Action, Tracker, TrackingRule};
use crate::result::HourAcc;
use crate::workload::Workload;

/// Where an arrival went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Provisioned,
    Warm,
    Cold,
    Throttled,
}

/// Busy and idle environments. Instants are ms from the window start; heaps hold the
/// bits of non-negative `f64`s, which order like the numbers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pool {
    prov_busy: BinaryHeap<Reverse<u64>>,
    od_busy: BinaryHeap<Reverse<u64>>,
    /// Idle on-demand environments by last use, oldest first.
    idle: VecDeque<f64>,
    /// ∫ min(busy provisioned, ready) dt since the minute started (ms).
    integral: f64,
    last: f64,
}

impl Pool {
    fn advance(&mut self, t: f64, ready: u32) {
        while let Some(&Reverse(bits)) = self.prov_busy.peek() {
            let e = f64::from_bits(bits);
            if e > t {
                break;
            }
            let busy = self.prov_busy.len() as u32;
            self.integral += f64::from(busy.min(ready)) * (e - self.last);
            self.last = e;
            self.prov_busy.pop();
        }
        let busy = self.prov_busy.len() as u32;
        self.integral += f64::from(busy.min(ready)) * (t - self.last);
        self.last = t;
        while let Some(&Reverse(bits)) = self.od_busy.peek() {
            let e = f64::from_bits(bits);
            if e > t {
                break;
            }
            self.od_busy.pop();
            self.idle.push_back(e);
        }
    }

    fn reclaim(&mut self, t: f64, keep_alive_ms: f64) {
        while self.idle.front().is_some_and(|&lu| t - lu > keep_alive_ms) {
            self.idle.pop_front();
        }
    }

    fn arrive(&mut self, t: f64, d: f64, sim: &LambdaSim<'_>, ready: u32) -> Outcome {
        self.advance(t, ready);
        let busy_p = self.prov_busy.len() as u32;
        if busy_p < ready {
            self.prov_busy.push(Reverse((t + d).to_bits()));
            return Outcome::Provisioned;
        }
        if let Some(r) = sim.reserved
            && busy_p.max(ready) + self.od_busy.len() as u32 >= r
        {
            return Outcome::Throttled;
        }
        self.reclaim(t, sim.keep_alive_ms);
        if self.idle.pop_back().is_some() {
            self.od_busy.push(Reverse((t + d).to_bits()));
            Outcome::Warm
        } else {
            self.od_busy.push(Reverse((t + sim.init_ms + d).to_bits()));
            Outcome::Cold
        }
    }

    fn in_flight(&self) -> u32 {
        (self.prov_busy.len() + self.od_busy.len()) as u32
    }

    fn same(&self, other: &Pool) -> bool {
        let sorted = |h: &BinaryHeap<Reverse<u64>>| {
            let mut v: Vec<u64> = h.iter().map(|r| r.0).collect();
            v.sort_unstable();
            v
        };
        self.idle.len() == other.idle.len()
            && self.prov_busy.len() == other.prov_busy.len()
            && self.od_busy.len() == other.od_busy.len()
            && self
                .idle
                .iter()
                .zip(&other.idle)
                .all(|(a, b)| a.to_bits() == b.to_bits())
            && sorted(&self.prov_busy) == sorted(&other.prov_busy)
            && sorted(&self.od_busy) == sorted(&other.od_busy)
    }
}

/// Who sets provisioned capacity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Control {
    /// Hour-of-day schedule (scheduled actions).
    Schedule(Hourly<u32>),
    /// Target tracking.
    Tracking(TrackingRule),
}

/// Everything that evolves during a replay, as of a minute start.
#[derive(Debug, Clone)]
pub(crate) struct LambdaState {
    pool: Pool,
    cap: Capacity,
    /// Next hour start whose scheduled increase has not been issued.
    next_issue: Minute,
    tracker: Tracker,
}

impl LambdaState {
    /// Whether two states at the start of window minute `now` lead to identical futures
    /// (same environments, same capacity, same future billing).
    pub fn equivalent(&self, other: &LambdaState, now: i64) -> bool {
        self.next_issue == other.next_issue
            && self.tracker == other.tracker
            && self.pool.same(&other.pool)
            && self.cap.equivalent(&other.cap, now)
    }
}

/// The fixed inputs of a Lambda replay.
#[derive(Debug, Clone)]
pub(crate) struct LambdaSim<'a> {
    pub w: &'a Workload,
    /// Observed → configured duration factor.
    pub factor: f64,
    pub init_ms: f64,
    pub keep_alive_ms: f64,
    pub reserved: Option<u32>,
    /// Allocation delay (minutes).
    pub delay: i64,
    pub rounding_ms: f64,
    pub granularity_seconds: u32,
    pub record_latency: bool,
    /// Start with the on-demand environments the first minutes' traffic implies.
    pub warm_start: bool,
    pub control: Control,
    /// Window minutes [from, to) of each UTC hour the window touches.
    pub spans: Vec<(usize, usize)>,
}

/// Window minutes of each UTC hour touched by a window of `n` minutes from `start`.
pub(crate) fn hour_spans(start: Minute, n: usize) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut a = 0usize;
    while a < n {
        let m = start + a as i64;
        let next_hour = (m.div_euclid(60) + 1) * 60;
        let b = ((next_hour - start) as usize).min(n);
        spans.push((a, b));
        a = b;
    }
    spans
}

impl LambdaSim<'_> {
    /// The state at the window start: the first hour's provisioned environments (or
    /// the tracking minimum) ready, and, with `warm_start`, warm on-demand environments
    /// as many as the busiest of the first keep-alive minutes has invocations.
    pub fn initial_state(&self) -> LambdaState {
        let initial = match &self.control {
            Control::Schedule(levels) => levels[self.w.timezone.hour_of_day(self.w.start)],
            Control::Tracking(rule) => rule.min,
        };
        let mut pool = Pool::default();
        if self.warm_start {
            // As if the window's traffic had been running before it: the busiest of the
            // first keep-alive minutes finds that many environments warm (unused ones are
            // free and reclaimed after the keep-alive).
            let minutes = (self.keep_alive_ms / MINUTE_MS).ceil() as usize;
            let warm = self
                .w
                .counts
                .iter()
                .take(minutes)
                .copied()
                .max()
                .unwrap_or(0);
            pool.idle.extend(std::iter::repeat_n(0.0, warm as usize));
        }
        LambdaState {
            pool,
            cap: Capacity::new(
                initial,
                crate::capacity::Rounding::provisioned(self.granularity_seconds),
            ),
            next_issue: (self.w.start.div_euclid(60) + 1) * 60,
            tracker: Tracker::default(),
        }
    }

    /// Simulates window hour `h` from `st`, leaving `st` at the next hour's start.
    pub fn run_hour(&self, st: &mut LambdaState, h: usize, draws: &mut impl Draws) -> HourAcc {
        let (a, b) = self.spans[h];
        let mut acc = HourAcc {
            start: self.w.start + a as i64,
            minutes: (b - a) as u32,
            capacity: Vec::with_capacity(b - a),
            utilization: Vec::with_capacity(b - a),
            ..HourAcc::default()
        };
        for i in a..b {
            self.minute(st, i, draws, &mut acc);
        }
        acc
    }

    fn capacity_events(&self, st: &mut LambdaState, i: usize, acc: &mut HourAcc) {
        let m = self.w.start + i as i64;
        let now = i as i64;
        match &self.control {
            Control::Schedule(levels) => {
                if i > 0 && m.rem_euclid(60) == 0 {
                    let target = levels[self.w.timezone.hour_of_day(m)];
                    let req = st.cap.requested();
                    if req > target {
                        acc.capacity_seconds += st.cap.disable(req - target, now) as f64;
                    }
                }
                // Increases are issued `delay` minutes ahead so that they are ready
                // when their hour starts.
                while st.next_issue - self.delay <= m {
                    let target = levels[self.w.timezone.hour_of_day(st.next_issue)];
                    let req = st.cap.requested();
                    if target > req {
                        st.cap
                            .enable(target - req, now, st.next_issue - self.w.start);
                    }
                    st.next_issue += 60;
                }
            }
            Control::Tracking(rule) => {
                if i > 0 {
                    match st.tracker.decide(rule, now, st.cap.requested()) {
                        Action::Out(n) => st.cap.enable(n, now, now + self.delay),
                        Action::In(n) => acc.capacity_seconds += st.cap.disable(n, now) as f64,
                        Action::None => {}
                    }
                }
            }
        }
        st.cap.promote(now);
    }

    fn minute(&self, st: &mut LambdaState, i: usize, draws: &mut impl Draws, acc: &mut HourAcc) {
        self.capacity_events(st, i, acc);
        let ready = st.cap.ready();
        acc.capacity.push(ready);
        let t0 = i as f64 * MINUTE_MS;
        let served_before = acc.served;
        let (times, bases) = draws.minute(i);
        for (&t, &base) in times.iter().zip(bases) {
            let d = base * self.factor;
            acc.invocations += 1;
            let outcome = st.pool.arrive(t, d, self, ready);
            let latency = match outcome {
                Outcome::Throttled => {
                    acc.throttles += 1;
                    continue;
                }
                Outcome::Provisioned => {
                    acc.provisioned += 1;
                    acc.pc_billed_ms += billed_ms(d, self.rounding_ms);
                    d
                }
                Outcome::Warm => {
                    acc.od_billed_ms += billed_ms(d, self.rounding_ms);
                    d
                }
                Outcome::Cold => {
                    acc.od_billed_ms += billed_ms(d, self.rounding_ms);
                    acc.init_ms += self.init_ms;
                    acc.cold += 1;
                    self.init_ms + d
                }
            };
            if ready > 0 && outcome != Outcome::Provisioned {
                acc.spillover += 1;
            }
            acc.served += 1;
            acc.peak = acc.peak.max(st.pool.in_flight());
            if self.record_latency {
                acc.latency.add(latency);
            }
        }
        let n = times.len();
        let t1 = t0 + MINUTE_MS;
        st.pool.advance(t1, ready);
        st.pool.reclaim(t1, self.keep_alive_ms);
        let busy = std::mem::take(&mut st.pool.integral);
        let datapoint =
            (n > 0 && ready > 0).then(|| (busy / (f64::from(ready) * MINUTE_MS)).clamp(0.0, 1.0));
        acc.utilization.push(datapoint.map(|v| v as f32));
        if let Control::Tracking(rule) = &self.control {
            st.tracker.observe(rule, datapoint, ready);
        }
        acc.capacity_seconds += f64::from(st.cap.enabled()) * 60.0;
        acc.events += n as u64 + (acc.served - served_before);
    }
}
