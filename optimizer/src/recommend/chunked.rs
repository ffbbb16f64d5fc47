//! Recommendations for many components in bounded memory.
//!
//! The joint problem of [`super::recommend`] holds every component's profile, every
//! candidate's hourly predictions and every alternative at once: about 0.7 MB per busy
//! component, so 10,000 components need gigabytes. Yet components interact only
//! through the shared limits (account concurrency per hour, database connections) and
//! through the account's duration tier. So [`recommend_in_chunks`] solves groups of
//! components one after the other, asking the caller for each group's profiles and
//! handing each group's recommendations back at once, and then proves that the parts
//! make an optimum of the whole:
//!
//! - components that share a database without a proxy are always in one group, so the
//!   database rows (and proxy switches) are exact within it;
//! - each group is solved as if it had each account's whole limit; that is a
//!   relaxation of the joint problem, so if the groups' choices together fit every
//!   account-hour limit they are optimal for the joint problem too;
//! - each group is priced at the duration tier of the account-wide usage of what is
//!   deployed, summed over the groups before any is solved; should the groups' own
//!   sum land in another tier, every group is solved again at the right one (usage
//!   does not depend on price, so once is enough).
//!
//! When the choices together break an account limit the groups cannot be reconciled
//! piecewise, and the components are solved jointly after all, at the memory cost of
//! the joint problem. That is reported in [`Chunked::joint`].

use std::collections::{BTreeMap, BTreeSet};

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::profile::Profile;
use adaptd_engine::spec::{AccountSpec, Architecture, ComponentSpec, DatabaseSpec, Deployment};

use super::build::{DurationTotals, deployed_totals};
use super::{
    RecommendError, Recommendation, RecommendationSet, Settings, SharedLimit, SolverReport,
    Summary, recommend_at,
};

/// Where the groups' profiles come from and where their recommendations go: the
/// caller's I/O (a store), kept out of the optimiser.
pub trait ChunkIo {
    /// Why a group's profiles could not be had.
    type Error;
    /// The profiles of `specs` (components without one have no telemetry).
    fn profiles(
        &mut self,
        specs: &[ComponentSpec],
    ) -> Result<BTreeMap<String, Profile>, Self::Error>;
    /// One group's recommendations, final unless [`ChunkIo::restart`] follows.
    fn take(&mut self, recommendations: Vec<Recommendation>) -> Result<(), Self::Error>;
    /// Forget everything taken so far: the components are solved again.
    fn restart(&mut self);
}

/// Why [`recommend_in_chunks`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ChunkedError<E> {
    /// The optimiser failed.
    #[error(transparent)]
    Recommend(#[from] RecommendError),
    /// The caller's I/O failed.
    #[error("{0}")]
    Io(E),
}

/// The whole run's figures; the components went to [`ChunkIo::take`], so
/// `set.components` is empty.
#[derive(Debug)]
pub struct Chunked {
    /// Summary, companions, shared limits, solver figures and warnings of the whole.
    pub set: RecommendationSet,
    /// Groups solved in the final pass.
    pub groups: usize,
    /// Passes over the groups (2 when the duration tier had to be corrected).
    pub passes: usize,
    /// Whether the groups broke a shared limit together and the components were solved
    /// jointly instead.
    pub joint: bool,
}

