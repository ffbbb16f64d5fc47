//! The optimiser: picks one option per component, jointly, at least cost, subject to
//! each component's SLO, the org's guardrails and the limits components share.
//!
//! It is pure (no I/O, no async runtime). The solver library (good_lp with HiGHS) stays
//! behind this crate's own [`problem::Problem`] type.
//!
//! Two methods solve the same model. [`Method::Monolithic`] hands the whole MILP to
//! HiGHS: exact and simple, but its size grows with items times levels times slots.
//! [`Method::Decomposed`] exploits that items are nearly independent: each item is a
//! shortest-path problem with one budget (solved in pure Rust, see `item`), rows that
//! levels use (account concurrency per hour) are priced by Lagrangian relaxation, rows
//! a switch lifts or that few items use through their bases (database connections)
//! stay exact in small group models, and a greedy repair or a restricted master MILP
//! turns the priced answers into an assignment that meets every row.

mod compact;
mod decompose;
mod error;
mod exact;
mod improve;
mod item;
mod milp;
mod par;
pub mod problem;
pub mod recommend;
pub mod synthetic;
mod units;
mod validate;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

pub use error::SolveError;
pub use problem::{Alt, Base, Choice, Item, Problem, Row, RowId, Slot, Switch, SwitchId};

use compact::CompactBase;
use item::{BaseState, Scratch};
use milp::{MilpError, RunConfig, Scope};

/// How hard to work.
#[derive(Debug, Clone)]
pub struct SolveOptions {
    /// Relative gap `(cost - lower_bound) / cost` at which the solve may stop.
    pub mip_gap: f64,
    /// Wall-clock limit; the best assignment found by then is returned.
    pub time_limit: Duration,
    /// Which algorithm; [`Method::Auto`] picks by size.
    pub method: Method,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            mip_gap: 0.005,
            time_limit: Duration::from_secs(30),
            method: Method::Auto,
        }
    }
}

/// Which algorithm solves the problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum Method {
    /// Monolithic for small problems, decomposed otherwise.
    #[default]
    Auto,
    /// Per-item solver, Lagrangian prices on widely shared rows, exact groups.
    Decomposed,
    /// One MILP for everything.
    Monolithic,
}

/// What a solve did, for logs and benchmarks.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SolveStats {
    /// The method that actually ran (never `Auto`).
    pub method: Method,
    /// From the call to the answer, validation included.
    pub wall_time: Duration,
    /// MILP/LP solves handed to HiGHS.
    pub highs_solves: usize,
    /// Price updates of the decomposition (1 when no row is priced).
    pub outer_iterations: usize,
    /// Units (items or groups) whose gap was closed exactly after the price search.
    pub items_refined: usize,
    /// Groups of items solved together because they share local rows.
    pub groups: usize,
    /// Rows handled by Lagrangian prices.
    pub priced_rows: usize,
    /// Columns offered to the restricted master MILP (0 if it was not needed).
    pub master_columns: usize,
    /// Whether the decomposition ended with the monolithic model to close its gap.
    pub fell_back_to_monolithic: bool,
    /// Whether the solve ran into its time limit: the answer is the best found by
    /// then. Without it, a gap above the target means the search ended short of it
    /// (the decomposition's price updates settled or reached their cap).
    pub time_limit_reached: bool,
}

/// An assignment with its certificate of quality.
#[derive(Debug, Clone)]
pub struct Solution {
    /// Per item, its base and per-slot levels.
    pub choices: Vec<Choice>,
    /// Per switch, whether it is on.
    pub switches: Vec<bool>,
    /// Objective of the returned assignment (`problem.evaluate(...)`).
    pub cost: f64,
    /// A valid lower bound on the optimum.
    pub lower_bound: f64,
    /// `(cost - lower_bound) / max(|cost|, 1e-9)`, at least 0.
    pub gap: f64,
    /// Per row, USD per unit of usage the row's limit costs (0 when it does not bind).
    pub row_prices: Vec<f64>,
    /// Per item, USD per unit of risk its chosen base's budget costs (0 when slack).
    pub risk_prices: Vec<f64>,
    /// How the solve went.
    pub stats: SolveStats,
}

