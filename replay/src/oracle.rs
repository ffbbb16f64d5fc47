//! The hindsight oracle: the cheapest hour-of-day provisioned-concurrency schedule (and
//! memory, among candidates) that meets the SLO on the replayed trace itself.
//!
//! It knows the future, so no real policy can beat it by more than its search misses;
//! it is the yardstick for adaptd's recommendation and for target tracking.
//!
//! **Search**, per memory, on the same draws (seed) as the replay:
//! 1. replay with no provisioned concurrency; each hour of day's *upper* level is the
//!    peak concurrency it reached (more provisioned environments than that are never
//!    all busy, so they only add cost; at it there are no cold starts in that hour);
//! 2. start from that replay if it meets the SLO (then every schedule does and each
//!    hour below is a local search around its current level, up or down, for cost
//!    alone), else from the upper schedule;
//! 3. coordinate descent, hours ordered from the least utilised upper level (where
//!    provisioned environments buy the fewest avoided cold starts per dollar, so they
//!    get the cold-start budget first): for each hour, binary-search the lowest level
//!    that keeps the SLO given the other hours (assuming fewer environments never mean
//!    fewer cold starts), then, if one more environment is cheaper there, search
//!    upwards to the upper level (doubling the step until cost rises, then ternary
//!    search in the bracket, assuming cost is unimodal in one hour's level:
//!    provisioned cost grows linearly, the duration discount and avoided inits
//!    shrink); keep the cheapest level found if it lowers the window's cost;
//! 4. repeat passes until one changes nothing (at most [`MAX_PASSES`]).
//!
//! This is a strong heuristic, not a proof of optimality: both assumptions hold for
//! the expectation but a single replay is noisy, and coordinate descent can stop at a
//! schedule where only moving two hours at once would save money.
//!
//! **Speed.** The draws are generated once. Each evaluated schedule replays only what
//! it changes, exactly: window hours before the first one affected by a change (the
//! hour whose level changed and the one before, where its increase is issued) are
//! taken from the best run so far, together with the simulator state at their end;
//! after the changed hours the new state is compared with the best run's, and as soon
//! as they are equivalent (same environments and capacity, same future billing) the
//! remaining hours are taken from the best run too. Evaluations that exceed the
//! cold-start or throttle budget stop early, and results are cached by schedule.

use std::collections::HashMap;
use std::rc::Rc;

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::spec::{Architecture, Deployment, Hourly, LambdaConfig, Provisioned, Slo};
use serde::Serialize;

use crate::billing::Rates;
use crate::draws::Trace;
use crate::error::ReplayError;
use crate::lambda::{Control, LambdaSim, LambdaState};
use crate::result::{HourAcc, ReplayResult};
use crate::workload::Workload;
use crate::{Params, Policy, lambda_sim, replay};

/// Passes of coordinate descent at most.
pub const MAX_PASSES: usize = 8;

/// The objective the oracle must meet on the trace.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ReplaySlo {
    /// Cold starts over the whole window, as a share of invocations; `None` leaves
    /// cold starts free.
    pub max_cold_start_rate: Option<f64>,
    /// Throttles over the whole window, as a share of invocations (0 forbids them).
    pub max_throttle_rate: f64,
}

impl ReplaySlo {
    /// The replayable part of a component's SLO (p99 is not searched for).
    pub fn from_slo(slo: &Slo) -> Self {
        Self {
            max_cold_start_rate: slo.max_cold_start_rate,
            max_throttle_rate: slo.max_throttle_rate.unwrap_or(0.0),
        }
    }
}

/// What the oracle may choose from.
#[derive(Debug, Clone, PartialEq)]
pub struct OracleSpace {
    /// Memory sizes (MB) to try.
    pub memories: Vec<u32>,
    /// Architecture (fixed).
    pub architecture: Architecture,
    /// Reserved concurrency kept (caps provisioned concurrency).
    pub reserved_concurrency: Option<u32>,
    /// Most provisioned environments in any hour.
    pub max_level: u32,
}

impl OracleSpace {
    /// One memory size, x86_64, no reserved concurrency, up to 1,000 environments.
    pub fn memory(memory_mb: u32) -> Self {
        Self {
            memories: vec![memory_mb],
            architecture: Architecture::X86_64,
            reserved_concurrency: None,
            max_level: 1000,
        }
    }
}

