//! One cycle: collect (incremental) → summarise → optimise → store.
//!
//! Each stage's failure is recorded with the cycle and named by stage. Whatever
//! fails, the last good recommendations stay: a component whose telemetry could not
//! be collected keeps its previous version and is marked stale with the reason; a
//! cycle that cannot optimise at all marks every component stale. Collected data is
//! committed with its watermarks before optimising, so a failure later never makes
//! the next cycle collect it again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use adaptd_collectors::shutdown::Shutdown;
use adaptd_config::{Config, Discovered, Resolved};
use adaptd_engine::profile::{Profile, summarize_with};
use adaptd_optimizer::recommend::recommend;
use serde_json::json;

use super::merge::merge;
use super::sources::{Collected, Source, affected};
use super::versions::{decide, new_version};
use crate::store::{
    Collection, ComponentRow, CycleFinish, NewSummary, SeenComponent, Store, StoreError,
};

/// Stages, in order; the names label metrics and cycle reports.
pub const STAGES: [&str; 4] = ["collect", "summarise", "optimise", "store"];

/// What a cycle did, for logs and metrics.
#[derive(Debug, Default)]
pub struct CycleReport {
    /// The cycle's id (0 when it could not even start).
    pub id: i64,
    /// `ok`, `partial`, `failed`, `interrupted`.
    pub outcome: String,
    /// Seconds per stage that ran.
    pub stage_seconds: Vec<(&'static str, f64)>,
    /// Stages that failed (a partial collection counts as a failure of `collect`).
    pub failed_stages: Vec<&'static str>,
    /// Per source: errors by kind, observation cost, whether it had no error.
    pub sources: Vec<Collected>,
    /// The error that ended the cycle, if any.
    pub error: Option<String>,
    /// Components marked stale.
    pub stale: usize,
    /// Recommendation versions written.
    pub versions: usize,
    /// Whether the optimiser ran.
    pub optimised: bool,
    /// What was stored per component: `insert`, `refresh` or `confirm`.
    pub components: Vec<(String, &'static str)>,
}

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
    pub alerts: Option<&'a super::alerts::focus::AlertContext>,
}

fn now_minute() -> i64 {
    crate::store::now_ms() / 60_000
}

/// Runs one cycle. Never panics on bad data; every failure is in the report and,
/// when the store answers, in the cycle row.
pub async fn run<S: Store>(cx: &Context<'_, S>, shutdown: Shutdown) -> CycleReport {
    let mut report = CycleReport::default();
    let started = crate::store::now_ms();
    report.id = match cx.store.begin_cycle(cx.instance, started).await {
        Ok(id) => id,
        Err(e) => {
            report.outcome = "failed".into();
            report.failed_stages.push("store");
            report.error = Some(e.to_string());
            return report;
        }
    };
    let outcome = stages(cx, &mut report, shutdown).await;
    let (outcome, failed_stage, error, stale) = match outcome {
        Ok(o) => o,
        Err((stage, e, components)) => {
            report.failed_stages.push(stage);
            let why = format!("cycle {} failed at {stage}: {e}", report.id);
            let stale: Vec<(String, String)> =
                components.into_iter().map(|c| (c, why.clone())).collect();
            (
                "failed".to_owned(),
                Some(stage),
                Some(e),
                Finish::Stale(stale),
            )
        }
    };
    report.outcome = outcome.clone();
    report.error = error.clone();
    let (actions, stale, fresh) = match stale {
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
        .filter(|a| matches!(a, crate::store::VersionAction::Insert { .. }))
        .count();
    let summary = json!({
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
        "alerts": cx.alerts.map(|a| a.report()),
    });
    let finish = CycleFinish {
        cycle_id: report.id,
        finished_ms: crate::store::now_ms(),
        outcome,
        failed_stage: failed_stage.map(str::to_owned),
        error,
        report: summary.to_string(),
        actions,
        stale,
        fresh,
    };
    let t = Instant::now();
    if let Err(e) = cx.store.finish_cycle(&finish).await {
        report.failed_stages.push("store");
        report.outcome = "failed".into();
        report.error = Some(format!("{e}"));
    }
    report
        .stage_seconds
        .push(("store", t.elapsed().as_secs_f64()));
    report
}

enum Finish {
    Stale(Vec<(String, String)>),
    Done {
        actions: Vec<crate::store::VersionAction>,
        stale: Vec<(String, String)>,
        fresh: Vec<String>,
    },
}

type StageResult = Result<
    (String, Option<&'static str>, Option<String>, Finish),
    (&'static str, String, Vec<String>),
>;

async fn stages<S: Store>(
    cx: &Context<'_, S>,
    report: &mut CycleReport,
    shutdown: Shutdown,
) -> StageResult {
    let known = cx
        .store
        .components()
        .await
        .map_err(|e| ("collect", e.to_string(), Vec::new()))?;
    let everyone = || known.iter().map(|c| c.name.clone()).collect::<Vec<_>>();

    // Collect.
    let t = Instant::now();
    for source in cx.sources {
        let state = cx
            .store
            .collector_state(source.name())
            .await
            .map_err(|e| ("collect", e.to_string(), everyone()))?;
        report
            .sources
            .push(source.collect(state.as_deref(), shutdown.clone()).await);
    }
    report
        .stage_seconds
        .push(("collect", t.elapsed().as_secs_f64()));
    let mut stale: BTreeMap<String, String> = BTreeMap::new();
    let known_by_name: BTreeMap<&str, &ComponentRow> =
        known.iter().map(|c| (c.name.as_str(), c)).collect();
    for c in &report.sources {
        for e in &c.errors {
            for k in &known {
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

    // Summarise and commit what was collected, with the watermarks.
    let t = Instant::now();
    let lookback_from = now_minute() - i64::from(cx.config.service.lookback_days) * 1440;
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
    for c in &report.sources {
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
    let discovered: Vec<Discovered> = discovered.into_values().collect();
    let mut resolved = cx
        .config
        .resolve(&discovered)
        .map_err(|e| ("summarise", e.to_string(), everyone()))?;
    if let Some(a) = cx.alerts {
        a.tighten(&mut resolved);
    }
    let mut collection = Collection {
        cycle_id: report.id,
        at_ms: crate::store::now_ms(),
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
            ))
        })
        .collect();
    let summaries = tokio::task::spawn_blocking(move || {
        to_summarise
            .into_iter()
            .filter_map(|(t, model, trigger)| {
                let (start, end) = t.covered()?;
                let p = summarize_with(
                    &t,
                    model.keep_alive_minutes,
                    model.parallelism,
                    trigger.as_deref() == Some("timer"),
                );
                Some(NewSummary {
                    component: t.name,
                    start_minute: start,
                    end_minute: end,
                    profile: serde_json::to_string(&p).ok()?,
                })
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| ("summarise", e.to_string(), everyone()))?;
    collection.summaries = summaries;
    cx.store
        .commit_collection(&collection)
        .await
        .map_err(|e| ("summarise", e.to_string(), everyone()))?;
    report
        .stage_seconds
        .push(("summarise", t.elapsed().as_secs_f64()));
    if shutdown.is_triggered() || report.sources.iter().any(|c| c.stopped) {
        return Ok((
            "interrupted".into(),
            None,
            Some("shutdown requested; collected data is stored".into()),
            Finish::Stale(Vec::new()),
        ));
    }

    let resolved_names: Vec<String> = resolved.components.iter().map(|c| c.name.clone()).collect();
    let fresh = |stale: &BTreeMap<String, String>| -> Vec<String> {
        resolved_names
            .iter()
            .filter(|n| !stale.contains_key(*n))
            .cloned()
            .collect()
    };
    let focused = cx.alerts.is_some_and(|a| a.focus.is_some());
    if cx.optimised_before && !focused && collection.summaries.is_empty() && stale.is_empty() {
        let fresh = fresh(&stale);
        return Ok((
            "ok".into(),
            None,
            None,
            Finish::Done {
                actions: Vec::new(),
                stale: Vec::new(),
                fresh,
            },
        ));
    }

    // Optimise over the merged summaries of the lookback.
    let t = Instant::now();
    let (profiles, windows) = load_profiles(cx.store, &resolved, lookback_from)
        .await
        .map_err(|e| ("optimise", e.to_string(), everyone()))?;
    let observed: BTreeMap<String, Option<[f64; 3]>> = profiles
        .iter()
        .map(|(k, p)| {
            (
                k.clone(),
                p.duration_ms
                    .as_ref()
                    .map(|q| [q.quantile(0.5), q.quantile(0.95), q.quantile(0.99)]),
            )
        })
        .collect();
    let set = tokio::task::spawn_blocking(move || {
        let settings = crate::pipeline::settings(&resolved);
        recommend(
            &resolved.components,
            &profiles,
            &resolved.databases,
            &resolved.accounts,
            &resolved.prices,
            &settings,
        )
    })
    .await
    .map_err(|e| ("optimise", e.to_string(), resolved_names.clone()))?
    .map_err(|e| ("optimise", e.to_string(), resolved_names.clone()))?;
    report
        .stage_seconds
        .push(("optimise", t.elapsed().as_secs_f64()));
    report.optimised = true;

    // Decide versions.
    let latest = cx
        .store
        .latest_recommendations()
        .await
        .map_err(|e| ("store", e.to_string(), resolved_names.clone()))?;
    let latest: BTreeMap<&str, _> = latest.iter().map(|r| (r.component.as_str(), r)).collect();
    let mut actions = Vec::new();
    for r in &set.components {
        if stale.contains_key(&r.component) || cx.alerts.is_some_and(|a| !a.writes(&r.component)) {
            continue;
        }
        let (start, end) = windows.get(&r.component).copied().unwrap_or((0, 0));
        let inputs = json!({
            "cycle_id": report.id,
            "window_start_minute": start,
            "window_end_minute": end,
            "lookback_days": cx.config.service.lookback_days,
            "config": cx.config.origin(),
            "alert": cx.alerts.and_then(|a| a.inputs(&r.component)),
        });
        let new = new_version(r, &inputs, observed.get(&r.component).copied().flatten());
        let action = decide(latest.get(r.component.as_str()).copied(), new);
        let kind = match &action {
            crate::store::VersionAction::Insert { .. } => "insert",
            crate::store::VersionAction::Refresh { .. } => "refresh",
            crate::store::VersionAction::Confirm { .. } => "confirm",
        };
        report.components.push((r.component.clone(), kind));
        actions.push(action);
    }
    let fresh = fresh(&stale);
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
    Ok((
        outcome.into(),
        (!report.failed_stages.is_empty()).then_some("collect"),
        error,
        Finish::Done {
            actions,
            stale: stale.into_iter().collect(),
            fresh,
        },
    ))
}

/// Per resolved component: its summaries since `from`, merged; and the window they
/// cover.
async fn load_profiles<S: Store>(
    store: &S,
    resolved: &Resolved,
    from: i64,
) -> Result<(BTreeMap<String, Profile>, BTreeMap<String, (i64, i64)>), StoreError> {
    let mut profiles = BTreeMap::new();
    let mut windows = BTreeMap::new();
    let names: BTreeSet<&str> = resolved
        .components
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    for name in names {
        let rows = store.summaries(name, from).await?;
        if rows.is_empty() {
            continue;
        }
        let mut parts = Vec::with_capacity(rows.len());
        for r in &rows {
            let p: Profile =
                serde_json::from_str(&r.profile).map_err(|source| StoreError::Corrupt {
                    what: format!("summary of {name}"),
                    source,
                })?;
            parts.push(p);
        }
        let lo = rows.iter().map(|r| r.start_minute).min().unwrap_or(0);
        let hi = rows.iter().map(|r| r.end_minute).max().unwrap_or(0);
        if let Some(p) = merge(&parts) {
            profiles.insert(name.to_owned(), p);
            windows.insert(name.to_owned(), (lo, hi));
        }
    }
    Ok((profiles, windows))
}