/// `(cost - lower_bound) / max(|cost|, 1e-9)`, at least 0: [`Solution::gap`], and a
/// whole's gap from its parts' summed costs and bounds.
pub(crate) fn relative_gap(cost: f64, lower_bound: f64) -> f64 {
    ((cost - lower_bound) / cost.abs().max(1e-9)).max(0.0)
}

/// Absolute tolerance on constraints when checking an assignment: HiGHS works to about
/// 1e-7 relative, so the check scales with the problem's largest limit.
pub(crate) fn feasibility_tol(problem: &Problem) -> f64 {
    let mut scale: f64 = 1.0;
    for r in &problem.rows {
        scale = scale.max(r.capacity.abs());
    }
    for item in &problem.items {
        for b in &item.bases {
            scale = scale.max(b.risk_budget.unwrap_or(0.0));
        }
    }
    1e-6 * scale
}

/// Whether the monolithic model has more than `limit` binary variables (counting stops
/// there: on large problems a full count is a noticeable pass over memory).
pub(crate) fn binaries_exceed(problem: &Problem, limit: usize) -> bool {
    let mut n = problem.switches.len();
    for base in problem.items.iter().flat_map(|i| &i.bases) {
        n += 1 + base
            .slots
            .iter()
            .map(|s| s.alternatives.iter().flatten().count())
            .sum::<usize>();
        if n > limit {
            return true;
        }
    }
    false
}

/// Up to this many binaries `Auto` hands the whole model to HiGHS. Measured on the
/// bench's fleets (release, 2 cores): the decomposition won at every size down to one
/// function (2,166 binaries: 0.1 ms against 8.5 ms; 10 functions: 11 ms against 3 s),
/// so only models too small for its setup to matter go to HiGHS whole.
const AUTO_MONOLITHIC_MAX_BINARIES: usize = 256;

/// Solves `problem`.
///
/// # Errors
/// See [`SolveError`]; an assignment found before the time limit is returned with its
/// gap rather than as an error.
pub fn solve(problem: &Problem, options: &SolveOptions) -> Result<Solution, SolveError> {
    solve_with(problem, options, &units::Config::default())
}

pub(crate) fn solve_with(
    problem: &Problem,
    options: &SolveOptions,
    config: &units::Config,
) -> Result<Solution, SolveError> {
    let start = Instant::now();
    problem.validate_shared()?;
    if options.mip_gap.is_nan() || options.mip_gap < 0.0 {
        return Err(SolveError::InvalidProblem {
            what: format!("mip_gap must be non-negative, got {}", options.mip_gap),
        });
    }
    let deadline = start + options.time_limit;
    let method = match options.method {
        Method::Auto if !binaries_exceed(problem, AUTO_MONOLITHIC_MAX_BINARIES) => {
            Method::Monolithic
        }
        Method::Auto => Method::Decomposed,
        m => m,
    };
    let mut stats = SolveStats {
        method,
        ..SolveStats::default()
    };
    let (choices, switches, lower_bound, mut row_prices, data) = match method {
        Method::Monolithic => {
            problem.validate()?;
            let (c, s, lb, p) = monolithic(problem, options, deadline, &mut stats)?;
            (c, s, lb, p, None)
        }
        _ => {
            let o = decompose::solve(problem, options, deadline, config)?;
            stats.highs_solves = o.counters.highs;
            stats.items_refined = o.counters.refined;
            stats.outer_iterations = o.iterations;
            stats.groups = o.groups;
            stats.priced_rows = o.priced_rows;
            stats.master_columns = o.master_columns;
            stats.fell_back_to_monolithic = o.fell_back;
            (
                o.choices,
                o.switches,
                o.lower_bound,
                o.row_prices,
                Some(o.data),
            )
        }
    };
    let tol = feasibility_tol(problem);
    let cost = problem
        .evaluate(&choices, &switches, tol)
        .ok_or_else(|| SolveError::Solver {
            message: "the solver returned an assignment that breaks a constraint".into(),
        })?;
    zero_slack_prices(problem, &choices, &switches, &mut row_prices);
    let risk_prices = risk_prices(problem, &choices, &row_prices, data.as_deref());
    let lower_bound = lower_bound.min(cost);
    stats.wall_time = start.elapsed();
    stats.time_limit_reached = Instant::now() >= deadline;
    Ok(Solution {
        gap: relative_gap(cost, lower_bound),
        choices,
        switches,
        cost,
        lower_bound,
        row_prices,
        risk_prices,
        stats,
    })
}

