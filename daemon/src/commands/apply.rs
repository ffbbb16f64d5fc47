//! `adaptd apply`: carries out recommendations through the AWS API within the
//! guardrails, or (by default) prints the exact calls it would make.
//!
//! With `--execute` it first reconciles runs a crash interrupted (from the store's
//! audit log and the live configuration), then executes each allowed plan through the
//! write-ahead log. Exit codes: 0 done (or dry run), 1 a call or the store failed,
//! 2 invalid input, 3 a guardrail refused a plan.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use adaptd_actuator::aws::Aws;
use adaptd_actuator::plan::Plan;
use adaptd_actuator::wal::{CallOutcome, Crashpoint, Execution, PlanOutcome};
use adaptd_config::Config;
use adaptd_optimizer::recommend::{Recommendation, RecommendationSet};
use anyhow::Context;

use super::{EXIT_INVALID_INPUT, invalid, print};
use crate::apply::{self, ApplyOutcome, Request, Trigger};
use crate::store::{Lifecycle, SqlStore, Store};

/// Exit code when a guardrail refused a plan.
pub const EXIT_REFUSED: u8 = 3;

/// The test hook that pauses after N calls (see `Crashpoint`).
pub const PAUSE_ENV: &str = "ADAPTD_APPLY_PAUSE_AFTER_CALLS";

/// Arguments of `adaptd apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Config file (TOML): `[apply]` (modes, guardrails, targets) and `[store]` (the
    /// audit log).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Recommendations: the JSON document of `adaptd recommend --output json`.
    #[arg(
        long,
        conflicts_with = "from_store",
        required_unless_present = "from_store"
    )]
    pub recommendations: Option<PathBuf>,
    /// The store's latest recommendations (proposed or approved).
    #[arg(long)]
    pub from_store: bool,
    /// Only these components (repeatable).
    #[arg(long)]
    pub component: Vec<String>,
    /// Make the calls (default: a dry run that prints them).
    #[arg(long)]
    pub execute: bool,
}

/// A recommendation with what the store knows of it.
struct Item {
    rec: Recommendation,
    id: Option<i64>,
    approved: bool,
}

async fn items(args: &ApplyArgs, store: &SqlStore) -> anyhow::Result<Result<Vec<Item>, String>> {
    if let Some(path) = &args.recommendations {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return Ok(Err(format!("{}: {e}", path.display()))),
        };
        let set: RecommendationSet = match serde_json::from_str(&text) {
            Ok(s) => s,
            Err(e) => {
                return Ok(Err(format!(
                    "{}: not a recommendation document ({e})",
                    path.display()
                )));
            }
        };
        return Ok(Ok(set
            .components
            .into_iter()
            .map(|rec| Item {
                rec,
                id: None,
                approved: false,
            })
            .collect()));
    }
    let mut out = Vec::new();
    for row in store.latest_recommendations().await? {
        if !matches!(row.status, Lifecycle::Proposed | Lifecycle::Approved) {
            continue;
        }
        let Some(full) = store.recommendation(row.id).await? else {
            continue;
        };
        let doc = full.document.unwrap_or_default();
        let rec: Recommendation = serde_json::from_str(&doc)
            .with_context(|| format!("recommendation {} in the store", row.id))?;
        out.push(Item {
            rec,
            id: Some(row.id),
            approved: row.status == Lifecycle::Approved,
        });
    }
    Ok(Ok(out))
}

fn plan_text(out: &mut String, plan: &Plan) {
    for item in &plan.iac_only {
        let _ = writeln!(
            out,
            "  iac only: {} {} → {}: {}",
            item.field, item.from, item.to, item.reason
        );
    }
}

fn execution_text(out: &mut String, e: &Execution) {
    for (call, outcome) in &e.calls {
        let what = match outcome {
            CallOutcome::Executed => "done".to_owned(),
            CallOutcome::AlreadyEffective => "already effective, not called".to_owned(),
            CallOutcome::Failed { error } => format!("FAILED: {error}"),
        };
        let _ = writeln!(out, "  {call}: {what}");
    }
    let _ = match &e.outcome {
        PlanOutcome::Applied => writeln!(out, "  run {}: applied", e.run_id),
        PlanOutcome::Failed { call, error } => {
            writeln!(out, "  run {}: failed at call {call}: {error}", e.run_id)
        }
    };
}

