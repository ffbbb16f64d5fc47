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
pub mod report_telemetry;
pub mod reports;
mod scheduler;
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
use adaptd_store::{SqlStore, Store};
use rand::RngExt;
use tracing::Instrument;

use self::auth::Auth;
use self::metrics::Metrics;
use self::scheduler::Scheduler;
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

/// A name for this replica: host, process and a random suffix.
fn instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    let n: u32 = rand::rng().random();
    format!("{host}-{}-{n:08x}", std::process::id())
}

/// Runs the service until SIGTERM or SIGINT. `base` is the config file's directory.
/// Everything it logs is inside a `service` span naming this replica, so the lines of
/// replicas sharing a log pipeline tell apart.
pub async fn serve(config: Config, base: &Path) -> Result<(), ServeError> {
    let instance = instance_id();
    let span = tracing::info_span!("service", instance = %instance);
    run(config, base, instance).instrument(span).await
}

async fn run(config: Config, base: &Path, instance: String) -> Result<(), ServeError> {
    let s = config.service.clone();
    let auth = Auth::from_config(&s, base).map_err(ServeError::Settings)?;
    let sources = Source::from_config(&config, base).map_err(ServeError::Settings)?;
    let alerts =
        Arc::new(alerts::Alerts::from_config(&config, base).map_err(ServeError::Settings)?);
    let poll = Duration::from_secs_f64(s.leader_poll_seconds);
    // A lease outlives a few missed renewals (a busy machine), and a crashed leader is
    // replaced within it; a stopping one resigns at once.
    let lease = (poll * 3).max(Duration::from_secs(10));
    let store = Arc::new(SqlStore::open(&config.store, base, instance.clone(), lease).await?);
    let version = store.migrate().await?;
    tracing::info!(
        "store {} at schema version {version}; {} source(s)",
        store.describe(),
        sources.len()
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
        reports_dir: base.join(&config.report.output_dir),
    });
    let addr = s.bind_addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    tracing::info!(
        "listening on http://{}",
        listener.local_addr().map_or(addr, |a| a)
    );

    let (trigger, shutdown) = Shutdown::new();
    let mut http_stop = shutdown.clone();
    let server = tokio::spawn(
        async move {
            axum::serve(listener, api::router(state))
                .with_graceful_shutdown(async move { http_stop.wait().await })
                .await
        }
        .in_current_span(),
    );
    let leading = tokio::spawn(
        leadership(
            store.clone(),
            leader.clone(),
            metrics.clone(),
            poll,
            shutdown.clone(),
        )
        .in_current_span(),
    );
    let refresher = tokio::spawn(
        refresh(
            store.clone(),
            metrics.clone(),
            listing,
            s.metrics_max_components as usize,
            shutdown.clone(),
        )
        .in_current_span(),
    );
    let config = Arc::new(config);
    let sources = Arc::new(sources);
    let report_window = Arc::new(report_telemetry::Window::of(&config, base));
    let reporter = tokio::spawn(
        weekly_report::reports(
            config.clone(),
            base.to_path_buf(),
            sources.clone(),
            store.clone(),
            leader.clone(),
            report_window.clone(),
            shutdown.clone(),
        )
        .in_current_span(),
    );
    let scheduler = tokio::spawn(
        Scheduler::new(
            store.clone(),
            config.clone(),
            sources,
            instance.clone(),
            metrics.clone(),
            report_window,
        )
        .run(leader.clone(), alerts.wake.clone(), shutdown.clone())
        .in_current_span(),
    );

    wait_for_signal().await;
    tracing::info!("shutdown requested");
    trigger.trigger();
    let deadline = Duration::from_secs_f64(s.shutdown_deadline_seconds);
    let finished = tokio::time::timeout(deadline, async {
        let _ = scheduler.await;
        let _ = reporter.await;
        let _ = leading.await;
        let _ = refresher.await;
        let _ = server.await;
        if let Err(e) = store.resign().await {
            tracing::warn!("could not release leadership: {e}");
        }
        store.close().await;
    })
    .await;
    match finished {
        Ok(()) => {
            tracing::info!("stopped");
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
                tracing::warn!("leadership check failed: {e}");
                false
            }
        };
        if leads != leader.swap(leads, Ordering::SeqCst) {
            if leads {
                tracing::info!("now leading");
            } else {
                tracing::info!("now following");
            }
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
                        metrics.refresh(counts, tally, adaptd_store::now_ms() / 60_000);
                        seen = Some(rev);
                        hour = now_hour;
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        tracing::warn!("metrics refresh failed: {e}");
                    }
                }
            }
            (Ok(_), Ok(_)) => {}
            (Err(e), _) | (_, Err(e)) => tracing::warn!("metrics refresh failed: {e}"),
        }
        // Every second, or at once when a request found the listing behind the store.
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = listing.stale.notified() => {}
            () = shutdown.wait() => return,
        }
    }
}
