//! When the shared limits cannot hold every SLO at once: the best plan that fits them.
//!
//! Real accounts run near AWS's default of 1,000 concurrent executions, and
//! provisioned concurrency for many functions' cold-start SLOs can add up to more than
//! the account may reserve. Refusing to answer then helps nobody: the user needs to
//! know which SLOs the limit costs and what quota would restore them. So, in two
//! phases:
//!
//! 1. Each component that uses an over-subscribed row is asked for the *least* usage
//!    of those rows with which it still meets its SLO. The excess of that least usage
//!    over each row's capacity is the shortfall: the quota increase to request.
//! 2. SLOs give way for the fewest components that cover the shortfall (greedy: the
//!    one that frees most of the remaining excess first). Their SLO turns from a
//!    constraint into a price on cold starts ([`COLD_START_PENALTY_USD`]), so they
//!    still get as much of what is left of the limit as helps them, and everything is
//!    solved again. Should that still not fit (the least usages interact through the
//!    risk budgets), more components give way, up to every user of the rows.
//!
//! What raising the limit by the shortfall would buy is solved apart ([`restore`]):
//! the same problem with the rows lifted by the shortfall, every SLO held; and so is
//! the plan with no account limit at all ([`unbound`]), which on real fleets is
//! often cheaper than the plan squeezed into the least quota that restores the SLOs.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use adaptd_engine::spec::Slo;

use super::build::{AccountHours, Built, db_usage, min_risk, to_base};
use crate::problem::{Base, Item, RowId};
use crate::{Solution, SolveError, SolveOptions, solve, solve_item_owned};

/// What one expected cold start a month is worth to a component whose SLO gave way:
/// far above what provisioned concurrency costs to prevent one (about $0.45 holds one
/// 1 GB environment through an hour of every day), so such a component keeps every
/// environment the limit leaves room for, yet a finite price, so the components whose
/// SLO still holds come first.
pub const COLD_START_PENALTY_USD: f64 = 1.0;

/// Rounds of "relax more and solve again" before every user of the rows gives way.
const MAX_ROUNDS: usize = 4;

/// The outcome of a solve whose shared rows could not all be met.
#[derive(Debug, Default)]
pub struct Relaxation {
    /// Prepared indices of the components whose SLO gave way.
    pub relaxed: BTreeSet<usize>,
    /// The rows that were over-subscribed, with the raise to request for each: how much
    /// the least SLO-meeting usage exceeded it, grown by the headroom the restored plan
    /// needed (see [`RESTORE_HEADROOM`]), in row order.
    pub shortfall: BTreeMap<RowId, f64>,
    /// Cost of the plan with every SLO held and the rows raised by their shortfall,
    /// when that plan could be solved.
    pub restored_usd_per_month: Option<f64>,
}

