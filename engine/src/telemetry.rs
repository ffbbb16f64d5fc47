//! The telemetry model: per-component, per-minute series of runtime metrics.
//!
//! Every collector (files, CloudWatch, Prometheus, traces) writes this model and
//! everything downstream reads it, so its rules are strict:
//! - time is UTC, in whole minutes since the Unix epoch ([`Minute`]);
//! - a value that was not observed is *missing*, never zero: series store `NaN` for a
//!   gap and only hand out `Option<f64>`;
//! - units are part of the metric name (`duration_ms`, `max_memory_used_mb`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::quantiles::QuantileSet;

/// Whole minutes since 1970-01-01T00:00Z.
pub type Minute = i64;

/// Minutes in a day.
pub const MINUTES_PER_DAY: i64 = 1440;

/// Hour of day (UTC, 0–23) of a minute.
pub fn hour_of_day(minute: Minute) -> usize {
    (minute.rem_euclid(MINUTES_PER_DAY) / 60) as usize
}

/// A runtime metric of a component. The unit is in the name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Invocations or requests started in the minute (count).
    Invocations,
    /// Invocations that failed (count).
    Errors,
    /// Invocations refused for lack of concurrency (count).
    Throttles,
    /// Execution time per invocation, excluding initialisation (ms).
    DurationMs,
    /// Executions running at once (count).
    ConcurrentExecutions,
    /// Executions running on provisioned environments at once (count).
    ProvisionedConcurrentExecutions,
    /// Invocations served by provisioned environments (count).
    ProvisionedConcurrencyInvocations,
    /// Invocations that found all provisioned environments busy (count).
    ProvisionedConcurrencySpilloverInvocations,
    /// Provisioned executions divided by allocated provisioned concurrency (0–1).
    ProvisionedConcurrencyUtilization,
    /// Invocations that paid an initialisation (count).
    ColdStarts,
    /// Initialisation time of a new execution environment (ms).
    InitDurationMs,
    /// Memory used by an invocation (MB).
    MaxMemoryUsedMb,
    /// Memory configured for the function at that minute (MB); lets the engine learn
    /// how duration reacts to memory when the setting changed during the history.
    ConfiguredMemoryMb,
    /// CPU used by a Fargate service's tasks, as a share of what they reserve (0–100;
    /// CloudWatch's `AWS/ECS CPUUtilization`).
    CpuUtilizationPercent,
    /// Memory used by a Fargate service's tasks, as a share of what they reserve
    /// (0–100; `AWS/ECS MemoryUtilization`).
    MemoryUtilizationPercent,
    /// Tasks of a service running (count; Container Insights' `RunningTaskCount`).
    RunningTasks,
}

impl Metric {
    /// Every metric, in a stable order.
    pub const ALL: [Metric; 16] = [
        Metric::Invocations,
        Metric::Errors,
        Metric::Throttles,
        Metric::DurationMs,
        Metric::ConcurrentExecutions,
        Metric::ProvisionedConcurrentExecutions,
        Metric::ProvisionedConcurrencyInvocations,
        Metric::ProvisionedConcurrencySpilloverInvocations,
        Metric::ProvisionedConcurrencyUtilization,
        Metric::ColdStarts,
        Metric::InitDurationMs,
        Metric::MaxMemoryUsedMb,
        Metric::ConfiguredMemoryMb,
        Metric::CpuUtilizationPercent,
        Metric::MemoryUtilizationPercent,
        Metric::RunningTasks,
    ];