/// `adaptd apply`.
pub fn apply(args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => return Ok(invalid(&e)),
    };
    let pause = match std::env::var(PAUSE_ENV) {
        Ok(v) => Some(
            v.parse::<usize>()
                .with_context(|| format!("{PAUSE_ENV}={v} is not a number"))?,
        ),
        Err(_) => None,
    };
    let base = args
        .config
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args, &config, &base, &Crashpoint::new(pause)))
}

async fn run(
    args: &ApplyArgs,
    config: &Config,
    base: &std::path::Path,
    crash: &Crashpoint,
) -> anyhow::Result<ExitCode> {
    let store = SqlStore::open(
        &config.store,
        base,
        format!("apply-{}", std::process::id()),
        std::time::Duration::from_secs(30),
    )
    .await?;
    store.migrate().await?;
    let aws = Aws::connect(&apply::aws_settings(&config.apply)).await;
    let mut out = String::new();
    let mut code = ExitCode::SUCCESS;
    if args.execute {
        for e in apply::reconcile(&store, &aws, crash).await? {
            let _ = writeln!(out, "reconciled an interrupted run:");
            execution_text(&mut out, &e);
            if e.outcome != PlanOutcome::Applied {
                code = ExitCode::from(1);
            }
        }
    }
    let items = match items(args, &store).await? {
        Ok(i) => i,
        Err(msg) => {
            eprintln!("{msg}");
            return Ok(ExitCode::from(EXIT_INVALID_INPUT));
        }
    };
    for item in items {
        let name = &item.rec.component;
        if !args.component.is_empty() && !args.component.contains(name) {
            continue;
        }
        if item.rec.current.is_none() || item.rec.recommended.is_none() {
            continue;
        }
        let environment = config
            .components
            .iter()
            .find(|c| &c.name == name)
            .and_then(|c| c.environment.as_deref());
        let outcome = apply::apply_recommendation(
            &store,
            &config.apply,
            &aws,
            &Request {
                rec: &item.rec,
                recommendation_id: item.id,
                approved: item.approved,
                environment,
                trigger: Trigger::Cli,
                execute: args.execute,
                crash,
            },
        )
        .await
        .with_context(|| format!("applying {name}"))?;
        match outcome {
            ApplyOutcome::Skipped { reason } => {
                let _ = writeln!(out, "{name}: skipped ({reason})");
            }
            ApplyOutcome::NothingToDo { plan } => {
                let what = if plan.iac_only.is_empty() {
                    "nothing to do (live configuration matches)"
                } else {
                    "nothing to apply through the API"
                };
                let _ = writeln!(out, "{name}: {what}");
                plan_text(&mut out, &plan);
            }
            ApplyOutcome::DryRun {
                plan,
                clamped,
                reason,
            } => {
                let _ = writeln!(out, "{name}: plan {} — {reason}; would call:", plan.id);
                for c in &plan.calls {
                    let _ = writeln!(out, "  {c}");
                }
                for c in &clamped {
                    let _ = writeln!(out, "  clamped: {c}");
                }
                plan_text(&mut out, &plan);
            }
            ApplyOutcome::Refused { plan, refusal } => {
                let _ = writeln!(out, "{name}: plan {} refused: {refusal}", plan.id);
                code = ExitCode::from(EXIT_REFUSED);
            }
            ApplyOutcome::Executed {
                plan,
                clamped,
                execution,
            } => {
                let _ = writeln!(out, "{name}: plan {} executed:", plan.id);
                for c in &clamped {
                    let _ = writeln!(out, "  clamped: {c}");
                }
                execution_text(&mut out, &execution);
                plan_text(&mut out, &plan);
                if execution.outcome != PlanOutcome::Applied {
                    code = ExitCode::from(1);
                }
            }
        }
    }
    print(&out)?;
    store.close().await;
    Ok(code)
}
