//! The service's memory of recent per-minute telemetry, for verification: a cycle
//! collects only the minutes not collected before, while judging a run needs the
//! window before it and the window after it, several cycles apart.
//!
//! Kept in memory only: after a restart the window before an older run is missing, and
//! its verdict is inconclusive (see `verify.rs`) rather than a guess.

use adaptd_actuator::aws::Aws;
use adaptd_config::ApplySection;
use adaptd_engine::telemetry::{ComponentTelemetry, Minute, MinuteSeries, TelemetrySet};

use super::{aws_settings, verify_due};
use crate::store::{Store, now_ms};

/// Recent telemetry of every component, pruned to a horizon.
#[derive(Debug, Default)]
pub struct Recent {
    set: TelemetrySet,
}

impl Recent {
    /// Adds what a cycle collected.
    pub fn absorb(&mut self, t: &TelemetrySet) {
        for (name, c) in &t.components {
            let mine =
                self.set
                    .components
                    .entry(name.clone())
                    .or_insert_with(|| ComponentTelemetry {
                        name: name.clone(),
                        ..ComponentTelemetry::default()
                    });
            for (&(metric, stat), series) in &c.series {
                for (m, v) in series.observed() {
                    // Values come from a validated series: finite.
                    let _ = mine.record(m, metric, stat, v);
                }
            }
        }
    }

    /// Forgets minutes before `from`.
    pub fn prune(&mut self, from: Minute) {
        for c in self.set.components.values_mut() {
            for series in c.series.values_mut() {
                if series.start() >= from {
                    continue;
                }
                let mut kept = MinuteSeries::new();
                for (m, v) in series.observed().filter(|(m, _)| *m >= from) {
                    let _ = kept.set(m, v);
                }
                *series = kept;
            }
            c.series.retain(|_, s| !s.is_empty());
        }
        self.set.components.retain(|_, c| !c.series.is_empty());
    }

    /// The telemetry kept.
    pub fn telemetry(&self) -> &TelemetrySet {
        &self.set
    }
}

/// The service's verification: after each cycle, remembers what it collected and
/// judges the runs whose verification window has passed (when `[apply] execute` is on;
/// otherwise nothing was applied).
#[derive(Debug, Default)]
pub struct Verifier {
    recent: Recent,
    aws: Option<Aws>,
}

impl Verifier {
    /// After a cycle that collected `collected`: returns log lines of the verdicts.
    pub async fn after_cycle<'a, S: Store>(
        &mut self,
        store: &S,
        config: &ApplySection,
        interval_seconds: u64,
        collected: impl Iterator<Item = &'a TelemetrySet>,
    ) -> Vec<String> {
        if !config.execute {
            return Vec::new();
        }
        for t in collected {
            self.recent.absorb(t);
        }
        let now = now_ms();
        let window = i64::from(config.verify_window_minutes);
        let interval = i64::try_from(interval_seconds / 60).unwrap_or(i64::MAX / 4);
        self.recent
            .prune(now.div_euclid(60_000) - 3 * window - interval - 10);
        let aws = match &self.aws {
            Some(a) => a.clone(),
            None => {
                let a = Aws::connect(&aws_settings(config)).await;
                self.aws = Some(a.clone());
                a
            }
        };
        match verify_due(store, config, &aws, self.recent.telemetry(), now).await {
            Ok(v) => v
                .into_iter()
                .map(|(run, d)| format!("apply: verified run {run}: {d:?}"))
                .collect(),
            Err(e) => vec![format!("apply: verification failed: {e}")],
        }
    }
}

#[cfg(test)]
mod tests {
    use adaptd_engine::telemetry::{Metric, Stat};

    use super::*;

    fn set(minutes: std::ops::Range<i64>) -> TelemetrySet {
        let mut c = ComponentTelemetry {
            name: "a".into(),
            ..ComponentTelemetry::default()
        };
        for m in minutes {
            c.record(m, Metric::Invocations, Stat::Sum, m as f64)
                .unwrap();
        }
        let mut t = TelemetrySet::default();
        t.components.insert("a".into(), c);
        t
    }

    #[test]
    fn absorbs_cycles_and_prunes_old_minutes() {
        let mut r = Recent::default();
        r.absorb(&set(0..10));
        r.absorb(&set(10..20));
        let s = r.telemetry().components["a"].invocations().unwrap();
        assert_eq!((s.start(), s.end(), s.get(15)), (0, 20, Some(15.0)));
        r.prune(12);
        let s = r.telemetry().components["a"].invocations().unwrap();
        assert_eq!((s.start(), s.get(11), s.get(12)), (12, None, Some(12.0)));
        r.prune(100);
        assert!(r.telemetry().components.is_empty());
    }
}
