//! Hands stored recommendations to the apply feature
//! ([`adaptd_ops::apply::apply_recommendation`]), which decides by `[apply]` mode,
//! guardrails and `execute` whether to make the calls. Used after scheduled cycles
//! and after focused cycles (alerts); each hand-over is written to the audit log.

use adaptd_actuator::aws::Aws;
use adaptd_actuator::wal::Crashpoint;
use adaptd_config::{ApplyMode, Config};
use adaptd_ops::apply::{self, Request, Trigger};
use adaptd_optimizer::recommend::Recommendation;
use adaptd_store::alerts::AlertStore;
use adaptd_store::{AuditEntry, Lifecycle, now_ms};
use serde_json::json;

use crate::cycle::report::CycleReport;

/// The environment a component belongs to, from config.
pub fn environment(config: &Config, name: &str) -> Option<String> {
    config
        .components
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.environment.clone())
}

/// Whether `[apply]` lets the service act on `component` at all.
pub fn acts_on(config: &Config, component: &str) -> bool {
    matches!(
        config
            .apply
            .mode_for(component, environment(config, component).as_deref()),
        ApplyMode::ApplyApproved | ApplyMode::Auto
    )
}

/// After a scheduled cycle: the newest version of each component whose mode lets
/// the service act, when it awaits action — `approved` (apply-approved or auto) or
/// `proposed` (auto). A dry-run service (`execute = false`) hands over only versions
/// this cycle wrote, so the same plan is not printed every cycle.
pub async fn after_cycle<S: AlertStore>(store: &S, config: &Config, report: &CycleReport) -> usize {
    // Without a mode that acts anywhere there is nothing to hand over, and reading
    // every newest version after each cycle would cost the service that much memory.
    if report.outcome == "failed" || !may_act(&config.apply) {
        return 0;
    }
    let latest = match store.latest_recommendations().await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("apply: reading recommendations failed: {e}");
            return 0;
        }
    };
    let written = |c: &str| {
        report
            .components
            .iter()
            .any(|(n, kind)| n == c && matches!(*kind, "insert" | "refresh"))
    };
    let wanted: Vec<(String, Trigger)> = latest
        .iter()
        .filter(|r| acts_on(config, &r.component))
        .filter(|r| match r.status {
            Lifecycle::Approved => true,
            Lifecycle::Proposed => {
                config
                    .apply
                    .mode_for(&r.component, environment(config, &r.component).as_deref())
                    == ApplyMode::Auto
            }
            _ => false,
        })
        .filter(|r| config.apply.execute || written(&r.component))
        .map(|r| (r.component.clone(), Trigger::Cycle))
        .collect();
    hand_over_from(
        store,
        config,
        &latest,
        &wanted,
        report.id,
        "service",
        "cycle.apply",
    )
    .await
}

/// Whether any mode in `[apply]` (global, per environment, per component) lets the
/// service act.
fn may_act(a: &adaptd_config::ApplySection) -> bool {
    let acts = |m: ApplyMode| matches!(m, ApplyMode::ApplyApproved | ApplyMode::Auto);
    acts(a.mode)
        || a.environments.iter().any(|e| acts(e.mode))
        || a.components.iter().any(|c| c.mode.is_some_and(acts))
}

/// Hands each `(component, trigger)` newest version to the apply feature and records
/// the outcome; returns how many were handed over.
pub async fn hand_over<S: AlertStore>(
    store: &S,
    config: &Config,
    wanted: &[(String, Trigger)],
    cycle_id: i64,
    actor: &str,
    action: &str,
) -> usize {
    if wanted.is_empty() {
        return 0;
    }
    match store.latest_recommendations().await {
        Ok(latest) => hand_over_from(store, config, &latest, wanted, cycle_id, actor, action).await,
        Err(e) => {
            tracing::warn!("{action}: reading recommendations failed: {e}");
            0
        }
    }
}

/// [`hand_over`] with the newest versions already read.
async fn hand_over_from<S: AlertStore>(
    store: &S,
    config: &Config,
    latest: &[adaptd_store::RecommendationRow],
    wanted: &[(String, Trigger)],
    cycle_id: i64,
    actor: &str,
    action: &str,
) -> usize {
    if wanted.is_empty() {
        return 0;
    }
    let aws = Aws::connect(&apply::aws_settings(&config.apply)).await;
    let crash = Crashpoint::new(None);
    let mut handed = 0;
    for (component, trigger) in wanted {
        let Some(row) = latest.iter().find(|r| &r.component == component) else {
            continue;
        };
        let full = match store.recommendation(row.id).await {
            Ok(Some(r)) => r,
            other => {
                tracing::warn!("{action}: recommendation {} unreadable: {other:?}", row.id);
                continue;
            }
        };
        let rec: Recommendation = match full.document.as_deref().map(serde_json::from_str) {
            Some(Ok(r)) => r,
            _ => {
                tracing::warn!("{action}: recommendation {} has no valid document", row.id);
                continue;
            }
        };
        let env = environment(config, component);
        let req = Request {
            rec: &rec,
            recommendation_id: Some(row.id),
            approved: row.status == Lifecycle::Approved,
            environment: env.as_deref(),
            trigger: trigger.clone(),
            execute: config.apply.execute,
            crash: &crash,
        };
        let (outcome, payload) =
            match apply::apply_recommendation(store, &config.apply, &aws, &req).await {
                Ok(o) => ("ok", serde_json::to_value(&o).unwrap_or_default()),
                Err(e) => ("failed", json!({"error": e.to_string()})),
            };
        let said = payload
            .get("outcome")
            .or(payload.get("error"))
            .unwrap_or(&payload);
        let msg = format!(
            "{action}: {component} (recommendation {}, {trigger:?}): {said}",
            row.id
        );
        if outcome == "ok" {
            tracing::info!(component, recommendation = row.id, "{msg}");
        } else {
            tracing::warn!(component, recommendation = row.id, "{msg}");
        }
        let trigger_text = match trigger {
            Trigger::Alert(a) => json!({"alert": a}),
            Trigger::Cycle => json!("cycle"),
            Trigger::Cli => json!("cli"),
        };
        let entry = AuditEntry {
            at_ms: now_ms(),
            actor: actor.into(),
            action: action.into(),
            subject: format!("component/{component}"),
            payload: json!({"recommendation_id": row.id, "trigger": trigger_text, "cycle_id": cycle_id, "apply": payload})
                .to_string(),
            outcome: outcome.into(),
        };
        if let Err(e) = store.audit(&entry).await {
            tracing::warn!("{action}: audit failed: {e}");
        }
        handed += 1;
    }
    handed
}
