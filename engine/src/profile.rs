//! The compact summary of a component's telemetry that the models read.
//!
//! Per-minute history is large (a week is 10,080 minutes per metric per component); the
//! models need far less: per hour of day, how per-minute traffic is distributed, how
//! often traffic resumes after an idle gap, how long invocations take and how much
//! memory they use. A [`Profile`] holds exactly that, in a few kilobytes, so thousands
//! of components fit in memory and the optimiser never touches raw series.

use serde::{Deserialize, Serialize};

use crate::quantiles::QuantileSet;
use crate::telemetry::{ComponentTelemetry, Metric, Minute, Stat};
use crate::zone::Zone;

/// 1,769 MB of Lambda memory buys one vCPU (AWS documentation).
pub const MAX_ACTIVE_CELLS: usize = 64;
pub const MB_PER_VCPU: f64 = 1769.0;

/// One bin of the per-minute invocation-count histogram.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountBin {
    /// Representative invocations in a minute (the bin's mean; the top bin is the max).
    pub count: f64,
    /// Minutes in the bin.
    pub minutes: f64,
}

/// Active minutes of an hour grouped by their own invocations and by the busiest minute
/// among the keep-alive window before them, which together decide how many
/// environments they find warm.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActiveCell {
    /// Invocations in the minute (the cell's mean).
    pub count: f64,
    /// Largest count among the previous keep-alive minutes (the cell's mean; 0 when
    /// all were idle).
    pub previous_peak_count: f64,
    /// Active minutes among the previous keep-alive minutes (the cell's mean).
    #[serde(default)]
    pub previous_active_minutes: f64,
    /// Mean count of those active minutes (the cell's mean).
    #[serde(default)]
    pub previous_mean_count: f64,
    /// Environments known warm from before the history (the cell's mean): for minutes
    /// whose keep-alive window reaches back past the history's start, the busiest count
    /// of the history's first keep-alive minutes; 0 elsewhere. See [`summarize_with`].
    #[serde(default)]
    pub warm_before: f64,
    /// Minutes in the cell.
    pub minutes: f64,
    /// Of those, how many (fractionally) follow a gap long enough for every on-demand
    /// environment to be reclaimed.
    pub idle_starts: f64,
}

/// What one hour of the day looks like, over all observed days.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HourProfile {
    /// Minutes with an invocation count.
    pub minutes_observed: u32,
    /// Minutes inside the covered window without one.
    pub minutes_missing: u32,
    /// Invocations over the observed minutes.
    pub invocations: f64,
    /// Minutes with at least one invocation.
    pub active_minutes: u32,
    /// Active minutes that follow an idle gap long enough for every on-demand
    /// environment to have been reclaimed: each starts with a cold start unless an
    /// environment is provisioned. Counted on the ordered series, because periodic
    /// traffic (timers) is nothing like independent minutes.
    pub idle_starts: f64,
    /// Histogram of per-minute invocation counts (zero-count minutes in their own bin).
    pub count_bins: Vec<CountBin>,
    /// Active minutes by (count, busiest preceding minute): the ordered series' account
    /// of which bursts find a warm pool, at most [`MAX_ACTIVE_CELLS`] cells.
    #[serde(default)]
    pub active_cells: Vec<ActiveCell>,
    /// Duration of this hour's invocations at the current memory, when per-minute
    /// percentiles exist; else the component-wide distribution applies.
    pub duration_ms: Option<QuantileSet>,
    /// Largest observed concurrent executions in this hour, if the source reports it.
    pub peak_concurrency_observed: Option<f64>,
}

impl HourProfile {
    /// Days of data behind this hour.
    pub fn days(&self) -> f64 {
        f64::from(self.minutes_observed) / 60.0
    }

    /// Mean invocations per minute.
    pub fn mean_per_minute(&self) -> f64 {
        if self.minutes_observed == 0 {
            0.0
        } else {
            self.invocations / f64::from(self.minutes_observed)
        }
    }

    /// Quantile of per-minute invocation counts.
    pub fn count_quantile(&self, p: f64) -> f64 {
        let total: f64 = self.count_bins.iter().map(|b| b.minutes).sum();
        if total <= 0.0 {
            return 0.0;
        }
        let target = p.clamp(0.0, 1.0) * total;
        let mut acc = 0.0;
        for b in &self.count_bins {
            acc += b.minutes;
            if acc >= target - 1e-9 {
                return b.count;
            }
        }
        self.count_bins.last().map_or(0.0, |b| b.count)
    }

