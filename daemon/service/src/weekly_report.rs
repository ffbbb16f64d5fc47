//! The scheduled report: at each time of `[report] schedule`, the leader brings the
//! period's telemetry up to date and writes the report (files, index, then the
//! webhook), exactly as `adaptd report` does from its archive, then copies the
//! archive to `[report.s3]` when one is configured.
//!
//! The report needs per-minute telemetry, which the store does not keep (it keeps
//! summaries). The report keeps its own rolling window of it beside the archive
//! ([`crate::report_telemetry`]), which the cycles append what they collect to, so a
//! run collects from CloudWatch and Prometheus only the minutes no cycle did (since
//! the last cycle, or since the last run when no cycle ran); the first run (or a new
//! leader without the archive's volume) backfills their `lookback_days`, which covers
//! a report period of up to that many days.
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
use adaptd_ops::report::applied::applied_changes;
use adaptd_ops::report::s3::upload_archive;
use adaptd_ops::report::scheduled::run_once;
use adaptd_store::Store;

use crate::report_telemetry::Window;
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
    window: Arc<Window>,
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
        let next_minute = next
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| (d.as_secs() / 60) as i64);
        let since = next_minute - i64::from(config.report.period_days) * 1440;
        let root = base.join(&config.report.output_dir);
        tracing::info!("scheduled report: bringing the period's telemetry up to date");
        let gathered = window.gather(&sources, since, shutdown.clone()).await;
        if gathered.stopped {
            return;
        }
        tracing::info!(calls = ?gathered.calls, "scheduled report: telemetry collected");
        let telemetry = gathered.telemetry;
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
        // Whatever this run's outcome: earlier reports not yet in the bucket go too.
        if let Some(s3) = &config.report.s3 {
            copy_archive(&root, s3).await;
        }
    }
}

/// Copies the archive at `root` to `s3`, logging what was put and what failed.
async fn copy_archive(root: &std::path::Path, s3: &adaptd_config::S3Section) {
    match upload_archive(root, s3).await {
        Ok(u) if u.failed.is_empty() => tracing::info!(
            "report archive copied to {}: {} file(s) put, {} unchanged",
            u.location,
            u.put.len(),
            u.unchanged
        ),
        Ok(u) => tracing::warn!(
            "report archive copy to {}: {} file(s) put, {} failed (kept locally, tried again at the next report)",
            u.location,
            u.put.len(),
            u.failed.len()
        ),
        Err(e) => tracing::warn!("report archive copy to {} failed: {e}", s3.location()),
    }
}
