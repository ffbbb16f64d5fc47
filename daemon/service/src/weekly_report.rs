//! The scheduled report: at each time of `[report] schedule`, the leader collects the
//! period's telemetry afresh from every source and writes the report (files, index,
//! then the webhook), exactly as `adaptd report` does from its archive.
//!
//! The report needs per-minute telemetry, which the store does not keep (it keeps
//! summaries), so each run collects from the sources with no incremental state: a
//! file is read whole; CloudWatch and Prometheus backfill their `lookback_days`,
//! which covers a report period of up to that many days. Once a week this costs a
//! backfill's worth of GetMetricData, the same as a first start.
//!
//! The changes applied through the store (approved recommendations the apply feature
//! executed, and their rollbacks) are the report's applied changes, so its realised
//! savings are filled in as `adaptd report --applied` fills them from a file.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use adaptd_collectors::shutdown::Shutdown;
use adaptd_config::Config;
use adaptd_config::next_run_after;
use adaptd_engine::telemetry::TelemetrySet;
use adaptd_ops::report::applied::applied_changes;
use adaptd_ops::report::scheduled::run_once;
use adaptd_store::Store;

use crate::sleep_or_stop;
use crate::sources::Source;

/// Runs until shutdown: sleeps to the next scheduled time, then, if this replica
/// leads, builds and delivers the report. A failed run is logged and the next one
/// is awaited; nothing of an earlier report is lost.
pub async fn reports<S: Store>(
    config: Arc<Config>,
    base: PathBuf,
    sources: Arc<Vec<Source>>,
    store: Arc<S>,
    leader: Arc<AtomicBool>,
    mut shutdown: Shutdown,
) {
    let cron = match config.report.cron() {
        Ok(c) => c,
        Err(e) => {
            // Validated when the config was loaded; kept as a log line, not a panic.
            tracing::error!("report schedule unusable, no reports: {e}");
            return;
        }
    };
    loop {
        let now = SystemTime::now();
        let Some(next) = next_run_after(&cron, now) else {
            tracing::warn!("report schedule `{}` never fires", config.report.schedule);
            return;
        };
        let wait = next.duration_since(now).unwrap_or_default();
        if !sleep_or_stop(wait, &mut shutdown).await {
            return;
        }
        if !leader.load(Ordering::SeqCst) {
            continue;
        }
        tracing::info!("scheduled report: collecting the period's telemetry");
        let mut telemetry = TelemetrySet::default();
        for source in sources.iter() {
            let c = source.collect(None, shutdown.clone()).await;
            for e in &c.errors {
                tracing::warn!("scheduled report: source {}: {}", c.source, e.message);
            }
            if c.stopped {
                return;
            }
            telemetry.sources.push(c.source.to_owned());
            for (name, t) in c.telemetry.components {
                // A component seen by two sources keeps the first source's series.
                telemetry.components.entry(name).or_insert(t);
            }
        }
        let next_minute = next
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| (d.as_secs() / 60) as i64);
        let since = next_minute - i64::from(config.report.period_days) * 1440;
        let applied = match applied_changes(store.as_ref(), since).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(
                    "scheduled report: applied changes unreadable ({e}); realised savings left out"
                );
                Vec::new()
            }
        };
        let (cfg, dir) = (config.clone(), base.clone());
        let done = tokio::task::spawn_blocking(move || {
            run_once(&cfg, &dir, &telemetry, next, applied, &mut |d: Duration| {
                std::thread::sleep(d);
            })
        })
        .await;
        match done {
            Ok(Ok(d)) => {
                let webhook = match &d.webhook {
                    None => "no webhook configured".to_owned(),
                    Some(Ok(attempts)) => format!("webhook delivered ({attempts} attempt(s))"),
                    Some(Err(e)) => format!("webhook failed: {e}"),
                };
                tracing::info!("scheduled report written to {}; {webhook}", d.dir.display());
            }
            Ok(Err(e)) => tracing::warn!("scheduled report failed: {e}"),
            Err(e) => tracing::warn!("scheduled report task failed: {e}"),
        }
    }
}
