//! The monolithic model of a set of items: the whole problem, a group sharing local
//! rows, or one base to close its gap.

use good_lp::{Expression, Variable, variable};

use super::model::{MilpError, Model, Run, RunConfig};
use crate::problem::{Base, Choice, Problem};

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

/// A base's binary column and its level columns (`slot * levels + level`), for reading
/// the choice back.
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
    let mut b = Builder::new(problem, *scope);
    let layout: Vec<Vec<Option<BaseVars>>> = scope
        .items
        .iter()
        .enumerate()
        .map(|(k, &i)| b.add_item(k, i))
        .collect();
    let (switch_cols, switch_var) = b.add_switches();
    let RowCols { row_cons, slacks } = b.add_rows(&switch_var);
    let run = b.m.run(cfg, None)?;
    let choices = read_choices(problem, scope, &layout, &run)?;
    let on = |col: usize| run.cols.get(col).is_some_and(|&v| v > 0.5);
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

/// A scope's model while it is built. Row constraints wait until every item is in: a
/// row lifted by a switch needs its big-M, the largest usage the items could put on
/// it, which is only known then.
struct Builder<'a> {
    problem: &'a Problem,
    scope: Scope<'a>,
    m: Model,
    /// Per problem row, its position in `scope.rows` when enforced.
    enforced: Vec<Option<usize>>,
    /// Per enforced row, its usage so far.
    row_expr: Vec<Expression>,
    /// Per enforced row, the largest usage the items so far could put on it.
    row_max: Vec<f64>,
}

/// Where an enforced row's constraint and elastic slack ended up.
struct RowCols {
    /// `(row, constraint)` per enforced row.
    row_cons: Vec<(usize, usize)>,
    /// `(row, slack column)` per slack (elastic model only).
    slacks: Vec<(usize, usize)>,
}

/// One slot's level columns and variables, indexed `slot * levels + level`.
struct SlotVars {
    cells: Vec<Option<usize>>,
    vars: Vec<Option<Variable>>,
}

impl<'a> Builder<'a> {
    fn new(problem: &'a Problem, scope: Scope<'a>) -> Self {
        let mut m = Model::new(scope.relax);
        m.costless = scope.elastic;
        let mut enforced = vec![None; problem.rows.len()];
        for (k, &r) in scope.rows.iter().enumerate() {
            enforced[r] = Some(k);
        }
        Builder {
            problem,
            scope,
            m,
            enforced,
            row_expr: vec![Expression::default(); scope.rows.len()],
            row_max: vec![0.0; scope.rows.len()],
        }
    }

    /// Price of row `r` folded into costs: only rows priced but not enforced have one.
    fn price(&self, r: usize) -> f64 {
        match (self.enforced[r], self.scope.mu) {
            (None, Some(mu)) => mu[r],
            _ => 0.0,
        }
    }

    /// Item `i` (the `k`th in scope): exactly one of its bases in scope. Its largest
    /// usage of a row is that of its hungriest base there.
    fn add_item(&mut self, k: usize, i: usize) -> Vec<Option<BaseVars>> {
        let problem = self.problem;
        let item = &problem.items[i];
        let nrows = self.scope.rows.len();
        let mut pick = Expression::default();
        let mut item_vars = Vec::with_capacity(item.bases.len());
        let mut item_max = vec![0.0f64; nrows];
        for (b, base) in item.bases.iter().enumerate() {
            if self.scope.only_base.is_some_and(|o| o[k] != b) {
                item_vars.push(None);
                continue;
            }
            let (xv, vars, base_max) = self.add_base(base);
            pick.add_mul(1.0, xv);
            for (im, bm) in item_max.iter_mut().zip(base_max) {
                *im = im.max(bm);
            }
            item_vars.push(Some(vars));
        }
        for (rm, im) in self.row_max.iter_mut().zip(item_max) {
            *rm += im;
        }
        self.m.constrain(pick.eq(1.0));
        item_vars
    }

    /// A base's binary, its slots and its risk budget. Returns the binary, the base's
    /// columns, and its largest usage of each enforced row: its own plus, per slot, the
    /// hungriest alternative's.
    fn add_base(&mut self, base: &Base) -> (Variable, BaseVars, Vec<f64>) {
        let mut fixed = base.cost;
        let mut base_max = vec![0.0f64; self.scope.rows.len()];
        for &(r, u) in &base.usage {
            fixed += self.price(r.0) * u;
        }
        let (xv, x) = self.m.binary(fixed);
        for &(r, u) in &base.usage {
            if let Some(e) = self.enforced[r.0] {
                self.row_expr[e].add_mul(u, xv);
                base_max[e] += u;
            }
        }
        let (slots, risk) = self.add_slots(base, xv, &mut base_max);
        if let Some(budget) = base.risk_budget {
            self.add_risk_budget(base, budget, xv, &slots.vars, risk);
        }
        let cells = slots.cells;
        (xv, BaseVars { x, cells }, base_max)
    }