/// A price is only reported for a row the assignment actually presses against.
fn zero_slack_prices(problem: &Problem, choices: &[Choice], switches: &[bool], prices: &mut [f64]) {
    let mut usage = vec![0.0; problem.rows.len()];
    for (item, c) in problem.items.iter().zip(choices) {
        let base = &item.bases[c.base];
        for &(r, u) in &base.usage {
            usage[r.0] += u;
        }
        for (slot, &l) in base.slots.iter().zip(&c.levels) {
            if let Some(Some(alt)) = slot.alternatives.get(l) {
                for &(r, u) in &alt.usage {
                    usage[r.0] += u;
                }
            }
        }
    }
    for (r, row) in problem.rows.iter().enumerate() {
        let lifted = row.lifted_by.is_some_and(|s| switches[s.0]);
        let slack =
            usage[r] < row.capacity - 0.01 * row.capacity.abs() - decompose::row_tol(row.capacity);
        if lifted || slack {
            prices[r] = 0.0;
        }
    }
}

fn risk_prices(
    problem: &Problem,
    choices: &[Choice],
    row_prices: &[f64],
    data: Option<&[units::ItemData]>,
) -> Vec<f64> {
    let mu = row_prices.iter().any(|&p| p != 0.0).then_some(row_prices);
    let mut scratches: Vec<Scratch> = (0..par::threads()).map(|_| Scratch::default()).collect();
    let jobs: Vec<usize> = (0..problem.items.len()).collect();
    par::par_map(jobs, &mut scratches, &|i, sc| {
        let c = &choices[i];
        let base = &problem.items[i].bases[c.base];
        if base.risk_budget.is_none() {
            return 0.0;
        }
        match data {
            Some(d) => {
                let mut st = d[i].states[c.base].clone();
                let cb = &d[i].compact[c.base];
                item::risk_price(cb, &mut st, mu, &cb.path_of(&c.levels), sc)
            }
            None => {
                let cb = CompactBase::new(base);
                let path = cb.path_of(&c.levels);
                item::risk_price(&cb, &mut BaseState::default(), mu, &path, sc)
            }
        }
    })
}

/// The first item no base of which can meet its budget, if any.
fn check_items(problem: &Problem) -> Result<(), SolveError> {
    let mut sc = Scratch::default();
    for (i, item) in problem.items.iter().enumerate() {
        let d = units::ItemData::new(item);
        if !units::feasible_alone(&d, &mut sc) {
            return Err(decompose::item_infeasible(problem, i, &d, &mut sc));
        }
    }
    Ok(())
}

type Assignment = (Vec<Choice>, Vec<bool>, f64, Vec<f64>);

fn monolithic(
    problem: &Problem,
    options: &SolveOptions,
    deadline: Instant,
    stats: &mut SolveStats,
) -> Result<Assignment, SolveError> {
    check_items(problem)?;
    let all: Vec<usize> = (0..problem.items.len()).collect();
    let rows: Vec<usize> = (0..problem.rows.len()).collect();
    let sw: Vec<usize> = (0..problem.switches.len()).collect();
    let mut scope = Scope {
        items: &all,
        only_base: None,
        rows: &rows,
        outside: None,
        switches: &sw,
        mu: None,
        relax: false,
        elastic: false,
    };
    let remaining = || {
        deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
    };
    let cfg = RunConfig {
        rel_gap: options.mip_gap,
        abs_gap: 1e-9,
        time_limit: remaining(),
    };
    stats.highs_solves += 1;
    let sol = match milp::solve_scope(problem, &scope, &cfg) {
        Ok(s) => s,
        Err(MilpError::Infeasible) => return Err(diagnose_rows(problem, &mut stats.highs_solves)),
        Err(MilpError::NoSolution) => return Err(no_assignment(problem, options.time_limit)),
        Err(MilpError::Solver(message)) => return Err(SolveError::Solver { message }),
    };
    let mut switches = vec![false; problem.switches.len()];
    for &(s, on) in &sol.switches {
        switches[s] = on;
    }
    let mut prices = vec![0.0; problem.rows.len()];
    if !problem.rows.is_empty() && remaining() > 0.0 {
        scope.relax = true;
        stats.highs_solves += 1;
        let cfg = RunConfig {
            time_limit: remaining(),
            ..cfg
        };
        if let Ok(lp) = milp::solve_scope(problem, &scope, &cfg) {
            for (r, p) in lp.row_prices {
                prices[r] = p;
            }
        }
    }
    Ok((sol.choices, switches, sol.bound, prices))
}

