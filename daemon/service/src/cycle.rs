//! One cycle: collect (incremental) → summarise → optimise → store.
//!
//! Each stage's failure is recorded with the cycle and named by stage. Whatever
//! fails, the last good recommendations stay: a component whose telemetry could not
//! be collected keeps its previous version and is marked stale with the reason; a
//! cycle that cannot optimise at all marks every component stale. Collected data is
//! committed with its watermarks before optimising, so a failure later never makes
//! the next cycle collect it again.

pub mod report;

use std::collections::BTreeMap;
use std::time::Instant;

use adaptd_collectors::shutdown::Shutdown;
use adaptd_config::{Config, Discovered};
use adaptd_engine::profile::summarize_in;
use adaptd_store::{
    Collection, ComponentRow, CycleFinish, NewSummary, SeenComponent, Store, VersionAction,
};
use serde_json::{Value, json};
use tracing::Instrument;

pub use self::report::CycleReport;
use crate::optimise::{Job, Optimised, optimise};
use crate::sources::{Source, affected};
use crate::versions::Previous;

/// Stages, in order; the names label metrics and cycle reports.
pub const STAGES: [&str; 4] = ["collect", "summarise", "optimise", "store"];

/// Everything a cycle needs.
#[derive(Debug)]
pub struct Context<'a, S: Store> {
    /// The store.
    pub store: &'a S,
    /// The config.
    pub config: &'a Config,
    /// Telemetry sources.
    pub sources: &'a [Source],
    /// This replica.
    pub instance: &'a str,
    /// Whether this process already optimised with this config: then a cycle that
    /// brought no new telemetry keeps the stored recommendations without solving
    /// again (the optimiser is deterministic, so it would find the same).
    pub optimised_before: bool,
    /// Alerts: objectives they tighten and, for a focused cycle, the only components
    /// whose versions are stored (see `alerts::focus`).
    pub alerts: Option<&'a crate::alerts::focus::AlertContext>,
    /// The scheduled report's window, which each source's new minutes are appended
    /// to (see [`crate::report_telemetry`]).
    pub report_window: Option<&'a crate::report_telemetry::Window>,
}

/// The span of one stage of a cycle, named as in [`STAGES`].
fn stage_span(stage: &'static str) -> tracing::Span {
    tracing::info_span!("stage", stage)
}

fn now_minute() -> i64 {
    adaptd_store::now_ms() / 60_000
}

/// Runs one cycle. Never panics on bad data; every failure is in the report and,
/// when the store answers, in the cycle row.
pub async fn run<S: Store>(cx: &Context<'_, S>, shutdown: Shutdown) -> CycleReport {
    let mut report = CycleReport::default();
    let started = adaptd_store::now_ms();
    report.id = match cx.store.begin_cycle(cx.instance, started).await {
        Ok(id) => {
            tracing::Span::current().record("id", id);
            id
        }
        Err(e) => {
            report.outcome = "failed".into();
            report.failed_stages.push("store");
            report.error = Some(e.to_string());
            return report;
        }
    };
    let ending = match stages(cx, &mut report, shutdown).await {
        Ok(ending) => ending,
        Err(failure) => failure.ending(&mut report),
    };
    report.outcome = ending.outcome.clone();
    report.error = ending.error.clone();
    let (actions, stale, fresh) = match ending.finish {
        Finish::Stale(s) => (Vec::new(), s, Vec::new()),
        Finish::Done {
            actions,
            stale,
            fresh,
        } => (actions, stale, fresh),
    };
    report.stale = stale.len();
    report.versions = actions
        .iter()
        .filter(|a| matches!(a, VersionAction::Insert { .. }))
        .count();
    let finish = CycleFinish {
        cycle_id: report.id,
        finished_ms: adaptd_store::now_ms(),
        outcome: ending.outcome,
        failed_stage: ending.failed_stage.map(str::to_owned),
        error: ending.error,
        report: summary(&report, &stale, cx.alerts).to_string(),
        actions,
        stale,
        fresh,
    };
    let t = Instant::now();
    let written = cx
        .store
        .finish_cycle(&finish)
        .instrument(stage_span("store"))
        .await;
    if let Err(e) = written {
        report.failed_stages.push("store");
        report.outcome = "failed".into();
        report.error = Some(format!("{e}"));
    }
    report
        .stage_seconds
        .push(("store", t.elapsed().as_secs_f64()));
    report
}

