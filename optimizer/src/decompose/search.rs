//! The state the decomposed search shares between its steps — the units, their data
//! and latest results, and the column pools — set up once per solve, with what every
//! step asks of it: re-solving units at new prices, the bound those results give, and
//! the cost and usage of an assignment read from the pools.
//!
//! It imports nothing else from `decompose`, so that the price search and the primal
//! side can both build on it without files importing each other.

use std::time::Instant;

use crate::error::SolveError;
use crate::item::Scratch;
use crate::milp::RunConfig;
use crate::par::{par_map, threads};
use crate::problem::Problem;
use crate::units::{
    Column, Config, Counters, ItemData, Layout, Unit, UnitResult, layout, solve_group,
    solve_item_unit,
};

/// Per unit at the best prices: lower bound, best priced cost, per-base bounds.
pub(super) type UnitBounds = (f64, f64, Vec<(f64, f64)>);

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

/// Feasibility slack on rows, absolute.
pub(crate) fn row_tol(capacity: f64) -> f64 {
    1e-6 * capacity.abs().max(1.0)
}

/// The state of the whole decomposed search.
pub(super) struct Search<'p> {
    pub(super) problem: &'p Problem,
    pub(super) units: Vec<Unit>,
    pub(super) global: Vec<bool>,
    pub(super) global_rows: Vec<usize>,
    pub(super) data: Vec<ItemData>,
    pub(super) scratches: Vec<Scratch>,
    /// Per unit, the priced rows it uses: a unit is re-solved only when one of their
    /// prices moved.
    touched: Vec<Vec<u32>>,
    results: Vec<Option<UnitResult>>,
    pub(super) pool: Vec<Vec<Column>>,
    pub(super) counters: Counters,
    pub(super) cfg: RunConfig,
    /// Cost paid whatever the assignment (switches fixed on outside every group).
    fixed_cost: f64,
}

/// Seconds left before `deadline` (zero once it has passed).
pub(super) fn remaining(deadline: Instant) -> f64 {
    deadline
        .saturating_duration_since(Instant::now())
        .as_secs_f64()
}

/// Every item checked and summarised, in parallel: the summaries are what every unit
/// model is built from.
fn item_data(problem: &Problem, scratches: &mut [Scratch]) -> Result<Vec<ItemData>, SolveError> {
    let items: Vec<usize> = (0..problem.items.len()).collect();
    let rows = problem.rows.len();
    let data = par_map(items, scratches, &|i, _| {
        crate::validate::validate_item(i, &problem.items[i], rows)?;
        Ok(ItemData::new(&problem.items[i]))
    });
    data.into_iter()
        .collect::<Result<Vec<ItemData>, SolveError>>()
}

/// Per unit, the priced rows any of its items' bases or alternatives use, each once.
fn touched_rows(problem: &Problem, lay: &Layout, data: &[ItemData]) -> Vec<Vec<u32>> {
    let mut seen = vec![usize::MAX; problem.rows.len()];
    lay.units
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
        .collect()
}

/// Group models would report an infeasible item as infeasible rows: check those items
/// alone first (single items are checked as they are solved).
fn check_group_items(
    problem: &Problem,
    units: &[Unit],
    data: &[ItemData],
    sc: &mut Scratch,
) -> Result<(), SolveError> {
    for unit in units {
        if let Unit::Group(g) = unit {
            for &i in &g.items {
                if !crate::units::feasible_alone(&data[i], sc) {
                    return Err(item_infeasible(problem, i, &data[i], sc));
                }
            }
        }
    }
    Ok(())
}

impl<'p> Search<'p> {
    /// Everything the search needs before the first prices. The order decides which
    /// error a broken problem reports: an invalid item first, then the layout, then an
    /// item of a group that fits no assignment even alone. Group models may use half the
    /// gap budget: their gaps add up to at most this share of the total.
    pub(super) fn new(
        problem: &'p Problem,
        config: &Config,
        target: f64,
        deadline: Instant,
    ) -> Result<Self, SolveError> {
        let mut scratches: Vec<Scratch> = (0..threads()).map(|_| Scratch::default()).collect();
        let data = item_data(problem, &mut scratches)?;
        let lay = layout(problem, &data, config)?;
        let touched = touched_rows(problem, &lay, &data);
        check_group_items(problem, &lay.units, &data, &mut scratches[0])?;
        let nunits = lay.units.len();
        Ok(Search {
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
            fixed_cost: lay.fixed_cost,
            cfg: RunConfig {
                rel_gap: target * 0.5,
                abs_gap: 1e-9,
                time_limit: remaining(deadline),
            },
        })
    }
}

impl Search<'_> {
    /// Solves the units whose priced rows changed (all when `changed` is `None`).
    pub(super) fn solve_units(
        &mut self,
        mu: &[f64],
        changed: Option<&[bool]>,
    ) -> Result<(), SolveError> {
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

    /// The units' current bounds, kept with the best prices for refining and the master.
    pub(super) fn unit_bounds(&self) -> Vec<UnitBounds> {
        self.results
            .iter()
            .flatten()
            .map(|r| (r.lb, r.ub, r.bases.clone()))
            .collect()
    }

    /// Adds each unit's current column to its pool; returns the pool indices.
    pub(super) fn pool_current(&mut self) -> Vec<usize> {
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
    pub(super) fn bound(&self, mu: &[f64]) -> Result<f64, SolveError> {
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
    pub(super) fn cost(&self, pick: &[usize]) -> f64 {
        self.fixed_cost
            + pick
                .iter()
                .enumerate()
                .map(|(u, &k)| self.pool[u][k].cost)
                .sum::<f64>()
    }

    pub(super) fn usage(&self, pick: &[usize]) -> Vec<f64> {
        let mut d = vec![0.0; self.problem.rows.len()];
        for (u, &k) in pick.iter().enumerate() {
            for &(r, x) in &self.pool[u][k].usage {
                d[r as usize] += x;
            }
        }
        d
    }
}