/// Which rows make a problem infeasible: those the least-excess assignment (relative
/// to each capacity) still has to exceed.
pub(crate) fn diagnose_rows(problem: &Problem, highs: &mut usize) -> SolveError {
    let all: Vec<usize> = (0..problem.items.len()).collect();
    let rows: Vec<usize> = (0..problem.rows.len()).collect();
    let sw: Vec<usize> = (0..problem.switches.len()).collect();
    let scope = Scope {
        items: &all,
        only_base: None,
        rows: &rows,
        outside: None,
        switches: &sw,
        mu: None,
        relax: false,
        elastic: true,
    };
    let cfg = RunConfig {
        rel_gap: 1e-6,
        abs_gap: 1e-9,
        time_limit: 30.0,
    };
    *highs += 1;
    match milp::solve_scope(problem, &scope, &cfg) {
        Ok(sol) if !sol.exceeded.is_empty() => SolveError::RowsInfeasible {
            rows: sol
                .exceeded
                .iter()
                .map(|&r| problem.rows[r].name.clone())
                .collect(),
        },
        Ok(_) => SolveError::Solver {
            message: "HiGHS reported the model infeasible but every row can be met".into(),
        },
        Err(MilpError::Solver(message)) => SolveError::Solver { message },
        Err(_) => SolveError::Solver {
            message: "the infeasibility diagnosis itself failed".into(),
        },
    }
}

/// No assignment by the deadline: rows that cannot hold even with every item at its
/// smallest usage are infeasible; otherwise time ran out.
pub(crate) fn no_assignment(problem: &Problem, limit: Duration) -> SolveError {
    let mut least = vec![0.0; problem.rows.len()];
    for item in &problem.items {
        let mut per_row: Vec<f64> = vec![f64::INFINITY; problem.rows.len()];
        for base in &item.bases {
            let mut u = vec![0.0; problem.rows.len()];
            for &(r, x) in &base.usage {
                u[r.0] += x;
            }
            for slot in &base.slots {
                let mut m = vec![f64::INFINITY; problem.rows.len()];
                for alt in slot.alternatives.iter().flatten() {
                    let mut here = vec![0.0; problem.rows.len()];
                    for &(r, x) in &alt.usage {
                        here[r.0] += x;
                    }
                    for (a, b) in m.iter_mut().zip(here) {
                        *a = a.min(b);
                    }
                }
                for (a, b) in u.iter_mut().zip(m) {
                    *a += b;
                }
            }
            for (a, b) in per_row.iter_mut().zip(u) {
                *a = a.min(b);
            }
        }
        for (a, b) in least.iter_mut().zip(per_row) {
            *a += if b.is_finite() { b } else { 0.0 };
        }
    }
    let rows: Vec<String> = problem
        .rows
        .iter()
        .zip(&least)
        .filter(|(row, l)| {
            let fixed_off = row
                .lifted_by
                .is_none_or(|s| problem.switches[s.0].fixed == Some(false));
            fixed_off && **l > row.capacity + decompose::row_tol(row.capacity)
        })
        .map(|(row, _)| row.name.clone())
        .collect();
    if rows.is_empty() {
        SolveError::TimeLimit { limit }
    } else {
        SolveError::RowsInfeasible { rows }
    }
}

/// The cheapest levels of one base alone (rows ignored) within its risk budget, and
/// their cost; `None` when no choice meets the budget. Explanations compare every option
/// of a component this way: one exact per-base search, without building a problem.
pub fn cheapest_in_base(base: &Base) -> Option<(Vec<usize>, f64)> {
    cheapest_in_base_below(base, f64::INFINITY)
}

