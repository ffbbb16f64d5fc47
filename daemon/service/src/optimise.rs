//! A cycle's optimise stage in bounded memory.
//!
//! The optimiser solves the components in groups
//! ([`adaptd_optimizer::recommend::chunked`]); for each group this stage reads the
//! lookback's summaries from the store and merges them into profiles, and turns the
//! group's recommendations into version actions at once. So a cycle holds one group's
//! profiles and candidates at a time, plus one small action per unchanged component
//! (and the document of each new or refreshed one), instead of every profile and
//! every candidate of every component.

use std::collections::BTreeMap;

use adaptd_config::Resolved;
use adaptd_engine::profile::Profile;
use adaptd_engine::spec::ComponentSpec;
use adaptd_optimizer::recommend::Recommendation;
use adaptd_optimizer::recommend::chunked::{ChunkIo, Grouping, recommend_in_chunks};
use adaptd_store::{Store, StoreError, VersionAction};
use serde_json::Value;
use tokio::runtime::Handle;

use crate::merge::merge;
use crate::packed::{UnpackError, unpack};
use crate::versions::{Previous, decide, new_version};

/// Components solved together. The stage's working set is one group's merged profiles
/// and candidates (each candidate with its predictions per hour and level), so this
/// bounds it, while the per-group overhead (one small MILP each) stays small.
pub const GROUP_SIZE: usize = 16;

/// What the stage decided.
#[derive(Debug, Default)]
pub struct Optimised {
    /// One per component whose version is stored.
    pub actions: Vec<VersionAction>,
    /// Per component: `insert`, `refresh` or `confirm`.
    pub components: Vec<(String, &'static str)>,
    /// Groups solved.
    pub groups: usize,
    /// Passes over the groups.
    pub passes: usize,
    /// Whether the groups broke a shared limit together and everything was solved at
    /// once.
    pub joint: bool,
    /// Whether the groups broke an account limit together and each was solved at its
    /// share of it.
    pub shared: bool,
}

/// What the stage needs from its cycle.
pub struct Job<'a, S> {
    /// The store, for summaries.
    pub store: &'a S,
    /// The resolved config.
    pub resolved: &'a Resolved,
    /// Summaries ending after this minute are merged.
    pub from_minute: i64,
    /// The newest stored version of each component.
    pub latest: &'a BTreeMap<String, Previous>,
    /// Components whose versions are not stored this time (stale, or outside an
    /// alert's focus).
    pub skip: &'a dyn Fn(&str) -> bool,
    /// The inputs recorded with a version, from the component and its window.
    pub inputs: &'a dyn Fn(&str, (i64, i64)) -> Value,
}

impl<S> std::fmt::Debug for Job<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("from_minute", &self.from_minute)
            .finish_non_exhaustive()
    }
}

/// Runs the stage. Blocks the calling thread (it reads the store through `handle`):
/// call it from `block_in_place` or a blocking thread.
pub fn optimise<S: Store>(job: &Job<'_, S>, handle: &Handle) -> Result<Optimised, String> {
    let mut io = Chunks {
        job,
        handle,
        observed: BTreeMap::new(),
        windows: BTreeMap::new(),
        out: Optimised::default(),
        group: 0,
    };
    let r = &job.resolved;
    let chunked = recommend_in_chunks(
        &r.components,
        &r.databases,
        &r.accounts,
        &r.prices,
        &adaptd_ops::pipeline::settings(r),
        Grouping::of(GROUP_SIZE),
        &mut io,
    )
    .map_err(|e| e.to_string())?;
    let mut out = io.out;
    out.groups = chunked.groups;
    out.passes = chunked.passes;
    out.joint = chunked.joint;
    out.shared = chunked.shared;
    Ok(out)
}

struct Chunks<'a, 'j, S> {
    job: &'a Job<'j, S>,
    handle: &'a Handle,
    /// Observed duration quantiles (p50, p95, p99) of each merged profile.
    observed: BTreeMap<String, Option<[f64; 3]>>,
    /// The window each merged profile covers.
    windows: BTreeMap<String, (i64, i64)>,
    out: Optimised,
    /// Groups read so far (passes included), to name each group's span.
    group: usize,
}

/// Why a group's profiles could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored summary does not read.
    #[error("store: a summary of {component} cannot be read: {source}")]
    Summary {
        /// Whose.
        component: String,
        /// Why.
        source: UnpackError,
    },
}

impl<S: Store> ChunkIo for Chunks<'_, '_, S> {
    type Error = LoadError;

    fn profiles(
        &mut self,
        specs: &[ComponentSpec],
    ) -> Result<BTreeMap<String, Profile>, LoadError> {
        self.group += 1;
        let _group = tracing::debug_span!(
            "group",
            group = self.group,
            first = specs.first().map(|s| s.name.as_str())
        )
        .entered();
        let mut profiles = BTreeMap::new();
        for spec in specs {
            let name = spec.name.as_str();
            let rows = self
                .handle
                .block_on(self.job.store.summaries(name, self.job.from_minute))?;
            if rows.is_empty() {
                continue;
            }
            let mut parts = Vec::with_capacity(rows.len());
            for r in &rows {
                parts.push(unpack(&r.profile).map_err(|source| LoadError::Summary {
                    component: name.to_owned(),
                    source,
                })?);
            }
            let lo = rows.iter().map(|r| r.start_minute).min().unwrap_or(0);
            let hi = rows.iter().map(|r| r.end_minute).max().unwrap_or(0);
            drop(rows);
            if let Some(p) = merge(&parts) {
                self.observed.insert(
                    name.to_owned(),
                    p.duration_ms
                        .as_ref()
                        .map(|q| [q.quantile(0.5), q.quantile(0.95), q.quantile(0.99)]),
                );
                self.windows.insert(name.to_owned(), (lo, hi));
                profiles.insert(name.to_owned(), p);
            }
        }
        tracing::debug!(
            components = specs.len(),
            with_telemetry = profiles.len(),
            "group profiles merged"
        );
        Ok(profiles)
    }

    fn take(&mut self, recommendations: Vec<Recommendation>) -> Result<(), LoadError> {
        for r in recommendations {
            if (self.job.skip)(&r.component) {
                continue;
            }
            let window = self.windows.get(&r.component).copied().unwrap_or((0, 0));
            let inputs = (self.job.inputs)(&r.component, window);
            let observed = self.observed.get(&r.component).copied().flatten();
            let new = new_version(&r, &inputs, observed);
            let action = decide(self.job.latest.get(r.component.as_str()), new);
            let kind = match &action {
                VersionAction::Insert { .. } => "insert",
                VersionAction::Refresh { .. } => "refresh",
                VersionAction::Confirm { .. } => "confirm",
            };
            self.out.components.push((r.component.clone(), kind));
            self.out.actions.push(action);
        }
        Ok(())
    }

    fn restart(&mut self) {
        self.out.actions.clear();
        self.out.components.clear();
    }
}
