//! The per-minute invocation series of one component, read once in order: per hour of
//! day, its count histogram, its idle starts and its active cells (what the warm pool
//! of each active minute looks like).

use super::{ActiveCell, CountBin, HourProfile, MAX_ACTIVE_CELLS};
use crate::telemetry::{Minute, MinuteSeries};
use crate::zone::Zone;

/// What the ordered invocation series says, per hour of day.
pub(super) struct Traffic {
    /// 24 hours with their counts, histograms, idle starts and active cells filled in.
    pub hours: Vec<HourProfile>,
    pub observed_minutes: u64,
    /// Invocations over the observed minutes.
    pub total: f64,
}

impl Default for Traffic {
    fn default() -> Self {
        Self {
            hours: vec![HourProfile::default(); 24],
            observed_minutes: 0,
            total: 0.0,
        }
    }
}

/// Reads `series` over `[lo, hi)` once, in order. `mean_duration_minutes` and the
/// keep-alive decide which resumptions are idle starts.
pub(super) fn read(
    series: &MinuteSeries,
    (lo, hi): (Minute, Minute),
    keep_alive_minutes: u32,
    mean_duration_minutes: f64,
    periodic: bool,
    zone: Zone,
) -> Traffic {
    // What preceded the history is unknown; it is taken as steady state, the history's
    // own traffic running before it (as a backtest's replay starts): the busiest count
    // of the first keep-alive minutes finds that many environments warm, and they stay
    // warm until the keep-alive runs out. Without this, minutes near the start would
    // be judged against an empty pool, cold starts that a month of days does not have.
    let window = i64::from(keep_alive_minutes.max(1));
    let reader = Reader {
        series,
        lo,
        window,
        keep_alive: f64::from(keep_alive_minutes),
        mean_duration_minutes,
        periodic,
        warm_before_count: (lo..hi.min(lo + window))
            .filter_map(|m| series.get(m))
            .fold(0.0, f64::max),
    };
    let mut out = Traffic::default();
    let mut counts: Vec<Vec<f64>> = vec![Vec::new(); 24];
    let mut actives: Vec<Vec<ActiveCell>> = vec![Vec::new(); 24];
    // (minute, count) of the last active minute.
    let mut last_active: Option<(Minute, f64)> = None;
    let mut hour_of_day = zone.hour_clock();
    for m in lo..hi {
        let h = hour_of_day(m);
        let hour = &mut out.hours[h];
        let Some(c) = series.get(m) else {
            hour.minutes_missing += 1;
            continue;
        };
        out.observed_minutes += 1;
        out.total += c;
        hour.minutes_observed += 1;
        hour.invocations += c;
        counts[h].push(c);
        if c > 0.0 {
            let cell = reader.active_cell(m, c, last_active);
            hour.active_minutes += 1;
            hour.idle_starts += cell.idle_starts;
            actives[h].push(cell);
            last_active = Some((m, c));
        }
    }
    for (h, c) in counts.iter_mut().enumerate() {
        out.hours[h].count_bins = bin_counts(c);
    }
    for (h, a) in actives.iter_mut().enumerate() {
        out.hours[h].active_cells = cell_actives(a);
    }
    out
}

/// What judging one active minute needs besides the minute itself.
struct Reader<'a> {
    series: &'a MinuteSeries,
    lo: Minute,
    /// The keep-alive window in whole minutes (at least one).
    window: i64,
    keep_alive: f64,
    mean_duration_minutes: f64,
    periodic: bool,
    /// The busiest count of the history's first keep-alive minutes.
    warm_before_count: f64,
}

impl Reader<'_> {
    /// The cell of the active minute `m` with `count` invocations, the previous active
    /// minute being `last_active`.
    fn active_cell(&self, m: Minute, count: f64, last_active: Option<(Minute, f64)>) -> ActiveCell {
        let idle = match last_active {
            Some((prev, prev_count)) if !self.periodic => idle_start_weight(
                m - prev,
                prev_count,
                count,
                self.mean_duration_minutes,
                self.keep_alive,
            ),
            // On a clock the gap is exact: idle from the end of the previous run to the
            // next one.
            Some((prev, _)) => f64::from(u8::from(
                (m - prev) as f64 - self.mean_duration_minutes > self.keep_alive,
            )),
            // What preceded the history is unknown. Activity within the first
            // keep-alive minutes is taken as the continuation of traffic that ran
            // before (steady state: warm); later first activity follows an idle stretch
            // the history shows (cold).
            None => f64::from(u8::from(m - self.lo >= self.window)),
        };
        let (mut peak, mut active, mut sum) = (0.0f64, 0.0, 0.0);
        for v in (m - self.window..m)
            .filter_map(|x| self.series.get(x))
            .filter(|&v| v > 0.0)
        {
            peak = peak.max(v);
            active += 1.0;
            sum += v;
        }
        ActiveCell {
            count,
            previous_peak_count: peak,
            previous_active_minutes: active,
            previous_mean_count: if active > 0.0 { sum / active } else { 0.0 },
            warm_before: if m - self.lo < self.window {
                self.warm_before_count
            } else {
                0.0
            },
            minutes: 1.0,
            idle_starts: idle,
        }
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
pub(super) fn idle_start_weight(
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
pub(super) fn cell_actives(minutes: &mut [ActiveCell]) -> Vec<ActiveCell> {
    let merge = |group: &[ActiveCell]| ActiveCell::mean_of(group).expect("a non-empty group");
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
pub(super) fn bin_counts(counts: &mut [f64]) -> Vec<CountBin> {
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
