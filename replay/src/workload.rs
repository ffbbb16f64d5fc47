//! What is replayed: per-minute invocation counts and the law their durations follow.
//!
//! A [`Workload`] is deliberately small and self-contained (no telemetry types inside),
//! so tests and benches can build one by hand and a reader can see everything that
//! drives a replay. [`Workload::from_telemetry`] builds one from the engine's model.

use adaptd_engine::cpu_share::CpuShare;
use adaptd_engine::profile::{duration_factor, lambda_vcpu};
use adaptd_engine::quantiles::QuantileSet;
use adaptd_engine::spec::{Architecture, DEFAULT_CPU_BOUND_FRACTION, ModelParams};
use adaptd_engine::telemetry::{ComponentTelemetry, Metric, Minute, Stat};
use adaptd_engine::zone::Zone;

use crate::error::ReplayError;

/// How a minute's invocations are spread over the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Arrivals {
    /// At independent uniformly random instants (the default).
    #[default]
    Uniform,
    /// Evenly spaced, at the same phase every minute (the phase is drawn once per
    /// workload from the seed and the name). Timers fire on the clock: a job every 10
    /// minutes is exactly 10 minutes apart, not 9–11 as uniform instants would make
    /// it, which decides whether a 10-minute keep-alive keeps it warm.
    Periodic,
}

/// Per-minute traffic of one component and how long its invocations take.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Component name (for reports).
    pub name: String,
    /// First minute of the window (UTC minutes since the epoch).
    pub start: Minute,
    /// Invocations started in each minute of the window.
    pub counts: Vec<u32>,
    /// How invocations are placed inside their minute.
    pub arrivals: Arrivals,
    /// Offsets (from `start`) of minutes the source did not observe. They are replayed
    /// as minutes without traffic and reported, never silently taken as observed zeros.
    pub missing_minutes: Vec<u32>,
    /// Duration distribution (ms, excluding init) at the observed memory and
    /// architecture.
    pub duration_ms: QuantileSet,
    /// Per-minute distributions that replace `duration_ms` where present; empty, or one
    /// entry per minute of the window.
    pub minute_durations: Vec<Option<QuantileSet>>,
    /// Memory the durations were observed at (MB).
    pub observed_memory_mb: f64,
    /// Architecture the durations were observed on.
    pub observed_architecture: Architecture,
    /// vCPUs one invocation had when observed, when that was not a Lambda of
    /// `observed_memory_mb` (a Fargate service: task vCPU / per-task concurrency).
    pub observed_vcpu: Option<f64>,
    /// Share of the duration that scales with CPU (0–1).
    pub cpu_bound_fraction: f64,
    /// Threads the code keeps busy (caps the gain above one vCPU).
    pub parallelism: f64,
    /// Duration on arm64 relative to x86_64.
    pub arm64_factor: f64,
    /// Initialisation time of a new environment (ms), when observed.
    pub init_duration_ms: Option<f64>,
    /// The zone whose local hours a schedule's levels are (the component's
    /// `timezone`; UTC by default).
    pub timezone: Zone,
}

impl Workload {
    /// A workload with the engine's default duration law (x86_64 at `memory_mb`, half
    /// CPU-bound, single-threaded, arm64 as fast as x86_64) and no observed init time.
    pub fn new(
        name: impl Into<String>,
        start: Minute,
        counts: Vec<u32>,
        duration_ms: QuantileSet,
        memory_mb: f64,
    ) -> Self {
        Self {
            name: name.into(),
            start,
            counts,
            arrivals: Arrivals::Uniform,
            missing_minutes: Vec::new(),
            duration_ms,
            minute_durations: Vec::new(),
            observed_memory_mb: memory_mb,
            observed_architecture: Architecture::X86_64,
            observed_vcpu: None,
            cpu_bound_fraction: DEFAULT_CPU_BOUND_FRACTION,
            parallelism: 1.0,
            arm64_factor: 1.0,
            timezone: Zone::UTC,
            init_duration_ms: None,
        }
    }

    /// Minutes in the window.
    pub fn minutes(&self) -> usize {
        self.counts.len()
    }

