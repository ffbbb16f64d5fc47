//! The weekly report's imperative shell: gather the inputs (cut the telemetry to the
//! period, recommend, measure applied changes by replay, compute frontiers), then
//! deliver (files first, then the webhook). Rendering is `adaptd-report`'s.
//!
//! `adaptd report` and the long-lived service share [`prepare`] and [`deliver`]. The
//! service runs [`schedule::run`] (sleep until the config's cron expression fires) with
//! [`scheduled::run_once`] as the job.

pub mod applied;
pub mod deliver;
pub mod realised;
pub mod s3;
pub mod schedule;
pub mod scheduled;
pub mod window;

use std::collections::BTreeMap;

use adaptd_config::Config;
use adaptd_engine::telemetry::{Minute, TelemetrySet};
use adaptd_optimizer::recommend::frontier::frontier;
use adaptd_optimizer::recommend::{RecommendationSet, Status};
use adaptd_replay::Params;
use adaptd_report::{AppliedChange, DataQualityWarning, Inputs, Observed, Period};

use crate::pipeline::{PipelineError, run};

pub use adaptd_report::{CONTENT_SECURITY_POLICY, MANIFEST, Manifest};
pub use deliver::{
    Delivered, DeliveryError, WebhookSettings, archived, deliver, media_type, post_webhook,
};

/// What to report on, beyond the config and the telemetry.
#[derive(Clone, Debug)]
pub struct Options {
    /// Shown at the top.
    pub title: String,
    /// Length of the period (minutes).
    pub period_minutes: i64,
    /// End of the period (exclusive); `None`: where the telemetry ends.
    pub end_minute: Option<Minute>,
    /// When the report is made (for its header).
    pub generated_at_minute: Minute,
    /// Components whose frontier is computed, largest saving first.
    pub frontier_components: usize,
    /// Changes applied, from the apply feature's store or `--applied`.
    pub applied: Vec<AppliedChange>,
    /// The previous period's recommendations.
    pub previous: Option<RecommendationSet>,
    /// Replay parameters for realised savings (seed).
    pub params: Params,
}

/// Why the inputs could not be gathered.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// No telemetry at all, so no period.
    #[error("the telemetry has no data, so there is no period to report on")]
    NoTelemetry,
    /// No telemetry in the period.
    #[error(
        "no telemetry between {from} and {to} (the period); the telemetry ends at {telemetry_end}"
    )]
    EmptyPeriod {
        /// Period start (RFC 3339).
        from: String,
        /// Period end.
        to: String,
        /// End of the telemetry.
        telemetry_end: String,
    },
    /// The recommendation pipeline failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// Points of each frontier: enough for the staircase, few enough to solve in seconds.
const FRONTIER_POINTS: usize = 10;

/// Gathers everything the report shows.
pub fn prepare(
    config: &Config,
    telemetry: &TelemetrySet,
    options: &Options,
) -> Result<Inputs, PrepareError> {
    let telemetry_end = window::end(telemetry).ok_or(PrepareError::NoTelemetry)?;
    let end = options.end_minute.unwrap_or(telemetry_end);
    let period = Period {
        start_minute: end - options.period_minutes,
        end_minute: end,
    };
    let sliced = window::slice(telemetry, period.start_minute, period.end_minute);
    if sliced.is_empty() {
        return Err(PrepareError::EmptyPeriod {
            from: adaptd_report::text::rfc3339(period.start_minute),
            to: adaptd_report::text::rfc3339(period.end_minute),
            telemetry_end: adaptd_report::text::rfc3339(telemetry_end),
        });
    }
    let planned = run(config, &sliced)?;
    let resolved = &planned.resolved;

    let observed: BTreeMap<String, Observed> = planned
        .profiles
        .iter()
        .map(|(name, p)| {
            let obs = Observed {
                invocations: p.invocations,
                p99_ms: p.duration_ms.as_ref().map(|q| q.quantile(0.99)),
                cold_start_rate: p
                    .cold_starts
                    .filter(|_| p.invocations > 0.0)
                    .map(|c| c / p.invocations),
                hourly_p99_ms: p
                    .hours
                    .iter()
                    .map(|h| {
                        h.duration_ms
                            .as_ref()
                            .filter(|_| h.invocations > 0.0)
                            .map(|q| q.quantile(0.99))
                    })
                    .collect(),
            };
            (name.clone(), obs)
        })
        .collect();

    let mut ranked: Vec<_> = planned
        .recommendations
        .components
        .iter()
        .filter(|r| matches!(r.status, Status::Change | Status::SloInfeasible))
        .collect();
    ranked.sort_by(|a, b| b.saving_usd_per_month.total_cmp(&a.saving_usd_per_month));
    let frontiers = ranked
        .iter()
        .take(options.frontier_components)
        .filter_map(|r| {
            let spec = resolved.components.iter().find(|s| s.name == r.component)?;
            let profile = planned.profiles.get(&r.component)?;
            let points = frontier(spec, profile, &resolved.prices, FRONTIER_POINTS);
            (!points.is_empty()).then(|| (r.component.clone(), points))
        })
        .collect();

    let changes = options
        .applied
        .iter()
        .filter_map(|c| {
            let subject = realised::Subject {
                spec: resolved.components.iter().find(|s| s.name == c.component),
                telemetry: sliced.components.get(&c.component),
                profile: planned.profiles.get(&c.component),
            };
            realised::outcome(c, &period, &subject, &resolved.prices, &options.params)
        })
        .collect();

    let mut data_quality = Vec::new();
    let first = telemetry
        .components
        .values()
        .filter_map(|c| c.covered())
        .map(|w| w.0)
        .min()
        .unwrap_or(period.start_minute);
    if first > period.start_minute || telemetry_end < end {
        let have = (telemetry_end.min(end) - first.max(period.start_minute)) as f64 / 1440.0;
        data_quality.push(DataQualityWarning {
            component: None,
            message: format!(
                "telemetry covers {have:.1} of the period's {:.1} days; savings are extrapolated from what there is",
                period.days()
            ),
        });
    }
    for (name, p) in &planned.profiles {
        for w in &p.warnings {
            data_quality.push(DataQualityWarning {
                component: Some(name.clone()),
                message: w.clone(),
            });
        }
    }
    for spec in &resolved.components {
        if !sliced.components.contains_key(&spec.name) {
            data_quality.push(DataQualityWarning {
                component: Some(spec.name.clone()),
                message: "configured but absent from the period's telemetry".to_owned(),
            });
        }
    }

    Ok(Inputs {
        title: options.title.clone(),
        period,
        generated_at_minute: options.generated_at_minute,
        recommendations: planned.recommendations,
        previous: options.previous.clone(),
        observed,
        frontiers,
        changes,
        data_quality,
    })
}

/// The current time as a minute since the Unix epoch.
pub fn now_minute() -> Minute {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 60) as Minute)
}