/// The best schedule found at one memory size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryOutcome {
    /// Memory (MB).
    pub memory_mb: u32,
    /// Provisioned environments per hour of day.
    pub schedule: Hourly<u32>,
    /// Cost over the window (USD).
    pub window_usd: f64,
    /// Whether the SLO holds.
    pub meets_slo: bool,
}

/// The oracle's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct OracleResult {
    /// The cheapest deployment meeting the SLO (or the one closest to it, see
    /// `meets_slo`).
    pub deployment: Deployment,
    /// Its full replay (latency included).
    pub result: ReplayResult,
    /// Whether the SLO holds; false only when no schedule at any memory meets it
    /// (throttles under a reserved-concurrency cap).
    pub meets_slo: bool,
    /// The best found per memory size.
    pub per_memory: Vec<MemoryOutcome>,
    /// Schedules evaluated (cache misses).
    pub replays_run: u64,
    /// Window hours actually simulated over all evaluations.
    pub hours_simulated: u64,
    /// `hours_simulated` in whole-window replays.
    pub full_replay_equivalents: f64,
}

/// Searches the cheapest schedule; see the module doc.
pub fn oracle(
    w: &Workload,
    slo: &ReplaySlo,
    space: &OracleSpace,
    params: &Params,
    prices: &PriceSheet,
) -> Result<OracleResult, ReplayError> {
    w.validate()?;
    params.validate()?;
    if space.memories.is_empty() || space.memories.contains(&0) {
        return Err(ReplayError::Config(
            "the oracle needs at least one memory size, all > 0 MB".into(),
        ));
    }
    let trace = Trace::new(w, params.seed);
    let invocations = w.invocations() as f64;
    let budget = Budget {
        cold: slo.max_cold_start_rate.map_or(u64::MAX, |r| {
            (r.max(0.0) * invocations + 1e-9).floor() as u64
        }),
        throttles: (slo.max_throttle_rate.max(0.0) * invocations + 1e-9).floor() as u64,
    };
    let mut stats = (0u64, 0u64);
    let mut per_memory = Vec::with_capacity(space.memories.len());
    for &memory_mb in &space.memories {
        let cfg = LambdaConfig {
            memory_mb,
            architecture: space.architecture,
            provisioned: Provisioned::None,
            reserved_concurrency: space.reserved_concurrency,
        };
        let sim = lambda_sim(
            w,
            memory_mb,
            &cfg,
            Control::Schedule([0; 24]),
            params,
            prices,
            false,
        );
        let rates = Rates::lambda(prices, memory_mb, space.architecture);
        let mut search = Search {
            sim,
            trace: &trace,
            rates,
            budget,
            cache: HashMap::new(),
            slo_free: false,
            evaluations: 0,
            hours_simulated: 0,
        };
        let cap = space
            .max_level
            .min(space.reserved_concurrency.unwrap_or(u32::MAX));
        let (best, feasible) = search.run(cap);
        stats.0 += search.evaluations;
        stats.1 += search.hours_simulated;
        per_memory.push(MemoryOutcome {
            memory_mb,
            schedule: best.schedule,
            window_usd: best.cost,
            meets_slo: feasible,
        });
    }
    let chosen = per_memory
        .iter()
        .min_by(|a, b| {
            (!a.meets_slo, a.window_usd)
                .partial_cmp(&(!b.meets_slo, b.window_usd))
                .expect("costs are finite")
        })
        .expect("at least one memory")
        .clone();
    let deployment = Deployment::Lambda(LambdaConfig {
        memory_mb: chosen.memory_mb,
        architecture: space.architecture,
        provisioned: Provisioned::from_hourly(chosen.schedule),
        reserved_concurrency: space.reserved_concurrency,
    });
    let result = replay(w, &Policy::Static(deployment.clone()), params, prices)?;
    let hours = crate::lambda::hour_spans(w.start, w.minutes()).len().max(1);
    Ok(OracleResult {
        deployment,
        result,
        meets_slo: chosen.meets_slo,
        per_memory,
        replays_run: stats.0,
        hours_simulated: stats.1,
        full_replay_equivalents: stats.1 as f64 / hours as f64,
    })
}