    /// The name used in files and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Invocations => "invocations",
            Metric::Errors => "errors",
            Metric::Throttles => "throttles",
            Metric::DurationMs => "duration_ms",
            Metric::ConcurrentExecutions => "concurrent_executions",
            Metric::ProvisionedConcurrentExecutions => "provisioned_concurrent_executions",
            Metric::ProvisionedConcurrencyInvocations => "provisioned_concurrency_invocations",
            Metric::ProvisionedConcurrencySpilloverInvocations => {
                "provisioned_concurrency_spillover_invocations"
            }
            Metric::ProvisionedConcurrencyUtilization => "provisioned_concurrency_utilization",
            Metric::ColdStarts => "cold_starts",
            Metric::InitDurationMs => "init_duration_ms",
            Metric::MaxMemoryUsedMb => "max_memory_used_mb",
            Metric::ConfiguredMemoryMb => "configured_memory_mb",
            Metric::CpuUtilizationPercent => "cpu_utilization_percent",
            Metric::MemoryUtilizationPercent => "memory_utilization_percent",
            Metric::RunningTasks => "running_tasks",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown metric name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown metric `{0}` (expected one of: {list})", list = metric_names())]
pub struct UnknownMetric(pub String);

fn metric_names() -> String {
    Metric::ALL
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Metric {
    type Err = UnknownMetric;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownMetric(s.to_owned()))
    }
}

/// How the samples of one minute were aggregated.
///
/// Percentiles are kept in tenths of a percent so that `p99.9` is representable and the
/// type stays `Eq + Hash`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stat {
    /// Total over the minute.
    Sum,
    /// Mean over the minute.
    Average,
    /// Smallest sample.
    Minimum,
    /// Largest sample.
    Maximum,
    /// Number of samples.
    SampleCount,
    /// A percentile, in tenths of a percent (`P(990)` is p99).
    Percentile(u16),
}

impl Stat {
    /// p50.
    pub const P50: Stat = Stat::Percentile(500);
    /// p90.
    pub const P90: Stat = Stat::Percentile(900);
    /// p99.
    pub const P99: Stat = Stat::Percentile(990);

    /// The percentile as a probability (`p99` → 0.99), if this is a percentile.
    pub fn probability(self) -> Option<f64> {
        match self {
            Stat::Percentile(t) => Some(f64::from(t) / 1000.0),
            _ => None,
        }
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stat::Sum => f.write_str("sum"),
            Stat::Average => f.write_str("avg"),
            Stat::Minimum => f.write_str("min"),
            Stat::Maximum => f.write_str("max"),
            Stat::SampleCount => f.write_str("count"),
            Stat::Percentile(t) if t % 10 == 0 => write!(f, "p{}", t / 10),
            Stat::Percentile(t) => write!(f, "p{}.{}", t / 10, t % 10),
        }
    }
}

/// An unknown or malformed stat name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown stat `{0}` (expected sum, avg, min, max, count or a percentile such as p50, p99, p99.9)"
)]
pub struct UnknownStat(pub String);

impl FromStr for Stat {
    type Err = UnknownStat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UnknownStat(s.to_owned());
        Ok(match s {
            "sum" => Stat::Sum,
            "avg" | "average" => Stat::Average,
            "min" | "minimum" => Stat::Minimum,
            "max" | "maximum" => Stat::Maximum,
            "count" | "sample_count" => Stat::SampleCount,
            _ => {
                let digits = s.strip_prefix('p').ok_or_else(err)?;
                let (whole, tenth) = match digits.split_once('.') {
                    Some((w, t)) if t.len() == 1 => (w, t),
                    Some(_) => return Err(err()),
                    None => (digits, "0"),
                };
                let whole: u16 = whole.parse().map_err(|_| err())?;
                let tenth: u16 = tenth.parse().map_err(|_| err())?;
                let t = whole
                    .checked_mul(10)
                    .and_then(|w| w.checked_add(tenth))
                    .ok_or_else(err)?;
                if t > 1000 {
                    return Err(err());
                }
                Stat::Percentile(t)
            }
        })
    }
}

impl Serialize for Stat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Stat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A dense per-minute series. Gaps are stored as `NaN` and never leave this type as a
/// number: readers get `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MinuteSeries {
    start: Minute,
    values: Vec<f32>,
}

impl MinuteSeries {
    /// An empty series.
    pub fn new() -> Self {
        Self::default()
    }

    /// First minute covered (meaningless when empty).
    pub fn start(&self) -> Minute {
        self.start
    }