    /// One level per slot when the base is picked (none otherwise). Returns the level
    /// variables and the base's risk so far (the levels' own risk).
    fn add_slots(
        &mut self,
        base: &Base,
        xv: Variable,
        base_max: &mut [f64],
    ) -> (SlotVars, Expression) {
        let nrows = self.scope.rows.len();
        let nl = base.levels.len();
        let mut cells = vec![None; base.slots.len() * nl];
        let mut vars = vec![None; base.slots.len() * nl];
        let mut risk = Expression::default();
        for (s, slot) in base.slots.iter().enumerate() {
            let mut one = Expression::default();
            let mut slot_max = vec![0.0f64; nrows];
            for (l, alt) in slot.alternatives.iter().enumerate() {
                let Some(alt) = alt else { continue };
                let cost = alt.cost
                    + alt
                        .usage
                        .iter()
                        .map(|&(r, u)| self.price(r.0) * u)
                        .sum::<f64>();
                let (v, col) = self.m.binary(cost);
                one.add_mul(1.0, v);
                risk.add_mul(alt.risk, v);
                let mut here = vec![0.0f64; nrows];
                for &(r, u) in &alt.usage {
                    if let Some(e) = self.enforced[r.0] {
                        self.row_expr[e].add_mul(u, v);
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
            self.m.constrain(one.eq(xv));
        }
        (SlotVars { cells, vars }, risk)
    }

    /// The base's risk within its budget: the levels' risk plus, per slot, how far the
    /// potential rises from the previous slot's level (which wraps round on cyclic
    /// bases), each rise bounded below by a continuous variable.
    fn add_risk_budget(
        &mut self,
        base: &Base,
        budget: f64,
        xv: Variable,
        vars: &[Option<Variable>],
        mut risk: Expression,
    ) {
        let nl = base.levels.len();
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
            let (tv, _) = self.m.continuous_def(variable().min(0.0), 0.0);
            let mut diff = Expression::default();
            for l in 0..nl {
                if let Some(v) = vars[s * nl + l] {
                    diff.add_mul(g[l], v);
                }
                if let Some(v) = vars[prev * nl + l] {
                    diff.add_mul(-g[l], v);
                }
            }
            self.m.constrain(diff.leq(tv));
            risk.add_mul(1.0, tv);
        }
        let mut cap = Expression::default();
        cap.add_mul(budget, xv);
        self.m.constrain(risk.leq(cap));
    }

    /// The switches in scope, fixed ones as constants. Returns `(switch, column)` per
    /// switch in scope and, per problem switch, its variable when in scope.
    fn add_switches(&mut self) -> (Vec<(usize, usize)>, Vec<Option<Variable>>) {
        let mut switch_cols = Vec::with_capacity(self.scope.switches.len());
        let mut switch_var = vec![None; self.problem.switches.len()];
        for &s in self.scope.switches {
            let sw = &self.problem.switches[s];
            let (v, col) = match sw.fixed {
                Some(on) => {
                    let b = if on { 1.0 } else { 0.0 };
                    self.m.continuous_def(variable().min(b).max(b), sw.cost)
                }
                None => self.m.binary(sw.cost),
            };
            switch_cols.push((s, col));
            switch_var[s] = Some(v);
        }
        (switch_cols, switch_var)
    }

    /// The enforced rows, net of what items outside the scope use. A lifted row is
    /// relaxed by its big-M when its switch is on; in the elastic model each row gets a
    /// slack costed per unit of capacity, the only cost that model has. Returns
    /// where the rows' prices and excesses are read back.
    fn add_rows(&mut self, switch_var: &[Option<Variable>]) -> RowCols {
        let scope = self.scope;
        let mut row_cons = Vec::with_capacity(scope.rows.len());
        let mut slacks = Vec::new();
        for (e, &r) in scope.rows.iter().enumerate() {
            let row = &self.problem.rows[r];
            let cap = row.capacity - scope.outside.map_or(0.0, |o| o[r]);
            let mut expr = std::mem::take(&mut self.row_expr[e]);
            if scope.elastic {
                self.m.costless = false;
                let (sv, sc) = self
                    .m
                    .continuous_def(variable().min(0.0), 1.0 / cap.abs().max(1.0));
                self.m.costless = true;
                expr.add_mul(-1.0, sv);
                slacks.push((r, sc));
            }
            let big_m = (self.row_max[e] - cap).max(0.0);
            if let Some(y) = row.lifted_by.and_then(|s| switch_var[s.0])
                && big_m > 0.0
            {
                expr.add_mul(-big_m, y);
            }
            row_cons.push((r, self.m.constrain(expr.leq(cap))));
        }
        RowCols { row_cons, slacks }
    }
}

/// Each item's base and levels read back from the run: the base and, per slot, the
/// level with the largest value (the LP relaxation's are fractional).
fn read_choices(
    problem: &Problem,
    scope: &Scope<'_>,
    layout: &[Vec<Option<BaseVars>>],
    run: &Run,
) -> Result<Vec<Choice>, MilpError> {
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
    Ok(choices)
}