    /// Invocations over the window.
    pub fn invocations(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// The distribution invocations of minute `i` (offset) are drawn from.
    pub fn duration_for_minute(&self, i: usize) -> &QuantileSet {
        self.minute_durations
            .get(i)
            .and_then(Option::as_ref)
            .unwrap_or(&self.duration_ms)
    }

    /// Factor from observed durations to durations on `arch`: the engine's
    /// `arm64_duration_factor` rule.
    pub fn arch_factor(&self, arch: Architecture) -> f64 {
        match (self.observed_architecture, arch) {
            (Architecture::X86_64, Architecture::Arm64) => self.arm64_factor,
            (Architecture::Arm64, Architecture::X86_64) => 1.0 / self.arm64_factor,
            _ => 1.0,
        }
    }

    /// vCPUs an invocation had when observed.
    pub fn observed_speed(&self) -> f64 {
        self.observed_vcpu.map_or_else(
            || lambda_vcpu(self.observed_memory_mb, self.parallelism),
            |v| v.min(self.parallelism),
        )
    }

    /// Factor from observed durations to a Lambda of `memory_mb` on `arch`: exactly the
    /// engine's `DurationLaw::factor` (`duration_factor` × architecture factor). When the
    /// durations were observed off Lambda (`observed_vcpu`), the CPU-bound share is
    /// rescaled from that vCPU share instead.
    pub fn lambda_factor(&self, memory_mb: u32, arch: Architecture) -> f64 {
        let mem = match self.observed_vcpu {
            None => duration_factor(
                self.observed_memory_mb,
                f64::from(memory_mb),
                self.cpu_bound_fraction,
                self.parallelism,
            ),
            Some(_) => {
                let f = self.cpu_bound_fraction.clamp(0.0, 1.0);
                f * self.observed_speed() / lambda_vcpu(f64::from(memory_mb), self.parallelism)
                    + (1.0 - f)
            }
        };
        mem * self.arch_factor(arch)
    }

    /// How a Fargate task of `vcpu` serving `per_task` requests at once on `arch`
    /// shares its vCPUs among them: the engine's law ([`CpuShare`]), which the replay
    /// plays minute by minute.
    pub fn cpu_share(&self, vcpu: f64, per_task: u32, arch: Architecture) -> CpuShare {
        CpuShare::new(
            vcpu,
            per_task,
            self.cpu_bound_fraction,
            self.observed_speed(),
            self.parallelism,
            self.arch_factor(arch),
        )
    }

    /// Checks the fields a replay depends on.
    pub fn validate(&self) -> Result<(), ReplayError> {
        let bad = |field: &'static str, value: f64, expected: &'static str| {
            Err(ReplayError::Workload {
                name: self.name.clone(),
                field,
                value,
                expected,
            })
        };
        if !(self.observed_memory_mb.is_finite() && self.observed_memory_mb > 0.0) {
            return bad("observed_memory_mb", self.observed_memory_mb, "> 0");
        }
        if !(0.0..=1.0).contains(&self.cpu_bound_fraction) {
            return bad("cpu_bound_fraction", self.cpu_bound_fraction, "0–1");
        }
        if !(self.parallelism.is_finite() && self.parallelism > 0.0) {
            return bad("parallelism", self.parallelism, "> 0");
        }
        if !(self.arm64_factor.is_finite() && self.arm64_factor > 0.0) {
            return bad("arm64_factor", self.arm64_factor, "> 0");
        }
        if let Some(v) = self.observed_vcpu
            && !(v.is_finite() && v > 0.0)
        {
            return bad("observed_vcpu", v, "> 0");
        }
        if let Some(i) = self.init_duration_ms
            && !(i.is_finite() && i >= 0.0)
        {
            return bad("init_duration_ms", i, "≥ 0");
        }
        if self.duration_ms.quantile(0.0) < 0.0 {
            return bad("duration_ms", self.duration_ms.quantile(0.0), "≥ 0 ms");
        }
        if !self.minute_durations.is_empty() && self.minute_durations.len() != self.counts.len() {
            return bad(
                "minute_durations.len()",
                self.minute_durations.len() as f64,
                "0 or one per minute",
            );
        }
        Ok(())
    }

    /// Builds the workload of one component.
    ///
    /// Counts come from `invocations`/`sum` over the covered window; minutes without a
    /// count are replayed as empty and listed in `missing_minutes`. Durations come from
    /// per-minute percentile stats where a minute has them (normalised to the latest
    /// configured memory with the duration law, as the engine does), else from the
    /// component-wide distribution; the static distribution is the invocation-weighted
    /// average of the per-minute points, or the trace's distribution. A component whose
    /// `trigger` attribute is `timer` gets [`Arrivals::Periodic`] when
    /// [`WorkloadOptions::periodic_timers`] is set.
    pub fn from_telemetry(
        t: &ComponentTelemetry,
        opts: &WorkloadOptions,
    ) -> Result<Self, ReplayError> {
        let name = t.name.clone();
        let series = t
            .invocations()
            .ok_or_else(|| ReplayError::NoInvocations(name.clone()))?;
        let (lo, hi) = t
            .covered()
            .ok_or_else(|| ReplayError::NoInvocations(name.clone()))?;
        let mut counts = Vec::with_capacity(usize::try_from(hi - lo).unwrap_or(0));
        let mut missing = Vec::new();
        for m in lo..hi {
            match series.get(m) {
                None => {
                    missing.push((m - lo) as u32);
                    counts.push(0);
                }
                Some(c) if c >= 0.0 && c <= f64::from(u32::MAX) => counts.push(c.round() as u32),
                Some(c) => {
                    return Err(ReplayError::BadCount {
                        name,
                        minute: m,
                        value: c,
                    });
                }
            }
        }
        if series.observed_minutes() == 0 {
            return Err(ReplayError::NoInvocations(name));
        }

        let history = memory_history(t);
        let observed_memory_mb = opts
            .observed_memory_mb
            .or_else(|| history.last().map(|&(_, m)| m))
            .or_else(|| attribute(t, "memory_mb").and_then(|v| v.parse().ok()))
            .ok_or_else(|| ReplayError::UnknownMemory(name.clone()))?;
        let observed_architecture =
            opts.observed_architecture
                .unwrap_or_else(|| match attribute(t, "architecture") {
                    Some("arm64") => Architecture::Arm64,
                    _ => Architecture::X86_64,
                });
        let norm = |m: Minute| -> f64 {
            let i = history.partition_point(|&(at, _)| at <= m);
            match i.checked_sub(1).map(|i| history[i].1) {
                Some(then) if (then - observed_memory_mb).abs() > 0.5 => duration_factor(
                    then,
                    observed_memory_mb,
                    opts.cpu_bound_fraction,
                    opts.parallelism,
                ),
                _ => 1.0,
            }
        };

        let mut minute_durations: Vec<Option<QuantileSet>> = Vec::new();
        let mut weighted: Vec<(f64, f64, f64)> = Vec::new(); // (p, Σ w·v, Σ w)
        let mut mean_acc = (0.0, 0.0);
        if t.get(Metric::DurationMs, Stat::Average).is_some()
            || PERCENTILES
                .iter()
                .any(|&(s, _)| t.get(Metric::DurationMs, s).is_some())
        {
            minute_durations.reserve(counts.len());
            for (i, m) in (lo..hi).enumerate() {
                let q = minute_distribution(t, m, norm(m)).map_err(|source| {
                    ReplayError::BadDuration {
                        name: name.clone(),
                        minute: m,
                        source,
                    }
                })?;
                if let Some(q) = &q {
                    let w = f64::from(counts[i].max(1));
                    for &(p, v) in q.points() {
                        match weighted.iter_mut().find(|e| e.0 == p) {
                            Some(e) => {
                                e.1 += w * v;
                                e.2 += w;
                            }
                            None => weighted.push((p, w * v, w)),
                        }
                    }
                    if let Some(mean) = q.reported_mean() {
                        mean_acc.0 += w * mean;
                        mean_acc.1 += w;
                    }
                }
                minute_durations.push(q);
            }
        }
        let averaged = if weighted.is_empty() {
            None
        } else {
            let mut pts: Vec<(f64, f64)> = weighted.iter().map(|e| (e.0, e.1 / e.2)).collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            for i in 1..pts.len() {
                pts[i].1 = pts[i].1.max(pts[i - 1].1);
            }
            let mean = (mean_acc.1 > 0.0).then(|| mean_acc.0 / mean_acc.1);
            QuantileSet::new(pts, mean).ok()
        };
        let duration_ms = match averaged.or_else(|| t.duration_ms.clone()) {
            Some(d) => d,
            None if counts.iter().all(|&c| c == 0) => QuantileSet::constant(0.0),
            None => return Err(ReplayError::NoDuration(name)),
        };
        if minute_durations.iter().all(Option::is_none) {
            minute_durations.clear();
        }

        let init_duration_ms = opts.init_duration_ms.or_else(|| t.mean_init_duration_ms());
        let arrivals = if opts.periodic_timers && attribute(t, "trigger") == Some("timer") {
            Arrivals::Periodic
        } else {
            Arrivals::Uniform
        };
        let w = Self {
            name,
            start: lo,
            counts,
            arrivals,
            missing_minutes: missing,
            duration_ms,
            minute_durations,
            observed_memory_mb,
            observed_architecture,
            observed_vcpu: opts.observed_vcpu,
            cpu_bound_fraction: opts.cpu_bound_fraction,
            parallelism: opts.parallelism,
            arm64_factor: opts.arm64_factor,
            timezone: Zone::UTC,
            init_duration_ms,
        };
        w.validate()?;
        Ok(w)
    }
}

/// What telemetry does not say about a component's duration law.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadOptions {
    /// Memory the durations were observed at (MB); else the latest
    /// `configured_memory_mb`, else the `memory_mb` attribute.
    pub observed_memory_mb: Option<f64>,
    /// Architecture observed on; else the `architecture` attribute, else x86_64.
    pub observed_architecture: Option<Architecture>,
    /// See [`Workload::observed_vcpu`].
    pub observed_vcpu: Option<f64>,
    /// Share of the duration that scales with CPU.
    pub cpu_bound_fraction: f64,
    /// Threads the code keeps busy.
    pub parallelism: f64,
    /// arm64 duration relative to x86_64.
    pub arm64_factor: f64,
    /// Init time (ms); else the cold-start-weighted mean of `init_duration_ms`/`avg`.
    pub init_duration_ms: Option<f64>,
    /// Replay timer-triggered components with [`Arrivals::Periodic`] (default true).
    pub periodic_timers: bool,
}