    /// Largest per-minute count seen.
    pub fn max_per_minute(&self) -> f64 {
        self.count_bins.iter().map(|b| b.count).fold(0.0, f64::max)
    }
}

/// How the CPU-bound share was obtained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuBoundEstimate {
    /// Share of the duration that scales with CPU (0–1).
    pub fraction: f64,
    /// The two memory sizes compared (MB).
    pub memory_mb: (f64, f64),
    /// Their mean durations (ms).
    pub mean_duration_ms: (f64, f64),
}

/// The compact summary of one component's telemetry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Component name.
    pub component: String,
    /// Minutes the data claims to cover.
    pub covered_minutes: u64,
    /// Minutes with an invocation count.
    pub observed_minutes: u64,
    /// Invocations seen.
    pub invocations: f64,
    /// Per local hour of day in `timezone`, 24 entries.
    pub hours: Vec<HourProfile>,
    /// The zone whose local hours `hours` are (UTC unless the component has one).
    #[serde(default)]
    pub timezone: Zone,
    /// Duration over the whole period at `duration_memory_mb`.
    pub duration_ms: Option<QuantileSet>,
    /// Memory the durations refer to (the latest configured memory), if known.
    pub duration_memory_mb: Option<f64>,
    /// Mean initialisation time seen, if reported.
    pub init_duration_ms: Option<f64>,
    /// Largest memory used by an invocation, if reported.
    pub max_memory_used_mb: Option<f64>,
    /// Cold starts seen, if reported.
    pub cold_starts: Option<f64>,
    /// Errors seen, if reported.
    pub errors: Option<f64>,
    /// Throttles seen, if reported.
    pub throttles: Option<f64>,
    /// Largest concurrent executions seen, if reported.
    pub peak_concurrency_observed: Option<f64>,
    /// CPU-bound share learnt from a memory change in the history.
    pub cpu_bound: Option<CpuBoundEstimate>,
    /// The keep-alive window used to count idle starts (minutes).
    pub keep_alive_minutes: u32,
    /// Whether invocations come on a clock (timers) rather than at random instants.
    #[serde(default)]
    pub periodic: bool,
    /// Data-quality findings, for explanations and reports.
    pub warnings: Vec<String>,
}

impl Profile {
    /// Days of observed data.
    pub fn days(&self) -> f64 {
        self.observed_minutes as f64 / 1440.0
    }

    /// Whether there is enough to model anything.
    pub fn has_traffic_data(&self) -> bool {
        self.observed_minutes > 0
    }

    /// Duration distribution that applies to `hour` (ms, current memory).
    pub fn duration_for_hour(&self, hour: usize) -> Option<&QuantileSet> {
        self.hours
            .get(hour)
            .and_then(|h| h.duration_ms.as_ref())
            .or(self.duration_ms.as_ref())
    }
}

/// Seconds-of-CPU speed of a Lambda environment of `memory_mb`, in vCPUs usable by code
/// that keeps `parallelism` threads busy.
pub fn lambda_vcpu(memory_mb: f64, parallelism: f64) -> f64 {
    (memory_mb / MB_PER_VCPU).min(parallelism.max(1.0))
}

/// Factor by which durations change when memory goes from `from_mb` to `to_mb`: the
/// CPU-bound share scales with the inverse of the vCPU share, the rest does not.
pub fn duration_factor(from_mb: f64, to_mb: f64, cpu_bound_fraction: f64, parallelism: f64) -> f64 {
    let f = cpu_bound_fraction.clamp(0.0, 1.0);
    f * lambda_vcpu(from_mb, parallelism) / lambda_vcpu(to_mb, parallelism) + (1.0 - f)
}

/// Summarises `t`. `keep_alive_minutes` decides which resumptions count as idle starts.
pub fn summarize(t: &ComponentTelemetry, keep_alive_minutes: u32, parallelism: f64) -> Profile {
    let periodic = t.attributes.get("trigger").is_some_and(|v| v == "timer");
    summarize_with(t, keep_alive_minutes, parallelism, periodic)
}

/// Summarises `t`; `periodic` says that invocations come on a clock (timers) rather
/// than at random instants, which decides whether a gap near the keep-alive is cold.
pub fn summarize_with(
    t: &ComponentTelemetry,
    keep_alive_minutes: u32,
    parallelism: f64,
    periodic: bool,
) -> Profile {
    summarize_in(t, keep_alive_minutes, parallelism, periodic, Zone::UTC)
}

