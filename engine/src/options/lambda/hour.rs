//! One hour of the day of a Lambda function: concurrency, cold starts, spillover.
//!
//! The model, in the order it is computed (see also the README's "Latency model"):
//!
//! 1. **Occupancy.** Within a minute with `c` invocations of mean duration `D`, arrivals
//!    are Poisson at rate `c/60 s`, so the executions in flight are Poisson with mean
//!    `L = c·D/60 s` (Little's law, M/G/∞).
//! 2. **Busiest instant of a minute.** The peak `X` reaches level `j ≥ 2` if it started
//!    there or if one of the `c` arrivals found `j-1` busy (probability `π_{j-1}(L)`
//!    each, by PASTA): `P(X ≥ j) = 1 - (1 - P(N ≥ j))·exp(-c·π_{j-1}(L))`. Any minute
//!    with an invocation has `X ≥ 1`. The hour's minutes are a mixture over the
//!    histogram of per-minute counts.
//! 3. **Cold starts.** An arrival is cold when all `P` provisioned environments are
//!    busy and no on-demand environment is warm. On-demand environments live for the
//!    keep-alive window `k` after last use, so the warm pool is the peak of the last `k`
//!    minutes, `W`. The environments created in a minute are `(X - max(P, W))+`.
//!    Minutes are treated as independent draws except for one observed fact: the share
//!    `π0` of active minutes that follow an idle gap longer than the keep-alive (counted
//!    on the ordered series), in which `W = 0`. Otherwise `W` is the largest of `k`
//!    draws given that one was active. Writing `S(j) = P(X ≥ j)` and `G(j) = P(W ≤ j)`:
//!    `cold(P) = Σ_{j ≥ P} S(j+1)·(π0 + (1 - π0)·G(j))` per minute.
//! 4. **Hour boundaries.** When provisioned concurrency drops at the start of the hour,
//!    the on-demand pool has to be rebuilt: the potential `g(P) = E[(W - P)+]`, with
//!    `W` the peak of the hour's first `k` minutes, gives the transition cold starts
//!    `max(0, g(P_now) - g(P_before))` (the optimiser's transition risk).
//! 5. **Spillover and throttles.** An arrival is served by a provisioned environment
//!    when fewer than `P` are busy (`P(N < P)`), and throttled when reserved concurrency
//!    `R` is all busy (`P(N ≥ R)`).

use crate::poisson;
use crate::profile::HourProfile;
use crate::quantiles::QuantileSet;

/// Survival below which a peak level is ignored.
const NEGLIGIBLE: f64 = 1e-12;

/// What the occupancy model needs of the duration distribution (minutes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DurationMoments {
    /// `E[D]`.
    pub mean: f64,
    /// `E[min(D, 1 minute)]`: how long a same-minute arrival stays in flight within the
    /// minute. A one-minute burst of heavy-tailed work never reaches `rate × E[D]`.
    pub within_minute: f64,
    /// `E[(D − 1 minute)+]`: how far work spills into later minutes.
    pub beyond_minute: f64,
    /// `E[(D − k)+]` for the keep-alive window `k`: the work that runs through a whole
    /// window is in flight at every instant the warm pool remembers as well as now,
    /// so it is shared by a minute's peak and its pool (see [`with_shared_work`]).
    pub beyond_keep_alive: f64,
}

impl DurationMoments {
    /// Moments of a constant duration, with a keep-alive of `keep_alive_minutes`.
    pub fn constant(ms: f64, keep_alive_minutes: u32) -> Self {
        let m = ms.max(0.0) / 60_000.0;
        Self {
            mean: m,
            within_minute: m.min(1.0),
            beyond_minute: (m - 1.0).max(0.0),
            beyond_keep_alive: (m - f64::from(keep_alive_minutes)).max(0.0),
        }
    }

    /// Moments of a distribution given in ms, with a keep-alive of `keep_alive_minutes`.
    pub fn of(d: &QuantileSet, keep_alive_minutes: u32) -> Self {
        let to_min = 1.0 / 60_000.0;
        Self {
            mean: d.mean() * to_min,
            within_minute: d.expected_min(60_000.0) * to_min,
            beyond_minute: d.expected_excess(60_000.0) * to_min,
            beyond_keep_alive: d.expected_excess(f64::from(keep_alive_minutes) * 60_000.0) * to_min,
        }
    }
}

