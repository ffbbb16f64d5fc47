//! Executing a plan through a write-ahead audit log, and reconciling after a crash.
//!
//! The plan is written to the log before any call; then each call's outcome, then the
//! plan's end. A process killed at any point leaves a plan whose end is missing. On
//! restart, [`reconcile`] takes every such plan and, for each call without an
//! outcome, reads the live configuration first: a call whose effect is already there
//! (it was made, but the process died before recording it) is recorded as
//! `already_effective` and not made again; the others are made. So no call is lost and
//! none is made twice. The same check makes applying an already-applied plan a no-op.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::aws::{Aws, AwsError};
use crate::plan::{Call, Plan};

/// The audit log failed (the store behind it).
#[derive(Debug, thiserror::Error)]
#[error("audit log: {0}")]
pub struct AuditError(pub String);

/// Why a plan was executed, written with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// The plan.
    pub plan: Plan,
    /// `cli`, `cycle`, `alert:<fingerprint>`, `rollback`, …
    pub trigger: String,
    /// The recommendation it carries out, if stored.
    pub recommendation_id: Option<i64>,
    /// When it began (ms since the epoch); with the plan id, names this run of the
    /// plan (the same plan may run again later, after a rollback).
    pub started_ms: i64,
    /// For a rollback: the run it undoes (`PLAN_ID@STARTED_MS`), and why.
    pub rollback_of: Option<String>,
    /// See `rollback_of`.
    pub reason: Option<String>,
    /// What the recommendation predicted for the new configuration, for the
    /// verification after the run.
    #[serde(default)]
    pub predicted: Option<crate::verify::Predicted>,
}

/// The outcome of one call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CallOutcome {
    /// Made, and AWS accepted it.
    Executed,
    /// Not made: the live configuration already had its effect.
    AlreadyEffective,
    /// Made, and AWS refused it or could not be reached.
    Failed {
        /// The error.
        error: String,
    },
}

impl Intent {
    /// `PLAN_ID@STARTED_MS`: this run of the plan.
    pub fn run_id(&self) -> String {
        format!("{}@{}", self.plan.id, self.started_ms)
    }
}

impl CallOutcome {
    /// Whether the call needs nothing more.
    pub fn is_done(&self) -> bool {
        !matches!(self, CallOutcome::Failed { .. })
    }
}

/// How a plan ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PlanOutcome {
    /// Every call done (made or already effective).
    Applied,
    /// A call failed; the calls after it were not made. The next plan starts from the
    /// live configuration, so nothing is left half-known.
    Failed {
        /// The failed call's index.
        call: usize,
        /// The error.
        error: String,
    },
}

/// A plan written to the log whose end is not.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    /// What was written first.
    pub intent: Intent,
    /// Indices of calls with an outcome that needs nothing more.
    pub done: BTreeSet<usize>,
}

/// Where plans and outcomes are recorded before and after each call. The daemon
/// implements it on its store; each method is one durable write (or read).
pub trait AuditLog: Sync {
    /// Records the intent, before any call of its plan.
    fn begin(&self, intent: &Intent) -> impl Future<Output = Result<(), AuditError>> + Send;

    /// Records a call's outcome.
    fn call(
        &self,
        intent: &Intent,
        index: usize,
        outcome: &CallOutcome,
    ) -> impl Future<Output = Result<(), AuditError>> + Send;

    /// Records the end of a plan.
    fn finish(
        &self,
        intent: &Intent,
        outcome: &PlanOutcome,
    ) -> impl Future<Output = Result<(), AuditError>> + Send;

    /// Plans begun and not finished, oldest first.
    fn unfinished(&self) -> impl Future<Output = Result<Vec<Pending>, AuditError>> + Send;
}

/// What went wrong while executing.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The log could not be written: execution stopped (a call made without its
    /// record would be unaccounted for).
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// Reading the live configuration failed before a call; nothing was made.
    #[error("reading the live configuration before call {index} ({call}): {source}")]
    Read {
        /// Call index.
        index: usize,
        /// The call.
        call: String,
        /// Why.
        source: AwsError,
    },
}

/// What one execution did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Execution {
    /// The run (`PLAN_ID@STARTED_MS`).
    pub run_id: String,
    /// Per call: its text and its outcome (calls done before a restart are absent).
    pub calls: Vec<(String, CallOutcome)>,
    /// How it ended.
    pub outcome: PlanOutcome,
}

