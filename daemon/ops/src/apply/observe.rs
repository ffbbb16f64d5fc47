//! What was observed of a component over a window, from collected telemetry: the
//! inputs of the verification verdict. Pure; the caller collects (any of the service's
//! collectors: CloudWatch, Prometheus, files).

use adaptd_actuator::verify::Observed;
use adaptd_engine::telemetry::{ComponentTelemetry, Metric, Minute, Stat};

fn sum(c: &ComponentTelemetry, metric: Metric, from: Minute, to: Minute) -> f64 {
    // An empty f64 sum is -0.0, which verdicts would print as "-0 invocations".
    c.get(metric, Stat::Sum).map_or(0.0, |s| {
        (from..to).filter_map(|m| s.get(m)).sum::<f64>() + 0.0
    })
}

/// Sums of invocations, errors, throttles and cold starts over `[from, to)`, and the
/// p99 duration: the invocation-weighted mean of the minutes' p99 (a window's p99 is
/// not derivable from per-minute percentiles; this weights busy minutes as the window's
/// own p99 would). No p99 when no minute has one.
pub fn observed(c: &ComponentTelemetry, from: Minute, to: Minute) -> Observed {
    let invocations = c.invocations();
    let p99 = c.get(Metric::DurationMs, Stat::P99).and_then(|s| {
        let (mut weighted, mut weight) = (0.0, 0.0);
        for m in from..to {
            if let Some(p) = s.get(m) {
                let w = invocations.and_then(|i| i.get(m)).unwrap_or(1.0).max(1e-9);
                weighted += p * w;
                weight += w;
            }
        }
        (weight > 0.0).then(|| weighted / weight)
    });
    Observed {
        invocations: sum(c, Metric::Invocations, from, to),
        errors: sum(c, Metric::Errors, from, to),
        throttles: sum(c, Metric::Throttles, from, to),
        cold_starts: sum(c, Metric::ColdStarts, from, to),
        p99_ms: p99,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_weighted_p99_over_the_window_only() {
        let mut c = ComponentTelemetry::default();
        for m in 0..10 {
            c.record(
                m,
                Metric::Invocations,
                Stat::Sum,
                if m < 5 { 10.0 } else { 30.0 },
            )
            .unwrap();
            c.record(m, Metric::Errors, Stat::Sum, 1.0).unwrap();
            c.record(
                m,
                Metric::DurationMs,
                Stat::P99,
                if m < 5 { 100.0 } else { 200.0 },
            )
            .unwrap();
        }
        let o = observed(&c, 3, 7);
        assert_eq!(o.invocations, 80.0);
        assert_eq!(o.errors, 4.0);
        assert_eq!(o.throttles, 0.0);
        // (2·10·100 + 2·30·200) / 80 = 175.
        assert_eq!(o.p99_ms, Some(175.0));
        let empty = observed(&c, 20, 30);
        assert_eq!(empty.p99_ms, None);
        assert!(empty.invocations == 0.0 && empty.invocations.is_sign_positive());
    }

    /// The store keeps recent telemetry for verification after a restart: what
    /// verification observes must be the same from the kept samples as from the source.
    #[test]
    fn kept_samples_observe_as_the_source() {
        let mut a = ComponentTelemetry::new("a");
        for m in 0..10 {
            a.record(m, Metric::Invocations, Stat::Sum, 100.0).unwrap();
            a.record(m, Metric::Errors, Stat::Sum, 1.0).unwrap();
            a.record(m, Metric::DurationMs, Stat::P99, 200.0 + m as f64)
                .unwrap();
        }
        let mut set = adaptd_engine::telemetry::TelemetrySet::default();
        set.components.insert("a".into(), a.clone());
        let kept = adaptd_store::recent::samples([&set], |n| n == "a", 4);
        let back = adaptd_store::recent::telemetry(&kept);
        assert_eq!(observed(&back.components["a"], 4, 9), observed(&a, 4, 9));
    }
}
