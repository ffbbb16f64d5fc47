//! After an apply: keep it, or roll it back? A pure decision over what was observed
//! before and after the change and what the recommendation predicted.
//!
//! A rollback needs the change to have made things worse on both counts — worse than
//! predicted *and* worse than before — for latency and cold starts, because a
//! prediction can be off while the change still helps; rolling back then would make
//! things worse again. Errors and throttles need no prediction: a rise past the
//! threshold is enough. Too little traffic before or after the change decides nothing.

use serde::{Deserialize, Serialize};

/// What was observed over a window (sums, and the p99 if known).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// Invocations.
    pub invocations: f64,
    /// Errors.
    pub errors: f64,
    /// Throttles.
    pub throttles: f64,
    /// Cold starts (init durations observed).
    pub cold_starts: f64,
    /// The window's p99 duration (ms), if measured.
    pub p99_ms: Option<f64>,
}

impl Observed {
    fn rate(&self, n: f64) -> f64 {
        if self.invocations > 0.0 {
            n / self.invocations
        } else {
            0.0
        }
    }
}

/// What the recommendation predicted for the new configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Predicted {
    /// p99 (ms).
    pub p99_ms: f64,
    /// Cold starts per invocation.
    pub cold_start_rate: f64,
}

/// When to roll back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Observed p99 above the prediction by more than this share (percent).
    pub latency_tolerance_percent: f64,
    /// Observed cold-start share above the prediction by more than this (absolute,
    /// e.g. 0.01 = one percentage point).
    pub cold_start_tolerance: f64,
    /// Error share rising by more than this (absolute).
    pub max_error_rate_increase: f64,
    /// Throttle share rising by more than this (absolute).
    pub max_throttle_rate_increase: f64,
    /// Fewer invocations after the change decide nothing.
    pub min_invocations: f64,
}

/// The verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", content = "reason", rename_all = "snake_case")]
pub enum Decision {
    /// The change holds.
    Keep,
    /// Undo it, for this reason.
    Rollback(String),
    /// Not enough traffic to judge; kept, and said so.
    Inconclusive(String),
}

/// Keep or roll back, from `before` and `after` the change.
pub fn decide(
    before: &Observed,
    after: &Observed,
    predicted: &Predicted,
    t: &Thresholds,
) -> Decision {
    if after.invocations < t.min_invocations {
        return Decision::Inconclusive(format!(
            "{} invocations after the change; {} needed to judge",
            after.invocations, t.min_invocations
        ));
    }
    // Without a baseline every rate "rises" from zero.
    if before.invocations < t.min_invocations {
        return Decision::Inconclusive(format!(
            "{} invocations before the change; {} needed to compare",
            before.invocations, t.min_invocations
        ));
    }
    let (e0, e1) = (before.rate(before.errors), after.rate(after.errors));
    if e1 - e0 > t.max_error_rate_increase {
        return Decision::Rollback(format!(
            "error rate rose from {:.2} % to {:.2} % (threshold +{:.2} points)",
            e0 * 100.0,
            e1 * 100.0,
            t.max_error_rate_increase * 100.0
        ));
    }
    let (th0, th1) = (before.rate(before.throttles), after.rate(after.throttles));
    if th1 - th0 > t.max_throttle_rate_increase {
        return Decision::Rollback(format!(
            "throttle rate rose from {:.2} % to {:.2} % (threshold +{:.2} points)",
            th0 * 100.0,
            th1 * 100.0,
            t.max_throttle_rate_increase * 100.0
        ));
    }
    let (c0, c1) = (
        before.rate(before.cold_starts),
        after.rate(after.cold_starts),
    );
    if c1 > predicted.cold_start_rate + t.cold_start_tolerance && c1 > c0 {
        return Decision::Rollback(format!(
            "cold starts {:.2} % observed, {:.2} % predicted (tolerance +{:.2} points), {:.2} % before",
            c1 * 100.0,
            predicted.cold_start_rate * 100.0,
            t.cold_start_tolerance * 100.0,
            c0 * 100.0
        ));
    }
    if let Some(p1) = after.p99_ms {
        let limit = predicted.p99_ms * (1.0 + t.latency_tolerance_percent / 100.0);
        let worse_than_before = before.p99_ms.is_none_or(|p0| p1 > p0);
        if p1 > limit && worse_than_before {
            return Decision::Rollback(format!(
                "p99 {p1:.0} ms observed, {:.0} ms predicted (tolerance +{}%){}",
                predicted.p99_ms,
                t.latency_tolerance_percent,
                before
                    .p99_ms
                    .map_or(String::new(), |p0| format!(", {p0:.0} ms before"))
            ));
        }
    }
    Decision::Keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Thresholds {
        Thresholds {
            latency_tolerance_percent: 20.0,
            cold_start_tolerance: 0.01,
            max_error_rate_increase: 0.01,
            max_throttle_rate_increase: 0.005,
            min_invocations: 100.0,
        }
    }

    fn obs(invocations: f64, errors: f64, throttles: f64, cold: f64, p99: f64) -> Observed {
        Observed {
            invocations,
            errors,
            throttles,
            cold_starts: cold,
            p99_ms: Some(p99),
        }
    }

    #[test]
    fn decisions() {
        let before = obs(1000.0, 5.0, 0.0, 40.0, 800.0);
        let pred = Predicted {
            p99_ms: 500.0,
            cold_start_rate: 0.005,
        };
        assert_eq!(
            decide(&before, &obs(1000.0, 5.0, 0.0, 5.0, 480.0), &pred, &t()),
            Decision::Keep
        );
        let d = decide(&before, &obs(1000.0, 30.0, 0.0, 5.0, 480.0), &pred, &t());
        assert_eq!(
            d,
            Decision::Rollback(
                "error rate rose from 0.50 % to 3.00 % (threshold +1.00 points)".into()
            )
        );
        assert!(matches!(
            decide(&before, &obs(1000.0, 5.0, 20.0, 5.0, 480.0), &pred, &t()),
            Decision::Rollback(r) if r.starts_with("throttle rate")
        ));
        // Worse than predicted but better than before: kept.
        assert_eq!(
            decide(&before, &obs(1000.0, 5.0, 0.0, 5.0, 700.0), &pred, &t()),
            Decision::Keep
        );
        assert!(matches!(
            decide(&before, &obs(1000.0, 5.0, 0.0, 5.0, 900.0), &pred, &t()),
            Decision::Rollback(r) if r.contains("p99 900 ms observed, 500 ms predicted")
        ));
        assert!(matches!(
            decide(&obs(1000.0, 0.0, 0.0, 10.0, 400.0), &obs(1000.0, 0.0, 0.0, 60.0, 400.0), &pred, &t()),
            Decision::Rollback(r) if r.starts_with("cold starts 6.00 %")
        ));
        assert!(matches!(
            decide(&before, &obs(10.0, 10.0, 0.0, 5.0, 480.0), &pred, &t()),
            Decision::Inconclusive(_)
        ));
        assert!(matches!(
            decide(&Observed::default(), &obs(1000.0, 500.0, 0.0, 5.0, 480.0), &pred, &t()),
            Decision::Inconclusive(r) if r.starts_with("0 invocations before")
        ));
    }
}