/// [`summarize_with`], with minutes bucketed by their local hour in `zone`: across a
/// daylight-saving change, 08:00 local stays hour 8 while its UTC hour moves.
pub fn summarize_in(
    t: &ComponentTelemetry,
    keep_alive_minutes: u32,
    parallelism: f64,
    periodic: bool,
    zone: Zone,
) -> Profile {
    let mut warnings = Vec::new();
    let invocations = t.invocations();
    let (lo, hi) = t.covered().unwrap_or((0, 0));
    let covered_minutes = u64::try_from(hi - lo).unwrap_or(0);

    let memory = memory_history(t);
    let current_memory = memory
        .last()
        .map(|&(_, m)| m)
        .or_else(|| attribute_f64(t, "memory_mb"));
    let cpu_bound = estimate_cpu_bound(t, &memory, parallelism);
    let f_for_normalising = cpu_bound
        .as_ref()
        .map_or(crate::spec::DEFAULT_CPU_BOUND_FRACTION, |c| c.fraction);

    // Per-minute durations normalised to the current memory, so that a history spanning
    // a memory change describes the function as it is now.
    let mem_at = |m: Minute| -> Option<f64> {
        let i = memory.partition_point(|&(at, _)| at <= m);
        (i > 0).then(|| memory[i - 1].1)
    };
    let norm = |m: Minute| -> f64 {
        match (mem_at(m), current_memory) {
            (Some(then), Some(now)) if (then - now).abs() > 0.5 => {
                duration_factor(then, now, f_for_normalising, parallelism)
            }
            _ => 1.0,
        }
    };

    let mut durations = durations(t, &norm, zone);
    let mean_duration_minutes = durations
        .overall
        .as_ref()
        .map_or(0.0, |q| q.mean() / 60_000.0);
    let keep_alive = f64::from(keep_alive_minutes);

    // What preceded the history is unknown; it is taken as steady state, the history's
    // own traffic running before it (as a backtest's replay starts): the busiest count
    // of the first keep-alive minutes finds that many environments warm, and they stay
    // warm until the keep-alive runs out. Without this, minutes near the start would
    // be judged against an empty pool, cold starts that a month of days does not have.
    let window = i64::from(keep_alive_minutes.max(1));
    let warm_before_count = invocations.map_or(0.0, |series| {
        (lo..hi.min(lo + window))
            .filter_map(|m| series.get(m))
            .fold(0.0, f64::max)
    });
    let mut counts: Vec<Vec<f64>> = vec![Vec::new(); 24];
    let mut actives: Vec<Vec<ActiveCell>> = vec![Vec::new(); 24];
    let mut hours: Vec<HourProfile> = vec![HourProfile::default(); 24];
    let mut observed_minutes = 0u64;
    let mut total = 0.0;
    if let Some(series) = invocations {
        // (minute, count) of the last active minute.
        let mut last_active: Option<(Minute, f64)> = None;
        let mut hour_of_day = zone.hour_clock();
        for m in lo..hi {
            let h = hour_of_day(m);
            match series.get(m) {
                None => {
                    hours[h].minutes_missing += 1;
                }
                Some(c) => {
                    observed_minutes += 1;
                    hours[h].minutes_observed += 1;
                    hours[h].invocations += c;
                    total += c;
                    counts[h].push(c);
                    if c > 0.0 {
                        hours[h].active_minutes += 1;
                        let idle = match last_active {
                            Some((prev, prev_count)) if !periodic => idle_start_weight(
                                m - prev,
                                prev_count,
                                c,
                                mean_duration_minutes,
                                keep_alive,
                            ),
                            // On a clock the gap is exact: idle from the end of the
                            // previous run to the next one.
                            Some((prev, _)) => f64::from(u8::from(
                                (m - prev) as f64 - mean_duration_minutes > keep_alive,
                            )),
                            // What preceded the history is unknown. Activity within the
                            // first keep-alive minutes is taken as the continuation of
                            // traffic that ran before (steady state: warm); later first
                            // activity follows an idle stretch the history shows (cold).
                            None => f64::from(u8::from(m - lo >= window)),
                        };
                        hours[h].idle_starts += idle;
                        let (mut peak, mut active, mut sum) = (0.0f64, 0.0, 0.0);
                        for v in (m - window..m)
                            .filter_map(|x| series.get(x))
                            .filter(|&v| v > 0.0)
                        {
                            peak = peak.max(v);
                            active += 1.0;
                            sum += v;
                        }
                        actives[h].push(ActiveCell {
                            count: c,
                            previous_peak_count: peak,
                            previous_active_minutes: active,
                            previous_mean_count: if active > 0.0 { sum / active } else { 0.0 },
                            warm_before: if m - lo < window {
                                warm_before_count
                            } else {
                                0.0
                            },
                            minutes: 1.0,
                            idle_starts: idle,
                        });
                        last_active = Some((m, c));
                    }
                }
            }
        }
    } else {
        warnings.push("no invocation counts: traffic is unknown".to_owned());
    }
    let missing: u32 = hours.iter().map(|h| h.minutes_missing).sum();
    if missing > 0 && covered_minutes > 0 {
        warnings.push(format!(
            "{missing} of {covered_minutes} minutes have no invocation count ({:.1} %); they are left out, not taken as zero",
            100.0 * f64::from(missing) / covered_minutes as f64
        ));
    }
    for (h, c) in counts.iter_mut().enumerate() {
        hours[h].count_bins = bin_counts(c);
    }
    for (h, a) in actives.iter_mut().enumerate() {
        hours[h].active_cells = cell_actives(a);
    }

    // Per-hour durations and concurrency from per-minute stats when present.
    let peaks = max_by_hour(t, Metric::ConcurrentExecutions, Stat::Maximum, zone);
    for (h, hp) in hours.iter_mut().enumerate() {
        hp.duration_ms = durations.hours[h].take();
        hp.peak_concurrency_observed = peaks[h];
    }
    let duration_ms = durations.overall;
    if duration_ms.is_none() && total > 0.0 {
        warnings.push("no duration data: latency and duration cost cannot be modelled".to_owned());
    }

    let init_duration_ms = weighted_mean(
        t,
        Metric::InitDurationMs,
        Stat::Average,
        Some(Metric::ColdStarts),
    );
    let max_memory_used_mb = t
        .get(Metric::MaxMemoryUsedMb, Stat::Maximum)
        .and_then(|s| s.observed().map(|(_, v)| v).reduce(f64::max))
        .or_else(|| t.memory_used_mb.as_ref().map(QuantileSet::max));

    Profile {
        component: t.name.clone(),
        covered_minutes,
        observed_minutes,
        invocations: total,
        hours,
        timezone: zone,
        duration_ms,
        duration_memory_mb: current_memory,
        init_duration_ms,
        max_memory_used_mb,
        cold_starts: sum_of(t, Metric::ColdStarts),
        errors: sum_of(t, Metric::Errors),
        throttles: sum_of(t, Metric::Throttles),
        peak_concurrency_observed: t
            .get(Metric::ConcurrentExecutions, Stat::Maximum)
            .and_then(|s| s.observed().map(|(_, v)| v).reduce(f64::max)),
        cpu_bound,
        keep_alive_minutes,
        periodic,
        warnings,
    }
}