impl Execution {
    /// Calls made through the API this time.
    pub fn executed(&self) -> usize {
        self.calls
            .iter()
            .filter(|c| c.1 == CallOutcome::Executed)
            .count()
    }
}

/// A test hook for crash recovery: after this many calls made (in this process), the
/// executor announces it on stderr and stops before recording the outcome, waiting to
/// be killed. `adaptd apply` reads it from `ADAPTD_APPLY_PAUSE_AFTER_CALLS`.
#[derive(Debug, Default)]
pub struct Crashpoint {
    after_calls: Option<usize>,
    made: AtomicUsize,
}

impl Crashpoint {
    /// Pauses after `n` calls; `None`: never.
    pub fn new(after_calls: Option<usize>) -> Self {
        Self {
            after_calls,
            made: AtomicUsize::new(0),
        }
    }

    async fn after_call(&self, run: &str, index: usize) {
        let made = self.made.fetch_add(1, Ordering::SeqCst) + 1;
        if self.after_calls == Some(made) {
            // The hook's whole purpose is a line a test can wait for.
            tracing::warn!("adaptd: paused after call {index} of run {run} (crashpoint)");
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            }
        }
    }
}

/// One call of a plan, unless already effective.
async fn one_call(
    aws: &Aws,
    intent: &Intent,
    index: usize,
    call: &Call,
    crash: &Crashpoint,
) -> Result<CallOutcome, ExecError> {
    let effective = aws
        .is_effective(call)
        .await
        .map_err(|source| ExecError::Read {
            index,
            call: call.to_string(),
            source,
        })?;
    Ok(if effective {
        CallOutcome::AlreadyEffective
    } else {
        match aws.execute(call).await {
            Ok(()) => {
                crash.after_call(&intent.run_id(), index).await;
                CallOutcome::Executed
            }
            Err(e) => CallOutcome::Failed {
                error: e.to_string(),
            },
        }
    })
}

/// Executes `intent.plan`: writes the intent, then each call (skipping those already
/// effective), each outcome, and the end.
pub async fn execute<L: AuditLog>(
    log: &L,
    aws: &Aws,
    intent: &Intent,
    crash: &Crashpoint,
) -> Result<Execution, ExecError> {
    log.begin(intent).await?;
    run(log, aws, intent, &BTreeSet::new(), crash).await
}

/// Finishes every plan the log holds unfinished (after a crash), oldest first.
pub async fn reconcile<L: AuditLog>(
    log: &L,
    aws: &Aws,
    crash: &Crashpoint,
) -> Result<Vec<Execution>, ExecError> {
    let mut out = Vec::new();
    for p in log.unfinished().await? {
        out.push(run(log, aws, &p.intent, &p.done, crash).await?);
    }
    Ok(out)
}

async fn run<L: AuditLog>(
    log: &L,
    aws: &Aws,
    intent: &Intent,
    done: &BTreeSet<usize>,
    crash: &Crashpoint,
) -> Result<Execution, ExecError> {
    let plan = &intent.plan;
    let mut calls = Vec::new();
    let run_id = intent.run_id();
    for (index, call) in plan.calls.iter().enumerate() {
        if done.contains(&index) {
            continue;
        }
        let span = tracing::info_span!("call", run = %run_id, index, call = %call);
        let outcome = one_call(aws, intent, index, call, crash)
            .instrument(span.clone())
            .await?;
        span.in_scope(|| match &outcome {
            CallOutcome::Failed { error } => tracing::warn!("call failed: {error}"),
            CallOutcome::Executed => tracing::info!("called"),
            CallOutcome::AlreadyEffective => tracing::info!("already effective, not called"),
        });
        log.call(intent, index, &outcome).await?;
        calls.push((call.to_string(), outcome.clone()));
        if let CallOutcome::Failed { error } = outcome {
            let end = PlanOutcome::Failed { call: index, error };
            log.finish(intent, &end).await?;
            return Ok(Execution {
                run_id: intent.run_id(),
                calls,
                outcome: end,
            });
        }
    }
    log.finish(intent, &PlanOutcome::Applied).await?;
    Ok(Execution {
        run_id: intent.run_id(),
        calls,
        outcome: PlanOutcome::Applied,
    })
}