impl Default for WorkloadOptions {
    fn default() -> Self {
        Self::from_model(&ModelParams::default())
    }
}

impl WorkloadOptions {
    /// The options a component's model parameters imply (the CPU-bound share falls back
    /// to the engine's default, as it does when history holds no memory change).
    pub fn from_model(m: &ModelParams) -> Self {
        Self {
            observed_memory_mb: None,
            observed_architecture: None,
            observed_vcpu: None,
            cpu_bound_fraction: m.cpu_bound_fraction.unwrap_or(DEFAULT_CPU_BOUND_FRACTION),
            parallelism: m.parallelism,
            arm64_factor: m.arm64_duration_factor,
            init_duration_ms: m.init_duration_ms,
            periodic_timers: true,
        }
    }
}

/// Per-minute stats that carry a point of the duration distribution.
const PERCENTILES: [(Stat, f64); 6] = [
    (Stat::Minimum, 0.0),
    (Stat::Percentile(500), 0.5),
    (Stat::Percentile(900), 0.9),
    (Stat::Percentile(950), 0.95),
    (Stat::Percentile(990), 0.99),
    (Stat::Maximum, 1.0),
];

fn attribute<'a>(t: &'a ComponentTelemetry, key: &str) -> Option<&'a str> {
    t.attributes.get(key).map(|s| s.trim())
}