/// How likely traffic resuming in a minute `gap` minutes after the previous active one
/// finds every on-demand environment reclaimed.
///
/// The previous minute's last arrival sits on average at `c/(c+1)` of its minute, the
/// resuming minute's first at `1/(c+1)` of its own, and the environment is busy for the
/// mean duration first. Arrival instants within a minute are unknown, so the idle time
/// is uncertain by about a minute: the weight ramps from 0 to 1 over the minute around
/// the keep-alive.
fn idle_start_weight(
    gap: Minute,
    prev_count: f64,
    count: f64,
    duration_minutes: f64,
    keep_alive: f64,
) -> f64 {
    let idle =
        gap as f64 + 1.0 / (count + 1.0) - prev_count / (prev_count + 1.0) - duration_minutes;
    (idle - keep_alive + 0.5).clamp(0.0, 1.0)
}

/// Groups active minutes into at most [`MAX_ACTIVE_CELLS`] cells: exact when few
/// distinct (count, previous peak) pairs exist, else by quantiles of the count (the
/// busiest minute alone) and, within those, of the previous peak (idle ones apart).
fn cell_actives(minutes: &mut [ActiveCell]) -> Vec<ActiveCell> {
    let merge = |group: &[ActiveCell]| -> ActiveCell {
        let n: f64 = group.iter().map(|a| a.minutes).sum();
        ActiveCell {
            count: group.iter().map(|a| a.count * a.minutes).sum::<f64>() / n,
            previous_peak_count: group
                .iter()
                .map(|a| a.previous_peak_count * a.minutes)
                .sum::<f64>()
                / n,
            previous_active_minutes: group
                .iter()
                .map(|a| a.previous_active_minutes * a.minutes)
                .sum::<f64>()
                / n,
            previous_mean_count: group
                .iter()
                .map(|a| a.previous_mean_count * a.minutes)
                .sum::<f64>()
                / n,
            warm_before: group.iter().map(|a| a.warm_before * a.minutes).sum::<f64>() / n,
            minutes: n,
            idle_starts: group.iter().map(|a| a.idle_starts).sum(),
        }
    };
    minutes.sort_by(|a, b| {
        a.count
            .total_cmp(&b.count)
            .then(a.previous_peak_count.total_cmp(&b.previous_peak_count))
    });
    let mut exact: Vec<ActiveCell> = Vec::new();
    for a in minutes.iter() {
        match exact.last_mut() {
            Some(e)
                if e.count == a.count
                    && e.previous_peak_count == a.previous_peak_count
                    && e.previous_active_minutes == a.previous_active_minutes
                    && e.previous_mean_count == a.previous_mean_count
                    && e.warm_before == a.warm_before =>
            {
                e.minutes += a.minutes;
                e.idle_starts += a.idle_starts;
            }
            _ => exact.push(*a),
        }
        if exact.len() > MAX_ACTIVE_CELLS {
            break;
        }
    }
    if exact.len() <= MAX_ACTIVE_CELLS {
        return exact;
    }
    const COUNT_EDGES: [f64; 8] = [0.25, 0.5, 0.7, 0.85, 0.95, 0.99, 0.999, 1.0];
    let n = minutes.len();
    let mut out = Vec::new();
    let mut start = 0;
    for e in COUNT_EDGES {
        let end = ((e * n as f64).round() as usize).clamp(start, n - 1);
        if end > start {
            let group = &mut minutes[start..end];
            group.sort_by(|a, b| a.previous_peak_count.total_cmp(&b.previous_peak_count));
            let idle = group.partition_point(|a| a.previous_peak_count <= 0.0);
            if idle > 0 {
                out.push(merge(&group[..idle]));
            }
            let rest = &group[idle..];
            let parts = 6.min(rest.len());
            for i in 0..parts {
                let (a, b) = (i * rest.len() / parts, (i + 1) * rest.len() / parts);
                if b > a {
                    out.push(merge(&rest[a..b]));
                }
            }
            start = end;
        }
    }
    out.push(merge(&minutes[n - 1..]));
    out
}

