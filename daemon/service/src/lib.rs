//! `adaptd serve`: the long-lived service.
//!
//! Three tasks share a shutdown signal: the HTTP server (every replica), the
//! leadership loop (tries to lead every `leader_poll_seconds`) and the scheduler
//! (cycles while this replica leads, every `interval_seconds` plus jitter, counted
//! from the start of the last stored cycle so a restart neither cycles at once nor
//! waits a whole interval). A refresher rebuilds the suggestion metrics and the
//! in-memory recommendation listing ([`listing`]) when the store's revision changes.
//! On SIGTERM/SIGINT the running cycle is told to stop, requests in flight finish,
//! leadership is released, all within the deadline.

pub mod alerts;
pub mod api;
pub mod auth;
pub mod cycle;
pub mod handover;
pub mod http;
pub mod listing;
pub mod merge;
pub mod metrics;
pub mod optimise;
pub mod packed;
pub mod sources;
pub mod state;
pub mod versions;
pub mod weekly_report;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use adaptd_collectors::shutdown::Shutdown;
use adaptd_config::Config;
use adaptd_store::alerts::AlertStore;
use adaptd_store::{SqlStore, Store};
use rand::RngExt;

use self::auth::Auth;
use self::metrics::Metrics;
use self::sources::Source;
use self::state::AppState;

/// Why the service could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A setting cannot be used (token variable unset, source settings).
    #[error("{0}")]
    Settings(String),
    /// The store failed at start.
    #[error(transparent)]
    Store(#[from] adaptd_store::StoreError),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Shutdown did not finish within the deadline.
    #[error("shutdown did not finish within {0:?}; exiting anyway")]
    Deadline(Duration),
}

/// One log line on stderr: time, level, message.
pub fn log(level: &str, msg: &str) {
    let now = time::OffsetDateTime::now_utc();
    let t = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    eprintln!("{t} {level} {msg}");
}

/// A name for this replica: host, process and a random suffix.
fn instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    let n: u32 = rand::rng().random();
    format!("{host}-{}-{n:08x}", std::process::id())
}

/// Runs the service until SIGTERM or SIGINT. `base` is the config file's directory.
pub async fn serve(config: Config, base: &Path) -> Result<(), ServeError> {
    let s = config.service.clone();
    let auth = Auth::from_config(&s, base).map_err(ServeError::Settings)?;
    let sources = Source::from_config(&config, base).map_err(ServeError::Settings)?;
    let alerts =
        Arc::new(alerts::Alerts::from_config(&config, base).map_err(ServeError::Settings)?);
    let instance = instance_id();
    let poll = Duration::from_secs_f64(s.leader_poll_seconds);
    // A lease outlives a few missed renewals (a busy machine), and a crashed leader is
    // replaced within it; a stopping one resigns at once.
    let lease = (poll * 3).max(Duration::from_secs(10));
    let store = Arc::new(SqlStore::open(&config.store, base, instance.clone(), lease).await?);
    let version = store.migrate().await?;
    log(
        "info",
        &format!(
            "{instance}: store {:?} at schema version {version}; {} source(s)",
            store.backend(),
            sources.len()
        ),
    );
    let metrics = Arc::new(Metrics::new());
    let leader = Arc::new(AtomicBool::new(false));
    let listing = Arc::new(listing::Listing::default());
    let state = Arc::new(AppState {
        store: store.clone(),
        metrics: metrics.clone(),
        auth,
        leader: leader.clone(),
        instance: instance.clone(),
        alerts: alerts.clone(),
        listing: listing.clone(),
    });
    let addr = s.bind_addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    log(
        "info",
        &format!(
            "listening on http://{}",
            listener.local_addr().map_or(addr, |a| a)
        ),
    );

    let (trigger, shutdown) = Shutdown::new();
    let mut http_stop = shutdown.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, api::router(state))
            .with_graceful_shutdown(async move { http_stop.wait().await })
            .await
    });
    let leading = tokio::spawn(leadership(
        store.clone(),
        leader.clone(),
        metrics.clone(),
        poll,
        shutdown.clone(),
    ));
    let refresher = tokio::spawn(refresh(
        store.clone(),
        metrics.clone(),
        listing,
        s.metrics_max_components as usize,
        shutdown.clone(),
    ));
    let config = Arc::new(config);
    let sources = Arc::new(sources);
    let reporter = tokio::spawn(weekly_report::reports(
        config.clone(),
        base.to_path_buf(),
        sources.clone(),
        leader.clone(),
        shutdown.clone(),
    ));
    let scheduler = tokio::spawn(schedule(
        store.clone(),
        config.clone(),
        sources,
        instance.clone(),
        leader.clone(),
        metrics.clone(),
        alerts.wake.clone(),
        shutdown.clone(),
    ));

    wait_for_signal().await;
    log("info", "shutdown requested");
    trigger.trigger();
    let deadline = Duration::from_secs_f64(s.shutdown_deadline_seconds);
    let finished = tokio::time::timeout(deadline, async {
        let _ = scheduler.await;
        let _ = reporter.await;
        let _ = leading.await;
        let _ = refresher.await;
        let _ = server.await;
        if let Err(e) = store.resign().await {
            log("warn", &format!("could not release leadership: {e}"));
        }
        store.close().await;
    })
    .await;
    match finished {
        Ok(()) => {
            log("info", "stopped");
            Ok(())
        }
        Err(_) => Err(ServeError::Deadline(deadline)),
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the process can only be killed; run until then.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Sleeps `d` unless shutdown comes first; `false` on shutdown.
async fn sleep_or_stop(d: Duration, shutdown: &mut Shutdown) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        () = shutdown.wait() => false,
    }
}

