//! The decomposed solver: Lagrangian relaxation of the rows many items share, exact
//! groups for the rows few items share, and a restricted master MILP to turn the
//! columns seen into a feasible assignment.
//!
//! The dual is maximised row by row: an hour's price only really moves that hour's
//! usage, so each priced row runs its own safeguarded secant search on `usage(mu) =
//! capacity` (Illinois-style, most recent bracket), which converges in far fewer
//! evaluations than a subgradient method on the 24-dimensional dual. Any price vector
//! gives a valid bound `sum(unit lower bounds) - mu . capacity`, so the search only
//! needs to be good, not exact.

use std::time::Instant;

use crate::error::SolveError;
use crate::item::Scratch;
use crate::milp::{self, MilpError, RunConfig};
use crate::par::{par_map, threads};

mod prices;
mod primal;

use prices::{RowSearch, price_ceilings, price_scales};

/// Per unit at the best prices: lower bound, best priced cost, per-base bounds.
type UnitBounds = (f64, f64, Vec<(f64, f64)>);
use crate::problem::{Choice, Problem};
use crate::units::{
    Column, Config, Counters, ItemData, Unit, UnitResult, group_row_prices, layout, solve_group,
    solve_item_unit,
};

/// How the decomposed solve went, besides its answer.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub choices: Vec<Choice>,
    pub switches: Vec<bool>,
    pub lower_bound: f64,
    pub row_prices: Vec<f64>,
    pub counters: Counters,
    pub iterations: usize,
    pub groups: usize,
    pub priced_rows: usize,
    pub master_columns: usize,
    pub fell_back: bool,
    pub data: Vec<ItemData>,
}

/// Binaries up to which the monolithic model is a sensible last resort when the
/// decomposition cannot close the gap (a duality gap on tiny instances).
const FALLBACK_MAX_BINARIES: usize = 20_000;
const MAX_ITERATIONS: usize = 60;
/// Share of the time limit kept for what follows the price search (refinement, the
/// restricted master, the exact model on small problems).
const LOOP_SHARE_LEFT: f64 = 0.4;
/// Share of capacity the price search leaves free on priced rows.
const TARGET_MARGIN: f64 = 0.001;

pub(crate) fn item_infeasible(
    problem: &Problem,
    i: usize,
    d: &ItemData,
    sc: &mut Scratch,
) -> SolveError {
    let mut best: Option<(f64, f64)> = None;
    for cb in &d.compact {
        let (mr, _) = crate::item::min_risk(cb, sc);
        let budget = cb.budget.unwrap_or(f64::INFINITY);
        if best.is_none_or(|(m, b)| mr - budget < m - b) {
            best = Some((mr, budget));
        }
    }
    let (min_risk, budget) = best.unwrap_or((f64::INFINITY, 0.0));
    SolveError::ItemInfeasible {
        item: i,
        name: problem.items[i].name.clone(),
        min_risk,
        budget,
    }
}

/// The state of the whole decomposed search.
struct Search<'p> {
    problem: &'p Problem,
    units: Vec<Unit>,
    global: Vec<bool>,
    global_rows: Vec<usize>,
    data: Vec<ItemData>,
    scratches: Vec<Scratch>,
    touched: Vec<Vec<u32>>,
    results: Vec<Option<UnitResult>>,
    pool: Vec<Vec<Column>>,
    counters: Counters,
    cfg: RunConfig,
    /// Cost paid whatever the assignment (switches fixed on outside every group).
    fixed_cost: f64,
}