/// Zero-count minutes get their own bin; non-zero ones are binned by quantile with finer
/// bins in the upper tail, and the busiest minute keeps a bin of its own, because the
/// tail is what provisioned concurrency is sized for.
fn bin_counts(counts: &mut [f64]) -> Vec<CountBin> {
    counts.sort_by(f64::total_cmp);
    let zeros = counts.partition_point(|&c| c <= 0.0);
    let mut bins = Vec::new();
    if zeros > 0 {
        bins.push(CountBin {
            count: 0.0,
            minutes: zeros as f64,
        });
    }
    let nz = &counts[zeros..];
    if nz.is_empty() {
        return bins;
    }
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for &c in nz {
        match distinct.last_mut() {
            Some((v, n)) if *v == c => *n += 1,
            _ => distinct.push((c, 1)),
        }
        if distinct.len() > 24 {
            break;
        }
    }
    if distinct.len() <= 24 {
        bins.extend(distinct.into_iter().map(|(v, n)| CountBin {
            count: v,
            minutes: n as f64,
        }));
        return bins;
    }
    const EDGES: [f64; 16] = [
        0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 0.93, 0.96, 0.98, 0.99, 0.995, 0.998, 0.999,
        0.9995, 1.0,
    ];
    let n = nz.len();
    let mut start = 0;
    for e in EDGES {
        // The busiest minute is kept alone.
        let end = ((e * n as f64).round() as usize).clamp(start, n - 1);
        if end > start {
            let slice = &nz[start..end];
            bins.push(CountBin {
                count: slice.iter().sum::<f64>() / slice.len() as f64,
                minutes: slice.len() as f64,
            });
            start = end;
        }
    }
    bins.push(CountBin {
        count: nz[n - 1],
        minutes: 1.0,
    });
    bins
}

fn attribute_f64(t: &ComponentTelemetry, key: &str) -> Option<f64> {
    t.attributes.get(key).and_then(|v| v.trim().parse().ok())
}

/// (first minute, memory MB) at each change of the configured memory.
fn memory_history(t: &ComponentTelemetry) -> Vec<(Minute, f64)> {
    let Some(s) = t
        .get(Metric::ConfiguredMemoryMb, Stat::Average)
        .or_else(|| t.get(Metric::ConfiguredMemoryMb, Stat::Maximum))
    else {
        return Vec::new();
    };
    let mut out: Vec<(Minute, f64)> = Vec::new();
    for (m, v) in s.observed() {
        if out.last().is_none_or(|&(_, last)| (last - v).abs() > 0.5) {
            out.push((m, v));
        }
    }
    out
}

