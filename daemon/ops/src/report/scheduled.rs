//! One scheduled run, as the service does it: the period ending at the run, applied
//! changes from the caller's store, last period's recommendations from the archive,
//! files into `[report] output_dir`, then the webhook.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use adaptd_config::Config;
use adaptd_engine::telemetry::{Minute, TelemetrySet};
use adaptd_optimizer::recommend::RecommendationSet;
use adaptd_report::{AppliedChange, build};

use super::deliver::{Delivered, Target, WebhookSettings, WriteError, deliver};
use super::{Options, PrepareError, prepare};

/// Name of the recommendation document kept beside each report, for the next period.
pub const RECOMMENDATIONS: &str = "recommendations.json";

/// Why a scheduled run produced no report.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The inputs could not be gathered.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// The files could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The recommendations could not be kept for next period.
    #[error("cannot write {path}: {message}")]
    Keep {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// The recommendations of the latest period before `period_id` in the archive at `root`,
/// if any can be read.
pub fn previous_from_archive(root: &Path, period_id: &str) -> Option<RecommendationSet> {
    let mut ids: Vec<String> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|id| id.as_str() < period_id && root.join(id).join(RECOMMENDATIONS).is_file())
        .collect();
    ids.sort();
    let text = std::fs::read_to_string(root.join(ids.last()?).join(RECOMMENDATIONS)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Builds and delivers the report for the period ending at `at`. Paths in the config
/// are relative to `config_dir`. A webhook failure is in the result, not an error: the
/// files are written either way.
pub fn run_once(
    config: &Config,
    config_dir: &Path,
    telemetry: &TelemetrySet,
    at: SystemTime,
    applied: Vec<AppliedChange>,
    sleep: &mut dyn FnMut(Duration),
) -> Result<Delivered, RunError> {
    let settings = &config.report;
    let minute = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 60) as Minute);
    let root = config_dir.join(&settings.output_dir);
    let period_id = adaptd_report::text::date(minute);
    let options = Options {
        title: "adaptd weekly report".to_owned(),
        period_minutes: i64::from(settings.period_days) * 1440,
        end_minute: Some(minute),
        generated_at_minute: minute,
        frontier_components: settings.frontier_components as usize,
        applied,
        previous: previous_from_archive(&root, &period_id),
        params: Default::default(),
    };
    let inputs = prepare(config, telemetry, &options)?;
    let report = build(&inputs);
    let webhook = settings.webhook.as_ref().map(WebhookSettings::from);
    let delivered = deliver(
        &report,
        &settings.formats,
        Target::Archive(&root),
        settings.link_base_url.as_deref(),
        webhook.as_ref(),
        sleep,
    )?;
    keep_recommendations(&delivered.dir, &inputs.recommendations)?;
    Ok(delivered)
}

/// Writes `recommendations.json` beside a report (next period's `--previous`).
pub fn keep_recommendations(dir: &Path, set: &RecommendationSet) -> Result<PathBuf, RunError> {
    let path = dir.join(RECOMMENDATIONS);
    let keep = |message: String| RunError::Keep {
        path: path.clone(),
        message,
    };
    let text = serde_json::to_string_pretty(set).map_err(|e| keep(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(|e| keep(e.to_string()))?;
    Ok(path)
}