impl Search<'_> {
    /// Solves the units whose priced rows changed (all when `changed` is `None`).
    fn solve_units(&mut self, mu: &[f64], changed: Option<&[bool]>) -> Result<(), SolveError> {
        let any_price = mu.iter().any(|&m| m != 0.0);
        let mu_opt = any_price.then_some(mu);
        let need: Vec<bool> = (0..self.units.len())
            .map(|u| {
                self.results[u].is_none()
                    || changed.is_none_or(|c| self.touched[u].iter().any(|&r| c[r as usize]))
            })
            .collect();
        let mut is_item = vec![None; self.problem.items.len()];
        for (u, unit) in self.units.iter().enumerate() {
            if let (Unit::Item(i), true) = (unit, need[u]) {
                is_item[*i] = Some(u);
            }
        }
        let jobs: Vec<(usize, &mut ItemData)> = self
            .data
            .iter_mut()
            .enumerate()
            .filter_map(|(i, d)| is_item[i].map(|u| (u, d)))
            .collect();
        let (problem, global) = (self.problem, &self.global);
        let solved = par_map(jobs, &mut self.scratches, &|(u, d), sc| {
            (u, solve_item_unit(problem, global, d, mu_opt, sc))
        });
        for (u, r) in solved {
            let Some(r) = r else {
                let i = self.units[u].items()[0];
                return Err(item_infeasible(
                    problem,
                    i,
                    &self.data[i],
                    &mut self.scratches[0],
                ));
            };
            self.results[u] = Some(r);
        }
        for (u, &needed) in need.iter().enumerate() {
            if let (Unit::Group(g), true) = (&self.units[u], needed) {
                let r = solve_group(
                    problem,
                    global,
                    g,
                    &mut self.data,
                    mu_opt,
                    &self.cfg,
                    false,
                    &mut self.scratches[0],
                    &mut self.counters,
                )?;
                self.results[u] = Some(r);
            }
        }
        Ok(())
    }

    fn result(&self, u: usize) -> Result<&UnitResult, SolveError> {
        self.results[u].as_ref().ok_or_else(|| SolveError::Solver {
            message: format!("unit {u} was never solved"),
        })
    }

    /// Adds each unit's current column to its pool; returns the pool indices.
    fn pool_current(&mut self) -> Vec<usize> {
        let mut idx = Vec::with_capacity(self.units.len());
        for (u, r) in self.results.iter().enumerate() {
            let Some(r) = r else {
                idx.push(usize::MAX);
                continue;
            };
            let pool = &mut self.pool[u];
            match pool
                .iter()
                .position(|c| c.choices == r.col.choices && c.switches == r.col.switches)
            {
                Some(k) => idx.push(k),
                None => {
                    pool.push(r.col.clone());
                    idx.push(pool.len() - 1);
                }
            }
        }
        idx
    }

    /// The Lagrangian bound at `mu` from the units' current results (solved at `mu`).
    fn bound(&self, mu: &[f64]) -> Result<f64, SolveError> {
        let mut lb = self.fixed_cost;
        for u in 0..self.units.len() {
            lb += self.result(u)?.lb;
        }
        Ok(lb
            - self
                .global_rows
                .iter()
                .map(|&r| mu[r] * self.problem.rows[r].capacity)
                .sum::<f64>())
    }

    /// True cost of an assignment given by pool indices.
    fn cost(&self, pick: &[usize]) -> f64 {
        self.fixed_cost
            + pick
                .iter()
                .enumerate()
                .map(|(u, &k)| self.pool[u][k].cost)
                .sum::<f64>()
    }

    fn usage(&self, pick: &[usize]) -> Vec<f64> {
        let mut d = vec![0.0; self.problem.rows.len()];
        for (u, &k) in pick.iter().enumerate() {
            for &(r, x) in &self.pool[u][k].usage {
                d[r as usize] += x;
            }
        }
        d
    }
}

/// Feasibility slack on rows, absolute.
pub(crate) fn row_tol(capacity: f64) -> f64 {
    1e-6 * capacity.abs().max(1.0)
}

