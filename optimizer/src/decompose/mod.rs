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
use crate::milp::{self, MilpError, RunConfig};
use crate::problem::{Choice, Problem};
use crate::units::{Config, Counters, ItemData, Unit, group_row_prices};

mod prices;
mod primal;
mod search;

use prices::{RowSearch, price_ceilings, price_scales};
use search::{Search, UnitBounds, remaining};
pub(crate) use search::{item_infeasible, row_tol};

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
/// Price updates without a better bound, once an assignment is known, after which the
/// search goes back to the best prices with shorter steps, and after a second such run
/// stops. The rows' searches are coupled (a price moves usage into neighbouring
/// hours) and can walk away from the best prices for good: on the shared pass of the
/// real-shaped 10,000 (groups of 500, a third of their SLOs given way within a tight
/// share) the best bound came at the 7th update and the next 53 only lowered it; on
/// the joint 1,000 the best came at the 5th and nothing later beat it. The primal steps
/// that follow (refinement, the restricted master) use the best prices either way.
const STALL_ITERATIONS: usize = 12;
/// How much shorter a row's trust step is after going back to the best prices.
const RESTART_STEP: f64 = 0.25;
/// Share of the time limit kept for what follows the price search (refinement, the
/// restricted master, the exact model on small problems).
const LOOP_SHARE_LEFT: f64 = 0.4;
/// Share of capacity the price search leaves free on priced rows.
const TARGET_MARGIN: f64 = 0.001;

/// The decomposed solve. Assumes a validated problem.
pub(crate) fn solve(
    problem: &Problem,
    options: &crate::SolveOptions,
    deadline: Instant,
    config: &Config,
) -> Result<Outcome, SolveError> {
    let target = options.mip_gap.max(0.0);
    let mut s = Search::new(problem, config, target, deadline)?;
    let groups = s
        .units
        .iter()
        .filter(|u| matches!(u, Unit::Group(_)))
        .count();
    let mut p = Progress::new(problem.rows.len(), target);
    p.search_prices(&mut s, options.time_limit.as_secs_f64(), deadline)?;
    let master_columns = p.close_gaps(&mut s, deadline)?;
    let mut a = p.assignment(&s);
    // Last resort for small instances: the monolithic model, warm-started.
    let fell_back = p.gap_open()
        && remaining(deadline) > 0.0
        && !crate::binaries_exceed(problem, FALLBACK_MAX_BINARIES);
    if fell_back {
        p.monolithic(&mut s, &mut a, deadline)?;
    }
    if p.best_ub.is_none() {
        return Err(p.no_assignment(&mut s, options, deadline));
    }
    let row_prices = p.row_prices(&mut s);
    Ok(Outcome {
        choices: a.choices,
        switches: a.switches,
        lower_bound: p.best_lb,
        row_prices,
        counters: s.counters,
        iterations: p.iterations,
        groups,
        priced_rows: s.global_rows.len(),
        master_columns,
        fell_back,
        data: s.data,
    })
}

/// Whether `ub` is within the gap budget of `lb`.
fn gap_ok(ub: f64, lb: f64, target: f64) -> bool {
    ub - lb <= target * ub.abs().max(1e-9) + 1e-9
}

/// One choice per item and the switches, as the answer reports them.
struct Assignment {
    choices: Vec<Choice>,
    switches: Vec<bool>,
}

/// What the search has learnt so far, carried from the price search through the
/// primal steps to the answer: the prices being tried, the best bound and the prices
/// that gave it, and the best assignment met.
struct Progress {
    /// Gap budget, relative.
    target: f64,
    mu: Vec<f64>,
    /// Rows whose price moved in the last update (`None`: solve every unit).
    changed: Option<Vec<bool>>,
    /// Set up on the first price update (a problem whose rows never bind skips it).
    rows: Vec<RowSearch>,
    /// Largest cost any assignment can have (known once prices are set up): a bound
    /// above it proves that no assignment meets the rows.
    worst: f64,
    last_usage: Vec<f64>,
    best_lb: f64,
    best_mu: Vec<f64>,
    /// The latest prices and their bound: the search's estimate of market-clearing
    /// prices.
    last: (f64, Vec<f64>),
    best_units: Vec<UnitBounds>,
    /// Cost and pool indices of the best assignment (no indices once the monolithic
    /// model supplied it).
    best_ub: Option<(f64, Vec<usize>)>,
    iterations: usize,
    /// Price updates since the bound last improved.
    since_best: usize,
    /// Whether the search already went back to the best prices once.
    restarted: bool,
}

impl Progress {
    fn new(nr: usize, target: f64) -> Self {
        let mu = vec![0.0; nr];
        Progress {
            target,
            best_mu: mu.clone(),
            mu,
            changed: None,
            rows: Vec::new(),
            worst: f64::INFINITY,
            last_usage: Vec::new(),
            best_lb: f64::NEG_INFINITY,
            // Always overwritten by the first round, before anything reads it.
            last: (f64::NEG_INFINITY, Vec::new()),
            best_units: Vec::new(),
            best_ub: None,
            iterations: 0,
            since_best: 0,
            restarted: false,
        }
    }

