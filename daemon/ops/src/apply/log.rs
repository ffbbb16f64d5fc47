//! The actuator's write-ahead [`AuditLog`] on the service's store: every apply run is
//! a subject `apply/PLAN_ID@STARTED_MS` in the generic `audit_log` table, with one
//! `apply.plan` entry (the intent, written before any call), one `apply.call` entry per
//! call outcome and one `apply.finish` entry. A run without its `apply.finish` is
//! unfinished and is reconciled at the next start.

use std::collections::BTreeSet;

use adaptd_actuator::wal::{AuditError, AuditLog, CallOutcome, Intent, Pending, PlanOutcome};
use serde_json::json;

use adaptd_store::{AuditEntry, Store, StoreError, now_ms};

/// Audit actions of the apply feature.
pub const PLAN: &str = "apply.plan";
/// See [`PLAN`].
pub const CALL: &str = "apply.call";
/// See [`PLAN`].
pub const FINISH: &str = "apply.finish";
/// A plan the guardrails refused.
pub const REFUSED: &str = "apply.refused";
/// A verification verdict.
pub const VERIFY: &str = "apply.verify";

/// The audit subject of a run.
pub fn subject(run_id: &str) -> String {
    format!("apply/{run_id}")
}

/// [`AuditLog`] over a [`Store`].
#[derive(Debug)]
pub struct StoreLog<'a, S> {
    /// The store.
    pub store: &'a S,
    /// Who acts (`apply:cli`, `apply:<instance>`).
    pub actor: String,
}

fn audit_error(e: &StoreError) -> AuditError {
    AuditError(e.to_string())
}

impl<S: Store> StoreLog<'_, S> {
    async fn write(
        &self,
        action: &str,
        run_id: &str,
        payload: serde_json::Value,
        outcome: &str,
    ) -> Result<(), AuditError> {
        self.store
            .audit(&AuditEntry {
                at_ms: now_ms(),
                actor: self.actor.clone(),
                action: action.to_owned(),
                subject: subject(run_id),
                payload: payload.to_string(),
                outcome: outcome.to_owned(),
            })
            .await
            .map(drop)
            .map_err(|e| audit_error(&e))
    }
}

fn call_outcome_name(o: &CallOutcome) -> &'static str {
    match o {
        CallOutcome::Executed => "executed",
        CallOutcome::AlreadyEffective => "already_effective",
        CallOutcome::Failed { .. } => "failed",
    }
}

impl<S: Store> AuditLog for StoreLog<'_, S> {
    async fn begin(&self, intent: &Intent) -> Result<(), AuditError> {
        let payload = serde_json::to_value(intent).map_err(|e| AuditError(e.to_string()))?;
        self.write(PLAN, &intent.run_id(), payload, "pending").await
    }

    async fn call(
        &self,
        intent: &Intent,
        index: usize,
        outcome: &CallOutcome,
    ) -> Result<(), AuditError> {
        let payload = json!({
            "index": index,
            "call": intent.plan.calls.get(index).map(ToString::to_string),
            "result": outcome,
        });
        self.write(CALL, &intent.run_id(), payload, call_outcome_name(outcome))
            .await
    }

    async fn finish(&self, intent: &Intent, outcome: &PlanOutcome) -> Result<(), AuditError> {
        let applied = *outcome == PlanOutcome::Applied;
        let payload = json!({
            "component": intent.plan.target.component,
            "plan_id": intent.plan.id,
            "trigger": intent.trigger,
            "recommendation_id": intent.recommendation_id,
            "rollback_of": intent.rollback_of,
            "cost_delta_usd_per_month": intent.plan.cost_delta_usd_per_month,
            "changed": applied && !intent.plan.is_empty(),
            "result": outcome,
        });
        let name = if applied { "applied" } else { "failed" };
        self.write(FINISH, &intent.run_id(), payload, name).await
    }

    async fn unfinished(&self) -> Result<Vec<Pending>, AuditError> {
        let open = self
            .store
            .audit_open(PLAN, FINISH)
            .await
            .map_err(|e| audit_error(&e))?;
        let mut out = Vec::new();
        for row in open {
            let intent: Intent = serde_json::from_value(row.payload.clone()).map_err(|e| {
                AuditError(format!(
                    "audit entry {} is not an apply intent ({e})",
                    row.id
                ))
            })?;
            let entries = self
                .store
                .audit_subject(&row.subject)
                .await
                .map_err(|e| audit_error(&e))?;
            let done: BTreeSet<usize> = entries
                .iter()
                .filter(|e| e.action == CALL && e.id > row.id)
                .filter(|e| e.outcome == "executed" || e.outcome == "already_effective")
                .filter_map(|e| e.payload["index"].as_u64())
                .filter_map(|i| usize::try_from(i).ok())
                .collect();
            out.push(Pending { intent, done });
        }
        Ok(out)
    }
}