/// The decomposed solve. Assumes a validated problem.
pub(crate) fn solve(
    problem: &Problem,
    options: &crate::SolveOptions,
    deadline: Instant,
    config: &Config,
) -> Result<Outcome, SolveError> {
    let target = options.mip_gap.max(0.0);
    let nthreads = threads();
    let mut scratches: Vec<Scratch> = (0..nthreads).map(|_| Scratch::default()).collect();
    let items: Vec<usize> = (0..problem.items.len()).collect();
    let rows = problem.rows.len();
    let data = par_map(items, &mut scratches, &|i, _| {
        crate::validate::validate_item(i, &problem.items[i], rows)?;
        Ok(ItemData::new(&problem.items[i]))
    });
    let data = data
        .into_iter()
        .collect::<Result<Vec<ItemData>, SolveError>>()?;
    let lay = layout(problem, &data, config)?;
    let mut seen = vec![usize::MAX; problem.rows.len()];
    let touched: Vec<Vec<u32>> = lay
        .units
        .iter()
        .enumerate()
        .map(|(u, unit)| {
            let mut t: Vec<u32> = Vec::new();
            for &i in unit.items() {
                for cb in &data[i].compact {
                    for r in cb
                        .base_usage
                        .iter()
                        .map(|x| x.0)
                        .chain(cb.use_row.iter().copied())
                    {
                        if lay.global[r as usize] && seen[r as usize] != u {
                            seen[r as usize] = u;
                            t.push(r);
                        }
                    }
                }
            }
            t
        })
        .collect();
    // Group models would report an infeasible item as infeasible rows: check those
    // items alone first (single items are checked as they are solved).
    for unit in &lay.units {
        if let Unit::Group(g) = unit {
            for &i in &g.items {
                if !crate::units::feasible_alone(&data[i], &mut scratches[0]) {
                    return Err(item_infeasible(problem, i, &data[i], &mut scratches[0]));
                }
            }
        }
    }
    let remaining = || {
        deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
    };
    let nunits = lay.units.len();
    let fixed_cost = lay.fixed_cost;
    let groups = lay
        .units
        .iter()
        .filter(|u| matches!(u, Unit::Group(_)))
        .count();
    let mut s = Search {
        problem,
        units: lay.units,
        global: lay.global,
        global_rows: lay.global_rows,
        data,
        scratches,
        touched,
        results: vec![None; nunits],
        pool: vec![Vec::new(); nunits],
        counters: Counters::default(),
        fixed_cost,
        // Group models may use half the gap budget: their gaps add up to at most this
        // share of the total.
        cfg: RunConfig {
            rel_gap: target * 0.5,
            abs_gap: 1e-9,
            time_limit: remaining(),
        },
    };
    let nr = problem.rows.len();
    // Set up on the first price update (a problem whose rows never bind skips it).
    let mut search: Vec<RowSearch> = Vec::new();
    // Largest cost any assignment can have (known once prices are set up): a bound above
    // it proves that no assignment meets the rows.
    let mut worst = f64::INFINITY;
    let mut last_usage: Vec<f64> = Vec::new();
    let mut mu = vec![0.0; nr];
    let mut best_lb = f64::NEG_INFINITY;
    let mut best_mu = mu.clone();
    // The latest prices and their bound: the search's estimate of market-clearing prices.
    let mut last: (f64, Vec<f64>);
    let mut best_units: Vec<UnitBounds> = Vec::new();
    let mut best_ub: Option<(f64, Vec<usize>)> = None;
    let mut changed: Option<Vec<bool>> = None;
    let mut iterations = 0;
    let gap_ok = |ub: f64, lb: f64| ub - lb <= target * ub.abs().max(1e-9) + 1e-9;
    loop {
        iterations += 1;
        s.cfg.time_limit = remaining();
        s.solve_units(&mu, changed.as_deref())?;
        let lb = s.bound(&mu)?;
        last = (lb, mu.clone());
        if lb > best_lb {
            best_lb = lb;
            best_mu.clone_from(&mu);
            best_units = s
                .results
                .iter()
                .flatten()
                .map(|r| (r.lb, r.ub, r.bases.clone()))
                .collect();
        }
        let pick = s.pool_current();
        let d = s.usage(&pick);
        last_usage.clone_from(&d);
        if lb > worst * (1.0 + 1e-9) + 1e-9 {
            let rows = s
                .global_rows
                .iter()
                .filter(|&&r| d[r] > problem.rows[r].capacity + row_tol(problem.rows[r].capacity))
                .map(|&r| problem.rows[r].name.clone())
                .collect();
            return Err(SolveError::RowsInfeasible { rows });
        }
        if let Some(pick) = s.repair(pick, &d) {
            let cost = s.cost(&pick);
            if best_ub.as_ref().is_none_or(|b| cost < b.0) {
                best_ub = Some((cost, pick));
            }
        }
        if best_ub.as_ref().is_some_and(|b| gap_ok(b.0, best_lb))
            || s.global_rows.is_empty()
            || iterations >= MAX_ITERATIONS
            || remaining() <= LOOP_SHARE_LEFT * options.time_limit.as_secs_f64()
        {
            break;
        }
        if search.is_empty() {
            let scales = price_scales(&s.data, nr);
            let (ceilings, total) = price_ceilings(&s.data, nr);
            worst = total + problem.switches.iter().map(|x| x.cost).sum::<f64>();
            search = (0..nr)
                .map(|r| RowSearch {
                    scale: scales[r].min(ceilings[r]),
                    ceiling: ceilings[r],
                    ..RowSearch::default()
                })
                .collect();
        }
        let mut ch = vec![false; nr];
        let mut any = false;
        for &r in &s.global_rows {
            let cap = problem.rows[r].capacity;
            // Aim a little below capacity so that all rows at once end up feasible.
            let margin = TARGET_MARGIN * cap.abs() + row_tol(cap);
            search[r].demand = d[r];
            let next = search[r].next(mu[r], d[r] - (cap - margin), 2.0 * margin);
            if next != mu[r] {
                ch[r] = true;
                any = true;
                mu[r] = next;
            }
        }
        if !any {
            break;
        }
        changed = Some(ch);
    }
    let mut fell_back = false;
    let mut master_columns = 0;
    // Close unit gaps at the best prices, largest first, until they fit the target.
    let gap_now = |best_ub: &Option<(f64, Vec<usize>)>, lb: f64| {
        best_ub.as_ref().is_none_or(|b| !gap_ok(b.0, lb))
    };
    if gap_now(&best_ub, best_lb) && !best_units.is_empty() {
        best_lb = s.refine(
            &best_mu,
            &mut best_units,
            &mut best_ub,
            best_lb,
            target,
            deadline,
        )?;
    }
    // Restricted master over the pooled columns.
    if gap_now(&best_ub, best_lb) && !s.global_rows.is_empty() && remaining() > 0.0 {
        master_columns = s.master(
            &best_mu,
            &best_units,
            &mut best_ub,
            best_lb,
            target,
            remaining(),
        )?;
    }
    let mut choices: Vec<Choice> = vec![
        Choice {
            base: 0,
            levels: Vec::new()
        };
        problem.items.len()
    ];
    let mut switches: Vec<bool> = problem
        .switches
        .iter()
        .map(|s| s.fixed.unwrap_or(false))
        .collect();
    if let Some((_, pick)) = &best_ub {
        for (u, &k) in pick.iter().enumerate() {
            let c = &s.pool[u][k];
            for (&i, ch) in s.units[u].items().iter().zip(&c.choices) {
                choices[i] = ch.clone();
            }
            for &(sw, on) in &c.switches {
                switches[sw] = on;
            }
        }
    }
    // Last resort for small instances: the monolithic model, warm-started.
    if gap_now(&best_ub, best_lb)
        && remaining() > 0.0
        && !crate::binaries_exceed(problem, FALLBACK_MAX_BINARIES)
    {
        fell_back = true;
        s.counters.highs += 1;
        let all: Vec<usize> = (0..problem.items.len()).collect();
        let rows: Vec<usize> = (0..nr).collect();
        let sw: Vec<usize> = (0..problem.switches.len()).collect();
        let scope = milp::Scope {
            items: &all,
            only_base: None,
            rows: &rows,
            outside: None,
            switches: &sw,
            mu: None,
            relax: false,
            elastic: false,
        };
        let cfg = RunConfig {
            rel_gap: target,
            abs_gap: 1e-9,
            time_limit: remaining(),
        };
        match milp::solve_scope(problem, &scope, &cfg) {
            Ok(sol) => {
                let mut on = switches.clone();
                for &(k, v) in &sol.switches {
                    on[k] = v;
                }
                let cost = problem.evaluate(&sol.choices, &on, crate::feasibility_tol(problem));
                // Trust HiGHS's bound only when its solution is the one we read back.
                if cost.is_some_and(|c| (c - sol.objective).abs() <= 1e-6 * c.abs().max(1.0)) {
                    best_lb = best_lb.max(sol.bound);
                }
                if let Some(cost) = cost
                    && best_ub.as_ref().is_none_or(|b| cost < b.0)
                {
                    best_ub = Some((cost, Vec::new()));
                    choices = sol.choices;
                    switches = on;
                }
            }
            Err(MilpError::Infeasible) => {
                return Err(crate::diagnose_rows(problem, &mut s.counters.highs));
            }
            Err(MilpError::NoSolution) => {}
            Err(MilpError::Solver(message)) => return Err(SolveError::Solver { message }),
        }
    }
    if best_ub.is_none() {
        let exceeded: Vec<usize> = s
            .global_rows
            .iter()
            .copied()
            .filter(|&r| {
                last_usage[r] > problem.rows[r].capacity + row_tol(problem.rows[r].capacity)
            })
            .collect();
        if !exceeded.is_empty()
            && let Some(rows) = s.prove_rows_infeasible(&exceeded, deadline)?
        {
            return Err(SolveError::RowsInfeasible {
                rows: rows.iter().map(|&r| problem.rows[r].name.clone()).collect(),
            });
        }
        if remaining() > 0.0 {
            return Err(SolveError::Solver {
                message: format!(
                    "the decomposition found no assignment that meets every row after {iterations} price updates, and the problem is too large for the exact model"
                ),
            });
        }
        return Err(crate::no_assignment(problem, options.time_limit));
    }
    // Report the latest prices when their bound is as good as the best one up to a tenth
    // of the gap budget: they clear the rows the search aimed at, while the best bound
    // is often reached at zero prices when rows barely bind.
    let tolerance = 0.1 * target * best_ub.as_ref().map_or(0.0, |b| b.0.abs());
    let prices = if last.0 >= best_lb - tolerance {
        &last.1
    } else {
        &best_mu
    };
    let mut row_prices = vec![0.0; nr];
    for &r in &s.global_rows {
        row_prices[r] = prices[r];
    }
    let mu_opt = best_mu
        .iter()
        .any(|&m| m != 0.0)
        .then_some(best_mu.as_slice());
    for unit in &s.units {
        let Unit::Group(g) = unit else { continue };
        // Prices are a by-product: a failed LP costs them, not the assignment.
        let prices = group_row_prices(
            problem,
            g,
            &mut s.data,
            mu_opt,
            &mut s.scratches[0],
            &mut s.counters,
        );
        for (r, p) in prices.unwrap_or_default() {
            row_prices[r] = p;
        }
    }
    Ok(Outcome {
        choices,
        switches,
        lower_bound: best_lb,
        row_prices,
        counters: s.counters,
        iterations,
        groups,
        priced_rows: s.global_rows.len(),
        master_columns,
        fell_back,
        data: s.data,
    })
}
