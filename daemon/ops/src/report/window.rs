//! Cutting telemetry to a window of minutes: the report's period, and the stretch after
//! a change whose savings are being measured.

use adaptd_engine::telemetry::{ComponentTelemetry, Minute, TelemetrySet};

/// The part of `t` in `[from, to)`, or `None` when no series has a value there.
/// Whole-period distributions (trace files' duration and memory quantiles) are kept: a
/// source that gives only those has no finer resolution to cut.
pub fn component(t: &ComponentTelemetry, from: Minute, to: Minute) -> Option<ComponentTelemetry> {
    let mut out = ComponentTelemetry {
        name: t.name.clone(),
        attributes: t.attributes.clone(),
        series: Default::default(),
        duration_ms: t.duration_ms.clone(),
        memory_used_mb: t.memory_used_mb.clone(),
        window: None,
    };
    for (key, series) in &t.series {
        let lo = from.max(series.start());
        let hi = to.min(series.end());
        for m in lo..hi {
            if let Some(v) = series.get(m) {
                // Values came out of a series, so they are finite.
                let _ = out.record(m, key.0, key.1, v);
            }
        }
    }
    if out.series.values().all(|s| s.is_empty()) {
        return None;
    }
    out.window = match t.window {
        Some((a, b)) => Some((a.max(from), b.min(to))).filter(|(a, b)| a < b),
        // Without a declared window the span of the series is the window; cutting it
        // must not shrink it to the first and last non-empty minute of the cut.
        None => t
            .covered()
            .map(|(a, b)| (a.max(from), b.min(to)))
            .filter(|(a, b)| a < b),
    };
    Some(out)
}

/// Every component of `t` cut to `[from, to)`; components with nothing there are left out.
pub fn slice(t: &TelemetrySet, from: Minute, to: Minute) -> TelemetrySet {
    TelemetrySet {
        components: t
            .components
            .iter()
            .filter_map(|(name, c)| Some((name.clone(), component(c, from, to)?)))
            .collect(),
        sources: t.sources.clone(),
    }
}

/// One past the last minute any component covers.
pub fn end(t: &TelemetrySet) -> Option<Minute> {
    t.components
        .values()
        .filter_map(|c| c.covered())
        .map(|w| w.1)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use adaptd_engine::telemetry::{Metric, Stat};

    #[test]
    fn a_cut_keeps_values_inside_and_the_window_clamped() {
        let mut t = ComponentTelemetry::new("a");
        for m in 0..100 {
            t.record(m, Metric::Invocations, Stat::Sum, m as f64)
                .unwrap();
        }
        let c = component(&t, 10, 20).unwrap();
        let s = c.invocations().unwrap();
        assert_eq!((s.start(), s.end()), (10, 20));
        assert_eq!(s.get(15), Some(15.0));
        assert_eq!(c.covered(), Some((10, 20)));
        assert!(component(&t, 200, 300).is_none());
        let mut set = TelemetrySet::default();
        set.components.insert("a".into(), t);
        assert_eq!(end(&set), Some(100));
        assert!(slice(&set, 200, 300).components.is_empty());
    }
}
