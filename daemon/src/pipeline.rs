//! Config + telemetry → recommendations: the steps every command shares.

use std::collections::BTreeMap;

use adaptd_config::{Config, ConfigErrors, Discovered, Resolved};
use adaptd_engine::profile::{Profile, summarize_with};
use adaptd_engine::telemetry::TelemetrySet;
use adaptd_optimizer::recommend::{RecommendError, RecommendationSet, Settings, recommend};
use adaptd_optimizer::{Method, SolveOptions};

/// What can go wrong between a config and recommendations.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The config is invalid (exit code 2).
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// Telemetry could not be read.
    #[error("{0}")]
    Telemetry(#[from] adaptd_collectors::Error),
    /// The optimiser found no answer.
    #[error("{0}")]
    Recommend(#[from] RecommendError),
}

/// The components telemetry describes, as the config's resolver wants them.
pub fn discovered(telemetry: &TelemetrySet) -> Vec<Discovered> {
    telemetry
        .components
        .values()
        .map(|t| Discovered {
            name: t.name.clone(),
            attributes: t.attributes.clone(),
        })
        .collect()
}

/// Summarises the telemetry of every resolved component with its own model parameters.
pub fn profiles(resolved: &Resolved, telemetry: &TelemetrySet) -> BTreeMap<String, Profile> {
    resolved
        .components
        .iter()
        .filter_map(|spec| {
            let t = telemetry.components.get(&spec.name)?;
            Some((
                spec.name.clone(),
                summarize_with(
                    t,
                    spec.model.keep_alive_minutes,
                    spec.model.parallelism,
                    spec.trigger.as_deref() == Some("timer"),
                ),
            ))
        })
        .collect()
}

/// Optimiser settings from the config.
pub fn settings(resolved: &Resolved) -> Settings {
    let o = &resolved.optimizer;
    Settings {
        solve: SolveOptions {
            mip_gap: o.mip_gap,
            time_limit: std::time::Duration::from_secs_f64(o.time_limit_seconds),
            method: match o.method {
                adaptd_config::OptimizerMethod::Auto => Method::Auto,
                adaptd_config::OptimizerMethod::Decomposed => Method::Decomposed,
                adaptd_config::OptimizerMethod::Monolithic => Method::Monolithic,
            },
        },
        budget_usd_per_month: o.budget_usd_per_month,
    }
}

/// Everything a command may want from one run.
#[derive(Debug)]
pub struct Planned {
    /// The resolved config.
    pub resolved: Resolved,
    /// Telemetry summaries by component.
    pub profiles: BTreeMap<String, Profile>,
    /// The recommendations.
    pub recommendations: RecommendationSet,
}

/// Resolves, summarises and recommends.
pub fn run(config: &Config, telemetry: &TelemetrySet) -> Result<Planned, PipelineError> {
    let resolved = config.resolve(&discovered(telemetry))?;
    let profiles = profiles(&resolved, telemetry);
    let mut recommendations = recommend(
        &resolved.components,
        &profiles,
        &resolved.databases,
        &resolved.accounts,
        &resolved.prices,
        &settings(&resolved),
    )?;
    recommendations
        .warnings
        .extend(resolved.warnings.iter().cloned());
    Ok(Planned {
        resolved,
        profiles,
        recommendations,
    })
}
