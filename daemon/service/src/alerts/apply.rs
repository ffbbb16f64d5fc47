//! After a focused cycle: hand each focused component's new (or refreshed) version
//! to the apply feature ([`adaptd_ops::apply::apply_recommendation`]), which decides by
//! `[apply]` mode, guardrails and `execute` whether to make the calls.
//!
//! Components whose mode is `off` or `propose` are not handed over at all: the
//! proposal is the outcome, and no AWS call (not even a read of the live
//! configuration) is made. Each hand-over is recorded in the audit log as
//! `alerts.apply` with the apply outcome.

use adaptd_config::Config;
use adaptd_ops::apply::Trigger;
use adaptd_store::alerts::{AlertRow, AlertStore};

use super::focus::AlertContext;
use crate::cycle::CycleReport;
use crate::handover::{acts_on, hand_over};

/// Applies what a focused cycle proposed, where the mode says so; returns how many
/// components were handed to the apply feature.
pub async fn after_focus<S: AlertStore>(
    store: &S,
    config: &Config,
    focus: &AlertContext,
    pending: &[AlertRow],
    report: &CycleReport,
) -> usize {
    if report.outcome == "failed" {
        return 0;
    }
    let wanted: Vec<(String, Trigger)> = report
        .components
        .iter()
        .filter(|(c, kind)| {
            matches!(*kind, "insert" | "refresh")
                && focus.focus.as_ref().is_some_and(|f| f.contains(c))
                && acts_on(config, c)
        })
        .map(|(c, _)| {
            let alert = pending
                .iter()
                .find(|p| p.component.as_deref() == Some(c.as_str()))
                .map_or_else(|| "unknown".to_owned(), |p| p.identity.clone());
            (c.clone(), Trigger::Alert(alert))
        })
        .collect();
    hand_over(store, config, &wanted, report.id, "alerts", "alerts.apply").await
}