/// The cycle row's report: stages, sources, stale components, what was written.
fn summary(
    report: &CycleReport,
    stale: &[(String, String)],
    alerts: Option<&crate::alerts::focus::AlertContext>,
) -> Value {
    json!({
        "stages": report.stage_seconds.iter().map(|(s, t)| json!({"stage": s, "seconds": t})).collect::<Vec<_>>(),
        "sources": report.sources.iter().map(|c| json!({
            "source": c.source,
            "components": c.telemetry.components.len(),
            "components_with_new_data": c.telemetry.components.values().filter(|t| !t.series.is_empty()).count(),
            "errors": c.errors.iter().map(|e| json!({"kind": e.kind, "message": e.message})).collect::<Vec<_>>(),
            "notes": c.notes,
            "api_calls": c.observation.calls,
            "metrics_requested": c.observation.metrics_requested,
            "observation_usd": c.observation.usd,
            "stopped": c.stopped,
        })).collect::<Vec<_>>(),
        "stale": stale.iter().map(|(c, why)| json!({"component": c, "reason": why})).collect::<Vec<_>>(),
        "versions_written": report.versions,
        "optimiser": report.optimised.then(|| json!({"groups": report.groups, "joint": report.joint, "shared": report.shared})),
        "alerts": alerts.map(|a| a.report()),
    })
}

/// What the cycle row stores besides its outcome.
enum Finish {
    /// Nothing was written; these components keep their versions, marked stale.
    Stale(Vec<(String, String)>),
    /// The stages ran to the end.
    Done {
        actions: Vec<VersionAction>,
        stale: Vec<(String, String)>,
        fresh: Vec<String>,
    },
}

/// How the stages ended when none of them failed outright.
struct Ending {
    /// `ok`, `partial`, `interrupted` (or `failed`, from a [`StageFailure`]).
    outcome: String,
    /// The stage named in the cycle row as failed.
    failed_stage: Option<&'static str>,
    error: Option<String>,
    finish: Finish,
}

impl Ending {
    fn ok(fresh: Vec<String>) -> Self {
        Self {
            outcome: "ok".into(),
            failed_stage: None,
            error: None,
            finish: Finish::Done {
                actions: Vec::new(),
                stale: Vec::new(),
                fresh,
            },
        }
    }
}

/// A stage that could not go on: the cycle fails there, and the components named keep
/// their versions, marked stale with the reason.
struct StageFailure {
    stage: &'static str,
    error: String,
    components: Vec<String>,
}

impl StageFailure {
    fn new(stage: &'static str, error: &dyn std::fmt::Display, components: Vec<String>) -> Self {
        Self {
            stage,
            error: error.to_string(),
            components,
        }
    }

    fn ending(self, report: &mut CycleReport) -> Ending {
        report.failed_stages.push(self.stage);
        let why = format!(
            "cycle {} failed at {}: {}",
            report.id, self.stage, self.error
        );
        let stale = self
            .components
            .into_iter()
            .map(|c| (c, why.clone()))
            .collect();
        Ending {
            outcome: "failed".to_owned(),
            failed_stage: Some(self.stage),
            error: Some(self.error),
            finish: Finish::Stale(stale),
        }
    }
}