/// Solves `built.problem`; when its shared rows cannot all be met, relaxes the SLOs of
/// the fewest components (rewriting their items in place) and solves that. The
/// components of `give_way` (prepared indices) give way from the start: a part of a
/// fleet whose limit the fleet shared out is told whose SLOs the fleet gives up.
///
/// # Errors
/// Any [`SolveError`] but [`SolveError::RowsInfeasible`] from the first solve, and the
/// last error when even relaxing every user of the rows does not fit them.
pub fn solve_or_relax(
    built: &mut Built<'_>,
    options: &SolveOptions,
    give_way: &BTreeSet<usize>,
) -> Result<(Solution, Option<Relaxation>), SolveError> {
    let mut relaxation = Relaxation::default();
    if !give_way.is_empty() {
        for (p, hours) in least_account_usages(built, Some(give_way)) {
            let rows = &built.account_rows[&built.prepared[p].spec.account];
            for (row, u) in rows.iter().zip(hours) {
                if u > 0.0 {
                    *relaxation.shortfall.entry(*row).or_insert(0.0) += u;
                }
            }
        }
        for &p in give_way {
            relax(built, p);
            relaxation.relaxed.insert(p);
        }
    }
    let mut rows = match solve(&built.problem, options) {
        Ok(s) if relaxation.relaxed.is_empty() => return Ok((s, None)),
        Ok(s) => return Ok((s, Some(relaxation))),
        Err(SolveError::RowsInfeasible { rows }) => row_ids(built, &rows),
        // The decomposition may fail to find any assignment without proving which rows
        // are infeasible: check every row.
        Err(e @ SolveError::Solver { .. }) => {
            let problem = &built.problem;
            let all: Vec<RowId> = (0..problem.rows.len())
                .filter(|&r| {
                    problem.rows[r]
                        .lifted_by
                        .is_none_or(|s| problem.switches[s.0].fixed == Some(false))
                })
                .map(RowId)
                .collect();
            let least = least_usages(built, &all, &BTreeSet::new());
            if excess(built, &all, &least, &BTreeSet::new()).is_empty() {
                return Err(e);
            }
            all
        }
        Err(e) => return Err(e),
    };
    let mut last = SolveError::RowsInfeasible { rows: Vec::new() };
    for round in 0..=MAX_ROUNDS {
        let least = least_usages(built, &rows, &relaxation.relaxed);
        let excess = excess(built, &rows, &least, &relaxation.relaxed);
        for (&r, &e) in &excess {
            let entry = relaxation.shortfall.entry(r).or_insert(0.0);
            *entry = entry.max(e);
        }
        let pick: Vec<usize> = if round == MAX_ROUNDS {
            least.keys().copied().collect()
        } else {
            cover(&least, excess)
        };
        if pick.is_empty() {
            break;
        }
        for &p in &pick {
            relax(built, p);
            relaxation.relaxed.insert(p);
        }
        match solve(&built.problem, options) {
            Ok(s) => return Ok((s, Some(relaxation))),
            Err(SolveError::RowsInfeasible { rows: more }) => {
                rows.extend(row_ids(built, &more));
                rows.sort_unstable();
                rows.dedup();
                last = SolveError::RowsInfeasible { rows: more };
            }
            Err(e @ SolveError::Solver { .. }) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

fn row_ids(built: &Built<'_>, names: &[String]) -> Vec<RowId> {
    let mut ids: Vec<RowId> = built
        .problem
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| names.contains(&r.name))
        .map(|(i, _)| RowId(i))
        .collect();
    ids.sort_unstable();
    ids
}

/// Per component that uses `rows` and still holds its SLO, its least usage of each of
/// them (keyed by prepared index).
fn least_usages(
    built: &Built<'_>,
    rows: &[RowId],
    relaxed: &BTreeSet<usize>,
) -> BTreeMap<usize, BTreeMap<RowId, f64>> {
    let least = super::par::map(built.prepared.len(), |p| {
        let i = built.prepared[p].item?;
        if relaxed.contains(&p) {
            return None;
        }
        let item = &built.problem.items[i];
        if !uses_any(item, rows) {
            return None;
        }
        Some((p, least_usage(item, rows)?))
    });
    least.into_iter().flatten().collect()
}

/// Per component that uses its account's concurrency (of `only`, when given), the
/// least of it, hour by hour, with which the component still meets its SLO (keyed by
/// prepared index): what an account's limit must leave it unless its SLO gives way.
pub fn least_account_usages(
    built: &Built<'_>,
    only: Option<&BTreeSet<usize>>,
) -> Vec<(usize, [f64; 24])> {
    // Each component's least usage is a small solve of its own: spread over the cores.
    let asked: Vec<usize> = match only {
        Some(o) => o.iter().copied().collect(),
        None => (0..built.prepared.len()).collect(),
    };
    let least = super::par::map(asked.len(), |k| {
        let p = asked[k];
        let prep = &built.prepared[p];
        let (i, rows) = (prep.item?, built.account_rows.get(&prep.spec.account)?);
        let item = &built.problem.items[i];
        if !uses_any(item, rows) {
            return None;
        }
        let u = least_usage(item, rows)?;
        Some((
            p,
            std::array::from_fn(|h| u.get(&rows[h]).copied().unwrap_or(0.0)),
        ))
    });
    least.into_iter().flatten().collect()
}

fn uses_any(item: &Item, rows: &[RowId]) -> bool {
    item.bases.iter().any(|b| {
        b.usage.iter().any(|(r, u)| *u > 0.0 && rows.contains(r))
            || b.slots.iter().any(|s| {
                s.alternatives
                    .iter()
                    .flatten()
                    .any(|a| a.usage.iter().any(|(r, u)| *u > 0.0 && rows.contains(r)))
            })
    })
}

/// The item's choice that meets its budget with the least total usage of `rows`
/// (cheapest among those), and that usage per row.
fn least_usage(item: &Item, rows: &[RowId]) -> Option<BTreeMap<RowId, f64>> {
    let in_rows = |usage: &[(RowId, f64)]| -> f64 {
        usage
            .iter()
            .filter(|(r, _)| rows.contains(r))
            .map(|(_, u)| u)
            .sum()
    };
    // Usage first, money only to break ties: a unit of a row outweighs any price.
    let tie = 1e-9;
    let mut by_usage = item.clone();
    for base in &mut by_usage.bases {
        base.cost = in_rows(&base.usage) + tie * base.cost;
        for alt in base
            .slots
            .iter_mut()
            .flat_map(|s| s.alternatives.iter_mut())
            .flatten()
        {
            alt.cost = in_rows(&alt.usage) + tie * alt.cost;
        }
    }
    let (choice, _) = solve_item_owned(by_usage, &SolveOptions::default()).ok()?;
    let base = &item.bases[choice.base];
    let mut usage = BTreeMap::new();
    for &(r, u) in &base.usage {
        if rows.contains(&r) {
            *usage.entry(r).or_insert(0.0) += u;
        }
    }
    for (slot, &l) in base.slots.iter().zip(&choice.levels) {
        for &(r, u) in &slot.alternatives[l].as_ref()?.usage {
            if rows.contains(&r) {
                *usage.entry(r).or_insert(0.0) += u;
            }
        }
    }
    Some(usage)
}

/// Per row, how far the least usages (plus the fixed usage of components that gave
/// way, which is none below their on-demand floor) exceed its capacity.
fn excess(
    built: &Built<'_>,
    rows: &[RowId],
    least: &BTreeMap<usize, BTreeMap<RowId, f64>>,
    relaxed: &BTreeSet<usize>,
) -> BTreeMap<RowId, f64> {
    let mut total: BTreeMap<RowId, f64> = rows.iter().map(|&r| (r, 0.0)).collect();
    for u in least.values() {
        for (r, x) in u {
            *total.entry(*r).or_insert(0.0) += x;
        }
    }
    // Components that gave way still hold their fixed usage (reserved concurrency).
    for &p in relaxed {
        let Some(i) = built.prepared[p].item else {
            continue;
        };
        for &r in rows {
            let floor = built.problem.items[i]
                .bases
                .iter()
                .map(|b| {
                    b.usage
                        .iter()
                        .filter(|(x, _)| *x == r)
                        .map(|(_, u)| u)
                        .sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min);
            if floor.is_finite() {
                *total.entry(r).or_insert(0.0) += floor;
            }
        }
    }
    total
        .into_iter()
        .map(|(r, t)| (r, t - built.problem.rows[r.0].capacity))
        .filter(|(_, e)| *e > 1e-9)
        .collect()
}

/// The fewest components whose least usage covers `excess`: greedily the one that
/// frees most of what still exceeds (the smallest key among equals).
///
/// What a component frees only shrinks as the excess does, so the greedy choice is
/// kept lazily: a component popped from the heap whose figure is still current frees
/// at least as much as any other. A fleet of thousands whose limit binds picks
/// thousands, which rescanning every component for each pick made quadratic.
pub fn cover<K: Ord + Copy, R: Ord>(
    least: &BTreeMap<K, BTreeMap<R, f64>>,
    mut excess: BTreeMap<R, f64>,
) -> Vec<K> {
    let freed = |excess: &BTreeMap<R, f64>, p: &K| -> f64 {
        least[p]
            .iter()
            .map(|(r, u)| u.min(excess.get(r).copied().unwrap_or(0.0).max(0.0)))
            .sum()
    };
    // Non-negative floats order as their bits do.
    let mut heap: BinaryHeap<(u64, Reverse<K>)> = least
        .keys()
        .map(|&p| (freed(&excess, &p).max(0.0).to_bits(), Reverse(p)))
        .collect();
    let mut pick = Vec::new();
    while excess.values().any(|&e| e > 1e-9) {
        let Some((_, Reverse(p))) = heap.pop() else {
            break;
        };
        let now = freed(&excess, &p).max(0.0);
        if now <= 1e-9 {
            continue;
        }
        if heap
            .peek()
            .is_some_and(|&(next, Reverse(q))| (next, Reverse(q)) > (now.to_bits(), Reverse(p)))
        {
            heap.push((now.to_bits(), Reverse(p)));
            continue;
        }
        for (r, u) in &least[&p] {
            if let Some(e) = excess.get_mut(r) {
                *e -= u;
            }
        }
        pick.push(p);
    }
    pick
}

/// Rewrites component `p`'s item so that its SLO is a price, not a constraint: every
/// allowed candidate, levels filtered only by the throttle objective, each expected
/// cold start charged [`COLD_START_PENALTY_USD`].
fn relax(built: &mut Built<'_>, p: usize) {
    let prep = &built.prepared[p];
    let Some(i) = prep.item else { return };
    let spec = prep.spec;
    let soft = Slo {
        max_throttle_rate: spec.slo.max_throttle_rate,
        ..Slo::default()
    };
    let rows = built.account_rows.get(&spec.account).map(Vec::as_slice);
    let mut bases: Vec<Base> = Vec::new();
    let mut base_candidates = Vec::new();
    for (k, c) in prep
        .candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.excluded.is_none())
    {
        let db = db_usage(&built.db_rows, spec, c);
        let mut base = to_base(c, &soft, rows, &db, None, None);
        if min_risk(&base).is_none() {
            continue;
        }
        for alt in base
            .slots
            .iter_mut()
            .flat_map(|s| s.alternatives.iter_mut())
            .flatten()
        {
            alt.cost += COLD_START_PENALTY_USD * alt.risk;
        }
        bases.push(base);
        base_candidates.push(k);
    }
    if bases.is_empty() {
        return;
    }
    built.problem.items[i].bases = bases;
    built.prepared[p].base_candidates = base_candidates;
}

/// Headroom tried on top of the exact shortfall when pricing the restored plan: with
/// every raised row exactly full the decomposition may find no assignment (it did on the
/// Azure sample), and a quota request a few percent larger costs the user nothing.
const RESTORE_HEADROOM: [f64; 4] = [1.0, 1.05, 1.1, 1.25];

/// Prices the plan the quota request would buy. The request grows by the first headroom
/// that yields a plan, so the quota reported and the cost it buys always go together;
/// when none does, the request stays exact and the cost is left unknown.
pub fn restore(built: &mut Built<'_>, relaxation: &mut Relaxation, options: &SolveOptions) {
    let exact = relaxation.shortfall.clone();
    for factor in RESTORE_HEADROOM {
        relaxation.shortfall = exact
            .iter()
            .map(|(&r, &e)| (r, (e * factor).ceil()))
            .collect();
        if let Some(cost) = restored_cost(built, relaxation, options) {
            relaxation.restored_usd_per_month = Some(cost);
            return;
        }
    }
    relaxation.shortfall = exact;
}

/// Cost of holding every SLO with the over-subscribed rows raised by their shortfall.
fn restored_cost(
    built: &mut Built<'_>,
    relaxation: &Relaxation,
    options: &SolveOptions,
) -> Option<f64> {
    let raised = |problem: &crate::Problem| {
        let raise = |(&r, &e): (&RowId, &f64)| (r, problem.rows[r.0].capacity + e.ceil());
        relaxation.shortfall.iter().map(raise).collect()
    };
    solve_held(built, &relaxation.relaxed, raised, options).map(|(cost, _)| cost)
}

/// The plan with the accounts' concurrency out of the way, every SLO held.
#[derive(Debug, Clone, PartialEq)]
pub struct Unlimited {
    /// Per account, what that plan holds of its concurrency, hour by hour (the
    /// components optimised; what the others hold is the caller's to add).
    pub hours: AccountHours,
    /// What that plan costs (USD per month, as the solver counts it).
    pub usd_per_month: f64,
}

/// Whether an account's limit shapes `solution`: SLOs gave way to it, or it binds (has
/// a price) in some hour.
pub fn account_binds(built: &Built<'_>, solution: &Solution, relaxed: &BTreeSet<usize>) -> bool {
    let priced = |r: &RowId| solution.row_prices[r.0] > 1e-9;
    !relaxed.is_empty() || built.account_rows.values().flatten().any(priced)
}

/// [`unbound`], where an account's limit shapes `solution` (see [`account_binds`]).
pub fn unbound_if_binding(
    built: &mut Built<'_>,
    solution: &Solution,
    relaxation: Option<&Relaxation>,
    options: &SolveOptions,
) -> Option<Unlimited> {
    let none = BTreeSet::new();
    let relaxed = relaxation.map_or(&none, |r| &r.relaxed);
    account_binds(built, solution, relaxed)
        .then(|| unbound(built, relaxed, options))
        .flatten()
}

/// What the plan would hold and cost if no account limited it (`relaxed`: the
/// components whose SLO gave way, held again): where a limit binds, the quota at
/// which it would not, and what it costs the plan. `None` when that plan could not be
/// solved.
pub fn unbound(
    built: &mut Built<'_>,
    relaxed: &BTreeSet<usize>,
    options: &SolveOptions,
) -> Option<Unlimited> {
    let rows: Vec<RowId> = built.account_rows.values().flatten().copied().collect();
    let lifted = |problem: &crate::Problem| {
        let most = problem.most_usage();
        let lift = |&r: &RowId| (r, most[r.0].max(problem.rows[r.0].capacity));
        rows.iter().map(lift).collect()
    };
    let (usd_per_month, usage) = solve_held(built, relaxed, lifted, options)?;
    let hours = built
        .account_rows
        .iter()
        .map(|(account, rows)| (account.clone(), std::array::from_fn(|h| usage[rows[h].0])))
        .collect();
    Some(Unlimited {
        hours,
        usd_per_month,
    })
}

/// The problem solved once more with every SLO held (the `relaxed` components'
/// SLO-holding bases swapped in) and rows at the `capacities` given for that problem:
/// the plan's cost and each row's usage. The items and rows are changed in place and
/// put back afterwards: a copy of the whole problem for this one solve was most of a
/// large binding fleet's extra memory.
fn solve_held(
    built: &mut Built<'_>,
    relaxed: &BTreeSet<usize>,
    capacities: impl FnOnce(&crate::Problem) -> BTreeMap<RowId, f64>,
    options: &SolveOptions,
) -> Option<(f64, Vec<f64>)> {
    let mut swaps: Vec<(usize, Vec<Base>)> = Vec::new();
    for &p in relaxed {
        let prep = &built.prepared[p];
        let i = prep.item?;
        let spec = prep.spec;
        let rows = built.account_rows.get(&spec.account).map(Vec::as_slice);
        let mut bases = Vec::new();
        let mut budgets = super::budget::Budgets::new(&spec.slo, prep.profile);
        for c in prep.candidates.iter().filter(|c| c.excluded.is_none()) {
            let db = db_usage(&built.db_rows, spec, c);
            let base = to_base(c, &spec.slo, rows, &db, None, budgets.of(c));
            if min_risk(&base).is_some_and(|r| base.risk_budget.is_none_or(|b| r <= b + 1e-9)) {
                bases.push(base);
            }
        }
        if bases.is_empty() {
            return None;
        }
        swaps.push((i, bases));
    }
    let problem = &mut built.problem;
    for (i, bases) in &mut swaps {
        std::mem::swap(&mut problem.items[*i].bases, bases);
    }
    let capacities = capacities(problem);
    let before: BTreeMap<RowId, f64> = capacities
        .keys()
        .map(|&r| (r, problem.rows[r.0].capacity))
        .collect();
    for (&r, &c) in &capacities {
        problem.rows[r.0].capacity = c;
    }
    let solved = solve(problem, options)
        .ok()
        .map(|s| (s.cost, problem.usage(&s.choices)));
    for (i, bases) in &mut swaps {
        std::mem::swap(&mut problem.items[*i].bases, bases);
    }
    for (r, c) in before {
        problem.rows[r.0].capacity = c;
    }
    solved
}
