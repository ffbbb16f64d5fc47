//! Everything that goes through HiGHS: the monolithic model of a set of items (the whole
//! problem, a group sharing local rows, or one base to close its gap), and the selection
//! model that picks one precomputed column per unit subject to rows (the restricted
//! master, and group base selection).
//!
//! Models are built with good_lp, then driven through the `highs` crate directly because
//! good_lp does not expose the MIP dual bound, and the lower bound we report must be a
//! real one, not `cost * (1 - gap)`.

use good_lp::{Constraint, Expression, ProblemVariables, SolverModel, Variable, highs, variable};
use highs::{HighsModelStatus, HighsSolutionStatus};

use crate::problem::{Choice, Problem};

/// How long and how precisely HiGHS may work.
#[derive(Debug, Clone)]
pub(crate) struct RunConfig {
    pub rel_gap: f64,
    /// Absolute gap HiGHS may stop at (besides the relative one).
    pub abs_gap: f64,
    pub time_limit: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MilpError {
    Infeasible,
    /// Time ran out before HiGHS found any feasible point.
    NoSolution,
    Solver(String),
}

/// A solved model: column values, objective and bound with the constant folded back.
#[derive(Debug)]
struct Run {
    cols: Vec<f64>,
    objective: f64,
    bound: f64,
    row_duals: Vec<f64>,
}

/// Variables, objective and constraints, with columns numbered in creation order (the
/// order HiGHS sees them), so initial solutions and results can be mapped back.
struct Model {
    vars: ProblemVariables,
    n: usize,
    objective: Expression,
    constant: f64,
    constraints: Vec<Constraint>,
    relax: bool,
    integers: bool,
    /// Objective coefficients are dropped (elastic diagnosis).
    costless: bool,
}

impl Model {
    fn new(relax: bool) -> Self {
        Self {
            vars: ProblemVariables::new(),
            n: 0,
            objective: Expression::default(),
            constant: 0.0,
            constraints: Vec::new(),
            relax,
            integers: false,
            costless: false,
        }
    }

    fn binary(&mut self, cost: f64) -> (Variable, usize) {
        let def = if self.relax {
            variable().min(0.0).max(1.0)
        } else {
            self.integers = true;
            variable().binary()
        };
        self.continuous_def(def, cost)
    }

    fn continuous_def(&mut self, def: good_lp::VariableDefinition, cost: f64) -> (Variable, usize) {
        let v = self.vars.add(def);
        if cost != 0.0 && !self.costless {
            self.objective.add_mul(cost, v);
        }
        self.n += 1;
        (v, self.n - 1)
    }

    fn constrain(&mut self, c: Constraint) -> usize {
        self.constraints.push(c);
        self.constraints.len() - 1
    }

