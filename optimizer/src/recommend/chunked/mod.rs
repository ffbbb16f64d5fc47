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
//! When the choices together break an account limit, the groups cannot be reconciled
//! piecewise. A fleet of up to [`Grouping::joint_up_to`] components is then solved
//! jointly after all, at the memory cost of the joint problem ([`Chunked::joint`]). A
//! larger one chooses across the fleet which SLOs give way, shares each account's
//! limit out among the groups (see [`share`]) and solves every group again within its
//! share ([`Chunked::shared`]): the plan fits the limits, in memory bounded by a
//! group, but it is not proven the joint optimum; the quota request is one that
//! restores every SLO (see [`merge`]), and the quota at which the limit stops binding
//! is priced from what the groups asked with the whole limit (see [`share`]).

mod groups;
mod merge;
mod share;

use std::collections::{BTreeMap, BTreeSet};

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::profile::Profile;
use adaptd_engine::spec::{AccountSpec, Architecture, ComponentSpec, DatabaseSpec};

use self::groups::groups;
use self::merge::{Solved, merge, retell};
use self::share::Asks;
use super::build::{AccountHours, DurationTotals, Whole, deployed_totals, quota, reservable};
use super::explain::hour_ranges;
use super::limits;
use super::{
    Part, RecommendError, Recommendation, RecommendationSet, Settings, Shortfall, gap_warning,
    recommend_at,
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
    /// Recommendations, final unless [`ChunkIo::restart`] follows.
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

/// How [`recommend_in_chunks`] groups the components.
#[derive(Debug, Clone, Copy)]
pub struct Grouping {
    /// Components per group (about: the users of a database without a proxy stay
    /// together).
    pub size: usize,
    /// Fleets up to this many components are solved jointly when their groups break
    /// an account limit together; larger ones share the limit out among the groups.
    pub joint_up_to: usize,
}

impl Grouping {
    /// Groups of `size`, solved jointly up to [`JOINT_UP_TO`] components.
    pub fn of(size: usize) -> Self {
        Grouping {
            size,
            joint_up_to: JOINT_UP_TO,
        }
    }
}

/// Up to this many components, the joint problem of a fleet whose groups break an
/// account limit together fits in a few hundred megabytes and is solved in seconds;
/// it is exact, so it is preferred to sharing the limit out.
pub const JOINT_UP_TO: usize = 2_000;

/// The whole run's figures; the components went to [`ChunkIo::take`], so
/// `set.components` is empty.
#[derive(Debug)]
pub struct Chunked {
    /// Summary, companions, shared limits, solver figures and warnings of the whole.
    pub set: RecommendationSet,
    /// Groups solved in the final pass.
    pub groups: usize,
    /// Passes over the groups (more when the duration tier had to be corrected or an
    /// account's limit shared out).
    pub passes: usize,
    /// Whether the groups broke a shared limit together and the components were solved
    /// jointly instead.
    pub joint: bool,
    /// Whether the groups broke an account limit together and each was solved at its
    /// share of the limit.
    pub shared: bool,
}

/// Recommends for `specs` in groups (see the module documentation); the same
/// recommendations as [`super::recommend`], within its gap, unless an account's limit
/// had to be shared out ([`Chunked::shared`]).
pub fn recommend_in_chunks<C: ChunkIo>(
    specs: &[ComponentSpec],
    databases: &[DatabaseSpec],
    accounts: &[AccountSpec],
    prices: &PriceSheet,
    settings: &Settings,
    grouping: Grouping,
    io: &mut C,
) -> Result<Chunked, ChunkedError<C::Error>> {
    let groups = groups(specs, databases, grouping.size.max(1));
    if groups.len() <= 1 {
        return joint(specs, databases, accounts, prices, settings, io, 1);
    }
    let fleet = Fleet {
        specs,
        databases,
        accounts,
        prices,
        settings: Settings {
            budget_usd_per_month: None,
            ..settings.clone()
        },
        groups,
    };
    // What is deployed sets the duration tier and no solve changes it: learn it group
    // by group first, so that the groups are priced at the whole's tier on the first
    // pass. Reading the profiles twice costs far less than solving every group twice,
    // which a large fleet past the first tier otherwise did.
    let mut assumed = DurationTotals::new();
    for group in &fleet.groups {
        let group_specs = fleet.specs_of(group);
        let profiles = io.profiles(&group_specs).map_err(ChunkedError::Io)?;
        add_totals(
            &mut assumed,
            deployed_totals(&group_specs, &profiles, prices),
        );
    }
    let share_out = specs.len() > grouping.joint_up_to;
    let mut passes = 0;
    let demand = loop {
        passes += 1;
        match fleet.pass(&assumed, share_out, io)? {
            Pass::Fits { parts, usage, used } => {
                if passes == 1 && tier_moved(prices, &assumed, &used) {
                    io.restart();
                    assumed = used;
                    continue;
                }
                let set = merge(parts, &usage, |a| reservable(accounts, a), |_, _| None);
                return fleet.finish(set, settings, passes, false);
            }
            Pass::Over { demand, used } => {
                io.restart();
                if !share_out {
                    return joint(specs, databases, accounts, prices, settings, io, passes + 1);
                }
                if tier_moved(prices, &assumed, &used) {
                    assumed = used;
                }
                break demand;
            }
        }
    };
    passes += 1;
    match fleet.shared_pass(&assumed, &demand, io)? {
        Some(set) => fleet.finish(set, settings, passes, true),
        // A group could not keep within its share: only the whole can.
        None => {
            io.restart();
            joint(specs, databases, accounts, prices, settings, io, passes + 1)
        }
    }
}

/// The fleet being solved in groups.
struct Fleet<'a> {
    specs: &'a [ComponentSpec],
    databases: &'a [DatabaseSpec],
    accounts: &'a [AccountSpec],
    prices: &'a PriceSheet,
    /// The settings of each group: the budget is the whole's.
    settings: Settings,
    groups: Vec<Vec<usize>>,
}

