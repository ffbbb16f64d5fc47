//! Merging telemetry summaries of consecutive windows into one profile over the
//! lookback, so the service stores compact summaries per collection instead of
//! per-minute history. Pure: no I/O.
//!
//! Counts and sums add. Histograms (per-minute counts, active-minute cells) are
//! pooled and re-binned by the engine's own rules (exact when few distinct values,
//! else quantile groups that keep the busiest minute alone), so a merged profile has
//! the shape `summarize` would have produced from the whole history, up to the
//! grouping. Duration distributions are mixed, weighted by invocations. What is a
//! state rather than a history (memory the durations refer to, CPU-bound estimate,
//! keep-alive) is taken from the newest window that has it.

use adaptd_engine::profile::{ActiveCell, CountBin, HourProfile, MAX_ACTIVE_CELLS, Profile};
use adaptd_engine::quantiles::QuantileSet;

/// Probabilities at which mixed distributions are evaluated: dense in the tail,
/// where latency SLOs and billing are decided.
const MIX_POINTS: [f64; 15] = [
    0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999, 1.0,
];

/// Most count bins per hour after merging (the engine keeps at most 24 exact values
/// plus a zero bin, or 17 quantile groups).
const MAX_COUNT_BINS: usize = 25;

/// Merges `parts`, oldest first, into one profile. `None` when `parts` is empty.
pub fn merge(parts: &[Profile]) -> Option<Profile> {
    let (first, rest) = parts.split_first()?;
    if rest.is_empty() {
        return Some(first.clone());
    }
    let newest = parts.last().expect("non-empty");
    // Hours of windows summarised in another zone (before `timezone` changed) are
    // other hours: they are left out rather than mixed in.
    if parts.iter().any(|p| p.timezone != newest.timezone) {
        let same: Vec<Profile> = parts
            .iter()
            .filter(|p| p.timezone == newest.timezone)
            .cloned()
            .collect();
        let mut merged = merge(&same)?;
        merged.warnings.push(format!(
            "{} summarised window(s) in another time zone than {} left out",
            parts.len() - same.len(),
            newest.timezone
        ));
        return Some(merged);
    }
    let mut hours: Vec<HourProfile> = Vec::with_capacity(24);
    for h in 0..24 {
        let of_hour: Vec<&HourProfile> = parts.iter().filter_map(|p| p.hours.get(h)).collect();
        hours.push(merge_hour(&of_hour));
    }
    let weights: Vec<f64> = parts.iter().map(|p| p.invocations.max(0.0)).collect();
    let duration_ms = mix(parts
        .iter()
        .zip(&weights)
        .filter_map(|(p, &w)| p.duration_ms.as_ref().map(|q| (q, w))));
    let sum_opt = |f: fn(&Profile) -> Option<f64>| -> Option<f64> {
        parts.iter().filter_map(f).reduce(|a, b| a + b)
    };
    let max_opt = |f: fn(&Profile) -> Option<f64>| -> Option<f64> {
        parts.iter().filter_map(f).reduce(f64::max)
    };
    // Init time weighted by the cold starts that paid it, else by invocations.
    let init = {
        let (mut num, mut den) = (0.0, 0.0);
        for p in parts {
            if let Some(i) = p.init_duration_ms {
                let w = p.cold_starts.unwrap_or(p.invocations).max(1e-9);
                num += i * w;
                den += w;
            }
        }
        (den > 0.0).then(|| num / den)
    };
    let covered_minutes: u64 = parts.iter().map(|p| p.covered_minutes).sum();
    let mut warnings: Vec<String> = Vec::new();
    for p in parts {
        for w in &p.warnings {
            // Per-window counts of missing minutes are restated for the whole.
            if !w.contains("minutes have no invocation count") && !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
    }
    let missing: u32 = hours.iter().map(|h| h.minutes_missing).sum();
    if missing > 0 && covered_minutes > 0 {
        warnings.push(format!(
            "{missing} of {covered_minutes} minutes have no invocation count ({:.1} %); they are left out, not taken as zero",
            100.0 * f64::from(missing) / covered_minutes as f64
        ));
    }
    Some(Profile {
        component: newest.component.clone(),
        covered_minutes,
        observed_minutes: parts.iter().map(|p| p.observed_minutes).sum(),
        invocations: parts.iter().map(|p| p.invocations).sum(),
        hours,
        timezone: newest.timezone,
        duration_ms,
        duration_memory_mb: parts.iter().rev().find_map(|p| p.duration_memory_mb),
        init_duration_ms: init,
        max_memory_used_mb: max_opt(|p| p.max_memory_used_mb),
        cold_starts: sum_opt(|p| p.cold_starts),
        errors: sum_opt(|p| p.errors),
        throttles: sum_opt(|p| p.throttles),
        peak_concurrency_observed: max_opt(|p| p.peak_concurrency_observed),
        cpu_bound: parts.iter().rev().find_map(|p| p.cpu_bound.clone()),
        keep_alive_minutes: newest.keep_alive_minutes,
        periodic: newest.periodic,
        warnings,
    })
}

fn merge_hour(parts: &[&HourProfile]) -> HourProfile {
    let weights: Vec<f64> = parts.iter().map(|h| h.invocations.max(0.0)).collect();
    HourProfile {
        minutes_observed: parts.iter().map(|h| h.minutes_observed).sum(),
        minutes_missing: parts.iter().map(|h| h.minutes_missing).sum(),
        invocations: parts.iter().map(|h| h.invocations).sum(),
        active_minutes: parts.iter().map(|h| h.active_minutes).sum(),
        idle_starts: parts.iter().map(|h| h.idle_starts).sum(),
        count_bins: rebin_counts(parts.iter().flat_map(|h| h.count_bins.iter().copied())),
        active_cells: regroup_cells(parts.iter().flat_map(|h| h.active_cells.iter().copied())),
        duration_ms: mix(parts
            .iter()
            .zip(&weights)
            .filter_map(|(h, &w)| h.duration_ms.as_ref().map(|q| (q, w)))),
        peak_concurrency_observed: parts
            .iter()
            .filter_map(|h| h.peak_concurrency_observed)
            .reduce(f64::max),
    }
}

/// Pools weighted count bins: equal counts add up; beyond [`MAX_COUNT_BINS`] values,
/// non-zero counts are grouped by weighted quantile with finer groups in the upper
/// tail, the busiest bin kept alone (as the engine does).
fn rebin_counts(bins: impl Iterator<Item = CountBin>) -> Vec<CountBin> {
    let mut all: Vec<CountBin> = bins.filter(|b| b.minutes > 0.0).collect();
    all.sort_by(|a, b| a.count.total_cmp(&b.count));
    let mut exact: Vec<CountBin> = Vec::new();
    for b in all {
        match exact.last_mut() {
            Some(e) if e.count == b.count => e.minutes += b.minutes,
            _ => exact.push(b),
        }
    }
    if exact.len() <= MAX_COUNT_BINS {
        return exact;
    }
    let zero = exact.first().filter(|b| b.count <= 0.0).copied();
    let nz: Vec<CountBin> = exact.into_iter().filter(|b| b.count > 0.0).collect();
    let (top, body) = nz.split_last().expect("more than one bin");
    const EDGES: [f64; 15] = [
        0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 0.93, 0.96, 0.98, 0.99, 0.995, 0.998, 0.999,
        1.0,
    ];
    let mut out: Vec<CountBin> = zero.into_iter().collect();
    out.extend(group_by_weight(
        body,
        &EDGES,
        |b| b.minutes,
        |g| {
            let m: f64 = g.iter().map(|b| b.minutes).sum();
            CountBin {
                count: g.iter().map(|b| b.count * b.minutes).sum::<f64>() / m,
                minutes: m,
            }
        },
    ));
    out.push(*top);
    out
}

/// Pools active-minute cells: identical cells add up; beyond [`MAX_ACTIVE_CELLS`],
/// cells are grouped by weighted quantile of their count and, within a group, idle
/// predecessors (previous peak 0) apart from busy ones, the busiest cell alone.
fn regroup_cells(cells: impl Iterator<Item = ActiveCell>) -> Vec<ActiveCell> {
    let mut all: Vec<ActiveCell> = cells.filter(|c| c.minutes > 0.0).collect();
    if all.len() <= MAX_ACTIVE_CELLS {
        all.sort_by(|a, b| {
            a.count
                .total_cmp(&b.count)
                .then(a.previous_peak_count.total_cmp(&b.previous_peak_count))
        });
        return all;
    }
    all.sort_by(|a, b| a.count.total_cmp(&b.count));
    let (top, body) = all.split_last().expect("non-empty");
    const EDGES: [f64; 8] = [0.25, 0.5, 0.7, 0.85, 0.95, 0.99, 0.999, 1.0];
    let combine = |g: &[ActiveCell]| ActiveCell::mean_of(g).expect("a non-empty group");
    let mut out = Vec::new();
    for group in group_by_weight(body, &EDGES, |c| c.minutes, <[ActiveCell]>::to_vec) {
        let (idle, busy): (Vec<ActiveCell>, Vec<ActiveCell>) = group
            .into_iter()
            .partition(|c| c.previous_peak_count <= 0.0);
        if !idle.is_empty() {
            out.push(combine(&idle));
        }
        if !busy.is_empty() {
            let mut busy = busy;
            busy.sort_by(|a, b| a.previous_peak_count.total_cmp(&b.previous_peak_count));
            let parts = 6.min(busy.len());
            for i in 0..parts {
                let (a, b) = (i * busy.len() / parts, (i + 1) * busy.len() / parts);
                if b > a {
                    out.push(combine(&busy[a..b]));
                }
            }
        }
    }
    out.push(*top);
    out
}

/// Splits `items` (sorted) into consecutive groups ending at the cumulative weight
/// shares `edges`, and maps each non-empty group.
fn group_by_weight<T: Copy, U>(
    items: &[T],
    edges: &[f64],
    weight: impl Fn(&T) -> f64,
    make: impl Fn(&[T]) -> U,
) -> Vec<U> {
    let total: f64 = items.iter().map(&weight).sum();
    let mut out = Vec::new();
    let (mut start, mut acc, mut edge) = (0, 0.0, 0);
    for (i, it) in items.iter().enumerate() {
        acc += weight(it);
        let last = i + 1 == items.len();
        if last || acc >= edges[edge.min(edges.len() - 1)] * total - 1e-12 {
            out.push(make(&items[start..=i]));
            start = i + 1;
            while edge < edges.len() - 1 && acc >= edges[edge] * total - 1e-12 {
                edge += 1;
            }
        }
    }
    out
}

/// The mixture of weighted distributions, evaluated at [`MIX_POINTS`] by bisection
/// on its CDF. A single distribution is returned as it is.
fn mix<'a>(parts: impl Iterator<Item = (&'a QuantileSet, f64)>) -> Option<QuantileSet> {
    let parts: Vec<(&QuantileSet, f64)> = parts.collect();
    match parts.as_slice() {
        [] => return None,
        [(q, _)] => return Some((*q).clone()),
        _ => {}
    }
    let total: f64 = parts.iter().map(|(_, w)| w).sum();
    // Without invocations to weigh by, windows count equally.
    let weight = |w: f64| {
        if total > 0.0 {
            w / total
        } else {
            1.0 / parts.len() as f64
        }
    };
    if parts.windows(2).all(|w| w[0].0 == w[1].0) {
        return Some(parts[0].0.clone());
    }
    let cdf = |x: f64| -> f64 { parts.iter().map(|(q, w)| weight(*w) * q.cdf(x)).sum() };
    let lo = parts
        .iter()
        .map(|(q, _)| q.quantile(0.0))
        .fold(f64::INFINITY, f64::min);
    let hi = parts.iter().map(|(q, _)| q.max()).fold(0.0, f64::max);
    let mut points = Vec::with_capacity(MIX_POINTS.len());
    for p in MIX_POINTS {
        let v = if p <= 0.0 {
            lo
        } else if p >= 1.0 {
            hi
        } else {
            let (mut a, mut b) = (lo, hi);
            for _ in 0..60 {
                let m = 0.5 * (a + b);
                if cdf(m) >= p {
                    b = m;
                } else {
                    a = m;
                }
            }
            b
        };
        points.push((p, v));
    }
    let mean = parts
        .iter()
        .map(|(q, w)| weight(*w) * q.mean())
        .sum::<f64>();
    // Bisection can cross by a rounding error; QuantileSet::new requires order.
    for i in 1..points.len() {
        if points[i].1 < points[i - 1].1 {
            points[i].1 = points[i - 1].1;
        }
    }
    QuantileSet::new(points, Some(mean)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use adaptd_engine::profile::summarize_with;
    use adaptd_engine::telemetry::{ComponentTelemetry, Metric, Stat};

    /// A component with diurnal bursty traffic and durations over `days` days from
    /// `start_day`.
    fn telemetry(start_day: i64, days: i64) -> ComponentTelemetry {
        let mut t = ComponentTelemetry::new("api");
        let (lo, hi) = (start_day * 1440, (start_day + days) * 1440);
        for m in lo..hi {
            let hour = (m % 1440) / 60;
            let base = if (8..20).contains(&hour) { 30.0 } else { 2.0 };
            let c = if m % 97 == 0 {
                base * 6.0
            } else if m % 5 == 0 {
                0.0
            } else {
                base + (m % 7) as f64
            };
            t.record(m, Metric::Invocations, Stat::Sum, c).unwrap();
            if c > 0.0 {
                let d = 80.0 + (m % 11) as f64 * 5.0 + if hour < 6 { 40.0 } else { 0.0 };
                t.record(m, Metric::DurationMs, Stat::Average, d).unwrap();
                t.record(m, Metric::DurationMs, Stat::P99, d * 3.0).unwrap();
                t.record(m, Metric::DurationMs, Stat::P50, d * 0.8).unwrap();
            }
        }
        t.window = Some((lo, hi));
        t
    }

    #[test]
    fn merging_windows_matches_summarising_the_whole() {
        let whole = summarize_with(&telemetry(20_000, 6), 10, 1.0, false);
        let parts: Vec<Profile> = (0..6)
            .map(|d| summarize_with(&telemetry(20_000 + d, 1), 10, 1.0, false))
            .collect();
        let merged = merge(&parts).unwrap();
        assert_eq!(merged.covered_minutes, whole.covered_minutes);
        assert_eq!(merged.observed_minutes, whole.observed_minutes);
        assert!((merged.invocations - whole.invocations).abs() < 1e-6);
        for h in 0..24 {
            let (m, w) = (&merged.hours[h], &whole.hours[h]);
            assert_eq!(m.active_minutes, w.active_minutes, "hour {h}");
            assert!((m.invocations - w.invocations).abs() < 1e-6);
            // Only the first minute of each day window is cold for want of history.
            assert!((m.idle_starts - w.idle_starts).abs() <= 6.0, "hour {h}");
            for p in [0.5, 0.9, 0.99, 1.0] {
                let (a, b) = (m.count_quantile(p), w.count_quantile(p));
                assert!(
                    (a - b).abs() <= 0.15 * b.max(1.0),
                    "hour {h} p{p}: {a} vs {b}"
                );
            }
            assert!(m.count_bins.len() <= MAX_COUNT_BINS + 1);
            assert!(m.active_cells.len() <= MAX_ACTIVE_CELLS + 8);
            let minutes: f64 = m.active_cells.iter().map(|c| c.minutes).sum();
            assert!((minutes - f64::from(m.active_minutes)).abs() < 1e-6);
        }
        let (a, b) = (merged.duration_ms.unwrap(), whole.duration_ms.unwrap());
        for p in [0.5, 0.9, 0.99] {
            let (x, y) = (a.quantile(p), b.quantile(p));
            assert!((x - y).abs() <= 0.1 * y, "duration p{p}: {x} vs {y}");
        }
    }

    #[test]
    fn one_part_is_itself_and_none_is_nothing() {
        let p = summarize_with(&telemetry(20_000, 1), 10, 1.0, false);
        assert_eq!(merge(std::slice::from_ref(&p)), Some(p));
        assert_eq!(merge(&[]), None);
    }

    #[test]
    fn state_comes_from_the_newest_window() {
        let mut a = summarize_with(&telemetry(20_000, 1), 10, 1.0, false);
        let mut b = summarize_with(&telemetry(20_001, 1), 10, 1.0, false);
        a.duration_memory_mb = Some(512.0);
        b.duration_memory_mb = Some(1024.0);
        a.max_memory_used_mb = Some(300.0);
        b.max_memory_used_mb = Some(200.0);
        let m = merge(&[a, b]).unwrap();
        assert_eq!(m.duration_memory_mb, Some(1024.0));
        assert_eq!(m.max_memory_used_mb, Some(300.0));
    }
}
