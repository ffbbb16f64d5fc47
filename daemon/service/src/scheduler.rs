//! The leader's scheduler: while this replica leads, it finishes applies a crash
//! interrupted (once), runs a focused cycle as soon as an alert asks for one, and a
//! scheduled cycle every `interval_seconds` plus jitter, counted from the start of the
//! last stored cycle so a restart neither cycles at once nor waits a whole interval.
//! After a scheduled cycle it hands recommendations over to apply and judges the
//! applies whose verification window passed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use adaptd_collectors::shutdown::Shutdown;
use adaptd_config::Config;
use adaptd_ops::apply::recent::Verifier;
use adaptd_store::alerts::AlertStore;
use rand::RngExt;
use tracing::Instrument;

use crate::alerts::focus::AlertContext;
use crate::cycle::{self, CycleReport};
use crate::metrics::Metrics;
use crate::report_telemetry::Window;
use crate::sources::Source;
use crate::{alerts, handover};

/// What the leader needs to cycle, and what it remembers between turns.
pub(crate) struct Scheduler<S> {
    store: Arc<S>,
    config: Arc<Config>,
    sources: Arc<Vec<Source>>,
    instance: String,
    metrics: Arc<Metrics>,
    /// The scheduled report's window, which cycles append to.
    report_window: Arc<Window>,
    /// When the next scheduled cycle is due (ms); `None` until it is read from the
    /// store on leading.
    next_at: Option<i64>,
    /// Whether this process already optimised with this config and these alerts.
    optimised_before: bool,
    /// Alerts recorded by another replica wake nobody here: look every few seconds.
    alerts_checked_ms: i64,
    /// Components whose objectives alerts held at the last scheduled cycle.
    held: Option<BTreeMap<String, Vec<String>>>,
    /// Runs of the apply feature interrupted by a crash are finished once, on leading.
    reconciled: bool,
    verifier: Verifier,
}

impl<S> std::fmt::Debug for Scheduler<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("instance", &self.instance)
            .field("next_at", &self.next_at)
            .finish_non_exhaustive()
    }
}

impl<S: AlertStore> Scheduler<S> {
    pub(crate) fn new(
        store: Arc<S>,
        config: Arc<Config>,
        sources: Arc<Vec<Source>>,
        instance: String,
        metrics: Arc<Metrics>,
        report_window: Arc<Window>,
    ) -> Self {
        Self {
            store,
            config,
            sources,
            instance,
            metrics,
            report_window,
            next_at: None,
            optimised_before: false,
            alerts_checked_ms: 0,
            held: None,
            reconciled: false,
            verifier: Verifier::default(),
        }
    }

    /// Cycles while this replica leads, until `shutdown`. `wake`: an alert this
    /// replica received asks for a focused cycle.
    pub(crate) async fn run(
        mut self,
        leader: Arc<AtomicBool>,
        wake: Arc<tokio::sync::Notify>,
        mut shutdown: Shutdown,
    ) {
        loop {
            if leader.load(Ordering::SeqCst) {
                self.reconcile_once().await;
                if self.config.alerts.enabled
                    && adaptd_store::now_ms() - self.alerts_checked_ms >= 2000
                {
                    self.focused_cycle(&shutdown).await;
                }
                self.scheduled_cycle(&shutdown).await;
            } else {
                self.next_at = None;
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
                () = wake.notified() => self.alerts_checked_ms = 0,
                () = shutdown.wait() => return,
            }
        }
    }

    /// What a cycle needs, with the alerts' context it runs in.
    fn context<'a>(&'a self, alerts: Option<&'a AlertContext>) -> cycle::Context<'a, S> {
        cycle::Context {
            store: &*self.store,
            config: &self.config,
            sources: &self.sources,
            instance: &self.instance,
            optimised_before: self.optimised_before,
            alerts,
            report_window: Some(&self.report_window),
        }
    }

    /// Finishes, once on leading, the applies a crash interrupted.
    async fn reconcile_once(&mut self) {
        if self.reconciled {
            return;
        }
        self.reconciled = true;
        match adaptd_ops::apply::reconcile_on_lead(&*self.store, &self.config.apply).await {
            Ok(runs) => {
                for r in runs {
                    tracing::info!("apply: reconciled run {}: {:?}", r.run_id, r.outcome);
                }
            }
            Err(e) => tracing::warn!("apply: reconciling failed: {e}"),
        }
    }