    /// One past the last minute covered.
    pub fn end(&self) -> Minute {
        self.start + self.values.len() as Minute
    }

    /// Whether no minute is covered.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Number of minutes covered, observed or not.
    pub fn span_minutes(&self) -> usize {
        self.values.len()
    }

    /// The value at `minute`, or `None` if it was not observed.
    pub fn get(&self, minute: Minute) -> Option<f64> {
        let i = minute.checked_sub(self.start)?;
        let v = *self.values.get(usize::try_from(i).ok()?)?;
        (!v.is_nan()).then_some(f64::from(v))
    }

    /// Records `value` at `minute`, growing the series (with gaps) as needed. A later
    /// write to the same minute replaces the earlier one. Non-finite values are refused.
    pub fn set(&mut self, minute: Minute, value: f64) -> Result<(), NonFinite> {
        if !value.is_finite() {
            return Err(NonFinite(value));
        }
        if self.values.is_empty() {
            self.start = minute;
        } else if minute < self.start {
            let grow = usize::try_from(self.start - minute).expect("positive");
            let mut v = vec![f32::NAN; grow];
            v.extend_from_slice(&self.values);
            self.values = v;
            self.start = minute;
        }
        let i = usize::try_from(minute - self.start).expect("non-negative");
        if i >= self.values.len() {
            self.values.resize(i + 1, f32::NAN);
        }
        self.values[i] = value as f32;
        Ok(())
    }

    /// Every covered minute with its value or `None`.
    pub fn iter(&self) -> impl Iterator<Item = (Minute, Option<f64>)> + '_ {
        self.values.iter().enumerate().map(move |(i, v)| {
            (
                self.start + i as Minute,
                (!v.is_nan()).then_some(f64::from(*v)),
            )
        })
    }

    /// Observed minutes only.
    pub fn observed(&self) -> impl Iterator<Item = (Minute, f64)> + '_ {
        self.iter().filter_map(|(m, v)| v.map(|v| (m, v)))
    }

    /// Number of observed minutes.
    pub fn observed_minutes(&self) -> usize {
        self.values.iter().filter(|v| !v.is_nan()).count()
    }
}

/// A non-finite value offered to a series.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("value {0} is not a finite number")]
pub struct NonFinite(pub f64);

/// Key of a series: which metric, aggregated how.
pub type SeriesKey = (Metric, Stat);

/// Everything observed about one component.
#[derive(Clone, Debug, Default)]
pub struct ComponentTelemetry {
    /// The component's name, as in the config.
    pub name: String,
    /// Facts about the component that are not time series (`trigger`, `runtime`,
    /// `memory_mb`, `architecture`, `app`, ...). Collectors write what they discovered.
    pub attributes: BTreeMap<String, String>,
    /// Per-minute series.
    pub series: BTreeMap<SeriesKey, MinuteSeries>,
    /// Duration distribution over the whole period, when the source gives one instead of
    /// per-minute percentiles (trace files). Milliseconds.
    pub duration_ms: Option<QuantileSet>,
    /// Memory-used distribution over the whole period, when the source gives one (MB).
    pub memory_used_mb: Option<QuantileSet>,
    /// First and one-past-last minute the source claims to cover. Minutes inside this
    /// window with no invocation sample are missing, not zero; minutes a source
    /// *declares* zero (a dense trace) are stored as zero.
    pub window: Option<(Minute, Minute)>,
}

impl ComponentTelemetry {
    /// An empty record for `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// The series for `(metric, stat)`, if any sample was recorded.
    pub fn get(&self, metric: Metric, stat: Stat) -> Option<&MinuteSeries> {
        self.series.get(&(metric, stat))
    }

    /// Records one sample.
    pub fn record(
        &mut self,
        minute: Minute,
        metric: Metric,
        stat: Stat,
        value: f64,
    ) -> Result<(), NonFinite> {
        self.series
            .entry((metric, stat))
            .or_default()
            .set(minute, value)
    }

