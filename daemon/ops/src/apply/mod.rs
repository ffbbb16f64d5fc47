//! Guarded apply as the service and the CLI use it: one recommendation in, one
//! [`ApplyOutcome`] out, through the actuator's plan, guardrails and write-ahead log
//! on the store's audit log.
//!
//! The entry point is [`apply_recommendation`]; the service calls it after a cycle (or
//! a focused cycle started by an alert) for each component whose mode says apply,
//! `adaptd apply` for each recommendation it is given. [`reconcile`] finishes runs a
//! crash interrupted, [`verify_run`] judges a run after its verification window and
//! rolls it back through [`rollback`] when it made things worse.

mod live;
pub mod log;
pub mod observe;
pub mod recent;

use adaptd_actuator::aws::{Aws, AwsError, AwsSettings};
use adaptd_actuator::guard::{Guardrails, History, Refusal, Window};
use adaptd_actuator::plan::{self, Plan, PlanError, Settings};
use adaptd_actuator::verify::{self, Decision, Observed, Predicted, Thresholds};
use adaptd_actuator::wal::{self, Crashpoint, ExecError, Execution, Intent, PlanOutcome};
use adaptd_config::{ApplyMode, ApplySection, WEEKDAYS};
use adaptd_engine::calendar::{civil_from_days, days_from_civil};
use adaptd_engine::telemetry::TelemetrySet;
use adaptd_optimizer::recommend::Recommendation;
use serde::Serialize;
use serde_json::json;

pub use live::{live_settings, target};
pub use log::StoreLog;

use adaptd_store::{AuditEntry, Lifecycle, Store, StoreError, Transition, TransitionError, now_ms};

/// What started an apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `adaptd apply`.
    Cli,
    /// A scheduled cycle of the service.
    Cycle,
    /// A focused cycle started by an alert (its fingerprint).
    Alert(String),
}

impl Trigger {
    fn text(&self) -> String {
        match self {
            Trigger::Cli => "cli".to_owned(),
            Trigger::Cycle => "cycle".to_owned(),
            Trigger::Alert(f) => format!("alert:{f}"),
        }
    }
}

/// One recommendation to apply, and how.
#[derive(Debug)]
pub struct Request<'a> {
    /// The recommendation.
    pub rec: &'a Recommendation,
    /// Its stored id (moved to `applied` once applied), if stored.
    pub recommendation_id: Option<i64>,
    /// Whether a person approved it (status `approved`): `apply-approved` needs it.
    pub approved: bool,
    /// The component's environment, for the mode.
    pub environment: Option<&'a str>,
    /// What started it.
    pub trigger: Trigger,
    /// Make the calls; `false`: a dry run (the plan only).
    pub execute: bool,
    /// Crash-recovery test hook.
    pub crash: &'a Crashpoint,
}

/// What [`apply_recommendation`] did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ApplyOutcome {
    /// Not applied: the mode does not allow it (the reason says which).
    Skipped {
        /// Why.
        reason: String,
    },
    /// The live configuration is already what is recommended (IaC items may remain).
    NothingToDo {
        /// The (empty) plan, with its IaC-only items.
        plan: Plan,
    },
    /// The calls that would be made.
    DryRun {
        /// The plan the guardrails allow.
        plan: Plan,
        /// What they clamped.
        clamped: Vec<String>,
        /// Why it is a dry run.
        reason: String,
    },
    /// Refused by a guardrail; nothing was called.
    Refused {
        /// The plan.
        plan: Plan,
        /// Which guardrail, with the numbers.
        refusal: Refusal,
    },
    /// Executed through the audit log.
    Executed {
        /// The plan executed.
        plan: Plan,
        /// What the guardrails clamped.
        clamped: Vec<String>,
        /// Per call outcome.
        execution: Execution,
    },
}