/// Recommends for `specs` in groups of about `group_size` components (see the module
/// documentation); the same recommendations as [`super::recommend`], within its gap.
pub fn recommend_in_chunks<C: ChunkIo>(
    specs: &[ComponentSpec],
    databases: &[DatabaseSpec],
    accounts: &[AccountSpec],
    prices: &PriceSheet,
    settings: &Settings,
    group_size: usize,
    io: &mut C,
) -> Result<Chunked, ChunkedError<C::Error>> {
    let groups = groups(specs, databases, group_size.max(1));
    if groups.len() <= 1 {
        return joint(specs, databases, accounts, prices, settings, io, 1);
    }
    let per_group = Settings {
        budget_usd_per_month: None,
        ..settings.clone()
    };
    // What is deployed sets the duration tier and no solve changes it: learn it group
    // by group first, so that the groups are priced at the whole's tier on the first
    // pass. Reading the profiles twice costs far less than solving every group twice,
    // which a large fleet past the first tier otherwise did.
    let mut assumed = DurationTotals::new();
    for group in &groups {
        let group_specs: Vec<ComponentSpec> = group.iter().map(|&i| specs[i].clone()).collect();
        let profiles = io.profiles(&group_specs).map_err(ChunkedError::Io)?;
        for (k, v) in deployed_totals(&group_specs, &profiles, prices) {
            *assumed.entry(k).or_default() += v;
        }
    }
    for pass in 1..=2 {
        let mut parts = Vec::with_capacity(groups.len());
        let mut used = DurationTotals::new();
        let mut usage: BTreeMap<String, [f64; 24]> = BTreeMap::new();
        for group in &groups {
            let group_specs: Vec<ComponentSpec> = group.iter().map(|&i| specs[i].clone()).collect();
            let profiles = io.profiles(&group_specs).map_err(ChunkedError::Io)?;
            let (mut set, group_used) = recommend_at(
                &group_specs,
                &profiles,
                databases,
                accounts,
                prices,
                &per_group,
                Some(&assumed),
            )?;
            drop(profiles);
            for (k, v) in group_used {
                *used.entry(k).or_default() += v;
            }
            let by_name: BTreeMap<&str, &ComponentSpec> =
                group_specs.iter().map(|s| (s.name.as_str(), s)).collect();
            for r in &set.components {
                let Some(spec) = by_name.get(r.component.as_str()) else {
                    continue;
                };
                let deployed = r
                    .recommended
                    .as_ref()
                    .map_or(&spec.current, |p| &p.deployment);
                if let Deployment::Lambda(l) = deployed {
                    let hours = usage.entry(spec.account.clone()).or_insert([0.0; 24]);
                    for (h, u) in hours.iter_mut().enumerate() {
                        *u += f64::from(l.reserved_concurrency.unwrap_or(l.provisioned.at(h)));
                    }
                }
            }
            // Usage only grows group by group: once the groups break a limit together,
            // the rest need not be solved apart to know the whole must be solved at once.
            if over(&usage, accounts) {
                io.restart();
                return joint(specs, databases, accounts, prices, settings, io, pass + 1);
            }
            io.take(std::mem::take(&mut set.components))
                .map_err(ChunkedError::Io)?;
            parts.push(set);
        }
        if pass == 1 && tier_moved(prices, &assumed, &used) {
            io.restart();
            assumed = used;
            continue;
        }
        let set = merge(parts, &usage, accounts);
        if let Some(budget) = settings.budget_usd_per_month
            && set.summary.recommended_usd_per_month > budget
        {
            return Err(RecommendError::OverBudget {
                minimum: set.summary.recommended_usd_per_month,
                budget,
            }
            .into());
        }
        return Ok(Chunked {
            set,
            groups: groups.len(),
            passes: pass,
            joint: false,
        });
    }
    unreachable!("the second pass always returns")
}

fn joint<C: ChunkIo>(
    specs: &[ComponentSpec],
    databases: &[DatabaseSpec],
    accounts: &[AccountSpec],
    prices: &PriceSheet,
    settings: &Settings,
    io: &mut C,
    passes: usize,
) -> Result<Chunked, ChunkedError<C::Error>> {
    let profiles = io.profiles(specs).map_err(ChunkedError::Io)?;
    let (mut set, _) = recommend_at(
        specs, &profiles, databases, accounts, prices, settings, None,
    )?;
    drop(profiles);
    io.take(std::mem::take(&mut set.components))
        .map_err(ChunkedError::Io)?;
    Ok(Chunked {
        set,
        groups: 1,
        passes,
        joint: true,
    })
}

/// Whether the summed hourly usage breaks an account's limit in some hour.
fn over(usage: &BTreeMap<String, [f64; 24]>, accounts: &[AccountSpec]) -> bool {
    usage.iter().any(|(account, hours)| {
        let limit = account_limit(accounts, account);
        hours.iter().any(|&u| u > limit + 1e-6)
    })
}

/// The account's reservable concurrency, as the joint problem's rows have it.
fn account_limit(accounts: &[AccountSpec], name: &str) -> f64 {
    f64::from(accounts.iter().find(|a| a.name == name).map_or(
        1000 - AccountSpec::UNRESERVED_MINIMUM,
        AccountSpec::reservable,
    ))
}

