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

mod stats;
#[cfg(test)]
mod tests;
mod traffic;

use stats::{attribute_f64, durations, estimate_cpu_bound, max_by_hour, memory_history, sum_of};

/// Active cells kept per hour: identical minutes add up exactly below it, and beyond it
/// minutes are grouped by quantiles, so a profile stays a few kilobytes.
pub const MAX_ACTIVE_CELLS: usize = 64;
/// 1,769 MB of Lambda memory buys one vCPU (AWS documentation).
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

impl ActiveCell {
    /// The cell of a group of cells: means weighted by minutes, idle starts summed.
    /// The one rule for merging cells, for a profile's own minutes and for profiles
    /// of several days merged (`None` for an empty group).
    pub fn mean_of(group: &[ActiveCell]) -> Option<ActiveCell> {
        let n: f64 = group.iter().map(|a| a.minutes).sum();
        if n <= 0.0 {
            return None;
        }
        let avg =
            |f: fn(&ActiveCell) -> f64| group.iter().map(|a| f(a) * a.minutes).sum::<f64>() / n;
        Some(ActiveCell {
            count: avg(|a| a.count),
            previous_peak_count: avg(|a| a.previous_peak_count),
            previous_active_minutes: avg(|a| a.previous_active_minutes),
            previous_mean_count: avg(|a| a.previous_mean_count),
            warm_before: avg(|a| a.warm_before),
            minutes: n,
            idle_starts: group.iter().map(|a| a.idle_starts).sum(),
        })
    }
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

    let traffic = invocations.map(|series| {
        traffic::read(
            series,
            (lo, hi),
            keep_alive_minutes,
            mean_duration_minutes,
            periodic,
            zone,
        )
    });
    if traffic.is_none() {
        warnings.push("no invocation counts: traffic is unknown".to_owned());
    }
    let traffic::Traffic {
        mut hours,
        observed_minutes,
        total,
    } = traffic.unwrap_or_default();
    let missing: u32 = hours.iter().map(|h| h.minutes_missing).sum();
    if missing > 0 && covered_minutes > 0 {
        warnings.push(format!(
            "{missing} of {covered_minutes} minutes have no invocation count ({:.1} %); they are left out, not taken as zero",
            100.0 * f64::from(missing) / covered_minutes as f64
        ));
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

    let init_duration_ms = t.mean_init_duration_ms();
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