/// Distribution of the executions an arrival finds in flight, in a minute of `count`
/// arrivals. At random instants it is Poisson with mean: the other arrivals of the same
/// minute that overlap it, plus `carry` executions spilling over from earlier minutes
/// (at the hour's mean rate: a busy minute says nothing about the minutes before it);
/// a lone invocation finds nothing, which the plain `count × duration` would miss. On
/// a clock (`periodic`, at the hour's `mean_count`) see [`periodic_occupancy_pmf`].
fn occupancy_pmf(
    count: f64,
    mean_count: f64,
    d: &DurationMoments,
    periodic: Option<&QuantileSet>,
    carry: f64,
) -> Vec<f64> {
    match periodic {
        None => {
            // Each other arrival of the minute is still running with probability
            // `q = E[min(D, 1 min)] / 1 min`: a binomial count, which, unlike a Poisson
            // one, cannot exceed the minute's arrivals. Work spilling over from earlier
            // minutes adds a Poisson count.
            let others = (count - 1.0).max(0.0).round();
            let q = d.within_minute.clamp(0.0, 1.0);
            let carry = carry.max(0.0);
            if q < 0.05 || others < 1.0 {
                let l = others * q + carry;
                return poisson::pmf_table(l, poisson::table_len(l));
            }
            let same = poisson::binomial_pmf_table(others as u64, q);
            if carry < 1e-6 {
                return same;
            }
            let spill = poisson::pmf_table(carry, poisson::table_len(carry));
            poisson::convolve(&same, &spill)
        }
        Some(dist) => periodic_occupancy_pmf(count, mean_count, dist),
    }
}

/// On a clock, invocations are evenly spaced: an arrival finds the `i`-th previous one
/// still running with probability `P(D > its distance)`, independently, so the
/// occupancy it finds is a sum of Bernoulli variables (Poisson-binomial), computed
/// exactly. The minute's last arrival is taken (the busiest instant): the other
/// `count − 1` runs of its minute precede it at the minute's own spacing (`1/count`),
/// and the runs before the minute at the hour's (`1/mean_count`), never closer than the
/// minute's own (a lone run: at least a minute). A minute that holds two runs of a
/// five-minute timer (jitter, a catch-up) says nothing about the minutes before it:
/// taking its 30-second spacing for the whole past would stack up runs that never
/// happened; a steady two a minute keeps its 30 seconds throughout.
fn periodic_occupancy_pmf(count: f64, mean_count: f64, dist: &QuantileSet) -> Vec<f64> {
    let own = (count.round() as u32).max(1);
    let own_spacing_ms = 60_000.0 / f64::from(own);
    let hour_spacing_ms = if mean_count > 0.0 {
        (60_000.0 / mean_count).max(own_spacing_ms)
    } else if own >= 2 {
        own_spacing_ms
    } else {
        return vec![1.0];
    };
    let mut pmf = vec![1.0];
    for i in 1..100_000u32 {
        let distance_ms = if i < own {
            f64::from(i) * own_spacing_ms
        } else {
            f64::from(own - 1) * own_spacing_ms + f64::from(i - own + 1) * hour_spacing_ms
        };
        let p = 1.0 - dist.cdf(distance_ms);
        if p < 1e-9 {
            if i < own {
                continue;
            }
            break;
        }
        pmf.push(0.0);
        for j in (0..pmf.len()).rev() {
            let stay = pmf[j] * (1.0 - p);
            let from_below = if j > 0 { pmf[j - 1] * p } else { 0.0 };
            pmf[j] = stay + from_below;
        }
    }
    pmf
}

/// Shared in-flight work (mean executions) below which it is not worth a convolution.
const SHARED_NEGLIGIBLE: f64 = 1e-3;

/// Cold starts per minute for every level `p` when `S ~ Poisson(shared)` executions
/// are in flight both now and throughout the keep-alive window before, given the
/// cold starts `cold` of the rest: `Σ_s P(S = s)·cold(max(p − s, 0))`. The shared
/// executions hold `s` of the `p` provisioned environments, and raise the peak and
/// the warm pool alike, so only the rest can outgrow the pool.
fn with_shared_work(cold: &[f64], shared: f64) -> Vec<f64> {
    let pmf = poisson::pmf_table(shared, poisson::table_len(shared));
    let at = |q: usize| cold.get(q).copied().unwrap_or(0.0);
    (0..cold.len() + pmf.len())
        .map(|p| {
            pmf.iter()
                .enumerate()
                .map(|(s, w)| w * at(p.saturating_sub(s)))
                .sum()
        })
        .collect()
}