    fn run(self, cfg: &RunConfig, initial: Option<Vec<f64>>) -> Result<Run, MilpError> {
        if self.n == 0 {
            return Ok(Run {
                cols: Vec::new(),
                objective: self.constant,
                bound: self.constant,
                row_duals: Vec::new(),
            });
        }
        let mut hp = self.vars.minimise(self.objective).using(highs);
        for c in self.constraints {
            hp.add_constraint(c);
        }
        let mut model = hp
            .try_into_inner()
            .map_err(|e| MilpError::Solver(e.to_string()))?;
        model.make_quiet();
        let set = |m: &mut highs::Model, k: &str, v: f64| {
            m.try_set_option(k, v)
                .map_err(|_| MilpError::Solver(format!("cannot set HiGHS option {k}")))
        };
        set(&mut model, "mip_rel_gap", cfg.rel_gap.max(0.0))?;
        set(&mut model, "mip_abs_gap", cfg.abs_gap.max(1e-9))?;
        set(&mut model, "time_limit", cfg.time_limit.max(0.01))?;
        if let Some(init) = initial {
            // A rejected hint only costs time; the solve itself decides feasibility.
            let _ = model.try_set_solution(Some(&init), None, None, None);
        }
        let solved = model
            .try_solve()
            .map_err(|e| MilpError::Solver(format!("{e:?}")))?;
        let complete = match solved.status() {
            HighsModelStatus::Optimal
            | HighsModelStatus::ObjectiveBound
            | HighsModelStatus::ObjectiveTarget => true,
            HighsModelStatus::ReachedTimeLimit
            | HighsModelStatus::ReachedIterationLimit
            | HighsModelStatus::ReachedSolutionLimit
            | HighsModelStatus::ReachedInterrupt
            | HighsModelStatus::ReachedMemoryLimit => false,
            HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible => {
                return Err(MilpError::Infeasible);
            }
            other => return Err(MilpError::Solver(format!("HiGHS status {other:?}"))),
        };
        let feasible = solved
            .int_info_value(c"primal_solution_status")
            .ok()
            .and_then(|v| HighsSolutionStatus::try_from(v as std::ffi::c_int).ok())
            == Some(HighsSolutionStatus::Feasible);
        if !feasible {
            return Err(if complete {
                MilpError::Solver("HiGHS reported success without a solution".into())
            } else {
                MilpError::NoSolution
            });
        }
        let objective = solved.objective_value();
        let bound = if self.integers {
            let reported = solved
                .double_info_value(c"mip_dual_bound")
                .ok()
                .filter(|b| b.is_finite())
                .unwrap_or(f64::NEG_INFINITY);
            // HiGHS only reports optimal once its gap is within the tolerances it was
            // given, which certifies this bound even if the reported one is stale.
            let certified = if complete {
                objective - (cfg.rel_gap.max(0.0) * objective.abs()).max(cfg.abs_gap.max(1e-9))
            } else {
                f64::NEG_INFINITY
            };
            reported.max(certified).min(objective)
        } else {
            objective
        };
        let sol = solved.get_solution();
        Ok(Run {
            cols: sol.columns().to_vec(),
            objective: objective + self.constant,
            bound: bound + self.constant,
            row_duals: sol.dual_rows().to_vec(),
        })
    }
}

/// Which part of a problem the monolithic model covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub items: &'a [usize],
    /// When set, `items[k]` may only use base `only_base[k]`.
    pub only_base: Option<&'a [usize]>,
    /// Rows enforced as constraints.
    pub rows: &'a [usize],
    /// Usage of enforced rows by items outside the scope, indexed by row.
    pub outside: Option<&'a [f64]>,
    /// Switches modelled (their cost is paid when on).
    pub switches: &'a [usize],
    /// Prices of rows that are not enforced, folded into costs.
    pub mu: Option<&'a [f64]>,
    pub relax: bool,
    /// Ignore costs and minimise the total relative excess over the enforced rows
    /// instead (to tell which rows make the problem infeasible).
    pub elastic: bool,
}

/// The monolithic model's answer for its scope.
#[derive(Debug, Clone)]
pub(crate) struct ScopeSolution {
    pub choices: Vec<Choice>,
    pub switches: Vec<(usize, bool)>,
    pub objective: f64,
    pub bound: f64,
    /// `(row, price)` for enforced rows (relaxed models only; USD per unit).
    pub row_prices: Vec<(usize, f64)>,
    /// Enforced rows the elastic model had to exceed.
    pub exceeded: Vec<usize>,
}

struct BaseVars {
    x: usize,
    cells: Vec<Option<usize>>,
}