/// Learns the CPU-bound share from the two most-used memory sizes, if the history has
/// at least 100 invocations at each.
fn estimate_cpu_bound(
    t: &ComponentTelemetry,
    memory: &[(Minute, f64)],
    parallelism: f64,
) -> Option<CpuBoundEstimate> {
    if memory.len() < 2 {
        return None;
    }
    let inv = t.invocations()?;
    let avg = t
        .get(Metric::DurationMs, Stat::Average)
        .or_else(|| t.get(Metric::DurationMs, Stat::P50))?;
    let mut by_memory: Vec<(f64, f64, f64)> = Vec::new(); // (memory, invocations, duration×invocations)
    for (i, &(from, mem)) in memory.iter().enumerate() {
        let to = memory.get(i + 1).map_or(Minute::MAX, |&(m, _)| m);
        let (mut n, mut d) = (0.0, 0.0);
        for (m, v) in avg.observed().filter(|&(m, _)| m >= from && m < to) {
            let c = inv.get(m).unwrap_or(0.0);
            n += c;
            d += c * v;
        }
        match by_memory.iter_mut().find(|e| (e.0 - mem).abs() < 0.5) {
            Some(e) => {
                e.1 += n;
                e.2 += d;
            }
            None => by_memory.push((mem, n, d)),
        }
    }
    by_memory.retain(|e| e.1 >= 100.0);
    by_memory.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (a, b) = (by_memory.first()?, by_memory.get(1)?);
    let (da, db) = (a.2 / a.1, b.2 / b.1);
    let cpu_ratio = lambda_vcpu(a.0, parallelism) / lambda_vcpu(b.0, parallelism);
    if (cpu_ratio - 1.0).abs() < 0.05 || da <= 0.0 {
        return None;
    }
    // db/da = f·cpu_ratio + (1 − f)  ⇒  f = (db/da − 1)/(cpu_ratio − 1).
    let fraction = ((db / da - 1.0) / (cpu_ratio - 1.0)).clamp(0.0, 1.0);
    Some(CpuBoundEstimate {
        fraction,
        memory_mb: (a.0, b.0),
        mean_duration_ms: (da, db),
    })
}

/// Percentile stats a per-minute source may carry, with their probabilities.
const PERCENTILE_STATS: [(Stat, f64); 5] = [
    (Stat::Percentile(500), 0.5),
    (Stat::Percentile(900), 0.9),
    (Stat::Percentile(950), 0.95),
    (Stat::Percentile(990), 0.99),
    (Stat::Maximum, 1.0),
];

/// Duration distributions from per-minute stats: per hour of day, and over the whole
/// history (falling back to the source's own distribution).
struct Durations {
    hours: [Option<QuantileSet>; 24],
    overall: Option<QuantileSet>,
}

/// One stat's (weight, weighted sum), per hour of day and over all minutes.
type Sums = ([(f64, f64); 24], (f64, f64));

/// Invocation-weighted averages of per-minute duration stats, per hour of day and over
/// the whole history, as distributions. Averaging percentiles is an approximation; it
/// is exact when the minutes share one distribution, which is the common case within
/// an hour. One pass per stat: a fortnight of minutes read once, not once per hour.
fn durations(t: &ComponentTelemetry, norm: &dyn Fn(Minute) -> f64, zone: Zone) -> Durations {
    let inv = t.invocations();
    let weight = |m: Minute| inv.and_then(|s| s.get(m)).unwrap_or(1.0);
    // Per stat: (weight, weighted sum) per hour, then over all minutes.
    let wavg = |stat: Stat| -> Option<Sums> {
        let s = t.get(Metric::DurationMs, stat)?;
        let mut hours = [(0.0, 0.0); 24];
        let mut all = (0.0, 0.0);
        let mut hour_of_day = zone.hour_clock();
        for (m, v) in s.observed() {
            let wt = weight(m);
            let x = wt * v * norm(m);
            let h = &mut hours[hour_of_day(m)];
            h.0 += wt;
            h.1 += x;
            all.0 += wt;
            all.1 += x;
        }
        Some((hours, all))
    };
    let mean = wavg(Stat::Average);
    let stats: Vec<(f64, _)> = PERCENTILE_STATS
        .iter()
        .filter_map(|&(s, p)| wavg(s).map(|v| (p, v)))
        .chain(wavg(Stat::Minimum).map(|v| (0.0, v)))
        .collect();
    let average = |(w, acc): (f64, f64)| (w > 0.0).then(|| acc / w);
    let distribution = |pick: &dyn Fn(&Sums) -> (f64, f64)| {
        let mean = mean.as_ref().and_then(|m| average(pick(m)));
        let points: Vec<(f64, f64)> = stats
            .iter()
            .filter_map(|(p, v)| average(pick(v)).map(|v| (*p, v)))
            .collect();
        if points.is_empty() {
            return mean.map(QuantileSet::constant);
        }
        crate::quantiles::from_stats(points, mean).ok().flatten()
    };
    Durations {
        hours: std::array::from_fn(|h| distribution(&|v| v.0[h])),
        overall: distribution(&|v| v.1).or_else(|| t.duration_ms.clone()),
    }
}