    /// The incumbent is missing or still too far from the bound.
    fn gap_open(&self) -> bool {
        self.best_ub
            .as_ref()
            .is_none_or(|b| !gap_ok(b.0, self.best_lb, self.target))
    }

    /// Moves the row prices until the gap closes, the prices settle, or the loop's
    /// share of the time is spent; leaves the rest of the time to the primal steps.
    fn search_prices(
        &mut self,
        s: &mut Search<'_>,
        time_limit: f64,
        deadline: Instant,
    ) -> Result<(), SolveError> {
        loop {
            self.iterations += 1;
            s.cfg.time_limit = remaining(deadline);
            self.round(s)?;
            if self
                .best_ub
                .as_ref()
                .is_some_and(|b| gap_ok(b.0, self.best_lb, self.target))
                || s.global_rows.is_empty()
                || self.iterations >= MAX_ITERATIONS
                || remaining(deadline) <= LOOP_SHARE_LEFT * time_limit
            {
                return Ok(());
            }
            if self.best_ub.is_some() && self.since_best >= STALL_ITERATIONS {
                if self.restarted {
                    return Ok(());
                }
                self.restart();
                continue;
            }
            if self.rows.is_empty() {
                self.set_up_rows(s);
            }
            let Some(changed) = self.next_prices(s) else {
                return Ok(());
            };
            self.changed = Some(changed);
        }
    }

