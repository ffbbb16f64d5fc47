//! Per-minute stats other than the invocation counts, reduced to what a profile keeps:
//! duration distributions per hour of day, the memory history and the CPU-bound share
//! it reveals, sums and weighted means.

use super::{CpuBoundEstimate, lambda_vcpu};
use crate::quantiles::QuantileSet;
use crate::telemetry::{ComponentTelemetry, Metric, Minute, Stat};
use crate::zone::Zone;

pub(super) fn attribute_f64(t: &ComponentTelemetry, key: &str) -> Option<f64> {
    t.attributes.get(key).and_then(|v| v.trim().parse().ok())
}

/// (first minute, memory MB) at each change of the configured memory.
pub(super) fn memory_history(t: &ComponentTelemetry) -> Vec<(Minute, f64)> {
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
pub(super) fn estimate_cpu_bound(
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
pub(super) struct Durations {
    pub hours: [Option<QuantileSet>; 24],
    pub overall: Option<QuantileSet>,
}

/// One stat's (weight, weighted sum), per hour of day and over all minutes.
type Sums = ([(f64, f64); 24], (f64, f64));

/// Invocation-weighted averages of per-minute duration stats, per hour of day and over
/// the whole history, as distributions. Averaging percentiles is an approximation; it
/// is exact when the minutes share one distribution, which is the common case within
/// an hour. One pass per stat: a fortnight of minutes read once, not once per hour.
pub(super) fn durations(
    t: &ComponentTelemetry,
    norm: &dyn Fn(Minute) -> f64,
    zone: Zone,
) -> Durations {
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
pub(super) fn max_by_hour(
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

pub(super) fn sum_of(t: &ComponentTelemetry, metric: Metric) -> Option<f64> {
    let s = t.get(metric, Stat::Sum)?;
    (s.observed_minutes() > 0).then(|| s.observed().map(|(_, v)| v).sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::summarize;

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