    /// Invocation counts per minute (Sum of invocations).
    pub fn invocations(&self) -> Option<&MinuteSeries> {
        self.get(Metric::Invocations, Stat::Sum)
    }

    /// Mean init time (ms), weighted by the minute's cold starts where they are known:
    /// a minute of many cold starts says more about init time than one of a single.
    pub fn mean_init_duration_ms(&self) -> Option<f64> {
        let s = self.get(Metric::InitDurationMs, Stat::Average)?;
        let w = self.get(Metric::ColdStarts, Stat::Sum);
        let (mut n, mut acc) = (0.0, 0.0);
        for (m, v) in s.observed() {
            let wt = w.and_then(|w| w.get(m)).unwrap_or(1.0).max(1e-9);
            n += wt;
            acc += wt * v;
        }
        (n > 0.0).then(|| acc / n)
    }

    /// The time window covered: the declared window, else the span of the series.
    pub fn covered(&self) -> Option<(Minute, Minute)> {
        if let Some(w) = self.window {
            return Some(w);
        }
        let mut it = self.series.values().filter(|s| !s.is_empty());
        let first = it.next()?;
        let (mut lo, mut hi) = (first.start(), first.end());
        for s in it {
            lo = lo.min(s.start());
            hi = hi.max(s.end());
        }
        Some((lo, hi))
    }
}

/// Telemetry for a set of components, keyed by name.
#[derive(Clone, Debug, Default)]
pub struct TelemetrySet {
    /// Components by name.
    pub components: BTreeMap<String, ComponentTelemetry>,
    /// Where the data came from (file paths, collector names), for explanations.
    pub sources: Vec<String>,
}

impl TelemetrySet {
    /// The record for `name`, created empty when absent.
    pub fn component_mut(&mut self, name: &str) -> &mut ComponentTelemetry {
        self.components
            .entry(name.to_owned())
            .or_insert_with(|| ComponentTelemetry::new(name))
    }

    /// Number of components.
    pub fn len(&self) -> usize {
        self.components.len()
    }

    /// Whether there are no components.
    pub fn is_empty(&self) -> bool {
        self.components.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_round_trip_through_text() {
        for s in [
            "sum", "avg", "min", "max", "count", "p50", "p99", "p99.9", "p0", "p100",
        ] {
            let stat: Stat = s.parse().unwrap();
            assert_eq!(stat.to_string(), s);
        }
        assert_eq!("p99".parse::<Stat>().unwrap().probability(), Some(0.99));
        for bad in ["p", "p101", "p99.99", "q50", "", "p-1"] {
            assert!(bad.parse::<Stat>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn metrics_round_trip_through_text() {
        for m in Metric::ALL {
            assert_eq!(m.as_str().parse::<Metric>().unwrap(), m);
        }
        let err = "latency".parse::<Metric>().unwrap_err().to_string();
        assert!(err.contains("duration_ms"), "{err}");
    }

    #[test]
    fn gaps_are_missing_not_zero() {
        let mut s = MinuteSeries::new();
        s.set(100, 3.0).unwrap();
        s.set(103, 0.0).unwrap();
        s.set(98, 1.0).unwrap();
        assert_eq!(s.start(), 98);
        assert_eq!(s.end(), 104);
        assert_eq!(s.get(99), None);
        assert_eq!(s.get(101), None);
        assert_eq!(s.get(103), Some(0.0));
        assert_eq!(s.get(100), Some(3.0));
        assert_eq!(s.get(97), None);
        assert_eq!(s.get(500), None);
        assert_eq!(s.observed_minutes(), 3);
        assert!(s.set(105, f64::NAN).is_err());
    }

    #[test]
    fn hour_of_day_is_utc() {
        assert_eq!(hour_of_day(0), 0);
        assert_eq!(hour_of_day(60 * 13 + 59), 13);
        assert_eq!(hour_of_day(MINUTES_PER_DAY + 60), 1);
        assert_eq!(hour_of_day(-1), 23);
    }
}