async fn leadership<S: Store>(
    store: Arc<S>,
    leader: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    poll: Duration,
    mut shutdown: Shutdown,
) {
    loop {
        let leads = match store.lead().await {
            Ok(l) => l,
            Err(e) => {
                log("warn", &format!("leadership check failed: {e}"));
                false
            }
        };
        if leads != leader.swap(leads, Ordering::SeqCst) {
            log(
                "info",
                if leads {
                    "now leading"
                } else {
                    "now following"
                },
            );
        }
        metrics.set_leader(leads);
        if !sleep_or_stop(poll, &mut shutdown).await {
            leader.store(false, Ordering::SeqCst);
            return;
        }
    }
}

async fn refresh<S: Store>(
    store: Arc<S>,
    metrics: Arc<Metrics>,
    listing: Arc<listing::Listing>,
    max: usize,
    mut shutdown: Shutdown,
) {
    let mut seen = None;
    let mut listed = None;
    let mut hour = usize::MAX;
    loop {
        let now_hour = (adaptd_store::now_ms() / 3_600_000 % 24) as usize;
        // Both revisions before the rows: a write in between leaves the snapshots
        // labelled older than their content, never newer.
        match (
            store.revision().await,
            store.recommendations_revision().await,
        ) {
            (Ok(rev), Ok(recs))
                if Some(rev) != seen || Some(recs) != listed || now_hour != hour =>
            {
                // One pass over the newest versions feeds both, a row at a time: at
                // 10,000 components, holding every row at once (inputs, gauges) was
                // the service's peak after each cycle.
                let relist = Some(recs) != listed;
                let mut next = listing::Builder::default();
                let mut tally = metrics::Tally::new(max);
                let read = store
                    .for_each_latest_recommendation(|r| {
                        if relist {
                            next.push(&r);
                        }
                        tally.add(r);
                    })
                    .await;
                match (read, store.component_counts().await) {
                    (Ok(()), Ok(counts)) => {
                        // Requests may be waiting for the listing: it goes first.
                        if relist {
                            listing.install(recs, next);
                            listed = Some(recs);
                        }
                        metrics.refresh(counts, tally, now_hour);
                        seen = Some(rev);
                        hour = now_hour;
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        log("warn", &format!("metrics refresh failed: {e}"));
                    }
                }
            }
            (Ok(_), Ok(_)) => {}
            (Err(e), _) | (_, Err(e)) => log("warn", &format!("metrics refresh failed: {e}")),
        }
        // Every second, or at once when a request found the listing behind the store.
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = listing.stale.notified() => {}
            () = shutdown.wait() => return,
        }
    }
}

/// Runs one cycle and logs and observes it.
async fn cycle_once<S: Store>(
    cx: &cycle::Context<'_, S>,
    metrics: &Metrics,
    what: &str,
    shutdown: Shutdown,
) -> cycle::CycleReport {
    log("info", &format!("{what} starting"));
    let report = cycle::run(cx, shutdown).await;
    metrics.observe_cycle(&report, adaptd_store::now_ms() as f64 / 1000.0);
    let msg = format!(
        "{what} {} {}: {} stale component(s), {} new version(s){}",
        report.id,
        report.outcome,
        report.stale,
        report.versions,
        report
            .error
            .as_deref()
            .map(|e| format!("; {e}"))
            .unwrap_or_default()
    );
    log(
        if report.outcome == "ok" {
            "info"
        } else {
            "warn"
        },
        &msg,
    );
    report
}

