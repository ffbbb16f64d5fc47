//! After a focused cycle: hand each focused component's new (or refreshed) version
//! to the apply feature ([`crate::apply::apply_recommendation`]), which decides by
//! `[apply]` mode, guardrails and `execute` whether to make the calls.
//!
//! Components whose mode is `off` or `propose` are not handed over at all: the
//! proposal is the outcome, and no AWS call (not even a read of the live
//! configuration) is made. Each hand-over is recorded in the audit log as
//! `alerts.apply` with the apply outcome.

use adaptd_actuator::aws::Aws;
use adaptd_actuator::wal::Crashpoint;
use adaptd_config::{ApplyMode, Config};
use adaptd_optimizer::recommend::Recommendation;
use serde_json::json;

use super::focus::AlertContext;
use crate::apply::{self, Request, Trigger};
use crate::service::cycle::CycleReport;
use crate::service::log;
use crate::store::alerts::{AlertRow, AlertStore};
use crate::store::{AuditEntry, Lifecycle, now_ms};

/// Applies what a focused cycle proposed, where the mode says so; returns how many
/// components were handed to the apply feature.
pub async fn after_focus<S: AlertStore>(
    store: &S,
    config: &Config,
    focus: &AlertContext,
    pending: &[AlertRow],
    report: &CycleReport,
) -> usize {
    let environment = |name: &str| {
        config
            .components
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.environment.clone())
    };
    let wanted: Vec<&str> = report
        .components
        .iter()
        .filter(|(c, kind)| {
            matches!(*kind, "insert" | "refresh")
                && focus.focus.as_ref().is_some_and(|f| f.contains(c))
                && matches!(
                    config.apply.mode_for(c, environment(c).as_deref()),
                    ApplyMode::ApplyApproved | ApplyMode::Auto
                )
        })
        .map(|(c, _)| c.as_str())
        .collect();
    if wanted.is_empty() || report.outcome == "failed" {
        return 0;
    }
    let latest = match store.latest_recommendations().await {
        Ok(l) => l,
        Err(e) => {
            log(
                "warn",
                &format!("alert apply: reading recommendations failed: {e}"),
            );
            return 0;
        }
    };
    let aws = Aws::connect(&apply::aws_settings(&config.apply)).await;
    let crash = Crashpoint::new(None);
    let mut handed = 0;
    for component in wanted {
        let Some(row) = latest.iter().find(|r| r.component == component) else {
            continue;
        };
        let full = match store.recommendation(row.id).await {
            Ok(Some(r)) => r,
            other => {
                log(
                    "warn",
                    &format!(
                        "alert apply: recommendation {} unreadable: {other:?}",
                        row.id
                    ),
                );
                continue;
            }
        };
        let rec: Recommendation = match full.document.as_deref().map(serde_json::from_str) {
            Some(Ok(r)) => r,
            _ => {
                log(
                    "warn",
                    &format!(
                        "alert apply: recommendation {} has no valid document",
                        row.id
                    ),
                );
                continue;
            }
        };
        let alert = pending
            .iter()
            .find(|p| p.component.as_deref() == Some(component))
            .map_or_else(|| "unknown".to_owned(), |p| p.identity.clone());
        let env = environment(component);
        let req = Request {
            rec: &rec,
            recommendation_id: Some(row.id),
            approved: row.status == Lifecycle::Approved,
            environment: env.as_deref(),
            trigger: Trigger::Alert(alert.clone()),
            execute: config.apply.execute,
            crash: &crash,
        };
        let (outcome, payload) =
            match apply::apply_recommendation(store, &config.apply, &aws, &req).await {
                Ok(o) => ("ok", serde_json::to_value(&o).unwrap_or_default()),
                Err(e) => ("failed", json!({"error": e.to_string()})),
            };
        log(
            if outcome == "ok" { "info" } else { "warn" },
            &format!(
                "alert {alert}: apply of {component} (recommendation {}): {}",
                row.id,
                payload
                    .get("outcome")
                    .or(payload.get("error"))
                    .unwrap_or(&payload)
            ),
        );
        let entry = AuditEntry {
            at_ms: now_ms(),
            actor: "alerts".into(),
            action: "alerts.apply".into(),
            subject: format!("component/{component}"),
            payload: json!({"recommendation_id": row.id, "alert": alert, "cycle_id": report.id, "apply": payload})
                .to_string(),
            outcome: outcome.into(),
        };
        if let Err(e) = store.audit(&entry).await {
            log("warn", &format!("alert apply: audit failed: {e}"));
        }
        handed += 1;
    }
    handed
}