/// The monolithic MILP (or its LP relaxation) over `scope`.
pub(crate) fn solve_scope(
    problem: &Problem,
    scope: &Scope<'_>,
    cfg: &RunConfig,
) -> Result<ScopeSolution, MilpError> {
    let mut m = Model::new(scope.relax);
    m.costless = scope.elastic;
    let mut enforced = vec![None; problem.rows.len()];
    for (k, &r) in scope.rows.iter().enumerate() {
        enforced[r] = Some(k);
    }
    let mut row_expr = vec![Expression::default(); scope.rows.len()];
    let mut row_max = vec![0.0; scope.rows.len()];
    let price = |r: usize| match (enforced[r], scope.mu) {
        (None, Some(mu)) => mu[r],
        _ => 0.0,
    };
    let mut layout: Vec<Vec<Option<BaseVars>>> = Vec::with_capacity(scope.items.len());
    for (k, &i) in scope.items.iter().enumerate() {
        let item = &problem.items[i];
        let mut pick = Expression::default();
        let mut item_vars = Vec::with_capacity(item.bases.len());
        let mut item_max = vec![0.0f64; scope.rows.len()];
        for (b, base) in item.bases.iter().enumerate() {
            if scope.only_base.is_some_and(|o| o[k] != b) {
                item_vars.push(None);
                continue;
            }
            let mut fixed = base.cost;
            let mut base_max = vec![0.0f64; scope.rows.len()];
            for &(r, u) in &base.usage {
                fixed += price(r.0) * u;
            }
            let (xv, x) = m.binary(fixed);
            pick.add_mul(1.0, xv);
            for &(r, u) in &base.usage {
                if let Some(e) = enforced[r.0] {
                    row_expr[e].add_mul(u, xv);
                    base_max[e] += u;
                }
            }
            let nl = base.levels.len();
            let mut cells = vec![None; base.slots.len() * nl];
            let mut vars = vec![None; base.slots.len() * nl];
            let mut risk = Expression::default();
            for (s, slot) in base.slots.iter().enumerate() {
                let mut one = Expression::default();
                let mut slot_max = vec![0.0f64; scope.rows.len()];
                for (l, alt) in slot.alternatives.iter().enumerate() {
                    let Some(alt) = alt else { continue };
                    let cost =
                        alt.cost + alt.usage.iter().map(|&(r, u)| price(r.0) * u).sum::<f64>();
                    let (v, col) = m.binary(cost);
                    one.add_mul(1.0, v);
                    risk.add_mul(alt.risk, v);
                    let mut here = vec![0.0f64; scope.rows.len()];
                    for &(r, u) in &alt.usage {
                        if let Some(e) = enforced[r.0] {
                            row_expr[e].add_mul(u, v);
                            here[e] += u;
                        }
                    }
                    for (sm, h) in slot_max.iter_mut().zip(here) {
                        *sm = sm.max(h);
                    }
                    cells[s * nl + l] = Some(col);
                    vars[s * nl + l] = Some(v);
                }
                for (bm, sm) in base_max.iter_mut().zip(slot_max) {
                    *bm += sm;
                }
                m.constrain(one.eq(xv));
            }
            if let Some(budget) = base.risk_budget {
                for (s, slot) in base.slots.iter().enumerate() {
                    let g = &slot.potential;
                    let prev = match s {
                        0 if base.cyclic && base.slots.len() > 1 => base.slots.len() - 1,
                        0 => continue,
                        _ => s - 1,
                    };
                    if g.is_empty() || g.first() == g.last() {
                        continue;
                    }
                    let (tv, _) = m.continuous_def(variable().min(0.0), 0.0);
                    let mut diff = Expression::default();
                    for l in 0..nl {
                        if let Some(v) = vars[s * nl + l] {
                            diff.add_mul(g[l], v);
                        }
                        if let Some(v) = vars[prev * nl + l] {
                            diff.add_mul(-g[l], v);
                        }
                    }
                    m.constrain(diff.leq(tv));
                    risk.add_mul(1.0, tv);
                }
                let mut cap = Expression::default();
                cap.add_mul(budget, xv);
                m.constrain(risk.leq(cap));
            }
            for (im, bm) in item_max.iter_mut().zip(base_max) {
                *im = im.max(bm);
            }
            item_vars.push(Some(BaseVars { x, cells }));
        }
        for (rm, im) in row_max.iter_mut().zip(item_max) {
            *rm += im;
        }
        m.constrain(pick.eq(1.0));
        layout.push(item_vars);
    }
    let mut switch_cols = Vec::with_capacity(scope.switches.len());
    let mut switch_var = vec![None; problem.switches.len()];
    for &s in scope.switches {
        let sw = &problem.switches[s];
        let (v, col) = match sw.fixed {
            Some(on) => {
                let b = if on { 1.0 } else { 0.0 };
                m.continuous_def(variable().min(b).max(b), sw.cost)
            }
            None => m.binary(sw.cost),
        };
        switch_cols.push((s, col));
        switch_var[s] = Some(v);
    }
    let mut row_cons = Vec::with_capacity(scope.rows.len());
    let mut slacks = Vec::new();
    for (e, &r) in scope.rows.iter().enumerate() {
        let row = &problem.rows[r];
        let cap = row.capacity - scope.outside.map_or(0.0, |o| o[r]);
        let mut expr = std::mem::take(&mut row_expr[e]);
        if scope.elastic {
            m.costless = false;
            let (sv, sc) = m.continuous_def(variable().min(0.0), 1.0 / cap.abs().max(1.0));
            m.costless = true;
            expr.add_mul(-1.0, sv);
            slacks.push((r, sc));
        }
        let big_m = (row_max[e] - cap).max(0.0);
        if let Some(y) = row.lifted_by.and_then(|s| switch_var[s.0])
            && big_m > 0.0
        {
            expr.add_mul(-big_m, y);
        }
        row_cons.push((r, m.constrain(expr.leq(cap))));
    }
    let run = m.run(cfg, None)?;
    let on = |col: usize| run.cols.get(col).is_some_and(|&v| v > 0.5);
    let mut choices = Vec::with_capacity(scope.items.len());
    for (k, &i) in scope.items.iter().enumerate() {
        let best = layout[k]
            .iter()
            .enumerate()
            .filter_map(|(b, bv)| bv.as_ref().map(|bv| (b, bv)))
            .max_by(|a, b| run.cols[a.1.x].total_cmp(&run.cols[b.1.x]));
        let Some((b, bv)) = best else {
            return Err(MilpError::Solver(format!("item {i} has no base in scope")));
        };
        let base = &problem.items[i].bases[b];
        let nl = base.levels.len();
        let levels = (0..base.slots.len())
            .map(|s| {
                (0..nl)
                    .filter(|&l| bv.cells[s * nl + l].is_some())
                    .max_by(|&a, &c| {
                        let va = bv.cells[s * nl + a].map_or(0.0, |col| run.cols[col]);
                        let vc = bv.cells[s * nl + c].map_or(0.0, |col| run.cols[col]);
                        va.total_cmp(&vc)
                    })
                    .unwrap_or(0)
            })
            .collect();
        choices.push(Choice { base: b, levels });
    }
    let switches = switch_cols.iter().map(|&(s, col)| (s, on(col))).collect();
    let row_prices = if scope.relax {
        row_cons
            .iter()
            .map(|&(r, k)| (r, run.row_duals.get(k).map_or(0.0, |d| (-d).max(0.0))))
            .collect()
    } else {
        Vec::new()
    };
    let exceeded = slacks
        .iter()
        .filter(|&&(_, col)| run.cols[col] > 1e-6)
        .map(|&(r, _)| r)
        .collect();
    Ok(ScopeSolution {
        choices,
        switches,
        objective: run.objective,
        bound: run.bound,
        row_prices,
        exceeded,
    })
}