/// [`cheapest_in_base`] when it costs less than `cutoff`, else `None`. A cutoff lets
/// the exact search drop every path that cannot beat it: an explanation only needs an
/// option that could show.
pub fn cheapest_in_base_below(base: &Base, cutoff: f64) -> Option<(Vec<usize>, f64)> {
    if let Some(found) = cheapest_if_within_budget(base) {
        return (found.1 < cutoff).then_some(found);
    }
    let cb = CompactBase::new(base);
    let mut sc = Scratch::default();
    let mut st = BaseState::default();
    // Nothing at or above the cutoff is wanted: the dual search stops there too.
    let found = match item::exact_outcome_until(
        &cb,
        None,
        &mut st,
        &mut sc,
        cutoff,
        cutoff,
        units::MAX_LABELS,
    ) {
        Ok(o) => o.ub.map(|(cost, path)| (cb.levels_of(&path), cost)),
        // Too many labels for the exact search: the full per-item solver closes it.
        Err(()) => {
            let item = Item {
                name: base.label.clone(),
                bases: vec![base.clone()],
            };
            solve_item(&item, &SolveOptions::default())
                .ok()
                .map(|(c, cost)| (c.levels, cost))
        }
    };
    found.filter(|(_, cost)| *cost < cutoff)
}

/// Each slot's cheapest allowed level (the least risky among equal costs), when
/// together they fit the risk budget: then nothing cheaper exists and no search is
/// needed. Most options of a real fleet's quiet functions are such (on demand already
/// meets their SLO), and building a compact base to find that out was most of what
/// pricing them cost.
fn cheapest_if_within_budget(base: &Base) -> Option<(Vec<usize>, f64)> {
    let mut levels = Vec::with_capacity(base.slots.len());
    let mut cost = base.cost;
    let mut risk = 0.0;
    for slot in &base.slots {
        let (l, alt) = slot
            .alternatives
            .iter()
            .enumerate()
            .filter_map(|(l, a)| a.as_ref().map(|a| (l, a)))
            .min_by(|a, b| {
                a.1.cost
                    .total_cmp(&b.1.cost)
                    .then(a.1.risk.total_cmp(&b.1.risk))
            })?;
        levels.push(l);
        cost += alt.cost;
        risk += alt.risk;
    }
    risk += (0..base.slots.len())
        .map(|s| base.transition_risk(s, &levels))
        .sum::<f64>();
    base.risk_budget
        .is_none_or(|b| risk <= b)
        .then_some((levels, cost))
}

/// The best choice for one item alone, ignoring rows (for per-component frontiers and
/// alternatives). Returns the choice and its cost.
///
/// # Errors
/// [`SolveError::InvalidProblem`] or [`SolveError::ItemInfeasible`].
pub fn solve_item(item: &Item, options: &SolveOptions) -> Result<(Choice, f64), SolveError> {
    solve_item_owned(item.clone(), options)
}

/// [`solve_item`] on an item the caller no longer needs (its usages are cleared): an
/// item has hundreds of alternatives, and a copy of each was most of the work of
/// asking every component of a large fleet for its least usage.
pub(crate) fn solve_item_owned(
    mut alone: Item,
    options: &SolveOptions,
) -> Result<(Choice, f64), SolveError> {
    for base in &mut alone.bases {
        base.usage.clear();
        for slot in &mut base.slots {
            for alt in slot.alternatives.iter_mut().flatten() {
                alt.usage.clear();
            }
        }
    }
    let problem = Problem {
        items: vec![alone],
        rows: Vec::new(),
        switches: Vec::new(),
    };
    problem.validate()?;
    let deadline = Instant::now() + options.time_limit;
    let o = decompose::solve(&problem, options, deadline, &units::Config::default())?;
    let choice = o
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| SolveError::Solver {
            message: "no choice returned".into(),
        })?;
    let cost = problem
        .evaluate(
            std::slice::from_ref(&choice),
            &[],
            feasibility_tol(&problem),
        )
        .ok_or_else(|| SolveError::Solver {
            message: "the per-item solver returned an infeasible choice".into(),
        })?;
    Ok((choice, cost))
}