/// Erlang-B blocking `B(n, a)` for `n = 0..` until negligible, by the stable recurrence
/// `B(n) = a·B(n−1) / (n + a·B(n−1))`.
fn erlang_b_table(offered: f64) -> Vec<f64> {
    let mut out = vec![1.0];
    if offered <= 0.0 {
        out.push(0.0);
        return out;
    }
    let mut b = 1.0;
    for n in 1..100_000u32 {
        b = offered * b / (f64::from(n) + offered * b);
        out.push(b);
        if b < 1e-15 {
            break;
        }
    }
    out
}

#[cfg(test)]
#[test]
fn erlang_b_matches_tables() {
    // Textbook: B(1, 1) = 1/2, B(2, 1) = 1/5, B(10, 5) ≈ 0.01838.
    let t = erlang_b_table(1.0);
    assert!((t[1] - 0.5).abs() < 1e-12 && (t[2] - 0.2).abs() < 1e-12);
    assert!((erlang_b_table(5.0)[10] - 0.018_385).abs() < 1e-5);
}

/// `P(X ≥ j)` for the busiest instant `X` of a minute with `count` uniform arrivals that
/// each find Poisson occupancy with the given table (see the module doc, step 2); stops
/// once negligible. `S(0) = S(1) = 1`.
fn peak_survival(count: f64, pmf: &[f64], tail: &[f64]) -> Vec<f64> {
    let mut out = vec![1.0, 1.0];
    let mut j = 2usize;
    loop {
        let start = tail.get(j).copied().unwrap_or(0.0);
        let reach = 1.0 - (-count * pmf.get(j - 1).copied().unwrap_or(0.0)).exp();
        let s = 1.0 - (1.0 - start) * (1.0 - reach);
        if s < NEGLIGIBLE {
            return out;
        }
        out.push(s);
        j += 1;
    }
}

/// Level-independent quantities of one hour of the day at one duration.
#[derive(Debug, Clone)]
pub struct HourModel {
    /// Invocations per month in this hour of the day.
    pub invocations_per_month: f64,
    /// Minutes of this hour of the day in a month.
    minutes_per_month: f64,
    /// `S(j) = P(X ≥ j)` for `j = 0..` until negligible.
    peak_sf: Vec<f64>,
    /// Cold starts per minute for each `P` (index), zero beyond the end.
    cold_per_minute: Vec<f64>,
    /// Transition potential per hour start (one per day) for each `P`.
    potential_per_start: Vec<f64>,
    /// Erlang-B blocking for `j = 0..` servers, invocation-weighted over bins: the share
    /// of invocations that find `j` provisioned (or reserved) environments all busy.
    blocking: Vec<f64>,
    /// Occurrences of this hour in a month.
    occurrences_per_month: f64,
}