/// Indices of `specs` in groups of about `size`, in spec order; components that share
/// a database without a proxy are never split.
fn groups(specs: &[ComponentSpec], databases: &[DatabaseSpec], size: usize) -> Vec<Vec<usize>> {
    let unproxied: BTreeSet<&str> = databases
        .iter()
        .filter(|d| !d.has_proxy)
        .map(|d| d.name.as_str())
        .collect();
    // Union-find over components through their unproxied databases.
    let mut parent: Vec<usize> = (0..specs.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut first_user: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, s) in specs.iter().enumerate() {
        for d in s
            .databases
            .iter()
            .filter(|d| unproxied.contains(d.as_str()))
        {
            let j = *first_user.entry(d.as_str()).or_insert(i);
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut clusters: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..specs.len() {
        let r = root(&mut parent, i);
        clusters.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    for cluster in clusters.into_values() {
        match out.last_mut() {
            Some(g) if g.len() + cluster.len() <= size => g.extend(cluster),
            _ => out.push(cluster),
        }
    }
    out
}

fn marginal(prices: &PriceSheet, arch: Architecture, total: f64) -> f64 {
    let tiers = prices.lambda.duration_tiers(arch);
    tiers
        .iter()
        .find(|t| t.up_to_gb_seconds.is_none_or(|u| total < u))
        .map_or(tiers[0].usd_per_gb_second, |t| t.usd_per_gb_second)
}

/// Whether the usage summed over the groups prices duration differently from what was
/// assumed.
fn tier_moved(prices: &PriceSheet, assumed: &DurationTotals, used: &DurationTotals) -> bool {
    assumed.keys().chain(used.keys()).any(|k| {
        let a = assumed.get(k).copied().unwrap_or(0.0);
        let u = used.get(k).copied().unwrap_or(0.0);
        marginal(prices, k.1, a).to_bits() != marginal(prices, k.1, u).to_bits()
    })
}

/// One set from the groups' sets (without components).
fn merge(
    parts: Vec<RecommendationSet>,
    usage: &BTreeMap<String, [f64; 24]>,
    account_specs: &[AccountSpec],
) -> RecommendationSet {
    let mut summary = Summary::default();
    let mut companions = Vec::new();
    let mut accounts: BTreeMap<String, SharedLimit> = BTreeMap::new();
    let mut databases = Vec::new();
    let mut solver = SolverReport::default();
    let mut warnings: Vec<String> = Vec::new();
    let mut schema_version = super::SCHEMA_VERSION;
    for (n, p) in parts.into_iter().enumerate() {
        schema_version = p.schema_version;
        let s = &p.summary;
        summary.components += s.components;
        summary.changes += s.changes;
        summary.current_usd_per_month += s.current_usd_per_month;
        summary.recommended_usd_per_month += s.recommended_usd_per_month;
        summary.available_savings_usd_per_month += s.available_savings_usd_per_month;
        summary.slo_breaches_current += s.slo_breaches_current;
        summary.slo_infeasible += s.slo_infeasible;
        summary.no_data += s.no_data;
        companions.extend(p.companions);
        for l in p.shared_limits {
            if l.kind != "account_concurrency" {
                databases.push(l);
                continue;
            }
            // Each group's capacity is the limit less what its own left-out
            // components hold; the whole's is the limit less all of it.
            let limit = account_limit(account_specs, &l.name);
            match accounts.get_mut(&l.name) {
                None => {
                    accounts.insert(l.name.clone(), l);
                }
                Some(m) => {
                    m.capacity -= limit - l.capacity;
                    m.binding_hours.extend(l.binding_hours);
                    m.binding_hours.sort_unstable();
                    m.binding_hours.dedup();
                    m.shadow_price_usd = m.shadow_price_usd.max(l.shadow_price_usd);
                    if m.shortfall.is_none() {
                        m.shortfall = l.shortfall;
                    }
                }
            }
        }
        let r = &p.solver;
        if n == 0 {
            solver.method.clone_from(&r.method);
        } else if solver.method != r.method {
            solver.method = "mixed".into();
        }
        solver.gap = solver.gap.max(r.gap);
        solver.objective_usd_per_month += r.objective_usd_per_month;
        solver.lower_bound_usd_per_month += r.lower_bound_usd_per_month;
        solver.models_ms += r.models_ms;
        solver.solve_ms += r.solve_ms;
        solver.explain_ms += r.explain_ms;
        solver.total_ms += r.total_ms;
        solver.items += r.items;
        solver.bases += r.bases;
        solver.alternatives += r.alternatives;
        for w in p.warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    summary.saving_usd_per_month =
        summary.current_usd_per_month - summary.recommended_usd_per_month;
    for (name, l) in &mut accounts {
        if let Some(hours) = usage.get(name) {
            l.peak_usage = hours.iter().copied().fold(0.0, f64::max);
        }
    }
    let mut shared_limits: Vec<SharedLimit> = accounts.into_values().collect();
    shared_limits.extend(databases);
    RecommendationSet {
        schema_version,
        summary,
        components: Vec::new(),
        companions,
        shared_limits,
        solver,
        warnings,
    }
}