/// What can fail in an apply.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Reading the live configuration failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// No plan can be made.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The write-ahead execution stopped.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The recommendation's status could not be changed.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// No run has this id.
    #[error("no apply run {0} in the audit log")]
    UnknownRun(String),
}

/// The AWS settings of `[apply]`.
pub fn aws_settings(a: &ApplySection) -> AwsSettings {
    AwsSettings {
        endpoint_url: a.endpoint_url.clone(),
        region: a.region.clone(),
        profile: a.profile.clone(),
        max_attempts: a.max_attempts,
        timeout: std::time::Duration::from_secs_f64(a.timeout_seconds),
        credentials: None,
    }
}

/// The guardrails of `[apply]`.
pub fn guardrails(a: &ApplySection) -> Guardrails {
    Guardrails {
        max_step_percent: a.max_step_percent,
        max_step_environments: a.max_step_environments,
        cooldown_minutes: a.cooldown_minutes,
        max_changes_per_hour: a.max_changes_per_hour,
        max_cost_increase_usd_per_month: a.max_cost_increase_usd_per_month,
        windows: a
            .windows
            .iter()
            .map(|w| Window {
                weekdays: w
                    .weekdays
                    .iter()
                    .filter_map(|d| WEEKDAYS.iter().position(|x| x == d))
                    .filter_map(|i| u8::try_from(i).ok())
                    .collect(),
                start_hour: u8::try_from(w.hours().0).unwrap_or(23),
                end_hour: u8::try_from(w.hours().1).unwrap_or(24),
                // Validated when the config was loaded.
                timezone: w.zone(a.defaults_timezone.as_deref()).unwrap_or_default(),
            })
            .collect(),
    }
}

/// The verification thresholds of `[apply]`.
pub fn thresholds(a: &ApplySection) -> Thresholds {
    Thresholds {
        latency_tolerance_percent: a.latency_tolerance_percent,
        cold_start_tolerance: a.cold_start_tolerance,
        max_error_rate_increase: a.max_error_rate_increase,
        max_throttle_rate_increase: a.max_throttle_rate_increase,
        min_invocations: a.min_invocations,
    }
}

/// The guardrails' history for `component` at `now_ms`, from the finished runs.
pub async fn history<S: Store>(
    store: &S,
    component: &str,
    now_ms: i64,
) -> Result<History, StoreError> {
    const DAY_MS: i64 = 86_400_000;
    let (y, m, _) = civil_from_days(now_ms.div_euclid(DAY_MS));
    let month_start_ms = days_from_civil(y, m, 1) * DAY_MS;
    let since = month_start_ms.min(now_ms - 2 * DAY_MS);
    let mut h = History {
        now_ms,
        ..History::default()
    };
    for row in store.audit_since(log::FINISH, since).await? {
        if row.payload["changed"].as_bool() != Some(true) {
            continue;
        }
        if row.payload["component"].as_str() == Some(component) {
            h.last_change_ms = Some(h.last_change_ms.map_or(row.at_ms, |t| t.max(row.at_ms)));
        }
        if row.at_ms > now_ms - 3_600_000 {
            h.changes_last_hour += 1;
        }
        if row.at_ms >= month_start_ms {
            h.cost_increase_this_month_usd += row.payload["cost_delta_usd_per_month"]
                .as_f64()
                .unwrap_or(0.0);
        }
    }
    h.cost_increase_this_month_usd = h.cost_increase_this_month_usd.max(0.0);
    Ok(h)
}