/// The distribution of one minute from its stats, scaled by `norm`; a lone average
/// becomes a constant.
fn minute_distribution(
    t: &ComponentTelemetry,
    m: Minute,
    norm: f64,
) -> Result<Option<QuantileSet>, adaptd_engine::quantiles::QuantileError> {
    let mean = t
        .get(Metric::DurationMs, Stat::Average)
        .and_then(|s| s.get(m))
        .map(|v| v * norm);
    let points: Vec<(f64, f64)> = PERCENTILES
        .iter()
        .filter_map(|&(s, p)| Some((p, t.get(Metric::DurationMs, s)?.get(m)? * norm)))
        .collect();
    // The engine's rule for turning summary statistics into a distribution, so the
    // replay and the model read a source the same way.
    adaptd_engine::quantiles::from_stats(points, mean)
}

/// (first minute, MB) at each change of the configured memory.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telemetry_gaps_are_reported_not_observed() {
        let mut t = ComponentTelemetry::new("f");
        for m in 100..160 {
            if !(110..115).contains(&m) {
                t.record(m, Metric::Invocations, Stat::Sum, 3.0).unwrap();
            }
        }
        t.duration_ms = Some(QuantileSet::constant(50.0));
        t.attributes.insert("memory_mb".into(), "512".into());
        let w = Workload::from_telemetry(&t, &WorkloadOptions::default()).unwrap();
        assert_eq!(w.arrivals, Arrivals::Uniform);
        t.attributes.insert("trigger".into(), "timer".into());
        let timer = Workload::from_telemetry(&t, &WorkloadOptions::default()).unwrap();
        assert_eq!(timer.arrivals, Arrivals::Periodic);
        assert_eq!(w.start, 100);
        assert_eq!(w.counts.len(), 60);
        assert_eq!(w.missing_minutes, vec![10, 11, 12, 13, 14]);
        assert_eq!(w.invocations(), 55 * 3);
        assert_eq!(w.observed_memory_mb, 512.0);
        assert!(w.minute_durations.is_empty());
    }

    #[test]
    fn per_minute_stats_become_minute_distributions_at_the_latest_memory() {
        let mut t = ComponentTelemetry::new("f");
        for m in 0..4 {
            t.record(m, Metric::Invocations, Stat::Sum, 10.0).unwrap();
            let (mem, d) = if m < 2 {
                (1024.0, 200.0)
            } else {
                (2048.0, 100.0)
            };
            t.record(m, Metric::ConfiguredMemoryMb, Stat::Average, mem)
                .unwrap();
            t.record(m, Metric::DurationMs, Stat::P50, d).unwrap();
            t.record(m, Metric::DurationMs, Stat::Maximum, 2.0 * d)
                .unwrap();
        }
        let opts = WorkloadOptions {
            cpu_bound_fraction: 1.0,
            parallelism: 2.0,
            ..WorkloadOptions::default()
        };
        let w = Workload::from_telemetry(&t, &opts).unwrap();
        assert_eq!(w.observed_memory_mb, 2048.0);
        // 1024 MB minutes are halved (fully CPU-bound, two threads): 200 → 100 ms.
        for i in 0..4 {
            let q = w.duration_for_minute(i);
            assert!((q.quantile(0.5) - 100.0).abs() < 1e-9, "{i}: {q:?}");
            assert!((q.max() - 200.0).abs() < 1e-9);
        }
        assert!((w.duration_ms.quantile(0.5) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn unknown_memory_and_missing_durations_are_refused() {
        let mut t = ComponentTelemetry::new("f");
        t.record(0, Metric::Invocations, Stat::Sum, 1.0).unwrap();
        t.duration_ms = Some(QuantileSet::constant(5.0));
        assert!(matches!(
            Workload::from_telemetry(&t, &WorkloadOptions::default()),
            Err(ReplayError::UnknownMemory(_))
        ));
        t.duration_ms = None;
        let opts = WorkloadOptions {
            observed_memory_mb: Some(128.0),
            ..WorkloadOptions::default()
        };
        assert!(matches!(
            Workload::from_telemetry(&t, &opts),
            Err(ReplayError::NoDuration(_))
        ));
    }

    #[test]
    fn duration_law_matches_the_engine() {
        let mut w = Workload::new("f", 0, vec![1], QuantileSet::constant(100.0), 1769.0);
        w.cpu_bound_fraction = 1.0;
        w.arm64_factor = 0.8;
        assert!((w.lambda_factor(884, Architecture::X86_64) - 1769.0 / 884.0).abs() < 1e-12);
        assert!((w.lambda_factor(1769, Architecture::Arm64) - 0.8).abs() < 1e-12);
        // A task of one vCPU and four slots: alone as fast as on one vCPU, four times
        // slower with all four computing (the engine's sharing law).
        let share = w.cpu_share(1.0, 4, Architecture::X86_64);
        assert!((share.lone_factor() - 1.0).abs() < 1e-12);
        assert!((share.factor(1.0) - 4.0).abs() < 1e-12);
    }
}