/// The largest value of `metric`'s `stat` in each hour of day.
fn max_by_hour(
    t: &ComponentTelemetry,
    metric: Metric,
    stat: Stat,
    zone: Zone,
) -> [Option<f64>; 24] {
    let mut out = [None; 24];
    let mut hour_of_day = zone.hour_clock();
    if let Some(s) = t.get(metric, stat) {
        for (m, v) in s.observed() {
            let h: &mut Option<f64> = &mut out[hour_of_day(m)];
            *h = Some(h.map_or(v, |x| x.max(v)));
        }
    }
    out
}

fn sum_of(t: &ComponentTelemetry, metric: Metric) -> Option<f64> {
    let s = t.get(metric, Stat::Sum)?;
    (s.observed_minutes() > 0).then(|| s.observed().map(|(_, v)| v).sum())
}

fn weighted_mean(
    t: &ComponentTelemetry,
    metric: Metric,
    stat: Stat,
    weight: Option<Metric>,
) -> Option<f64> {
    let s = t.get(metric, stat)?;
    let w = weight.and_then(|w| t.get(w, Stat::Sum));
    let (mut n, mut acc) = (0.0, 0.0);
    for (m, v) in s.observed() {
        let wt = w.and_then(|w| w.get(m)).unwrap_or(1.0).max(1e-9);
        n += wt;
        acc += wt * v;
    }
    (n > 0.0).then(|| acc / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telemetry_with_counts(counts: &[(Minute, f64)]) -> ComponentTelemetry {
        let mut t = ComponentTelemetry::new("f");
        for &(m, c) in counts {
            t.record(m, Metric::Invocations, Stat::Sum, c).unwrap();
        }
        t
    }

    #[test]
    fn idle_starts_follow_the_ordered_series() {
        let every = |n: i64| -> Vec<(Minute, f64)> {
            (0..180)
                .map(|m| (m, if m % n == 0 { 1.0 } else { 0.0 }))
                .collect()
        };
        let idle = |n: i64| -> f64 {
            let p = summarize(&telemetry_with_counts(&every(n)), 10, 1.0);
            p.hours.iter().map(|h| h.idle_starts).sum()
        };
        // A timer every 15 minutes: every run follows a gap longer than a 10-minute
        // keep-alive, so every run is an idle start but the first, which continues
        // whatever ran before the history (steady state).
        assert_eq!(idle(15), 11.0);
        // Every 5 minutes: none is.
        assert_eq!(idle(5), 0.0);
        // Every 10 minutes: a gap right at the keep-alive is cold half the time.
        assert!((idle(10) - 8.5).abs() < 1e-9, "{}", idle(10));
        let p = summarize(&telemetry_with_counts(&every(5)), 10, 1.0);
        assert_eq!(p.invocations, 36.0);
        assert_eq!(p.hours[0].active_minutes, 12);
    }

    #[test]
    fn minutes_near_the_start_find_the_pool_warm_from_before() {
        // Every other minute one invocation, and five in minute 3: the minutes within
        // the first keep-alive window (0, 2, 3, 4, 6, 8) may reach back before the
        // history, where the busiest of them (5) is taken as warm; later ones may not.
        let counts: Vec<(Minute, f64)> = (0..60)
            .map(|m| {
                (
                    m,
                    if m == 3 {
                        5.0
                    } else {
                        f64::from(u8::from(m % 2 == 0))
                    },
                )
            })
            .collect();
        let p = summarize(&telemetry_with_counts(&counts), 10, 1.0);
        let cells = &p.hours[0].active_cells;
        let minutes_with = |warm: f64| -> f64 {
            cells
                .iter()
                .filter(|c| c.warm_before == warm)
                .map(|c| c.minutes)
                .sum()
        };
        assert_eq!(minutes_with(5.0), 6.0, "{cells:?}");
        assert_eq!(minutes_with(0.0), 25.0, "{cells:?}");
        assert_eq!(p.hours[0].idle_starts, 0.0);
    }

    #[test]
    fn missing_minutes_are_not_zero() {
        let mut counts: Vec<(Minute, f64)> = (0..60).map(|m| (m, 2.0)).collect();
        counts.retain(|&(m, _)| !(10..20).contains(&m));
        let p = summarize(&telemetry_with_counts(&counts), 10, 1.0);
        assert_eq!(p.hours[0].minutes_observed, 50);
        assert_eq!(p.hours[0].minutes_missing, 10);
        assert_eq!(p.hours[0].mean_per_minute(), 2.0);
        assert!(
            p.warnings.iter().any(|w| w.contains("10 of 60 minutes")),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn bins_keep_zeros_and_the_peak() {
        let mut c: Vec<f64> = (0..1000).map(|i| f64::from(i % 97)).collect();
        c.push(5000.0);
        let bins = bin_counts(&mut c);
        let minutes: f64 = bins.iter().map(|b| b.minutes).sum();
        assert_eq!(minutes, 1001.0);
        assert_eq!(
            bins[0],
            CountBin {
                count: 0.0,
                minutes: 11.0
            }
        );
        assert_eq!(bins.last().unwrap().count, 5000.0);
        let total: f64 = bins.iter().map(|b| b.count * b.minutes).sum();
        let exact: f64 = c.iter().sum();
        assert!((total - exact).abs() < 1e-6, "{total} vs {exact}");
    }

    #[test]
    fn cpu_bound_share_is_learnt_from_a_memory_change() {
        // Work that is 80 % CPU-bound: doubling memory from 512 to 1024 MB takes the
        // duration from 1000 ms to 0.8·500 + 0.2·1000 = 600 ms.
        let mut t = ComponentTelemetry::new("f");
        for m in 0..400 {
            let (mem, d) = if m < 200 {
                (512.0, 1000.0)
            } else {
                (1024.0, 600.0)
            };
            t.record(m, Metric::Invocations, Stat::Sum, 5.0).unwrap();
            t.record(m, Metric::DurationMs, Stat::Average, d).unwrap();
            t.record(m, Metric::ConfiguredMemoryMb, Stat::Average, mem)
                .unwrap();
        }
        let p = summarize(&t, 10, 1.0);
        let est = p.cpu_bound.expect("estimated");
        assert!((est.fraction - 0.8).abs() < 1e-9, "{est:?}");
        // Durations are expressed at the current memory (1024 MB) throughout.
        assert!((p.duration_ms.unwrap().mean() - 600.0).abs() < 1e-6);
        assert_eq!(p.duration_memory_mb, Some(1024.0));
    }

    #[test]
    fn duration_factor_follows_the_vcpu_share() {
        // Fully CPU-bound: 1769 → 884.5 MB doubles the duration.
        assert!((duration_factor(1769.0, 884.5, 1.0, 1.0) - 2.0).abs() < 1e-12);
        // Above one vCPU a single-threaded function gains nothing.
        assert!((duration_factor(1769.0, 3538.0, 1.0, 1.0) - 1.0).abs() < 1e-12);
        // Two threads do.
        assert!((duration_factor(1769.0, 3538.0, 1.0, 2.0) - 0.5).abs() < 1e-12);
        // Half CPU-bound: 1024 → 512 MB: 0.5·2 + 0.5 = 1.5.
        assert!((duration_factor(1024.0, 512.0, 0.5, 1.0) - 1.5).abs() < 1e-12);
    }
}

#[cfg(test)]
mod duration_fit_tests {
    use super::*;

    #[test]
    fn the_lower_tail_is_placed_to_match_the_reported_average() {
        let mut t = ComponentTelemetry::new("f");
        for m in 0..60 {
            t.record(m, Metric::Invocations, Stat::Sum, 10.0).unwrap();
            t.record(m, Metric::DurationMs, Stat::P50, 100.0).unwrap();
            t.record(m, Metric::DurationMs, Stat::P99, 300.0).unwrap();
            t.record(m, Metric::DurationMs, Stat::Maximum, 500.0)
                .unwrap();
            t.record(m, Metric::DurationMs, Stat::Average, 140.0)
                .unwrap();
        }
        let d = summarize(&t, 10, 1.0).duration_ms.unwrap();
        assert!((d.mean() - 140.0).abs() < 1e-9, "{}", d.mean());
        assert!((d.quantile(0.0) - 52.0).abs() < 1e-9);
        assert_eq!(d.quantile(0.5), 100.0);
        assert_eq!(d.quantile(0.99), 300.0);
    }
}