/// Applies one recommendation as `[apply]` says: mode, live configuration, plan,
/// guardrails, then (when executing) the write-ahead execution and the
/// recommendation's move to `applied`. Everything it logs, the AWS SDK's events
/// included, is inside an `apply` span naming the component.
#[tracing::instrument(
    name = "apply",
    skip_all,
    fields(component = %req.rec.component, recommendation = req.recommendation_id)
)]
pub async fn apply_recommendation<S: Store>(
    store: &S,
    config: &ApplySection,
    aws: &Aws,
    req: &Request<'_>,
) -> Result<ApplyOutcome, ApplyError> {
    let rec = req.rec;
    let mode = config.mode_for(&rec.component, req.environment);
    if mode == ApplyMode::Off {
        return Ok(ApplyOutcome::Skipped {
            reason: "mode off".to_owned(),
        });
    }
    let mut target = target(config, rec);
    let live = live_settings(aws, rec, &mut target).await?;
    let plan = plan::plan(rec, &target, live.as_ref())?;
    if plan.is_empty() {
        return Ok(ApplyOutcome::NothingToDo { plan });
    }
    if let (Some(live), Some(c), Some(r)) = (&live, &rec.current, &rec.recommended)
        && c.deployment.platform() == r.deployment.platform()
    {
        let drift = plan::drift(
            &Settings::of(&c.deployment),
            &Settings::of(&r.deployment),
            live,
        );
        if !drift.is_empty() {
            return Ok(ApplyOutcome::Skipped {
                reason: format!(
                    "the live configuration changed since the recommendation ({}); not reverted",
                    drift.join(", ")
                ),
            });
        }
    }
    let now = now_ms();
    let hist = history(store, &rec.component, now).await?;
    let allowed = match guardrails(config).check(&plan, &hist) {
        Ok(a) => a,
        Err(refusal) => {
            if req.execute {
                store
                    .audit(&AuditEntry {
                        at_ms: now,
                        actor: "apply".to_owned(),
                        action: log::REFUSED.to_owned(),
                        subject: format!("component/{}", rec.component),
                        payload: json!({"plan": plan, "refusal": refusal}).to_string(),
                        outcome: "refused".to_owned(),
                    })
                    .await?;
            }
            return Ok(ApplyOutcome::Refused { plan, refusal });
        }
    };
    let dry = match mode {
        _ if !req.execute => Some("dry run (no --execute)".to_owned()),
        ApplyMode::Propose => Some("mode propose: proposed, not executed".to_owned()),
        ApplyMode::ApplyApproved if !req.approved => {
            Some("mode apply-approved: the recommendation is not approved".to_owned())
        }
        _ => None,
    };
    if let Some(reason) = dry {
        return Ok(ApplyOutcome::DryRun {
            plan: allowed.plan,
            clamped: allowed.clamped,
            reason,
        });
    }
    let intent = Intent {
        plan: allowed.plan.clone(),
        trigger: req.trigger.text(),
        recommendation_id: req.recommendation_id,
        started_ms: now,
        rollback_of: None,
        reason: (!allowed.clamped.is_empty()).then(|| allowed.clamped.join("; ")),
        predicted: rec.recommended.as_ref().map(|r| Predicted {
            p99_ms: r.p99_ms,
            cold_start_rate: r.cold_start_rate,
        }),
    };
    let log = StoreLog {
        store,
        actor: format!("apply:{}", req.trigger.text()),
    };
    let execution = wal::execute(&log, aws, &intent, req.crash).await?;
    if execution.outcome == PlanOutcome::Applied
        && allowed.clamped.is_empty()
        && let Some(id) = req.recommendation_id
    {
        store
            .transition(&Transition {
                id,
                from: vec![Lifecycle::Proposed, Lifecycle::Approved],
                to: Lifecycle::Applied,
                actor: log.actor.clone(),
                note: Some(format!("run {}", intent.run_id())),
                at_ms: now_ms(),
                verdicts: Vec::new(),
            })
            .await?;
    }
    Ok(ApplyOutcome::Executed {
        plan: allowed.plan,
        clamped: allowed.clamped,
        execution,
    })
}

/// Finishes every run a crash interrupted (see [`wal::reconcile`]).
pub async fn reconcile<S: Store>(
    store: &S,
    aws: &Aws,
    crash: &Crashpoint,
) -> Result<Vec<Execution>, ApplyError> {
    let log = StoreLog {
        store,
        actor: "apply:reconcile".to_owned(),
    };
    Ok(wal::reconcile(&log, aws, crash).await?)
}