impl HourModel {
    /// Builds the model of `hour` for invocations whose durations have `moments` (and,
    /// when they come on a clock, the distribution `periodic`), and a keep-alive of
    /// `keep_alive_minutes`; the hour occurs `occurrences_per_month` times a month.
    pub fn new(
        hour: &HourProfile,
        moments: &DurationMoments,
        periodic: Option<&QuantileSet>,
        keep_alive_minutes: u32,
        occurrences_per_month: f64,
    ) -> Self {
        let minutes_observed: f64 = hour.count_bins.iter().map(|b| b.minutes).sum();
        let per_day = if hour.minutes_observed > 0 {
            hour.invocations / hour.days()
        } else {
            0.0
        };
        let mut model = Self {
            invocations_per_month: per_day * occurrences_per_month,
            minutes_per_month: 60.0 * occurrences_per_month,
            peak_sf: vec![1.0],
            cold_per_minute: vec![0.0],
            potential_per_start: vec![0.0],
            blocking: vec![1.0],
            occurrences_per_month,
        };
        if minutes_observed <= 0.0 || hour.invocations <= 0.0 {
            return model;
        }
        let mean_count = hour.invocations / minutes_observed;

        // 1–2: survival of the per-minute peak, mixed over bins; and, per level, the
        // invocation-weighted chance that an arrival finds that many busy (spillover,
        // throttles), accumulated from each bin's Poisson table.
        let mut sf: Vec<f64> = vec![1.0];
        let mut blocking: Vec<f64> = vec![0.0];
        let total_weight: f64 = hour.count_bins.iter().map(|b| b.count * b.minutes).sum();
        for b in &hour.count_bins {
            let w = b.minutes / minutes_observed;
            if b.count <= 0.0 {
                continue;
            }
            let carry = mean_count * moments.beyond_minute;
            let pmf = occupancy_pmf(b.count, mean_count, moments, periodic, carry);
            let tail = poisson::sf_table(&pmf);
            let iw = b.count * b.minutes / total_weight;
            let offered: f64 = pmf.iter().enumerate().map(|(j, p)| j as f64 * p).sum();
            let blocked = erlang_b_table(offered);
            if blocking.len() < blocked.len() {
                blocking.resize(blocked.len(), 0.0);
            }
            for (j, v) in blocked.iter().enumerate() {
                blocking[j] += iw * v;
            }
            for (j, v) in peak_survival(b.count, &pmf, &tail)
                .iter()
                .enumerate()
                .skip(1)
            {
                if sf.len() <= j {
                    sf.push(0.0);
                }
                sf[j] += w * v;
            }
        }
        blocking[0] = 1.0;
        model.blocking = blocking;
        let top = sf.len(); // S(j) = 0 for j ≥ top
        let s_at = |j: usize| sf.get(j).copied().unwrap_or(0.0);
        let cdf = |j: usize| 1.0 - s_at(j + 1);
        let k = f64::from(keep_alive_minutes.max(1));

        // 3: cold starts per minute for every P by suffix sums: from the ordered
        // series' cells when the profile has them, else from independent minutes.
        let mut cold = vec![0.0; top + 1];
        let mut potential = vec![0.0; top + 1];
        for p in (0..top).rev() {
            potential[p] = potential[p + 1] + (1.0 - cdf(p).powf(k));
        }
        if hour.active_cells.is_empty() {
            let pi0 = if hour.active_minutes > 0 {
                (hour.idle_starts / f64::from(hour.active_minutes)).clamp(0.0, 1.0)
            } else {
                1.0
            };
            let f0k = cdf(0).powf(k);
            let g_cond = |j: usize| -> f64 {
                if j == 0 {
                    0.0
                } else if 1.0 - f0k < 1e-12 {
                    1.0
                } else {
                    ((cdf(j).powf(k) - f0k) / (1.0 - f0k)).clamp(0.0, 1.0)
                }
            };
            for p in (0..top).rev() {
                cold[p] = cold[p + 1] + s_at(p + 1) * (pi0 + (1.0 - pi0) * g_cond(p));
            }
        } else {
            // Work running through the whole keep-alive window is in this minute's peak
            // and in every earlier minute's: the cells judge the rest, and the shared
            // part is added to both afterwards. Drawn afresh for the peak and for each
            // remembered minute, a function of 20-minute runs looked as if its
            // in-flight count jumped by its whole spread from one minute to the next
            // (fn-9bb3db87889d: 221 cold starts predicted for a plan that replayed 17;
            // 120 counted once, the rest still drawn independently).
            let shared = if periodic.is_none() {
                mean_count * moments.beyond_keep_alive
            } else {
                0.0
            };
            let carry = mean_count * moments.beyond_minute - shared;
            // Cells share counts (previous minutes' means repeat): one table per count.
            let mut tables: Vec<(f64, std::rc::Rc<Vec<f64>>)> = Vec::new();
            let mut survival = |count: f64| -> std::rc::Rc<Vec<f64>> {
                if let Some((_, t)) = tables.iter().find(|(c, _)| *c == count) {
                    return t.clone();
                }
                let t = std::rc::Rc::new(if count <= 0.0 {
                    vec![1.0]
                } else {
                    let pmf = occupancy_pmf(count, mean_count, moments, periodic, carry);
                    let tail = poisson::sf_table(&pmf);
                    peak_survival(count, &pmf, &tail)
                });
                tables.push((count, t.clone()));
                t
            };
            for cell in &hour.active_cells {
                let w = cell.minutes / minutes_observed;
                let idle = (cell.idle_starts / cell.minutes).clamp(0.0, 1.0);
                let mine = survival(cell.count);
                // The warm pool is the busiest instant of the previous keep-alive
                // minutes: the largest of one draw at the busiest minute's count and
                // one per other active minute at their mean count.
                let busiest = survival(cell.previous_peak_count);
                let others = survival(cell.previous_mean_count);
                let n_others = (cell.previous_active_minutes - 1.0).max(0.0);
                let warm_cdf = |j: usize| {
                    let a = 1.0 - busiest.get(j + 1).copied().unwrap_or(0.0);
                    let b = 1.0 - others.get(j + 1).copied().unwrap_or(0.0);
                    a * b.powf(n_others)
                };
                if cold.len() < mine.len() + 1 {
                    cold.resize(mine.len() + 1, 0.0);
                }
                // Environments warm from before the history (see the profile) are a
                // floor under the pool.
                let floor = cell.warm_before.round();
                // Σ_{j ≥ P} S(j+1)·(idle + (1 − idle)·P(W ≤ j)), accumulated downwards.
                let mut acc = 0.0;
                for p in (0..mine.len()).rev() {
                    let s_next = mine.get(p + 1).copied().unwrap_or(0.0);
                    let pool = if (p as f64) < floor {
                        0.0
                    } else if cell.previous_peak_count > 0.0 {
                        warm_cdf(p)
                    } else {
                        1.0
                    };
                    acc += s_next * (idle + (1.0 - idle) * pool);
                    cold[p] += w * acc;
                }
            }
            if shared > SHARED_NEGLIGIBLE {
                cold = with_shared_work(&cold, shared);
            }
        }
        // Cold starts cannot exceed invocations.
        let per_minute_invocations = per_day / 60.0;
        for c in &mut cold {
            *c = c.min(per_minute_invocations);
        }
        model.peak_sf = sf;
        model.cold_per_minute = cold;
        model.potential_per_start = potential;
        model
    }