    /// One evaluation at the current prices: the bound they give, and the assignment
    /// their columns make once repaired to meet the rows. Fails when the bound proves
    /// that no assignment can.
    fn round(&mut self, s: &mut Search<'_>) -> Result<(), SolveError> {
        let problem = s.problem;
        s.solve_units(&self.mu, self.changed.as_deref())?;
        let lb = s.bound(&self.mu)?;
        self.last = (lb, self.mu.clone());
        // Only a real improvement restarts the count: a bound creeping up by rounding
        // error is a stalled search.
        if lb - self.best_lb > 1e-6 * lb.abs() {
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        if lb > self.best_lb {
            self.best_lb = lb;
            self.best_mu.clone_from(&self.mu);
            self.best_units = s.unit_bounds();
        }
        let pick = s.pool_current();
        let d = s.usage(&pick);
        self.last_usage.clone_from(&d);
        if lb > self.worst * (1.0 + 1e-9) + 1e-9 {
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
            if self.best_ub.as_ref().is_none_or(|b| cost < b.0) {
                self.best_ub = Some((cost, pick));
            }
        }
        Ok(())
    }

    /// Goes back to the best prices found, every row with a shorter step and no
    /// brackets (they were measured away from here), every unit solved afresh.
    fn restart(&mut self) {
        self.restarted = true;
        self.since_best = 0;
        self.mu.clone_from(&self.best_mu);
        for row in &mut self.rows {
            row.restart(RESTART_STEP);
        }
        self.changed = None;
    }

    /// Scales, ceilings and the worst cost, computed only once prices are needed.
    fn set_up_rows(&mut self, s: &Search<'_>) {
        let problem = s.problem;
        let nr = problem.rows.len();
        let scales = price_scales(&s.data, nr);
        let (ceilings, total) = price_ceilings(&s.data, nr);
        self.worst = total + problem.switches.iter().map(|x| x.cost).sum::<f64>();
        self.rows = (0..nr)
            .map(|r| RowSearch {
                scale: scales[r].min(ceilings[r]),
                ceiling: ceilings[r],
                ..RowSearch::default()
            })
            .collect();
    }

    /// The next price of every priced row from the latest usage; returns the rows whose
    /// price moved, or `None` when none did (the search has settled).
    fn next_prices(&mut self, s: &Search<'_>) -> Option<Vec<bool>> {
        let problem = s.problem;
        let d = &self.last_usage;
        let mut ch = vec![false; problem.rows.len()];
        let mut any = false;
        for &r in &s.global_rows {
            let cap = problem.rows[r].capacity;
            // Aim a little below capacity so that all rows at once end up feasible.
            let margin = TARGET_MARGIN * cap.abs() + row_tol(cap);
            self.rows[r].demand = d[r];
            let next = self.rows[r].next(self.mu[r], d[r] - (cap - margin), 2.0 * margin);
            if next != self.mu[r] {
                ch[r] = true;
                any = true;
                self.mu[r] = next;
            }
        }
        any.then_some(ch)
    }

    /// Closes unit gaps at the best prices, largest first, until they fit the target,
    /// then tries the restricted master over the pooled columns. Returns how many
    /// columns the master was offered.
    fn close_gaps(&mut self, s: &mut Search<'_>, deadline: Instant) -> Result<usize, SolveError> {
        if self.gap_open() && !self.best_units.is_empty() {
            self.best_lb = s.refine(
                &self.best_mu,
                &mut self.best_units,
                &mut self.best_ub,
                self.best_lb,
                self.target,
                deadline,
            )?;
        }
        if self.gap_open() && !s.global_rows.is_empty() && remaining(deadline) > 0.0 {
            return s.master(
                &self.best_mu,
                &self.best_units,
                &mut self.best_ub,
                self.best_lb,
                self.target,
                remaining(deadline),
            );
        }
        Ok(0)
    }

    /// The incumbent read back from the pools; without one, base 0 everywhere and the
    /// switches at their fixed values, for the monolithic model to improve on.
    fn assignment(&self, s: &Search<'_>) -> Assignment {
        let problem = s.problem;
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
        if let Some((_, pick)) = &self.best_ub {
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
        Assignment { choices, switches }
    }

    /// The whole problem as one MILP, for when the decomposition cannot close the gap
    /// (a duality gap on tiny instances). Its answer replaces the incumbent only if
    /// cheaper, and its bound counts only if its solution reads back at its objective.
    fn monolithic(
        &mut self,
        s: &mut Search<'_>,
        a: &mut Assignment,
        deadline: Instant,
    ) -> Result<(), SolveError> {
        let problem = s.problem;
        s.counters.highs += 1;
        let all: Vec<usize> = (0..problem.items.len()).collect();
        let rows: Vec<usize> = (0..problem.rows.len()).collect();
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
            rel_gap: self.target,
            abs_gap: 1e-9,
            time_limit: remaining(deadline),
        };
        match milp::solve_scope(problem, &scope, &cfg) {
            Ok(sol) => {
                let mut on = a.switches.clone();
                for &(k, v) in &sol.switches {
                    on[k] = v;
                }
                let cost = problem.evaluate(&sol.choices, &on, crate::feasibility_tol(problem));
                // Trust HiGHS's bound only when its solution is the one we read back.
                if cost.is_some_and(|c| (c - sol.objective).abs() <= 1e-6 * c.abs().max(1.0)) {
                    self.best_lb = self.best_lb.max(sol.bound);
                }
                if let Some(cost) = cost
                    && self.best_ub.as_ref().is_none_or(|b| cost < b.0)
                {
                    self.best_ub = Some((cost, Vec::new()));
                    a.choices = sol.choices;
                    a.switches = on;
                }
                Ok(())
            }
            Err(MilpError::Infeasible) => Err(crate::diagnose_rows(problem, &mut s.counters.highs)),
            Err(MilpError::NoSolution) => Ok(()),
            Err(MilpError::Solver(message)) => Err(SolveError::Solver { message }),
        }
    }

    /// Why no assignment was found, as precisely as can be said: rows proven
    /// infeasible, a search that gave up with time left, or time that ran out.
    fn no_assignment(
        &self,
        s: &mut Search<'_>,
        options: &crate::SolveOptions,
        deadline: Instant,
    ) -> SolveError {
        let problem = s.problem;
        let exceeded: Vec<usize> = s
            .global_rows
            .iter()
            .copied()
            .filter(|&r| {
                self.last_usage[r] > problem.rows[r].capacity + row_tol(problem.rows[r].capacity)
            })
            .collect();
        if !exceeded.is_empty() {
            match s.prove_rows_infeasible(&exceeded, deadline) {
                Err(e) => return e,
                Ok(Some(rows)) => {
                    return SolveError::RowsInfeasible {
                        rows: rows.iter().map(|&r| problem.rows[r].name.clone()).collect(),
                    };
                }
                Ok(None) => {}
            }
        }
        if remaining(deadline) > 0.0 {
            return SolveError::Solver {
                message: format!(
                    "the decomposition found no assignment that meets every row after {} price updates, and the problem is too large for the exact model",
                    self.iterations
                ),
            };
        }
        crate::no_assignment(problem, options.time_limit)
    }

    /// Prices of the priced rows from the search, then of each group's rows from its
    /// LP at the best prices.
    fn row_prices(&self, s: &mut Search<'_>) -> Vec<f64> {
        let problem = s.problem;
        // Report the latest prices when their bound is as good as the best one up to a
        // tenth of the gap budget: they clear the rows the search aimed at, while the
        // best bound is often reached at zero prices when rows barely bind.
        let tolerance = 0.1 * self.target * self.best_ub.as_ref().map_or(0.0, |b| b.0.abs());
        let prices = if self.last.0 >= self.best_lb - tolerance {
            &self.last.1
        } else {
            &self.best_mu
        };
        let mut row_prices = vec![0.0; problem.rows.len()];
        for &r in &s.global_rows {
            row_prices[r] = prices[r];
        }
        let mu_opt = self
            .best_mu
            .iter()
            .any(|&m| m != 0.0)
            .then_some(self.best_mu.as_slice());
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
        row_prices
    }
}