#[derive(Debug, Clone, Copy)]
struct Budget {
    cold: u64,
    throttles: u64,
}

/// One evaluated schedule: per window hour its measurements and the state at its end.
#[derive(Debug, Clone)]
struct Run {
    schedule: Hourly<u32>,
    /// `states[h]` is the state at the start of window hour `h` (one more than hours).
    states: Vec<Rc<LambdaState>>,
    accs: Vec<Rc<HourAcc>>,
    cost: f64,
}

struct Search<'a> {
    sim: LambdaSim<'a>,
    trace: &'a Trace,
    rates: Rates,
    budget: Budget,
    /// Window cost of every schedule evaluated; `None` when it breaks the SLO.
    cache: HashMap<Hourly<u32>, Option<f64>>,
    /// Whether every schedule meets the budget (the one without provisioned
    /// concurrency does), so that only cost is searched.
    slo_free: bool,
    evaluations: u64,
    hours_simulated: u64,
}

impl Search<'_> {
    fn hod(&self, h: usize) -> usize {
        self.sim
            .w
            .timezone
            .hour_of_day(self.sim.w.start + self.sim.spans[h].0 as i64)
    }

    /// A whole replay of `schedule`, ignoring the budget.
    fn full(&mut self, schedule: Hourly<u32>) -> Run {
        let mut sim = self.sim.clone();
        sim.control = Control::Schedule(schedule);
        let mut st = sim.initial_state();
        let mut states = vec![Rc::new(st.clone())];
        let mut accs = Vec::with_capacity(sim.spans.len());
        for h in 0..sim.spans.len() {
            accs.push(Rc::new(sim.run_hour(&mut st, h, &mut self.trace)));
            states.push(Rc::new(st.clone()));
        }
        self.evaluations += 1;
        self.hours_simulated += sim.spans.len() as u64;
        let cost = accs.iter().map(|a| self.rates.cost(a).total()).sum();
        self.cache
            .insert(schedule, self.meets(&accs, usize::MAX).then_some(cost));
        Run {
            schedule,
            states,
            accs,
            cost,
        }
    }

    fn meets(&self, accs: &[Rc<HourAcc>], upto: usize) -> bool {
        let (c, t) = accs
            .iter()
            .take(upto)
            .fold((0, 0), |(c, t), a| (c + a.cold, t + a.throttles));
        c <= self.budget.cold && t <= self.budget.throttles
    }

    /// `schedule` replayed from `base` where they differ; `None` when it breaks the SLO.
    fn eval(&mut self, base: &Run, schedule: Hourly<u32>) -> Option<Run> {
        if schedule == base.schedule {
            return Some(base.clone());
        }
        if let Some(None) = self.cache.get(&schedule) {
            return None;
        }
        let n = self.sim.spans.len();
        let delay = self.sim.delay;
        let changed = |hod: usize| schedule[hod] != base.schedule[hod];
        let dirty = |s: &Self, h: usize| {
            let hod = s.hod(h);
            changed(hod) || (delay > 0 && changed((hod + 1) % 24))
        };
        let Some(first) = (0..n).find(|&h| dirty(self, h)) else {
            return Some(Run {
                schedule,
                ..base.clone()
            });
        };
        let mut sim = self.sim.clone();
        sim.control = Control::Schedule(schedule);
        let mut states: Vec<Rc<LambdaState>> = base.states[..=first].to_vec();
        let mut accs: Vec<Rc<HourAcc>> = base.accs[..first].to_vec();
        let mut current: Option<LambdaState> = Some(if first == 0 {
            let s = sim.initial_state();
            states[0] = Rc::new(s.clone());
            s
        } else {
            (*base.states[first]).clone()
        });
        self.evaluations += 1;
        for h in first..n {
            match current.take() {
                None if !dirty(self, h) => {
                    accs.push(base.accs[h].clone());
                    states.push(base.states[h + 1].clone());
                }
                state => {
                    let mut st = state.unwrap_or_else(|| (*base.states[h]).clone());
                    accs.push(Rc::new(sim.run_hour(&mut st, h, &mut self.trace)));
                    self.hours_simulated += 1;
                    let now = sim.spans[h].1 as i64;
                    if st.equivalent(&base.states[h + 1], now) {
                        states.push(base.states[h + 1].clone());
                    } else {
                        states.push(Rc::new(st.clone()));
                        current = Some(st);
                    }
                }
            }
            if !self.meets(&accs, usize::MAX) {
                self.cache.insert(schedule, None);
                return None;
            }
        }
        let cost = accs.iter().map(|a| self.rates.cost(a).total()).sum();
        self.cache.insert(schedule, Some(cost));
        Some(Run {
            schedule,
            states,
            accs,
            cost,
        })
    }

    /// The search; returns the best run and whether it meets the SLO.
    fn run(&mut self, cap: u32) -> (Run, bool) {
        let zero = self.full([0; 24]);
        let n = self.sim.spans.len();
        let mut upper = [0u32; 24];
        let mut served = [0u64; 24];
        for h in 0..n {
            let hod = self.hod(h);
            upper[hod] = upper[hod].max(zero.accs[h].peak.min(cap));
            served[hod] += zero.accs[h].served;
        }
        self.slo_free = self.meets(&zero.accs, usize::MAX);
        let mut best = if self.slo_free {
            zero
        } else {
            let top = self.full(upper);
            if !self.meets(&top.accs, usize::MAX) {
                // Unreachable SLO (throttles): the cheapest schedule, flagged.
                let mut relaxed = Budget {
                    cold: u64::MAX,
                    throttles: u64::MAX,
                };
                std::mem::swap(&mut self.budget, &mut relaxed);
                self.cache.clear();
                self.slo_free = true;
                let best = self.descend(zero, &upper, &served);
                self.budget = relaxed;
                return (best, false);
            }
            top
        };
        best = self.descend(best, &upper, &served);
        (best, true)
    }

    /// Coordinate descent from `start` (which meets the budget).
    fn descend(&mut self, start: Run, upper: &Hourly<u32>, served: &[u64; 24]) -> Run {
        let mut order: Vec<usize> = (0..24).filter(|&h| upper[h] > 0).collect();
        // Least utilised first: invocations per upper environment.
        order.sort_by(|&a, &b| {
            let ua = served[a] as f64 / f64::from(upper[a]);
            let ub = served[b] as f64 / f64::from(upper[b]);
            ua.total_cmp(&ub).then(a.cmp(&b))
        });
        let mut best = start;
        for _ in 0..MAX_PASSES {
            let mut improved = false;
            for &hod in &order {
                if let Some(run) = self.improve_hour(&best, hod, upper[hod]) {
                    best = run;
                    improved = true;
                }
            }
            if !improved {
                break;
            }
        }
        best
    }

    /// The cheapest level of one hour given the others, if it beats `best`.
    fn improve_hour(&mut self, best: &Run, hod: usize, upper: u32) -> Option<Run> {
        let with = |level: u32| {
            let mut s = best.schedule;
            s[hod] = level;
            s
        };
        let mut found: Option<Run> = None;
        let consider = |run: Option<Run>, found: &mut Option<Run>| -> Option<f64> {
            let run = run?;
            let cost = run.cost;
            if cost < found.as_ref().map_or(best.cost, |f| f.cost) - 1e-12 {
                *found = Some(run);
            }
            Some(cost)
        };
        let f = |s: &mut Self, level: u32, found: &mut Option<Run>| -> f64 {
            if let Some(&c) = s.cache.get(&with(level)) {
                return c.unwrap_or(f64::INFINITY);
            }
            let run = s.eval(best, with(level));
            consider(run, found).unwrap_or(f64::INFINITY)
        };
        // Cost falls from `from` one step up (or down): double the step until it rises
        // again, then narrow the bracket by ternary search.
        let line = |s: &mut Self, from: u32, up: bool, found: &mut Option<Run>| {
            let room = if up { upper - from } else { from };
            let level = |k: u32| if up { from + k } else { from - k };
            let (mut a, mut prev, mut step) = (0u32, 1u32, 1u32);
            let mut c_prev = f(s, level(1), found);
            let b = loop {
                let next = prev.saturating_add(step).min(room);
                if next == prev {
                    break prev;
                }
                let c_next = f(s, level(next), found);
                if c_next >= c_prev {
                    break next;
                }
                (a, prev, c_prev) = (prev, next, c_next);
                step = step.saturating_mul(2);
            };
            let (mut a, mut b) = (a + 1, b);
            while b - a > 2 {
                let m1 = a + (b - a) / 3;
                let m2 = b - (b - a) / 3;
                let (c1, c2) = (f(s, level(m1), found), f(s, level(m2), found));
                if c1 < c2 {
                    b = m2 - 1;
                } else if c1 > c2 {
                    a = m1 + 1;
                } else {
                    (a, b) = (m1, m2);
                }
            }
            for k in a..=b {
                f(s, level(k), found);
            }
        };
        let cur = best.schedule[hod];
        if self.slo_free {
            // Every level keeps the SLO: a local search around the current level.
            if cur < upper && f(self, cur + 1, &mut found) < best.cost {
                line(self, cur, true, &mut found);
            } else if cur > 0 && f(self, cur - 1, &mut found) < best.cost {
                line(self, cur, false, &mut found);
            }
            return found;
        }
        // Lowest level that keeps the SLO, then upwards while cost falls.
        let (mut lo, mut hi) = (0, cur);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let feasible = match self.cache.get(&with(mid)) {
                Some(c) => c.is_some(),
                None => consider(self.eval(best, with(mid)), &mut found).is_some(),
            };
            if feasible {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let at_lo = if lo == cur {
            best.cost
        } else {
            f(self, lo, &mut found)
        };
        if lo < upper && f(self, lo + 1, &mut found) < at_lo {
            line(self, lo, true, &mut found);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adaptd_engine::quantiles::QuantileSet;

    #[test]
    fn partial_replays_cost_exactly_what_whole_ones_do() {
        // Busy days and quiet nights over two days, so states both diverge and
        // converge again.
        let counts: Vec<u32> = (0..2880u32)
            .map(|m| match (m / 60) % 24 {
                9..=16 => 20 + (m * 13) % 17,
                17..=19 => u32::from(m % 3 == 0),
                _ => u32::from(m % 50 == 0),
            })
            .collect();
        let q = QuantileSet::new(vec![(0.0, 50.0), (0.9, 900.0), (1.0, 4000.0)], None).unwrap();
        let w = Workload::new("f", 7 * 1440 + 30, counts, q, 1024.0);
        let params = Params::default();
        let prices = PriceSheet::us_east_1();
        let trace = Trace::new(&w, 5);
        let cfg = LambdaConfig {
            memory_mb: 1024,
            architecture: Architecture::X86_64,
            provisioned: Provisioned::None,
            reserved_concurrency: None,
        };
        let mut search = Search {
            sim: lambda_sim(
                &w,
                1024,
                &cfg,
                Control::Schedule([0; 24]),
                &params,
                &prices,
                false,
            ),
            trace: &trace,
            rates: Rates::lambda(&prices, 1024, Architecture::X86_64),
            budget: Budget {
                cold: u64::MAX,
                throttles: u64::MAX,
            },
            cache: HashMap::new(),
            slo_free: true,
            evaluations: 0,
            hours_simulated: 0,
        };
        let mut base_schedule = [0u32; 24];
        base_schedule[9..17].fill(3);
        let base = search.full(base_schedule);
        for (hod, level) in [(12, 1), (9, 6), (0, 2), (16, 0), (18, 4), (23, 1)] {
            let mut s = base_schedule;
            s[hod] = level;
            let before = search.hours_simulated;
            let partial = search.eval(&base, s).expect("no budget");
            let simulated = search.hours_simulated - before;
            let whole = search.full(s);
            assert!(
                (partial.cost - whole.cost).abs() < 1e-12,
                "hour {hod} → {level}: {} vs {}",
                partial.cost,
                whole.cost
            );
            for (p, f) in partial.accs.iter().zip(&whole.accs) {
                assert_eq!((p.cold, p.served, p.peak), (f.cold, f.served, f.peak));
                assert_eq!(p.capacity, f.capacity);
            }
            assert!(simulated < whole.accs.len() as u64, "{hod}: {simulated}");
        }
    }
}