    /// Expected cold starts per month with `p` provisioned environments (ready for the
    /// whole hour).
    pub fn cold_starts_per_month(&self, p: u32) -> f64 {
        self.cold_per_minute.get(p as usize).copied().unwrap_or(0.0) * self.minutes_per_month
    }

    /// Transition potential per month: cold starts caused at the hour's start per
    /// environment lost, summed as `g(P)` (see the module doc).
    pub fn potential_per_month(&self, p: u32) -> f64 {
        self.potential_per_start
            .get(p as usize)
            .copied()
            .unwrap_or(0.0)
            * self.occurrences_per_month
    }

    /// Share of invocations served by one of `p` provisioned environments. Arrivals take
    /// a free provisioned environment first and overflow to on-demand ones, so the
    /// provisioned environments form an Erlang loss system: the share is `1 − B(p, a)`
    /// for offered load `a` (insensitive to the duration distribution). Counting the
    /// arrivals that find fewer than `p` in flight instead would ignore that provisioned
    /// environments are refilled the moment they free up.
    pub fn provisioned_share(&self, p: u32) -> f64 {
        if p == 0 || self.invocations_per_month <= 0.0 {
            return 0.0;
        }
        1.0 - self.blocking.get(p as usize).copied().unwrap_or(0.0)
    }

    /// Share of invocations throttled by a reserved-concurrency cap: Erlang-B blocking
    /// of `r` environments.
    pub fn throttle_share(&self, reserved: Option<u32>) -> f64 {
        match reserved {
            Some(r) if self.invocations_per_month > 0.0 => {
                self.blocking.get(r as usize).copied().unwrap_or(0.0)
            }
            _ => 0.0,
        }
    }

    /// The fewest environments whose Erlang-B blocking is within `share` (0 without
    /// traffic).
    pub fn level_for_blocking(&self, share: f64) -> u32 {
        if self.invocations_per_month <= 0.0 {
            return 0;
        }
        self.blocking
            .iter()
            .position(|&b| b <= share)
            .unwrap_or(self.blocking.len()) as u32
    }

    /// The smallest level whose peak survival is below `p_exceed` (e.g. the 99.99th
    /// percentile busiest-minute concurrency with `p_exceed = 1e-4`).
    pub fn peak_quantile(&self, p_exceed: f64) -> u32 {
        let j = self
            .peak_sf
            .iter()
            .position(|&s| s < p_exceed)
            .unwrap_or(self.peak_sf.len());
        (j.saturating_sub(1)) as u32
    }

    /// Expected busiest-minute concurrency.
    pub fn mean_peak(&self) -> f64 {
        self.peak_sf.iter().skip(1).sum()
    }
}

#[cfg(test)]
#[path = "hour_tests.rs"]
mod tests;
