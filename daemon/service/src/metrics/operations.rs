//! The counters an operator alerts on besides cycles: alert webhook requests the
//! service refused, and the verdicts on applies (a rollback is an apply that made
//! things worse). The shipped rules (`deploy/prometheus/adaptd-alerts.yml`) read
//! them; every label value a rule names exists at 0 from the start, so that the
//! first refusal or rollback is an increase, not a new series.

use adaptd_actuator::verify::Decision;
use prometheus::{IntCounterVec, Registry};

use super::counter_vec;

/// The alert endpoints, by the `source` label.
pub(super) const ALERT_SOURCES: [&str; 2] = ["alertmanager", "sns"];

/// Why an alert request may be refused (the `code` of the JSON refusal): those a
/// sender can cause, which exist at 0 from the start. Rarer ones (a store outage, an
/// unreadable secret) appear when they happen.
const COMMON_REFUSALS: [&str; 4] = [
    "unauthorized",
    "forbidden",
    "invalid_body",
    "alerts_disabled",
];

/// A verdict on an apply, by the `verdict` label.
pub(super) const VERDICTS: [&str; 3] = ["keep", "rollback", "inconclusive"];

/// Alert refusals and apply verdicts.
#[derive(Debug)]
pub(super) struct Operations {
    refused: IntCounterVec,
    verdicts: IntCounterVec,
}

impl Operations {
    pub(super) fn new(r: &Registry) -> Self {
        let o = Self {
            refused: counter_vec(
                r,
                "adaptd_alert_requests_refused_total",
                "Requests to the alert endpoints refused, by source and the refusal's code (unauthorized, invalid_body, …): alerts that did not reach adaptd.",
                &["source", "code"],
            ),
            verdicts: counter_vec(
                r,
                "adaptd_apply_verdicts_total",
                "Verdicts on applied changes after their verification window, by verdict (rollback: the change made things worse and was undone).",
                &["verdict"],
            ),
        };
        for source in ALERT_SOURCES {
            for code in COMMON_REFUSALS {
                o.refused.with_label_values(&[source, code]).inc_by(0);
            }
        }
        for v in VERDICTS {
            o.verdicts.with_label_values(&[v]).inc_by(0);
        }
        o
    }

    pub(super) fn refused(&self, source: &str, code: &str) {
        self.refused.with_label_values(&[source, code]).inc();
    }

    pub(super) fn verdict(&self, d: &Decision) {
        let v = match d {
            Decision::Keep => "keep",
            Decision::Rollback(_) => "rollback",
            Decision::Inconclusive(_) => "inconclusive",
        };
        self.verdicts.with_label_values(&[v]).inc();
    }
}
