//! Config + telemetry → recommendations: the steps every command shares.

use std::collections::BTreeMap;

use adaptd_config::{Config, ConfigErrors, Discovered, Resolved};
use adaptd_engine::profile::{Profile, summarize_in};
use adaptd_engine::spec::ComponentSpec;
use adaptd_engine::telemetry::TelemetrySet;
use adaptd_optimizer::recommend::chunked::{ChunkIo, ChunkedError, Grouping, recommend_in_chunks};
use adaptd_optimizer::recommend::{
    RecommendError, Recommendation, RecommendationSet, Settings, recommend,
};
use adaptd_optimizer::{Method, SolveOptions};

/// What can go wrong between a config and recommendations.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The config is invalid (exit code 2).
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// Telemetry could not be read.
    #[error(transparent)]
    Telemetry(#[from] adaptd_collectors::Error),
    /// The optimiser found no answer.
    #[error(transparent)]
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
                summarize_in(
                    t,
                    spec.model.keep_alive_minutes,
                    spec.model.parallelism,
                    spec.trigger.as_deref() == Some("timer"),
                    spec.timezone,
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

/// Above this many components [`run`] solves them in groups of [`GROUP_SIZE`]
/// ([`recommend_in_chunks`]): the same recommendations within the solver's gap (the
/// groups' choices are proved jointly optimal, or the whole is solved at once when they
/// break a shared limit together), with one group's candidates in memory at a time
/// instead of every component's — about a quarter of a megabyte each on real traffic,
/// gigabytes for a fleet of ten thousand.
pub const GROUPED_ABOVE: usize = 2_000;

/// Components per group when [`run`] solves in groups: enough that a group keeps
/// every core busy and its own solve stays a small part of its time.
pub const GROUP_SIZE: usize = 500;

/// Resolves, summarises and recommends.
pub fn run(config: &Config, telemetry: &TelemetrySet) -> Result<Planned, PipelineError> {
    run_grouped(config, telemetry, GROUPED_ABOVE, GROUP_SIZE)
}

/// [`run`], grouping above `grouped_above` components in groups of `group_size`.
fn run_grouped(
    config: &Config,
    telemetry: &TelemetrySet,
    grouped_above: usize,
    group_size: usize,
) -> Result<Planned, PipelineError> {
    let resolved = config.resolve(&discovered(telemetry))?;
    let profiles = profiles(&resolved, telemetry);
    let mut recommendations = if resolved.components.len() > grouped_above {
        in_groups(&resolved, &profiles, group_size)?
    } else {
        recommend(
            &resolved.components,
            &profiles,
            &resolved.databases,
            &resolved.accounts,
            &resolved.prices,
            &settings(&resolved),
        )?
    };
    recommendations
        .warnings
        .extend(resolved.warnings.iter().cloned());
    Ok(Planned {
        resolved,
        profiles,
        recommendations,
    })
}

/// The profiles a group asks for, and the recommendations the groups hand back.
struct Grouped<'a> {
    profiles: &'a BTreeMap<String, Profile>,
    taken: Vec<Recommendation>,
}

impl ChunkIo for Grouped<'_> {
    type Error = std::convert::Infallible;
    fn profiles(
        &mut self,
        specs: &[ComponentSpec],
    ) -> Result<BTreeMap<String, Profile>, Self::Error> {
        Ok(specs
            .iter()
            .filter_map(|s| Some((s.name.clone(), self.profiles.get(&s.name)?.clone())))
            .collect())
    }
    fn take(&mut self, recommendations: Vec<Recommendation>) -> Result<(), Self::Error> {
        self.taken.extend(recommendations);
        Ok(())
    }
    fn restart(&mut self) {
        self.taken.clear();
    }
}

/// Every component's recommendation, solved in groups of `group_size`.
fn in_groups(
    resolved: &Resolved,
    profiles: &BTreeMap<String, Profile>,
    group_size: usize,
) -> Result<RecommendationSet, RecommendError> {
    let mut io = Grouped {
        profiles,
        taken: Vec::new(),
    };
    let chunked = recommend_in_chunks(
        &resolved.components,
        &resolved.databases,
        &resolved.accounts,
        &resolved.prices,
        &settings(resolved),
        Grouping::of(group_size),
        &mut io,
    )
    .map_err(|e| match e {
        ChunkedError::Recommend(e) => e,
        ChunkedError::Io(never) => match never {},
    })?;
    let mut components = io.taken;
    components.sort_by(|a, b| a.component.cmp(&b.component));
    Ok(RecommendationSet {
        components,
        ..chunked.set
    })
}

#[cfg(test)]
mod tests;