/// For the service: once a replica leads, finishes the runs a crash of any replica
/// interrupted — when `[apply] execute` is on (otherwise nothing was executing).
pub async fn reconcile_on_lead<S: Store>(
    store: &S,
    config: &ApplySection,
) -> Result<Vec<Execution>, ApplyError> {
    if !config.execute {
        return Ok(Vec::new());
    }
    let aws = Aws::connect(&aws_settings(config)).await;
    reconcile(store, &aws, &Crashpoint::default()).await
}

/// The intent of run `run_id` (`PLAN_ID@STARTED_MS`).
async fn intent_of<S: Store>(store: &S, run_id: &str) -> Result<Intent, ApplyError> {
    let rows = store.audit_subject(&log::subject(run_id)).await?;
    rows.iter()
        .find(|r| r.action == log::PLAN)
        .and_then(|r| serde_json::from_value(r.payload.clone()).ok())
        .ok_or_else(|| ApplyError::UnknownRun(run_id.to_owned()))
}

/// Undoes run `run_id`: executes its inverse plan (back to the configuration it
/// started from) through the audit log, and moves its recommendation to
/// `rolled_back`. Guardrails do not apply: a rollback returns to a configuration that
/// ran before, and waiting for a window or a cooldown would prolong the harm.
pub async fn rollback<S: Store>(
    store: &S,
    aws: &Aws,
    run_id: &str,
    reason: &str,
    crash: &Crashpoint,
) -> Result<Execution, ApplyError> {
    let original = intent_of(store, run_id).await?;
    let intent = Intent {
        plan: original.plan.inverse(),
        trigger: "rollback".to_owned(),
        recommendation_id: original.recommendation_id,
        started_ms: now_ms(),
        rollback_of: Some(run_id.to_owned()),
        reason: Some(reason.to_owned()),
        predicted: None,
    };
    let log = StoreLog {
        store,
        actor: "apply:rollback".to_owned(),
    };
    let execution = wal::execute(&log, aws, &intent, crash).await?;
    if execution.outcome == PlanOutcome::Applied
        && let Some(id) = original.recommendation_id
    {
        store
            .transition(&Transition {
                id,
                from: vec![Lifecycle::Applied],
                to: Lifecycle::RolledBack,
                actor: log.actor.clone(),
                note: Some(reason.to_owned()),
                at_ms: now_ms(),
                verdicts: Vec::new(),
            })
            .await?;
    }
    Ok(execution)
}

/// Judges run `run_id` from what was observed before and after it (over the
/// verification window), records the verdict, and rolls it back when it made things
/// worse. Returns the verdict and the rollback's execution, if any.
pub async fn verify_run<S: Store>(
    store: &S,
    config: &ApplySection,
    aws: &Aws,
    run_id: &str,
    observed: (&Observed, &Observed),
    predicted: &Predicted,
) -> Result<(Decision, Option<Execution>), ApplyError> {
    let (before, after) = observed;
    let decision = verify::decide(before, after, predicted, &thresholds(config));
    store
        .audit(&AuditEntry {
            at_ms: now_ms(),
            actor: "apply:verify".to_owned(),
            action: log::VERIFY.to_owned(),
            subject: log::subject(run_id),
            payload: json!({"before": before, "after": after, "predicted": predicted, "decision": decision})
                .to_string(),
            outcome: match &decision {
                Decision::Keep => "keep",
                Decision::Rollback(_) => "rollback",
                Decision::Inconclusive(_) => "inconclusive",
            }
            .to_owned(),
        })
        .await?;
    let rolled = match &decision {
        Decision::Rollback(reason) => {
            Some(rollback(store, aws, run_id, reason, &Crashpoint::default()).await?)
        }
        _ => None,
    };
    Ok((decision, rolled))
}

const MINUTE_MS: i64 = 60_000;