/// Collect, summarise (and commit what was collected), optimise. The store stage is
/// `run`'s: it writes whatever these produced.
async fn stages<S: Store>(
    cx: &Context<'_, S>,
    report: &mut CycleReport,
    shutdown: Shutdown,
) -> Result<Ending, StageFailure> {
    let known = cx
        .store
        .components()
        .await
        .map_err(|e| StageFailure::new("collect", &e, Vec::new()))?;
    let stale = collect(cx, report, &shutdown, &known)
        .instrument(stage_span("collect"))
        .await?;
    let lookback_from = now_minute() - i64::from(cx.config.service.lookback_days) * 1440;
    let summarised = summarise(cx, report, &known, lookback_from)
        .instrument(stage_span("summarise"))
        .await?;
    // What collecting and resolving needed is done with (the rest was dropped inside):
    // free it before the stage that holds the most (all of it grows with the number
    // of components).
    drop(known);
    if shutdown.is_triggered() || report.sources.iter().any(|c| c.stopped) {
        return Ok(Ending {
            outcome: "interrupted".into(),
            failed_stage: None,
            error: Some("shutdown requested; collected data is stored".into()),
            finish: Finish::Stale(Vec::new()),
        });
    }
    let resolved = summarised.resolved;
    let resolved_names: Vec<String> = resolved.components.iter().map(|c| c.name.clone()).collect();
    let fresh = |stale: &BTreeMap<String, String>| -> Vec<String> {
        resolved_names
            .iter()
            .filter(|n| !stale.contains_key(*n))
            .cloned()
            .collect()
    };
    let focused = cx.alerts.is_some_and(|a| a.focus.is_some());
    if cx.optimised_before && !focused && !summarised.new_telemetry && stale.is_empty() {
        return Ok(Ending::ok(fresh(&stale)));
    }
    let t = Instant::now();
    let optimised = optimise_stage(cx, report.id, &resolved, &stale, lookback_from)
        .instrument(stage_span("optimise"))
        .await
        .map_err(|(stage, e)| StageFailure::new(stage, &e, resolved_names.clone()))?;
    report
        .stage_seconds
        .push(("optimise", t.elapsed().as_secs_f64()));
    report.optimised = true;
    report.groups = optimised.groups;
    report.joint = optimised.joint;
    report.shared = optimised.shared;
    report.components = optimised.components;
    let fresh = fresh(&stale);
    Ok(optimised_ending(report, stale, optimised.actions, fresh))
}

/// The collect stage: every source from its watermark. Returns the components whose
/// source failed for them, with the reason; they keep their versions this cycle.
async fn collect<S: Store>(
    cx: &Context<'_, S>,
    report: &mut CycleReport,
    shutdown: &Shutdown,
    known: &[ComponentRow],
) -> Result<BTreeMap<String, String>, StageFailure> {
    let everyone = || known.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    let t = Instant::now();
    for source in cx.sources {
        let state = cx
            .store
            .collector_state(source.name())
            .await
            .map_err(|e| StageFailure::new("collect", &e, everyone()))?;
        let collected = source
            .collect(state.as_deref(), shutdown.clone())
            .instrument(tracing::info_span!("source", source = source.name()))
            .await;
        tracing::debug!(
            source = collected.source,
            components = collected.telemetry.components.len(),
            errors = collected.errors.len(),
            "collected"
        );
        if let Some(w) = cx.report_window {
            w.append(source, state.as_deref(), &collected).await;
        }
        report.sources.push(collected);
    }
    report
        .stage_seconds
        .push(("collect", t.elapsed().as_secs_f64()));
    let mut stale: BTreeMap<String, String> = BTreeMap::new();
    for c in &report.sources {
        for e in &c.errors {
            for k in known {
                if k.sources.iter().any(|s| s == c.source) && affected(&e.affects, &k.attributes) {
                    stale.entry(k.name.clone()).or_insert_with(|| {
                        format!("{} collection failed: {}", c.source, e.message)
                    });
                }
            }
        }
    }
    if report.sources.iter().any(|c| !c.errors.is_empty()) {
        report.failed_stages.push("collect");
    }
    Ok(stale)
}

/// What the summarise stage leaves for optimising.
struct Summarised {
    /// The config resolved over every component known or seen (objectives tightened
    /// by alerts).
    resolved: adaptd_config::Resolved,
    /// Whether any summary was written: without one, and without stale components, a
    /// service that optimised before keeps what it stored.
    new_telemetry: bool,
}