#[allow(clippy::too_many_arguments)]
async fn schedule<S: AlertStore>(
    store: Arc<S>,
    config: Arc<Config>,
    sources: Arc<Vec<Source>>,
    instance: String,
    leader: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    wake: Arc<tokio::sync::Notify>,
    mut shutdown: Shutdown,
) {
    let s = &config.service;
    let interval_ms = i64::try_from(s.interval_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    let jitter = |_: ()| -> i64 {
        if s.jitter_seconds == 0 {
            0
        } else {
            rand::rng().random_range(0..=s.jitter_seconds.saturating_mul(1000)) as i64
        }
    };
    let a = &config.alerts;
    let mut next_at: Option<i64> = None;
    let mut optimised_before = false;
    // Alerts recorded by another replica wake nobody here: look every few seconds.
    let mut alerts_checked_ms = 0;
    let mut held = None;
    // Runs of the apply feature interrupted by a crash are finished once, on leading;
    // runs whose verification window passed are judged after each scheduled cycle.
    let mut reconciled = false;
    let mut verifier = adaptd_ops::apply::recent::Verifier::default();
    loop {
        if leader.load(Ordering::SeqCst) {
            if !reconciled {
                reconciled = true;
                match adaptd_ops::apply::reconcile_on_lead(&*store, &config.apply).await {
                    Ok(runs) => {
                        for r in runs {
                            log(
                                "info",
                                &format!("apply: reconciled run {}: {:?}", r.run_id, r.outcome),
                            );
                        }
                    }
                    Err(e) => log("warn", &format!("apply: reconciling failed: {e}")),
                }
            }
            let now = adaptd_store::now_ms();
            if a.enabled && now - alerts_checked_ms >= 2000 {
                alerts_checked_ms = now;
                match alerts::focus::pending(&*store, a).await {
                    Ok(Some(focus)) => {
                        let pending = store.pending_focus().await.unwrap_or_default();
                        let cx = cycle::Context {
                            store: &*store,
                            config: &config,
                            sources: &sources,
                            instance: &instance,
                            optimised_before,
                            alerts: Some(&focus),
                        };
                        let report =
                            cycle_once(&cx, &metrics, "focused cycle", shutdown.clone()).await;
                        alerts::apply::after_focus(&*store, &config, &focus, &pending, &report)
                            .await;
                        if let Err(e) =
                            alerts::focus::finish(&*store, &focus, &pending, &report).await
                        {
                            log(
                                "warn",
                                &format!("recording the focused cycle's alerts failed: {e}"),
                            );
                        }
                        // The alerts' tightening now holds; the next cycle must solve.
                        optimised_before = false;
                        alerts_checked_ms = 0;
                    }
                    Ok(None) => {}
                    Err(e) => log("warn", &format!("reading pending alerts failed: {e}")),
                }
            }
            if next_at.is_none() {
                // Resume the schedule of whoever cycled last, this replica or another.
                let last = store
                    .cycles(1, None)
                    .await
                    .ok()
                    .and_then(|c| c.first().map(|c| c.started_ms));
                next_at = Some(last.map_or(0, |l| l + interval_ms + jitter(())));
            }
            let now = adaptd_store::now_ms();
            if next_at.is_some_and(|t| now >= t) {
                let context = if a.enabled {
                    match alerts::focus::context(&*store, a).await {
                        Ok(c) => Some(c),
                        Err(e) => {
                            log(
                                "warn",
                                &format!(
                                    "reading alerts failed; cycling without their context: {e}"
                                ),
                            );
                            None
                        }
                    }
                } else {
                    None
                };
                // What alerts hold changed: the stored advice may no longer be it.
                let holding = context.as_ref().map(|c| c.holding.clone());
                if holding != held {
                    optimised_before = false;
                    held = holding;
                }
                let cx = cycle::Context {
                    store: &*store,
                    config: &config,
                    sources: &sources,
                    instance: &instance,
                    optimised_before,
                    alerts: context.as_ref(),
                };
                let report = cycle_once(&cx, &metrics, "cycle", shutdown.clone()).await;
                optimised_before |= report.optimised && report.failed_stages.is_empty();
                handover::after_cycle(&*store, &config, &report).await;
                for line in verifier
                    .after_cycle(&*store, &config.apply, s.interval_seconds)
                    .await
                {
                    log("info", &line);
                }
                next_at = Some(now + interval_ms + jitter(()));
            }
        } else {
            next_at = None;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
            () = wake.notified() => alerts_checked_ms = 0,
            () = shutdown.wait() => return,
        }
    }
}
