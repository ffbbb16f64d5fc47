//! The primal side: closing unit gaps exactly at the best prices, and turning the
//! columns the price search produced into an assignment that meets the priced rows, by
//! a greedy repair and by a restricted master MILP.

use std::time::Instant;

use super::search::{Search, UnitBounds, item_infeasible, row_tol};
use crate::error::SolveError;
use crate::milp::{self, MilpError, RunConfig, SelectCol, SelectRow};
use crate::units::{
    Column, Unit, item_column, milp_base, refine_item_unit, solve_group, solve_item_unit,
};

impl Search<'_> {
    /// Closes unit gaps at the best prices, largest first, until their sum fits half the
    /// gap budget: each refined unit raises the bound by what it closes, and its exact
    /// column is swapped into the incumbent if the rows still hold. Returns the bound.
    pub(super) fn refine(
        &mut self,
        best_mu: &[f64],
        best_units: &mut [UnitBounds],
        best_ub: &mut Option<(f64, Vec<usize>)>,
        best_lb: f64,
        target: f64,
        deadline: Instant,
    ) -> Result<f64, SolveError> {
        let problem = self.problem;
        let mu_opt = best_mu.iter().any(|&m| m != 0.0).then_some(best_mu);
        let ub_est = best_ub.as_ref().map_or(best_lb.abs(), |b| b.0.abs());
        let allowance = 0.5 * target * ub_est;
        let mut order: Vec<usize> = (0..self.units.len()).collect();
        order.sort_by(|&a, &b| {
            let ga = best_units[a].1 - best_units[a].0;
            let gb = best_units[b].1 - best_units[b].0;
            gb.total_cmp(&ga)
        });
        let mut total: f64 = best_units.iter().map(|x| x.1 - x.0).sum();
        let mut refined_lb = best_lb;
        // The assignment refined columns are swapped into (checked against the rows).
        let mut candidate: Vec<usize> = match &*best_ub {
            Some((_, pick)) => pick.clone(),
            None => self.pool_current(),
        };
        for u in order {
            let gap_u = best_units[u].1 - best_units[u].0;
            if total <= allowance
                || gap_u <= 1e-9 * (1.0 + best_units[u].1.abs())
                || Instant::now() >= deadline
            {
                break;
            }
            self.counters.refined += 1;
            let (new_lb, col) = match &self.units[u] {
                Unit::Item(i) => {
                    let i = *i;
                    // Re-solve at the best prices before closing the gap there.
                    let d = &mut self.data[i];
                    let Some(mut r) =
                        solve_item_unit(problem, &self.global, d, mu_opt, &mut self.scratches[0])
                    else {
                        return Err(item_infeasible(problem, i, d, &mut self.scratches[0]));
                    };
                    let hard = refine_item_unit(
                        problem,
                        &self.global,
                        d,
                        mu_opt,
                        &mut self.scratches[0],
                        &mut r,
                    );
                    for b in hard {
                        self.counters.highs += 1;
                        let cfg = RunConfig {
                            rel_gap: 0.1 * target,
                            abs_gap: 1e-9,
                            time_limit: deadline
                                .saturating_duration_since(Instant::now())
                                .as_secs_f64(),
                        };
                        let (lb_b, best) = milp_base(problem, i, b, mu_opt, &cfg)?;
                        r.bases[b].0 = r.bases[b].0.max(lb_b);
                        if let Some((c, choice)) = best
                            && c < r.ub
                        {
                            r.ub = c;
                            r.col = item_column(problem, &self.global, &self.data[i], choice);
                        }
                        r.lb = r.bases.iter().map(|x| x.0).fold(f64::INFINITY, f64::min);
                    }
                    (r.lb, r.col)
                }
                Unit::Group(g) => {
                    let g = g.clone();
                    let r = solve_group(
                        problem,
                        &self.global,
                        &g,
                        &mut self.data,
                        mu_opt,
                        &self.cfg,
                        true,
                        &mut self.scratches[0],
                        &mut self.counters,
                    )?;
                    (r.lb, r.col)
                }
            };
            let old = best_units[u].0;
            if new_lb > old {
                refined_lb += new_lb - old;
                total -= new_lb - old;
                best_units[u].0 = new_lb;
            }
            let pool = &mut self.pool[u];
            candidate[u] = match pool
                .iter()
                .position(|c| c.choices == col.choices && c.switches == col.switches)
            {
                Some(k) => k,
                None => {
                    pool.push(col);
                    pool.len() - 1
                }
            };
        }

        let d = self.usage(&candidate);
        if self.global_rows.iter().all(|&r| {
            d[r] <= self.problem.rows[r].capacity + row_tol(self.problem.rows[r].capacity)
        }) {
            let cost = self.cost(&candidate);
            if best_ub.as_ref().is_none_or(|b| cost < b.0) {
                *best_ub = Some((cost, candidate));
            }
        }
        Ok(best_lb.max(refined_lb))
    }

    /// Makes an assignment feasible on the priced rows by switching units to other
    /// pooled columns, cheapest cost per unit of excess removed first, never pushing
    /// another row over. `None` if excess remains.
    pub(super) fn repair(&self, mut pick: Vec<usize>, usage: &[f64]) -> Option<Vec<usize>> {
        let caps: Vec<f64> = self
            .problem
            .rows
            .iter()
            .map(|r| r.capacity + row_tol(r.capacity))
            .collect();
        let mut d = usage.to_vec();
        let over = |d: &[f64]| self.global_rows.iter().any(|&r| d[r] > caps[r]);
        if !over(&d) {
            return Some(pick);
        }
        for _round in 0..3 {
            let excess: Vec<f64> = (0..d.len()).map(|r| (d[r] - caps[r]).max(0.0)).collect();
            let mut moves: Vec<(f64, usize, usize)> = Vec::new();
            for (u, pool) in self.pool.iter().enumerate() {
                if pool.len() < 2 {
                    continue;
                }
                let cur = &pool[pick[u]];
                for (k, col) in pool.iter().enumerate() {
                    if k == pick[u] {
                        continue;
                    }
                    let gain = gain(cur, col, &excess);
                    if gain > 0.0 {
                        moves.push(((col.cost - cur.cost) / gain, u, k));
                    }
                }
            }
            moves.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (_, u, k) in moves {
                let excess: Vec<f64> = (0..d.len()).map(|r| (d[r] - caps[r]).max(0.0)).collect();
                let (cur, col) = (&self.pool[u][pick[u]], &self.pool[u][k]);
                if gain(cur, col, &excess) <= 0.0 {
                    continue;
                }
                let mut next = d.clone();
                for &(r, x) in &cur.usage {
                    next[r as usize] -= x;
                }
                for &(r, x) in &col.usage {
                    next[r as usize] += x;
                }
                let worse = self
                    .global_rows
                    .iter()
                    .any(|&r| next[r] > caps[r] && next[r] > d[r]);
                if !worse {
                    d = next;
                    pick[u] = k;
                    if !over(&d) {
                        return Some(pick);
                    }
                }
            }
        }
        None
    }

    /// The restricted master over pooled columns whose reduced cost at the best prices
    /// leaves room under the incumbent (other columns cannot improve on it). Updates
    /// `best_ub` and returns how many columns it offered.
    pub(super) fn master(
        &mut self,
        best_mu: &[f64],
        best_units: &[UnitBounds],
        best_ub: &mut Option<(f64, Vec<usize>)>,
        best_lb: f64,
        target: f64,
        time_limit: f64,
    ) -> Result<usize, SolveError> {
        let threshold = best_ub.as_ref().map_or(f64::INFINITY, |b| b.0 - best_lb);
        let mut kept: Vec<Vec<usize>> = Vec::with_capacity(self.units.len());
        for u in 0..self.units.len() {
            let lb_u = best_units.get(u).map_or(f64::NEG_INFINITY, |x| x.0);
            let mut k: Vec<usize> = (0..self.pool[u].len())
                .filter(|&k| {
                    self.pool[u][k].priced(best_mu) - lb_u
                        <= threshold + 1e-9 * (1.0 + threshold.abs().min(1e12))
                })
                .collect();
            if let Some((_, pick)) = &*best_ub
                && !k.contains(&pick[u])
            {
                k.push(pick[u]);
            }
            if k.is_empty() {
                k = (0..self.pool[u].len()).collect();
            }
            kept.push(k);
        }
        let gidx: Vec<Option<usize>> = {
            let mut v = vec![None; self.problem.rows.len()];
            for (k, &r) in self.global_rows.iter().enumerate() {
                v[r] = Some(k);
            }
            v
        };
        let units: Vec<Vec<SelectCol>> = kept
            .iter()
            .enumerate()
            .map(|(u, ks)| {
                ks.iter()
                    .map(|&k| {
                        let c = &self.pool[u][k];
                        SelectCol {
                            cost: c.cost,
                            usage: c
                                .usage
                                .iter()
                                .filter_map(|&(r, x)| gidx[r as usize].map(|g| (g, x)))
                                .collect(),
                        }
                    })
                    .collect()
            })
            .collect();
        let master_columns = kept.iter().filter(|k| k.len() > 1).map(Vec::len).sum();
        let rows: Vec<SelectRow> = self
            .global_rows
            .iter()
            .map(|&r| SelectRow {
                capacity: self.problem.rows[r].capacity,
                lifted_by: None,
            })
            .collect();
        let init: Option<Vec<usize>> = best_ub.as_ref().map(|(_, pick)| {
            kept.iter()
                .enumerate()
                .map(|(u, ks)| ks.iter().position(|&k| k == pick[u]).unwrap_or(0))
                .collect()
        });
        let ub_est = best_ub.as_ref().map_or(best_lb, |b| b.0).abs();
        let cfg = RunConfig {
            rel_gap: target * 0.1,
            abs_gap: (0.25 * target * ub_est).max(1e-9),
            time_limit,
        };
        self.counters.highs += 1;
        match milp::select(
            &units,
            &rows,
            &[],
            &cfg,
            init.as_ref().map(|p| (p.as_slice(), &[][..])),
            false,
        ) {
            Ok(sel) => {
                let pick: Vec<usize> = sel
                    .pick
                    .iter()
                    .enumerate()
                    .map(|(u, &k)| kept[u][k])
                    .collect();
                let cost = self.cost(&pick);
                let d = self.usage(&pick);
                let ok = self.global_rows.iter().all(|&r| {
                    d[r] <= self.problem.rows[r].capacity + row_tol(self.problem.rows[r].capacity)
                });
                if ok && best_ub.as_ref().is_none_or(|b| cost < b.0) {
                    *best_ub = Some((cost, pick));
                }
            }
            Err(MilpError::Infeasible | MilpError::NoSolution) => {}
            Err(MilpError::Solver(message)) => return Err(SolveError::Solver { message }),
        }
        Ok(master_columns)
    }
}

/// Excess removed from rows over capacity by switching from column `cur` to `col`.
fn gain(cur: &Column, col: &Column, excess: &[f64]) -> f64 {
    let mut delta: Vec<(u32, f64)> = cur.usage.iter().map(|&(r, x)| (r, -x)).collect();
    delta.extend_from_slice(&col.usage);
    delta.sort_by_key(|e| e.0);
    let mut g = 0.0;
    let mut i = 0;
    while i < delta.len() {
        let r = delta[i].0;
        let mut sum = 0.0;
        while i < delta.len() && delta[i].0 == r {
            sum += delta[i].1;
            i += 1;
        }
        let e = excess[r as usize];
        if e > 0.0 {
            g += (-sum).clamp(0.0, e);
        }
    }
    g
}