/// One precomputed option of a unit in the selection model.
#[derive(Debug, Clone)]
pub(crate) struct SelectCol {
    pub cost: f64,
    /// `(row, amount)`, rows indexed into the `rows` given to [`select`].
    pub usage: Vec<(usize, f64)>,
}

#[derive(Debug, Clone)]
pub(crate) struct SelectRow {
    pub capacity: f64,
    /// Index into the `switches` given to [`select`].
    pub lifted_by: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct SelectSwitch {
    pub cost: f64,
    pub fixed: Option<bool>,
}

#[derive(Debug, Clone)]
pub(crate) struct Selection {
    pub pick: Vec<usize>,
    pub switches: Vec<bool>,
    pub objective: f64,
    pub bound: f64,
    /// Per row, the price (relaxed models only).
    pub row_prices: Vec<f64>,
}

/// Picks one column per unit (columns with infinite cost are not allowed) at least cost
/// subject to the rows. Units with a single allowed column become constants.
pub(crate) fn select(
    units: &[Vec<SelectCol>],
    rows: &[SelectRow],
    switches: &[SelectSwitch],
    cfg: &RunConfig,
    initial: Option<(&[usize], &[bool])>,
    relax: bool,
) -> Result<Selection, MilpError> {
    let mut m = Model::new(relax);
    let mut exprs = vec![Expression::default(); rows.len()];
    let mut caps: Vec<f64> = rows.iter().map(|r| r.capacity).collect();
    let mut row_max = vec![0.0; rows.len()];
    let mut cols: Vec<Vec<(usize, usize)>> = Vec::with_capacity(units.len());
    for unit in units {
        let allowed: Vec<usize> = (0..unit.len())
            .filter(|&k| unit[k].cost.is_finite())
            .collect();
        let mut here = Vec::new();
        let mut umax = vec![0.0f64; rows.len()];
        match allowed.as_slice() {
            [] => return Err(MilpError::Infeasible),
            &[k] => {
                m.constant += unit[k].cost;
                for &(r, u) in &unit[k].usage {
                    caps[r] -= u;
                }
            }
            _ => {
                let mut one = Expression::default();
                for &k in &allowed {
                    let (v, col) = m.binary(unit[k].cost);
                    one.add_mul(1.0, v);
                    let mut colmax = vec![0.0f64; rows.len()];
                    for &(r, u) in &unit[k].usage {
                        exprs[r].add_mul(u, v);
                        colmax[r] += u;
                    }
                    for (a, b) in umax.iter_mut().zip(colmax) {
                        *a = a.max(b);
                    }
                    here.push((k, col));
                }
                m.constrain(one.eq(1.0));
            }
        }
        for (a, b) in row_max.iter_mut().zip(umax) {
            *a += b;
        }
        cols.push(here);
    }
    let mut svars = Vec::with_capacity(switches.len());
    for sw in switches {
        let (v, col) = match sw.fixed {
            Some(on) => {
                let b = if on { 1.0 } else { 0.0 };
                m.continuous_def(variable().min(b).max(b), sw.cost)
            }
            None => m.binary(sw.cost),
        };
        svars.push((v, col));
    }
    let mut row_cons = vec![None; rows.len()];
    for (r, row) in rows.iter().enumerate() {
        let lift = row.lifted_by.map(|s| svars[s].0);
        let big_m = (row_max[r] - caps[r]).max(0.0);
        if row_max[r] == 0.0 {
            if caps[r] < -1e-9 && row.lifted_by.is_none() {
                return Err(MilpError::Infeasible);
            }
            if caps[r] >= -1e-9 {
                continue;
            }
        }
        let mut expr = std::mem::take(&mut exprs[r]);
        if let Some(y) = lift {
            let need = if row_max[r] == 0.0 { -caps[r] } else { big_m };
            expr.add_mul(-need, y);
        }
        row_cons[r] = Some(m.constrain(expr.leq(caps[r])));
    }
    let init = initial.map(|(pick, on)| {
        let mut v = vec![0.0; m.n];
        for (u, here) in cols.iter().enumerate() {
            for &(k, col) in here {
                if pick[u] == k {
                    v[col] = 1.0;
                }
            }
        }
        for (s, &(_, col)) in svars.iter().enumerate() {
            v[col] = if on[s] { 1.0 } else { 0.0 };
        }
        v
    });
    let run = m.run(cfg, init)?;
    let pick = units
        .iter()
        .zip(&cols)
        .map(|(unit, here)| {
            if here.is_empty() {
                (0..unit.len())
                    .find(|&k| unit[k].cost.is_finite())
                    .unwrap_or(0)
            } else {
                here.iter()
                    .max_by(|a, b| run.cols[a.1].total_cmp(&run.cols[b.1]))
                    .map_or(0, |&(k, _)| k)
            }
        })
        .collect();
    let switches = svars.iter().map(|&(_, col)| run.cols[col] > 0.5).collect();
    let row_prices = row_cons
        .iter()
        .map(|k| match (relax, k) {
            (true, Some(k)) => run.row_duals.get(*k).map_or(0.0, |d| (-d).max(0.0)),
            _ => 0.0,
        })
        .collect();
    Ok(Selection {
        pick,
        switches,
        objective: run.objective,
        bound: run.bound,
        row_prices,
    })
}
