//! A model as HiGHS sees it: columns numbered in creation order, and a run that reports
//! a real dual bound rather than `cost * (1 - gap)`.

use good_lp::{Constraint, Expression, ProblemVariables, SolverModel, Variable, highs, variable};
use highs::{HighsModelStatus, HighsSolutionStatus};

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
pub(super) struct Run {
    pub(super) cols: Vec<f64>,
    pub(super) objective: f64,
    pub(super) bound: f64,
    pub(super) row_duals: Vec<f64>,
}

/// Variables, objective and constraints, with columns numbered in creation order (the
/// order HiGHS sees them), so initial solutions and results can be mapped back.
pub(super) struct Model {
    vars: ProblemVariables,
    pub(super) n: usize,
    objective: Expression,
    pub(super) constant: f64,
    constraints: Vec<Constraint>,
    relax: bool,
    integers: bool,
    /// Objective coefficients are dropped (elastic diagnosis).
    pub(super) costless: bool,
}

impl Model {
    pub(super) fn new(relax: bool) -> Self {
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

    pub(super) fn binary(&mut self, cost: f64) -> (Variable, usize) {
        let def = if self.relax {
            variable().min(0.0).max(1.0)
        } else {
            self.integers = true;
            variable().binary()
        };
        self.continuous_def(def, cost)
    }

    pub(super) fn continuous_def(
        &mut self,
        def: good_lp::VariableDefinition,
        cost: f64,
    ) -> (Variable, usize) {
        let v = self.vars.add(def);
        if cost != 0.0 && !self.costless {
            self.objective.add_mul(cost, v);
        }
        self.n += 1;
        (v, self.n - 1)
    }

    pub(super) fn constrain(&mut self, c: Constraint) -> usize {
        self.constraints.push(c);
        self.constraints.len() - 1
    }

    pub(super) fn run(self, cfg: &RunConfig, initial: Option<Vec<f64>>) -> Result<Run, MilpError> {
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