/// How long after it finished a run is still judged (minutes): two days, or four
/// verification windows if longer. Bounds what verification reads and what the
/// service keeps for it (see [`recent`]).
pub fn verify_lookback_minutes(a: &ApplySection) -> i64 {
    (2 * 1440_i64).max(4 * i64::from(a.verify_window_minutes))
}

/// A run that changed a component and has no verdict yet.
#[derive(Clone, Debug)]
pub struct Awaiting {
    /// Its intent, as the audit log holds it.
    pub intent: Intent,
    /// When it finished (ms).
    pub finished_ms: i64,
}

impl Awaiting {
    /// The minutes `[from, to)` before and after the run that its verdict compares:
    /// `window` minutes before it started, `window` minutes from the first whole minute
    /// after it finished.
    pub fn windows(&self, window: i64) -> ((i64, i64), (i64, i64)) {
        let start = self.intent.started_ms.div_euclid(MINUTE_MS);
        let end = self.finished_ms.div_euclid(MINUTE_MS) + 1;
        ((start - window, start), (end, end + window))
    }

    /// Whether its verification window has passed by `now_ms`.
    pub fn due(&self, window: i64, now_ms: i64) -> bool {
        self.finished_ms + window * MINUTE_MS <= now_ms
    }
}

/// The runs finished within [`verify_lookback_minutes`] of `now_ms` that changed a
/// component, are not rollbacks and have no verdict yet, oldest first.
pub async fn awaiting_verification<S: Store>(
    store: &S,
    config: &ApplySection,
    now_ms: i64,
) -> Result<Vec<Awaiting>, ApplyError> {
    let since = now_ms - verify_lookback_minutes(config) * MINUTE_MS;
    let mut out = Vec::new();
    for row in store.audit_since(log::FINISH, since).await? {
        let p = &row.payload;
        if p["changed"].as_bool() != Some(true) || p["trigger"] == "rollback" {
            continue;
        }
        let entries = store.audit_subject(&row.subject).await?;
        if entries.iter().any(|e| e.action == log::VERIFY) {
            continue;
        }
        if let Some(intent) = entries
            .iter()
            .find(|e| e.action == log::PLAN)
            .and_then(|e| serde_json::from_value::<Intent>(e.payload.clone()).ok())
        {
            out.push(Awaiting {
                intent,
                finished_ms: row.at_ms,
            });
        }
    }
    Ok(out)
}

/// Judges every run whose verification window (`verify_window_minutes` after it
/// finished) has passed by `now_ms` and that has no verdict yet, from `telemetry` (as
/// the service's collectors gathered it): the window before the run against the window
/// after it, through [`verify_run`]. A component without telemetry is left for a later
/// call. Returns the runs judged and their verdicts.
pub async fn verify_due<S: Store>(
    store: &S,
    config: &ApplySection,
    aws: &Aws,
    telemetry: &TelemetrySet,
    now_ms: i64,
) -> Result<Vec<(String, Decision)>, ApplyError> {
    let window = i64::from(config.verify_window_minutes);
    let mut out = Vec::new();
    for run in awaiting_verification(store, config, now_ms).await? {
        if !run.due(window, now_ms) {
            continue;
        }
        let Some(c) = telemetry.components.get(&run.intent.plan.target.component) else {
            continue;
        };
        let ((b0, b1), (a0, a1)) = run.windows(window);
        let before = observe::observed(c, b0, b1);
        let after = observe::observed(c, a0, a1);
        // Without a prediction only errors and throttles can decide.
        let predicted = run.intent.predicted.clone().unwrap_or(Predicted {
            p99_ms: f64::INFINITY,
            cold_start_rate: 1.0,
        });
        let run_id = run.intent.run_id();
        let (decision, _) =
            verify_run(store, config, aws, &run_id, (&before, &after), &predicted).await?;
        out.push((run_id, decision));
    }
    Ok(out)
}