/// The summarise stage: resolve the config over the components known and seen,
/// summarise what was collected, and commit it with the watermarks.
async fn summarise<S: Store>(
    cx: &Context<'_, S>,
    report: &mut CycleReport,
    known: &[ComponentRow],
    lookback_from: i64,
) -> Result<Summarised, StageFailure> {
    let everyone = || known.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    let t = Instant::now();
    let discovered = discovered(known, &report.sources);
    let mut resolved = cx
        .config
        .resolve(&discovered)
        .map_err(|e| StageFailure::new("summarise", &e, everyone()))?;
    if let Some(a) = cx.alerts {
        a.tighten(&mut resolved);
    }
    let mut collection = collection(cx, report, known, lookback_from);
    collection.summaries = summaries(report, &resolved)
        .await
        .map_err(|e| StageFailure::new("summarise", &e, everyone()))?;
    cx.store
        .commit_collection(&collection)
        .await
        .map_err(|e| StageFailure::new("summarise", &e, everyone()))?;
    report
        .stage_seconds
        .push(("summarise", t.elapsed().as_secs_f64()));
    Ok(Summarised {
        resolved,
        new_telemetry: !collection.summaries.is_empty(),
    })
}

/// The components the config resolves over: those the store knows, with the
/// attributes the sources saw this cycle added.
fn discovered(known: &[ComponentRow], sources: &[crate::sources::Collected]) -> Vec<Discovered> {
    let mut discovered: BTreeMap<String, Discovered> = known
        .iter()
        .map(|k| {
            let attributes = k
                .attributes
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(a, v)| Some((a.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            (
                k.name.clone(),
                Discovered {
                    name: k.name.clone(),
                    attributes,
                },
            )
        })
        .collect();
    for c in sources {
        for t in c.telemetry.components.values() {
            let d = discovered
                .entry(t.name.clone())
                .or_insert_with(|| Discovered {
                    name: t.name.clone(),
                    attributes: BTreeMap::new(),
                });
            d.attributes.extend(t.attributes.clone());
        }
    }
    discovered.into_values().collect()
}

/// What the cycle commits of its collection besides the summaries: the watermarks,
/// the components seen, and the recent minutes verification compares.
fn collection<S: Store>(
    cx: &Context<'_, S>,
    report: &CycleReport,
    known: &[ComponentRow],
    lookback_from: i64,
) -> Collection {
    let known_by_name: BTreeMap<&str, &ComponentRow> =
        known.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut collection = Collection {
        cycle_id: report.id,
        at_ms: adaptd_store::now_ms(),
        prune_before_minute: lookback_from,
        ..Collection::default()
    };
    let mut seen: BTreeMap<String, SeenComponent> = BTreeMap::new();
    for c in &report.sources {
        if let Some(state) = &c.state {
            collection.states.push((c.source.to_owned(), state.clone()));
        }
        for t in c.telemetry.components.values() {
            let entry = seen.entry(t.name.clone()).or_insert_with(|| {
                let prev = known_by_name.get(t.name.as_str());
                SeenComponent {
                    name: t.name.clone(),
                    attributes: prev.map_or_else(|| json!({}), |p| p.attributes.clone()),
                    sources: prev.map(|p| p.sources.clone()).unwrap_or_default(),
                    data_until_minute: prev.and_then(|p| p.data_until_minute),
                }
            });
            if let Some(obj) = entry.attributes.as_object_mut() {
                for (k, v) in &t.attributes {
                    obj.insert(k.clone(), json!(v));
                }
            }
            if !entry.sources.iter().any(|s| s == c.source) {
                entry.sources.push(c.source.to_owned());
                entry.sources.sort();
            }
            if let Some((_, end)) = t.covered().filter(|_| !t.series.is_empty()) {
                entry.data_until_minute = Some(entry.data_until_minute.map_or(end, |d| d.max(end)));
            }
        }
    }
    collection.seen = seen.into_values().collect();
    // What verification compares, of the components the service may apply to, with
    // the watermarks: no minute is past a watermark without being kept for it.
    if cx.config.apply.execute {
        let from = now_minute()
            - adaptd_ops::apply::verify_lookback_minutes(&cx.config.apply)
            - i64::from(cx.config.apply.verify_window_minutes);
        collection.recent = adaptd_store::recent::samples(
            report.sources.iter().map(|c| &c.telemetry),
            |name| crate::handover::acts_on(cx.config, name),
            from,
        );
    }
    collection
}

/// Summarises, off the async workers, every component with new telemetry that the
/// config resolves, with its own model parameters.
async fn summaries(
    report: &CycleReport,
    resolved: &adaptd_config::Resolved,
) -> Result<Vec<NewSummary>, tokio::task::JoinError> {
    let specs: BTreeMap<&str, _> = resolved
        .components
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let to_summarise: Vec<_> = report
        .sources
        .iter()
        .flat_map(|c| c.telemetry.components.values())
        .filter(|t| !t.series.is_empty() && t.covered().is_some())
        .filter_map(|t| {
            Some((
                t.clone(),
                specs.get(t.name.as_str())?.model.clone(),
                specs[t.name.as_str()].trigger.clone(),
                specs[t.name.as_str()].timezone,
            ))
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        to_summarise
            .into_iter()
            .filter_map(|(t, model, trigger, zone)| {
                let (start, end) = t.covered()?;
                let p = summarize_in(
                    &t,
                    model.keep_alive_minutes,
                    model.parallelism,
                    trigger.as_deref() == Some("timer"),
                    zone,
                );
                Some(NewSummary {
                    component: t.name,
                    start_minute: start,
                    end_minute: end,
                    profile: crate::packed::pack(&p),
                })
            })
            .collect::<Vec<_>>()
    })
    .await
}

/// The optimise stage: over the merged summaries of the lookback, a group of
/// components at a time (see `optimise`). Fails as `store` when the newest versions
/// cannot be read, as `optimise` when no answer is found.
async fn optimise_stage<S: Store>(
    cx: &Context<'_, S>,
    cycle_id: i64,
    resolved: &adaptd_config::Resolved,
    stale: &BTreeMap<String, String>,
    lookback_from: i64,
) -> Result<Optimised, (&'static str, String)> {
    let mut latest = BTreeMap::new();
    cx.store
        .for_each_latest_recommendation(|r| {
            latest.insert(r.component.clone(), Previous::from(r));
        })
        .await
        .map_err(|e| ("store", e.to_string()))?;
    // The closures and the job borrow non-`Send` trait objects: keep them out of the
    // future's state.
    {
        let skip = |c: &str| stale.contains_key(c) || cx.alerts.is_some_and(|a| !a.writes(c));
        let inputs = |c: &str, (start, end): (i64, i64)| {
            json!({
                "cycle_id": cycle_id,
                "window_start_minute": start,
                "window_end_minute": end,
                "lookback_days": cx.config.service.lookback_days,
                "config": cx.config.origin(),
                "alert": cx.alerts.and_then(|a| a.inputs(c)),
            })
        };
        let job = Job {
            store: cx.store,
            resolved,
            from_minute: lookback_from,
            latest: &latest,
            skip: &skip,
            inputs: &inputs,
        };
        let handle = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| optimise(&job, &handle))
    }
    .map_err(|e| ("optimise", e))
}

/// How a cycle that optimised ends: `ok`, or `partial` when a source failed for some
/// components (they are stale and the error names every source's failure).
fn optimised_ending(
    report: &CycleReport,
    stale: BTreeMap<String, String>,
    actions: Vec<VersionAction>,
    fresh: Vec<String>,
) -> Ending {
    let outcome = if stale.is_empty() && report.failed_stages.is_empty() {
        "ok"
    } else {
        "partial"
    };
    let error = (!report.failed_stages.is_empty()).then(|| {
        report
            .sources
            .iter()
            .flat_map(|c| {
                c.errors
                    .iter()
                    .map(move |e| format!("{}: {}", c.source, e.message))
            })
            .collect::<Vec<_>>()
            .join("; ")
    });
    Ending {
        outcome: outcome.into(),
        failed_stage: (!report.failed_stages.is_empty()).then_some("collect"),
        error,
        finish: Finish::Done {
            actions,
            stale: stale.into_iter().collect(),
            fresh,
        },
    }
}