/// One pass over the groups, each with each account's whole limit.
enum Pass {
    /// The groups' choices fit every limit together: they are the answer.
    Fits {
        parts: Vec<Solved>,
        usage: AccountHours,
        used: DurationTotals,
    },
    /// They break an account limit together; each group's demand, as far as it was
    /// measured.
    Over {
        demand: Vec<Asks>,
        used: DurationTotals,
    },
}

impl Fleet<'_> {
    fn specs_of(&self, group: &[usize]) -> Vec<ComponentSpec> {
        group.iter().map(|&i| self.specs[i].clone()).collect()
    }

    /// Solves every group with each account's whole limit, handing the
    /// recommendations to `io` as long as they fit together. Once they do not, the
    /// rest is only asked what it would hold (when `measure`), to share the limits by.
    fn pass<C: ChunkIo>(
        &self,
        assumed: &DurationTotals,
        measure: bool,
        io: &mut C,
    ) -> Result<Pass, ChunkedError<C::Error>> {
        let mut parts = Vec::with_capacity(self.groups.len());
        let mut used = DurationTotals::new();
        let mut usage = AccountHours::new();
        // What each group asks, once the groups break a limit together.
        let mut demand: Vec<Option<Asks>> = Vec::with_capacity(self.groups.len());
        let mut broke = false;
        for group in &self.groups {
            let specs = self.specs_of(group);
            let profiles = io.profiles(&specs).map_err(ChunkedError::Io)?;
            if broke {
                let (asks, group_used) = self.demand(&specs, &profiles, assumed)?;
                add_totals(&mut used, group_used);
                demand.push(Some(asks));
                continue;
            }
            let whole = Whole {
                totals: Some(assumed),
                ..Whole::default()
            };
            let mut part = self.solve(&specs, &profiles, whole)?;
            drop(profiles);
            add_totals(&mut used, part.used);
            let holds = share::usage_of(&specs, &part.set.components);
            add_hours(&mut usage, &holds);
            demand.push(None);
            // Usage only grows group by group: once the groups break a limit together,
            // the rest need not be solved in full to know the whole cannot be.
            if over(&usage, self.accounts) {
                if !measure {
                    return Ok(Pass::Over {
                        demand: Vec::new(),
                        used,
                    });
                }
                broke = true;
                parts.clear();
                continue;
            }
            io.take(std::mem::take(&mut part.set.components))
                .map_err(ChunkedError::Io)?;
            parts.push(Solved {
                set: part.set,
                shortfall: part.shortfall,
                held: AccountHours::new(),
                proof: part.proof,
            });
        }
        if !broke {
            return Ok(Pass::Fits { parts, usage, used });
        }
        // The groups solved in full before the limit broke are asked too.
        let mut asks = Vec::with_capacity(demand.len());
        for (group, d) in self.groups.iter().zip(demand) {
            match d {
                Some(a) => asks.push(a),
                None => {
                    let specs = self.specs_of(group);
                    let profiles = io.profiles(&specs).map_err(ChunkedError::Io)?;
                    asks.push(self.demand(&specs, &profiles, assumed)?.0);
                }
            }
        }
        Ok(Pass::Over { demand: asks, used })
    }

    /// Recommends for a group (`specs`) as a part of `whole`.
    fn solve(
        &self,
        specs: &[ComponentSpec],
        profiles: &BTreeMap<String, Profile>,
        whole: Whole<'_>,
    ) -> Result<Part, RecommendError> {
        recommend_at(
            specs,
            profiles,
            self.databases,
            self.accounts,
            self.prices,
            &self.settings,
            whole,
        )
    }

    fn demand(
        &self,
        specs: &[ComponentSpec],
        profiles: &BTreeMap<String, Profile>,
        assumed: &DurationTotals,
    ) -> Result<(Asks, DurationTotals), RecommendError> {
        share::demand(
            specs,
            profiles,
            self.databases,
            self.accounts,
            self.prices,
            &self.settings,
            assumed,
        )
    }

    /// Solves every group at its share of each account's limit (`None` when the
    /// groups' choices still break a limit together, which the shares rule out unless
    /// a group kept what it runs).
    fn shared_pass<C: ChunkIo>(
        &self,
        assumed: &DurationTotals,
        demand: &[Asks],
        io: &mut C,
    ) -> Result<Option<RecommendationSet>, ChunkedError<C::Error>> {
        let limit_of = |a: &str| reservable(self.accounts, a);
        let share::Shares {
            of_group: shares,
            give_way,
        } = share::shares(demand, limit_of);
        let mut parts = Vec::with_capacity(self.groups.len());
        let mut usage = AccountHours::new();
        // The components whose SLO gave way, told the whole's quota request once it
        // is known.
        let mut gave_way: Vec<(usize, Recommendation)> = Vec::new();
        let mut pool = AccountHours::new();
        for (group, share) in self.groups.iter().zip(&shares) {
            let specs = self.specs_of(group);
            let profiles = io.profiles(&specs).map_err(ChunkedError::Io)?;
            let mut available = share.clone();
            add_hours(&mut available, &pool);
            let held = share::held_beside(&available, limit_of);
            let whole = Whole {
                totals: Some(assumed),
                held: Some(&held),
                give_way: Some(&give_way),
                sizing_only: false,
            };
            let part = match self.solve(&specs, &profiles, whole) {
                Ok(part) => part,
                Err(RecommendError::Solve(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            drop(profiles);
            let mut set = part.set;
            let u = share::usage_of(&specs, &set.components);
            // What the group leaves of what it had is the next group's to use.
            pool = share::left_of(&available, &u);
            add_hours(&mut usage, &u);
            let relaxed: BTreeSet<String> = account_shortfalls(&set)
                .flat_map(|(_, s)| s.components.iter().cloned())
                .collect();
            let (back, now): (Vec<_>, Vec<_>) = std::mem::take(&mut set.components)
                .into_iter()
                .partition(|r| relaxed.contains(&r.component));
            gave_way.extend(back.into_iter().map(|r| (parts.len(), r)));
            io.take(now).map_err(ChunkedError::Io)?;
            parts.push(Solved {
                set,
                shortfall: part.shortfall,
                held,
                proof: part.proof,
            });
        }
        if over(&usage, self.accounts) {
            return Ok(None);
        }
        let told: Vec<BTreeMap<String, Shortfall>> = parts
            .iter()
            .map(|p| {
                account_shortfalls(&p.set)
                    .map(|(name, s)| (name.to_owned(), s.clone()))
                    .collect()
            })
            .collect();
        let unlimited = share::unlimited(demand);
        let unbound = |account: &str, plan_usd_per_month: f64| {
            let u = unlimited.as_ref()?;
            let peak = u.hours.get(account)?.iter().copied().fold(0.0, f64::max);
            let change = u.usd_per_month - plan_usd_per_month;
            let excess = peak - limit_of(account).max(0.0).floor();
            limits::unbound(excess, quota(self.accounts, account), change)
        };
        let mut set = merge(parts, &usage, limit_of, unbound);
        let whole: BTreeMap<&str, &Shortfall> = account_shortfalls(&set).collect();
        let retold: Vec<Recommendation> = gave_way
            .into_iter()
            .map(|(g, mut r)| {
                for (account, s) in &told[g] {
                    if let Some(w) = whole.get(account.as_str()) {
                        retell(&mut r, account, s, w);
                    }
                }
                r
            })
            .collect();
        io.take(retold).map_err(ChunkedError::Io)?;
        set.warnings
            .extend(self.shared_note(demand, &shares, limit_of));
        Ok(Some(set))
    }

    /// One warning per account whose limit was shared out: the groups' answers are
    /// not a joint optimum.
    fn shared_note(
        &self,
        demand: &[Asks],
        shares: &[AccountHours],
        limit_of: impl Fn(&str) -> f64,
    ) -> Vec<String> {
        let total = demand.iter().fold(AccountHours::new(), |mut t, d| {
            add_hours(&mut t, &d.plan);
            t
        });
        total
            .iter()
            .filter_map(|(account, hours)| {
                let limit = limit_of(account);
                let over: Vec<usize> = (0..24).filter(|&h| hours[h] > limit + 1e-6).collect();
                (!over.is_empty()).then(|| {
                    let peak = hours.iter().copied().fold(0.0, f64::max);
                    format!(
                        "account {account}: the fleet's {} groups together would hold up to {peak:.0} concurrent executions in {}, over the {limit:.0} it may reserve: the SLOs that give way were chosen across the fleet and each group was solved within its share of the limit, so the plan is not proven the joint optimum",
                        shares.len(),
                        hour_ranges(&over)
                    )
                })
            })
            .collect()
    }

    /// The whole's answer, checked against the budget.
    fn finish<E>(
        &self,
        mut set: RecommendationSet,
        settings: &Settings,
        passes: usize,
        shared: bool,
    ) -> Result<Chunked, ChunkedError<E>> {
        if let Some(budget) = settings.budget_usd_per_month
            && set.summary.recommended_usd_per_month > budget
        {
            return Err(RecommendError::OverBudget {
                minimum: set.summary.recommended_usd_per_month,
                budget,
            }
            .into());
        }
        set.warnings.extend(gap_warning(
            settings,
            set.solver.gap,
            set.solver.time_limit_reached,
        ));
        Ok(Chunked {
            set,
            groups: self.groups.len(),
            passes,
            joint: false,
            shared,
        })
    }
}

/// The account limits of `set` that fell short, by account.
fn account_shortfalls(set: &RecommendationSet) -> impl Iterator<Item = (&str, &Shortfall)> {
    set.shared_limits
        .iter()
        .filter(|l| l.kind == limits::ACCOUNT_CONCURRENCY)
        .filter_map(|l| Some((l.name.as_str(), l.shortfall.as_ref()?)))
}

fn add_totals(sum: &mut DurationTotals, more: DurationTotals) {
    for (k, v) in more {
        *sum.entry(k).or_default() += v;
    }
}

fn add_hours(sum: &mut AccountHours, more: &AccountHours) {
    for (account, hours) in more {
        let s = sum.entry(account.clone()).or_insert([0.0; 24]);
        for (a, b) in s.iter_mut().zip(hours) {
            *a += b;
        }
    }
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
    let whole = Whole::default();
    let mut set = recommend_at(
        specs, &profiles, databases, accounts, prices, settings, whole,
    )?
    .set;
    drop(profiles);
    io.take(std::mem::take(&mut set.components))
        .map_err(ChunkedError::Io)?;
    Ok(Chunked {
        set,
        groups: 1,
        passes,
        joint: true,
        shared: false,
    })
}

/// Whether the summed hourly usage breaks an account's limit in some hour.
fn over(usage: &AccountHours, accounts: &[AccountSpec]) -> bool {
    usage.iter().any(|(account, hours)| {
        let limit = reservable(accounts, account);
        hours.iter().any(|&u| u > limit + 1e-6)
    })
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