    /// A focused cycle for the alerts waiting for one, if any.
    async fn focused_cycle(&mut self, shutdown: &Shutdown) {
        let (store, config) = (&*self.store, &*self.config);
        self.alerts_checked_ms = adaptd_store::now_ms();
        let focus = match alerts::focus::pending(store, &config.alerts).await {
            Ok(Some(focus)) => focus,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("reading pending alerts failed: {e}");
                return;
            }
        };
        let pending = store.pending_focus().await.unwrap_or_default();
        let cx = self.context(Some(&focus));
        let span = cycle_span("focused");
        let report = cycle_once(&cx, &self.metrics, "focused cycle", shutdown.clone())
            .instrument(span.clone())
            .await;
        alerts::apply::after_focus(store, config, &focus, &pending, &report)
            .instrument(tracing::info_span!(parent: &span, "stage", stage = "apply"))
            .await;
        if let Err(e) = alerts::focus::finish(store, &focus, &pending, &report).await {
            tracing::warn!("recording the focused cycle's alerts failed: {e}");
        }
        // The alerts' tightening now holds; the next cycle must solve.
        self.optimised_before = false;
        self.alerts_checked_ms = 0;
    }

    /// The scheduled cycle, when it is due; then the hand-over and verification.
    async fn scheduled_cycle(&mut self, shutdown: &Shutdown) {
        let (store, config) = (&*self.store, &*self.config);
        let interval_ms =
            i64::try_from(config.service.interval_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
        if self.next_at.is_none() {
            // Resume the schedule of whoever cycled last, this replica or another.
            let last = store
                .cycles(1, None)
                .await
                .ok()
                .and_then(|c| c.first().map(|c| c.started_ms));
            self.next_at = Some(last.map_or(0, |l| l + interval_ms + jitter(config)));
        }
        let now = adaptd_store::now_ms();
        if self.next_at.is_none_or(|t| now < t) {
            return;
        }
        let context = if config.alerts.enabled {
            match alerts::focus::context(store, &config.alerts).await {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!("reading alerts failed; cycling without their context: {e}");
                    None
                }
            }
        } else {
            None
        };
        // What alerts hold changed: the stored advice may no longer be it.
        let holding = context.as_ref().map(|c| c.holding.clone());
        if holding != self.held {
            self.optimised_before = false;
            self.held = holding;
        }
        let cx = self.context(context.as_ref());
        let span = cycle_span("scheduled");
        let report = cycle_once(&cx, &self.metrics, "cycle", shutdown.clone())
            .instrument(span.clone())
            .await;
        self.optimised_before |= report.optimised && report.failed_stages.is_empty();
        handover::after_cycle(store, config, &report)
            .instrument(tracing::info_span!(parent: &span, "stage", stage = "apply"))
            .await;
        let verify = tracing::info_span!(parent: &span, "stage", stage = "verify");
        match self
            .verifier
            .after_cycle(store, &config.apply, config.service.interval_seconds)
            .instrument(verify.clone())
            .await
        {
            Ok(verdicts) => {
                for (run, d) in verdicts {
                    self.metrics.observe_apply_verdict(&d);
                    verify.in_scope(|| tracing::info!("apply: verified run {run}: {d:?}"));
                }
            }
            Err(e) => verify.in_scope(|| tracing::warn!("apply: verification failed: {e}")),
        }
        self.next_at = Some(now + interval_ms + jitter(config));
    }
}

/// Milliseconds added to each interval, so replicas of many services do not cycle in
/// step.
fn jitter(config: &Config) -> i64 {
    let s = &config.service;
    if s.jitter_seconds == 0 {
        0
    } else {
        rand::rng().random_range(0..=s.jitter_seconds.saturating_mul(1000)) as i64
    }
}

/// The span of one cycle: `kind` (`scheduled` or `focused`), and `id` once the store
/// gave one. The cycle's stages, sources and groups, and the hand-over after it, are
/// inside it.
fn cycle_span(kind: &'static str) -> tracing::Span {
    tracing::info_span!("cycle", kind, id = tracing::field::Empty)
}

/// Runs one cycle (inside its [`cycle_span`]) and logs and observes it.
async fn cycle_once<S: AlertStore>(
    cx: &cycle::Context<'_, S>,
    metrics: &Metrics,
    what: &str,
    shutdown: Shutdown,
) -> CycleReport {
    tracing::info!("{what} starting");
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
    if report.outcome == "ok" {
        tracing::info!(outcome = %report.outcome, "{msg}");
    } else {
        tracing::warn!(outcome = %report.outcome, "{msg}");
    }
    report
}
